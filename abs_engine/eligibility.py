"""Eligibility criteria (入池标准) of a pledge-loan pool, measured on its loans.

A pool's ``eligibility`` (:class:`~abs_engine.model.deal.Eligibility`) states limits such
as ``max_loan_to_sales: 0.40``; :func:`check_pool` measures every loan against every stated
criterion and returns one :class:`Finding` per breach or missing datum;
:func:`criteria_table` says how the pool measures against each criterion (the pool
statistics' ``eligibility`` table). The loader (:mod:`abs_engine.io.deal_file`) turns the
findings into input errors or exclusions, with the file and row of each loan.

Definitions (docs/deal-language.md, "Eligibility criteria"):

* loan-to-sales = the borrower's balance in the pool (all its loans) / its ``annual_sales``;
* LTV = ``balance`` / ``collateral_value`` (a collateral value of 0 is missing data);
* terms in months as the pool statistics count them (:func:`~abs_engine.dates.months_between`);
  original term from origination to maturity, remaining term from the cut-off date,
  seasoning from origination to the cut-off date (floored at 0);
* minimums and maximums are inclusive (a relative tolerance of 1e-9 absorbs rounding);
* an ``industry`` / ``region`` of ``unknown`` (the tape's default) is missing data.

>>> import datetime as dt
>>> from abs_engine.model.deal import Header, PledgeLoanAsset, PledgeLoanPool
>>> h = Header(name="X", cutoff_date=dt.date(2026, 6, 30), closing_date=dt.date(2026, 7, 20),
...            first_payment_date=dt.date(2026, 10, 26), expected_maturity=dt.date(2027, 7, 26),
...            legal_maturity=dt.date(2029, 7, 26))
>>> loan = PledgeLoanAsset(loan_id="L1", borrower="B1", balance=4.62e6, rate=0.05,
...                        origination_date=dt.date(2026, 6, 1), maturity_date=dt.date(2027, 6, 1),
...                        amortization="bullet", collateral_value=1e7, annual_sales=1e7)
>>> pool = PledgeLoanPool(name="p", assets=[loan], eligibility={"max_loan_to_sales": 0.4, "max_ltv": 0.5})
>>> [f.message for f in check_pool(pool, h)]
['loan-to-sales 46.2% above max_loan_to_sales 40%']
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .dates import months_between
from .model.deal import Eligibility, Header, PledgeLoanAsset, PledgeLoanPool

__all__ = ["CRITERIA", "Criterion", "Finding", "check_pool", "criteria_table", "format_value", "reason"]

#: Relative tolerance of the comparisons (a ratio computed as 0.4000000000000001 meets 0.4).
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Finding:
    """A loan (``index`` in ``pool.assets``) that breaks ``criterion``, or lacks the datum
    it needs (``missing``: always an input error, whatever ``on_breach`` says)."""

    index: int
    loan_id: str
    criterion: str
    message: str
    missing: bool = False


@dataclass(frozen=True)
class Criterion:
    """How one criterion measures a loan: ``bound`` is ``min``, ``max`` or ``in`` (a list of
    allowed values); ``unit`` formats values (``money``, ``ratio``, ``months``, ``text``);
    ``column`` is the tape column it needs."""

    label: str
    bound: str
    unit: str
    column: str


#: Every criterion of :class:`~abs_engine.model.deal.Eligibility`, by field name.
CRITERIA: dict[str, Criterion] = {
    "min_annual_sales": Criterion("annual sales", "min", "money", "annual_sales"),
    "min_net_assets": Criterion("net assets", "min", "money", "net_assets"),
    "max_loan_to_sales": Criterion("loan-to-sales", "max", "ratio", "annual_sales"),
    "max_ltv": Criterion("LTV", "max", "ratio", "collateral_value"),
    "min_balance": Criterion("balance", "min", "money", "balance"),
    "max_balance": Criterion("balance", "max", "money", "balance"),
    "max_original_term_months": Criterion("original term", "max", "months", "maturity_date"),
    "max_remaining_term_months": Criterion("remaining term", "max", "months", "maturity_date"),
    "min_seasoning_months": Criterion("seasoning", "min", "months", "origination_date"),
    "industries": Criterion("industry", "in", "text", "industry"),
    "regions": Criterion("region", "in", "text", "region"),
    "ip_types": Criterion("IP type", "in", "text", "ip_type"),
}
assert set(CRITERIA) == set(Eligibility.model_fields) - {"on_breach"}


def format_value(value: Any, unit: str, near: float | None = None) -> str:
    """A value as messages and term sheets show it: money with thousands separators, ratios
    in percent, months with two decimals at most; with ``near`` (the limit), enough digits
    that a value just past the limit does not print as the limit."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if not isinstance(value, (int, float)):
        return str(value)
    v = float(value)
    if math.isinf(v):
        return "unbounded"
    scale, suffix = {"ratio": (100.0, "%"), "months": (1.0, " months")}.get(unit, (1.0, ""))
    digits = 0 if unit == "money" else 1 if unit == "ratio" else 2
    if near is not None:
        while digits < 8 and round(v * scale, digits) == round(near * scale, digits) and v != near:
            digits += 1
    x = round(v * scale, digits)
    if unit == "money":
        return f"{x:,.{digits}f}"
    return f"{x:.{digits}f}".rstrip("0").rstrip(".") + suffix


