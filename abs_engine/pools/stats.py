"""Pool statistics at the cut-off date: the figures and stratification tables of a term
sheet's collateral section (资产池统计).

Design
------
Each pool kind turns its assets into a normalised *asset table* (its ``asset_table``,
:class:`~abs_engine.pools.base.PoolKind`; :data:`ASSET_COLUMNS`: one row per asset with
obligor, balance, rate, remaining term, seasoning, collateral value and the categorical
columns). Everything after that is kind-agnostic: :func:`summarise` computes the figures
and strata of any asset table, so a deal with several pools (:func:`deal_pool_stats`) is
summarised by concatenating the pools' tables.

Units and definitions
---------------------
* Money in deal currency units (元); rates decimal p.a.; shares decimal in [0, 1].
* Months are calendar months with a day fraction: from ``a`` to ``b`` is the number of
  whole months ``n`` with ``a + n months <= b`` (day clamped to the month's length, and
  kept at month end when ``a`` is a month end, as the projection grid does), plus the
  days left over divided by the length of the next month-step. 2026-06-30 to 2027-03-31
  is 9.0; 2026-06-30 to 2026-07-15 is 15/31.
* Remaining term = months from the cut-off date to maturity; seasoning = months from
  origination to the cut-off date; both floored at 0.
* A floating loan's rate is the header's current reference rate plus the loan's spread.
* Weighted averages use the cut-off balance as weight. WA LTV is taken over the loans
  with a collateral value > 0 only (``ltv_coverage`` is their share of the balance).
* Shares are of the total balance; if the total balance is 0, shares and averages are NaN.
* Top-N concentration is the balance of the N largest obligors (all their loans,
  across pools) over the total balance; with fewer than N obligors it is 1.

Examples
--------
>>> import datetime as dt
>>> from abs_engine.model.deal import Header, PledgeLoanAsset, PledgeLoanPool
>>> h = Header(name="X", cutoff_date=dt.date(2026, 6, 30), closing_date=dt.date(2026, 7, 20),
...            first_payment_date=dt.date(2026, 10, 26), expected_maturity=dt.date(2027, 7, 26),
...            legal_maturity=dt.date(2029, 7, 26))
>>> loan = PledgeLoanAsset(loan_id="L1", borrower="B1", balance=3e6, rate=0.05,
...                        origination_date=dt.date(2026, 3, 31), maturity_date=dt.date(2027, 3, 31),
...                        amortization="bullet", collateral_value=6e6)
>>> s = pool_stats(PledgeLoanPool(name="p", assets=[loan]), h)
>>> s.n_obligors, s.total_balance, s.wa_remaining_term_months, s.wa_seasoning_months, s.wa_ltv
(1, 3000000.0, 9.0, 3.0, 0.5)
>>> s.strata["obligor_size"].set_index("bucket")["count"].to_dict()
{'< 2M': 0, '2–5M': 1, '5–10M': 0, '10–30M': 0, '≥ 30M': 0}
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..model.deal import Deal, Header
from .base import ASSET_COLUMNS, CATEGORIES, asset_frame
from .kinds import kind_of

__all__ = [
    "ASSET_COLUMNS",
    "CATEGORIES",
    "LTV_EDGES",
    "LTV_LABELS",
    "OBLIGOR_SIZE_EDGES",
    "OBLIGOR_SIZE_LABELS",
    "RATE_EDGES",
    "RATE_LABELS",
    "STRATA_COLUMNS",
    "TERM_EDGES",
    "TERM_LABELS",
    "PoolStats",
    "asset_table",
    "deal_pool_stats",
    "pool_stats",
    "summarise",
]

#: Columns of every stratification table: bucket label, number of assets, number of
#: distinct obligors, balance (元) and share of the total balance.
STRATA_COLUMNS: tuple[str, ...] = ("bucket", "count", "obligors", "balance", "share")

#: Obligor size buckets (元, per borrower, all its loans): [lower, upper).
OBLIGOR_SIZE_EDGES: tuple[float, ...] = (2e6, 5e6, 10e6, 30e6)
#: Remaining-term buckets (months): [0, 6], (6, 12], (12, 24], (24, 36], > 36.
TERM_EDGES: tuple[float, ...] = (6.0, 12.0, 24.0, 36.0)
#: Rate buckets (decimal p.a.): [lower, upper).
RATE_EDGES: tuple[float, ...] = (0.03, 0.04, 0.05, 0.06)
#: LTV buckets (loans with a collateral value): (lower, upper].
LTV_EDGES: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6)

# --------------------------------------------------------------------------- asset tables


def asset_table(pool: Any, header: Header) -> pd.DataFrame:
    """The pool's asset table, from its kind (:meth:`~abs_engine.pools.base.PoolKind.asset_table`)."""
    return kind_of(pool).asset_table(pool, header)


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True, eq=False)
class PoolStats:
    """Statistics of a pool (or of all pools of a deal) at the cut-off date.

    Money in deal currency units, rates and shares decimal, terms in months.
    ``strata`` maps a dimension (``ip_type``, ``industry``, ``region``, ``obligor_size``,
    ``remaining_term``, ``rate``, ``ltv``) to a table with columns :data:`STRATA_COLUMNS`;
    ``top_obligors`` lists the largest obligors (rank, obligor, count, balance, share,
    cumulative_share); ``assets`` is the normalised asset table the figures come from.
    """

    name: str
    kinds: tuple[str, ...]
    cutoff_date: dt.date
    n_assets: int
    n_obligors: int
    total_balance: float
    average_balance: float
    average_obligor_balance: float
    max_obligor_balance: float
    wa_rate: float
    wa_remaining_term_months: float
    wa_seasoning_months: float
    wa_ltv: float
    ltv_coverage: float
    top1_share: float
    top5_share: float
    top10_share: float
    #: IP rights behind the pool: pledged rights (pledge loans), the patents the licences
    #: rest on, one per transfer receivable (None: not known, e.g. a bare asset table)
    n_ip_rights: int | None
    top_obligors: pd.DataFrame
    strata: dict[str, pd.DataFrame] = field(default_factory=dict)
    assets: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: the pools' eligibility criteria and how the pool measures against each
    #: (:func:`abs_engine.eligibility.criteria_table`; empty without criteria)
    eligibility: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: loans dropped by eligibility (``on_breach: exclude``): pool, asset_id, obligor,
    #: balance, file, row (where the loan was), reasons ('; '-joined); not in the figures
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)

    def top_share(self, n: int) -> float:
        """Share of the balance held by the ``n`` largest obligors."""
        return _top_share(_obligor_balances(self.assets), n, self.total_balance)

    def figures(self) -> dict[str, Any]:
        """The scalar figures, in display order (for reports)."""
        keys = (
            "n_assets", "n_obligors", "total_balance", "average_balance", "average_obligor_balance",
            "max_obligor_balance", "wa_rate", "wa_remaining_term_months", "wa_seasoning_months",
            "wa_ltv", "ltv_coverage", "top1_share", "top5_share", "top10_share", "n_ip_rights",
        )
        return {k: getattr(self, k) for k in keys}