def _measure(name: str, a: PledgeLoanAsset, header: Header, borrower_balance: dict[str, float]) -> Any:
    """The loan's value for criterion ``name``; None when the datum it needs is missing."""
    cut = header.cutoff_date
    if name == "min_annual_sales":
        return a.annual_sales
    if name == "min_net_assets":
        return a.net_assets
    if name == "max_loan_to_sales":
        if a.annual_sales is None:
            return None
        total = borrower_balance[a.borrower]
        return total / a.annual_sales if a.annual_sales > 0 else (math.inf if total > 0 else 0.0)
    if name == "max_ltv":
        return a.balance / a.collateral_value if a.collateral_value > 0 else None
    if name in ("min_balance", "max_balance"):
        return a.balance
    if name == "max_original_term_months":
        return months_between(a.origination_date, a.maturity_date)
    if name == "max_remaining_term_months":
        return max(months_between(cut, a.maturity_date), 0.0)
    if name == "min_seasoning_months":
        return max(months_between(a.origination_date, cut), 0.0)
    if name == "industries":
        return None if a.industry == "unknown" else a.industry
    if name == "regions":
        return None if a.region == "unknown" else a.region
    if name == "ip_types":
        return a.ip_type
    raise KeyError(name)


_MISSING: dict[str, str] = {
    "annual_sales": "no annual_sales (annual sales revenue)",
    "net_assets": "no net_assets",
    "collateral_value": "no appraised IP value (collateral_value missing or 0)",
    "industry": "no industry (missing or 'unknown')",
    "region": "no region (missing or 'unknown')",
}


def _borrower_balances(assets: Sequence[PledgeLoanAsset]) -> dict[str, float]:
    out: dict[str, float] = {}
    for a in assets:
        out[a.borrower] = out.get(a.borrower, 0.0) + float(a.balance)
    return out


def _breaks(value: Any, bound: str, limit: Any) -> bool:
    if bound == "in":
        return value not in limit
    tol = TOLERANCE * max(1.0, abs(float(limit)))
    return bool(value > limit + tol) if bound == "max" else bool(value < limit - tol)