def _wavg(x: np.ndarray, w: np.ndarray) -> float:
    tw = float(w.sum())
    return float((x * w).sum() / tw) if tw > 0 else math.nan


def _obligor_balances(assets: pd.DataFrame) -> pd.Series:
    """Balance per obligor, largest first (ties by name, for a stable order)."""
    if assets.empty:
        return pd.Series(dtype=np.float64)
    s = assets.groupby("obligor", sort=True)["balance"].sum()
    order = sorted(s.index, key=lambda k: (-s[k], str(k)))
    return s.loc[order]


def _top_share(ob: pd.Series, n: int, total: float) -> float:
    if total <= 0:
        return math.nan
    # fsum is correctly rounded, hence monotone in n (pandas' sum is not)
    return min(math.fsum(ob.iloc[:n].to_numpy(dtype=np.float64)) / total, 1.0)


def _table(keys: pd.Series, assets: pd.DataFrame, total: float, order: Sequence[str] | None) -> pd.DataFrame:
    """Group ``assets`` by ``keys`` into a strata table; ``order`` lists every bucket
    (empty ones included) in display order; without it, buckets by balance, largest first."""
    codes, uniques = pd.factorize(keys.to_numpy(dtype=object))
    k = len(uniques)
    bal = assets["balance"].to_numpy(dtype=np.float64)
    count = np.bincount(codes, minlength=k)
    balance = np.bincount(codes, weights=bal, minlength=k) if len(codes) else np.zeros(k)
    ob_codes, _ = pd.factorize(assets["obligor"].to_numpy(dtype=object))
    pairs = np.unique(np.stack([codes, ob_codes]), axis=1) if len(codes) else np.zeros((2, 0), dtype=np.int64)
    obligors = np.bincount(pairs[0], minlength=k)
    labels = [str(u) for u in uniques]
    if order is None:
        pos = sorted(range(k), key=lambda i: (-balance[i], labels[i]))
        buckets = [labels[i] for i in pos]
    else:
        where = {lab: i for i, lab in enumerate(labels)}
        buckets = list(order)
        pos = [where.get(lab, -1) for lab in buckets]
    take = np.asarray(pos, dtype=np.int64)
    hit = take >= 0
    t = pd.DataFrame({
        "bucket": pd.Series(buckets, dtype=object),
        "count": np.where(hit, count[take] if k else 0, 0).astype(np.int64),
        "obligors": np.where(hit, obligors[take] if k else 0, 0).astype(np.int64),
        "balance": np.where(hit, balance[take] if k else 0.0, 0.0).astype(np.float64),
    })
    t["share"] = t["balance"] / total if total > 0 else math.nan
    return t


def _bucket_labels(edges: Sequence[float], fmt: Callable[[float], str], unit: str, closed: str) -> list[str]:
    lo, hi = ("<", "≥") if closed == "left" else ("≤", ">")
    inner = [f"{fmt(a)}–{fmt(b)}{unit}" for a, b in zip(edges, edges[1:], strict=False)]
    return [f"{lo} {fmt(edges[0])}{unit}", *inner, f"{hi} {fmt(edges[-1])}{unit}"]


def _bucket(x: np.ndarray, edges: Sequence[float], labels: Sequence[str], closed: str) -> pd.Series:
    """Label of each value: ``closed="left"`` buckets are [a, b), ``"right"`` (a, b]."""
    idx = np.searchsorted(np.asarray(edges), x, side="right" if closed == "left" else "left")
    return pd.Series(np.asarray(labels, dtype=object)[idx], dtype=object)


def _g(x: float) -> str:
    return f"{x:g}"


def _pct(x: float) -> str:
    return f"{x * 100:g}%"


#: Bucket labels of the numeric strata, in display order.
OBLIGOR_SIZE_LABELS = _bucket_labels([e / 1e6 for e in OBLIGOR_SIZE_EDGES], _g, "M", "left")
TERM_LABELS = _bucket_labels(TERM_EDGES, _g, "m", "right")
RATE_LABELS = _bucket_labels(RATE_EDGES, _pct, "", "left")
LTV_LABELS = [*_bucket_labels(LTV_EDGES, _pct, "", "right"), "n/a"]


def summarise(
    assets: pd.DataFrame,
    *,
    name: str,
    cutoff_date: dt.date,
    kinds: Sequence[str] = ("pledge_loan",),
    categories: Sequence[str] | None = None,
    top_n: int = 10,
    n_ip_rights: int | None = None,
) -> PoolStats:
    """Figures and strata of an asset table (:data:`ASSET_COLUMNS` + categorical columns).

    ``categories`` are the categorical columns to stratify (default: every column after
    :data:`ASSET_COLUMNS`); ``top_n`` is the length of the top-obligors table.
    """
    missing = [c for c in ASSET_COLUMNS if c not in assets.columns]
    if missing:
        raise ValueError(f"asset table lacks columns {missing}")
    if categories is None:
        categories = [c for c in assets.columns if c not in ASSET_COLUMNS]
    bal = assets["balance"].to_numpy(dtype=np.float64)
    total = float(bal.sum())
    n = len(assets)
    ob = _obligor_balances(assets)

    coll = assets["collateral_value"].to_numpy(dtype=np.float64)
    has_coll = coll > 0
    ltv = np.divide(bal, coll, out=np.full_like(bal, np.nan), where=has_coll)

    strata: dict[str, pd.DataFrame] = {}
    for c in categories:
        strata[c] = _table(assets[c].fillna("n/a").astype(str), assets, total, None)

    # obligor size: each obligor (all its loans) falls in one bucket
    size_of = assets["obligor"].map(ob).to_numpy(dtype=np.float64)
    keys = _bucket(size_of, OBLIGOR_SIZE_EDGES, OBLIGOR_SIZE_LABELS, "left")
    strata["obligor_size"] = _table(keys, assets, total, OBLIGOR_SIZE_LABELS)
    keys = _bucket(assets["remaining_term_months"].to_numpy(), TERM_EDGES, TERM_LABELS, "right")
    strata["remaining_term"] = _table(keys, assets, total, TERM_LABELS)
    # receivables have no coupon (rate NaN) and no collateral value: those strata only
    # where some asset has one, the others in an "n/a" bucket
    rate = assets["rate"].to_numpy(dtype=np.float64)
    has_rate = np.isfinite(rate)
    if has_rate.any():
        keys = _bucket(np.nan_to_num(rate, nan=0.0), RATE_EDGES, RATE_LABELS, "left").where(has_rate, "n/a")
        strata["rate"] = _table(keys, assets, total, RATE_LABELS if has_rate.all() else [*RATE_LABELS, "n/a"])
    if has_coll.any():
        keys = _bucket(np.nan_to_num(ltv, nan=0.0), LTV_EDGES, LTV_LABELS[:-1], "right")
        keys = keys.where(has_coll, "n/a")
        strata["ltv"] = _table(keys, assets, total, LTV_LABELS)

    top = ob.iloc[:top_n]
    counts = assets.groupby("obligor")["asset_id"].size()
    top_obligors = pd.DataFrame({
        "rank": np.arange(1, len(top) + 1, dtype=np.int64),
        "obligor": top.index.astype(object),
        "count": counts.reindex(top.index).to_numpy(dtype=np.int64),
        "balance": top.to_numpy(dtype=np.float64),
    })
    top_obligors["share"] = top_obligors["balance"] / total if total > 0 else math.nan
    top_obligors["cumulative_share"] = top_obligors["share"].cumsum()

    return PoolStats(
        n_ip_rights=n_ip_rights,
        name=name,
        kinds=tuple(kinds),
        cutoff_date=cutoff_date,
        n_assets=n,
        n_obligors=len(ob),
        total_balance=total,
        average_balance=total / n if n else math.nan,
        average_obligor_balance=total / len(ob) if len(ob) else math.nan,
        max_obligor_balance=float(ob.iloc[0]) if len(ob) else math.nan,
        wa_rate=_wavg(rate[has_rate], bal[has_rate]),
        wa_remaining_term_months=_wavg(assets["remaining_term_months"].to_numpy(), bal),
        wa_seasoning_months=_wavg(assets["seasoning_months"].to_numpy(), bal),
        wa_ltv=_wavg(np.nan_to_num(ltv[has_coll]), bal[has_coll]),
        ltv_coverage=min(math.fsum(bal[has_coll]) / total, 1.0) if total > 0 else math.nan,  # (a share: rounding kept below 1)
        top1_share=_top_share(ob, 1, total),
        top5_share=_top_share(ob, 5, total),
        top10_share=_top_share(ob, 10, total),
        top_obligors=top_obligors,
        strata=strata,
        assets=assets,
    )