def _breach_message(name: str, c: Criterion, value: Any, limit: Any, a: PledgeLoanAsset, n_loans: int) -> str:
    if c.bound == "in":
        close = difflib.get_close_matches(str(value), [str(x) for x in limit], n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"{c.label} '{value}' not among {name} ({format_value(limit, c.unit)}){hint}"
    shown = format_value(value, c.unit, near=float(limit))
    if name == "max_loan_to_sales" and n_loans > 1:
        shown += f" (the borrower's {n_loans} loans in the pool)"
    side = "above" if c.bound == "max" else "below"
    return f"{c.label} {shown} {side} {name} {format_value(limit, c.unit)}"


def check_pool(pool: PledgeLoanPool, header: Header) -> list[Finding]:
    """Every breach of the pool's criteria and every missing datum they need, loan by loan
    (in the order of ``pool.assets``, criteria in field order); [] without criteria."""
    crit = pool.eligibility
    if crit is None:
        return []
    names = crit.stated()
    balances = _borrower_balances(pool.assets)
    counts: dict[str, int] = {}
    for a in pool.assets:
        counts[a.borrower] = counts.get(a.borrower, 0) + 1
    out: list[Finding] = []
    for i, a in enumerate(pool.assets):
        missing: set[str] = set()
        for name in names:
            c = CRITERIA[name]
            value = _measure(name, a, header, balances)
            if value is None:
                if c.column not in missing:  # one problem per missing column
                    missing.add(c.column)
                    out.append(Finding(i, a.loan_id, name, f"{_MISSING[c.column]}, needed by eligibility.{name}", True))
                continue
            limit = getattr(crit, name)
            if _breaks(value, c.bound, limit):
                out.append(Finding(i, a.loan_id, name, _breach_message(name, c, value, limit, a, counts[a.borrower])))
    return out


def criteria_table(pool: Any, header: Header) -> pd.DataFrame:
    """How ``pool`` measures against each of its criteria: one row per stated criterion with
    ``pool`` (name), ``criterion`` (field name), ``limit`` (the criterion's value: a number,
    or the allowed names joined by ', '), ``pool_value`` (the pool's extreme: the lowest value
    for a minimum, the highest for a maximum, the values found joined by ', ' for a list;
    NaN / '' when no loan has the datum), ``breaches`` (loans in the pool that break it or
    lack its datum) and ``excluded`` (loans ``on_breach: exclude`` dropped for it)."""
    cols = ["pool", "criterion", "limit", "pool_value", "breaches", "excluded"]
    crit = getattr(pool, "eligibility", None)
    if crit is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    balances = _borrower_balances(pool.assets)
    findings = check_pool(pool, header)
    rows = []
    for name in crit.stated():
        c = CRITERIA[name]
        limit = getattr(crit, name)
        values = [v for a in pool.assets if (v := _measure(name, a, header, balances)) is not None]
        pool_value: Any
        if c.bound == "in":
            pool_value = ", ".join(sorted({str(v) for v in values}))
            limit = ", ".join(str(x) for x in limit)
        elif not values:
            pool_value = math.nan
        else:
            pool_value = float(min(values) if c.bound == "min" else max(values))
        excluded = sum(1 for e in getattr(pool, "excluded", ()) if any(r.startswith(f"{name}:") for r in e.reasons))
        rows.append((pool.name, name, limit, pool_value, sum(1 for f in findings if f.criterion == name), excluded))
    df = pd.DataFrame(rows, columns=cols)
    for col in ("pool", "criterion", "limit", "pool_value"):
        df[col] = df[col].astype(object)
    return df


def reason(f: Finding) -> str:
    """The reason recorded for an excluded loan: the criterion, then the message."""
    return f"{f.criterion}: {f.message}"


def exclusions(deal: Any) -> list[dict[str, Any]]:
    """The loans every pool's eligibility dropped (``on_breach: exclude``) when ``deal``
    loaded, as records (pool, loan_id, borrower, balance, file, row, reasons): what the run
    prints and writes in its manifest."""
    return [
        {"pool": p.name, "loan_id": e.asset.loan_id, "borrower": e.asset.borrower, "balance": float(e.asset.balance),
         "file": e.file, "row": e.where, "reasons": list(e.reasons)}
        for p in deal.pools for e in getattr(p, "excluded", ())
    ]


def exclusion_lines(deal: Any) -> list[str]:
    """One line per excluded loan (``file: row N (id): reason; reason``), for the CLI."""
    return [f"{r['file']}: {r['row']} ({r['loan_id']}): excluded from pool '{r['pool']}' by eligibility: "
            + "; ".join(r["reasons"]) for r in exclusions(deal)]