# --------------------------------------------------------------------------- public


def pool_stats(pool: Any, header: Header, *, top_n: int = 10) -> PoolStats:
    """Statistics of one pool at the header's cut-off date (dispatch on ``pool.kind``).

    Parameters
    ----------
    pool : PledgeLoanPool
        A pool of the deal (``deal.pools[i]``).
    header : Header
        The deal header (``deal.deal``): cut-off date and reference rates.
    top_n : int
        Length of the top-obligors table.
    """
    assets = asset_table(pool, header)
    out = summarise(
        assets, name=pool.name, cutoff_date=header.cutoff_date, kinds=(pool.kind,),
        categories=CATEGORIES, top_n=top_n, n_ip_rights=ip_rights(pool),
    )
    return _with_eligibility(out, [pool], header)


EXCLUDED_COLUMNS: tuple[str, ...] = ("pool", "asset_id", "obligor", "balance", "file", "row", "reasons")


def _with_eligibility(stats: PoolStats, pools: Sequence[Any], header: Header) -> PoolStats:
    """``stats`` with the eligibility table and the excluded loans of ``pools``."""
    from dataclasses import replace

    from ..eligibility import criteria_table

    tables = [criteria_table(p, header) for p in pools]
    rows = [(p.name, e.asset.loan_id, e.asset.borrower, float(e.asset.balance), e.file, e.where, "; ".join(e.reasons))
            for p in pools for e in getattr(p, "excluded", ())]
    excluded = pd.DataFrame(rows, columns=list(EXCLUDED_COLUMNS)).astype({"balance": np.float64})
    full = [t for t in tables if len(t)]
    table = pd.concat(full, ignore_index=True) if len(full) > 1 else (full or tables)[0]
    return replace(stats, eligibility=table, excluded=excluded)


def ip_rights(pool: Any) -> int | None:
    """The IP rights behind a pool (:meth:`~abs_engine.pools.base.PoolKind.ip_rights`): the
    rights pledged to its loans (``ip_count``), the distinct patents its licences rest on,
    one per transfer receivable."""
    return kind_of(pool).ip_rights(pool)


def deal_pool_stats(deal: Deal, *, top_n: int = 10) -> PoolStats:
    """Statistics of all pools of ``deal`` together (obligors matched by name across
    pools); categorical columns a pool kind lacks show as ``n/a``. With one pool this
    equals :func:`pool_stats` of that pool, under the deal's name."""
    h = deal.deal
    tables = [asset_table(p, h) for p in deal.pools]
    kinds = tuple(dict.fromkeys(p.kind for p in deal.pools))
    cats = list(CATEGORIES)
    assets = pd.concat(tables, ignore_index=True) if tables else asset_frame([], cats)
    for c in cats:
        if c not in assets.columns:
            assets[c] = "n/a"
    counts = [ip_rights(p) for p in deal.pools]
    n_ip = None if any(c is None for c in counts) else int(sum(c for c in counts if c is not None))
    out = summarise(assets, name=h.name, cutoff_date=h.cutoff_date, kinds=kinds, categories=cats, top_n=top_n,
                    n_ip_rights=n_ip)
    return _with_eligibility(out, deal.pools, h)
