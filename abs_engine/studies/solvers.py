"""Coupon and spread solvers (docs/structuring.md, "Coupons, spreads and the subordinate's
IRR").

* :func:`solve_coupons`: the coupon at which each coupon-bearing tranche prices at par
  (clean price 100 per 100 of face at settlement) under a scenario, discounted either on a
  curve plus a spread (:func:`abs_engine.analytics.price_from_z_spread`) or at a yield
  (:func:`abs_engine.analytics.tranche_analytics` with the analytics' own compounding
  convention). The solved quantity is a fixed coupon's rate or a floating coupon's spread
  over its index. Each evaluation is a run of the deal with that coupon, priced through
  the analytics API; a root of ``price(c) - 100`` is bracketed and found with Brent's
  method (the price is affine in the coupon while the tranche is paid in full, so the
  root is exact to rounding). Tranches are solved in rank order, each with the coupons
  above already solved, until every one prices at par to :data:`PAR_TOLERANCE`.
* :func:`max_coupon`: the highest coupon (rate or spread) a tranche can carry and still be
  whole (criterion ``timely``) in every scenario given: what the pool's excess spread and
  the deal's support can pay. Bisection to :data:`SPREAD_PRECISION`; the binding scenario
  is the one in which the tranche first fails just above it.
* :func:`subordinate_irr`: the subordinate's IRR (annual, ACT/365F) and cash multiple at a
  purchase price, per scenario (:func:`abs_engine.analytics.tranche_analytics`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from ..analytics import AnalyticsError, Curve, price_from_z_spread, tranche_cashflows
from ..engine import Backend
from ..engine import run as run_engine
from ..errors import InputError, Problem
from ..model.deal import Deal, Tranche
from ..model.scenario import BASE, Scenario
from ..results import Criterion

#: |clean price - 100| at the solved coupon.
PAR_TOLERANCE = 1e-9
#: Width of the final bracket of :func:`max_coupon`: 0.01 bp.
SPREAD_PRECISION = 1e-6
#: Coupons searched (decimal p.a.).
COUPON_RANGE = (0.0, 1.0)


def coupon_field(t: Tranche) -> str | None:
    """``rate`` (fixed coupon), ``spread`` (floating) or None (no coupon)."""
    return {"fixed": "rate", "floating": "spread"}.get(t.coupon.kind)


def with_coupon(deal: Deal, name: str, value: float) -> Deal:
    """The deal with tranche ``name``'s coupon rate (fixed) or spread (floating) set."""
    trs = []
    for t in deal.tranches:
        if t.name == name:
            f = coupon_field(t)
            if f is None:
                raise ValueError(f"tranche {name} has no coupon")
            t = t.model_copy(update={"coupon": t.coupon.model_copy(update={f: float(value)})})
        trs.append(t)
    return deal.model_copy(update={"tranches": trs})


def _coupon_of(deal: Deal, name: str) -> float:
    t = deal.tranche(name)
    return float(getattr(t.coupon, coupon_field(t) or "rate"))


def _check_tranches(deal: Deal, tranches: Sequence[str] | None, *, coupons: bool) -> list[str]:
    import difflib

    names = [t.name for t in deal.tranches]
    chosen = list(tranches) if tranches else [t.name for t in sorted(deal.tranches, key=lambda t: t.rank)
                                              if not coupons or coupon_field(t) is not None]
    problems = []
    for t in chosen:
        if t not in names:
            close = difflib.get_close_matches(t, names, n=1)
            problems.append(Problem("", "--tranche", f"unknown tranche '{t}'" + (f"; did you mean '{close[0]}'?" if close else "")
                                    + f" (known: {', '.join(names)})"))
        elif coupons and coupon_field(deal.tranche(t)) is None:
            problems.append(Problem("", "--tranche", f"tranche '{t}' has no coupon to solve (coupon kind none)"))
    if coupons and not chosen and not problems:
        problems.append(Problem("", "--tranche", "the deal has no tranche with a coupon"))
    if problems:
        raise InputError(problems)
    return chosen


class _Pricer:
    """Clean price of one tranche under one scenario at a coupon (one engine run each)."""

    def __init__(self, deal: Deal, scenario: Scenario, *, settlement: dt.date, curve: Curve | None, spread: float,
                 yld: float | None, backend: Backend) -> None:
        self.deal, self.scenario, self.settlement = deal, scenario, settlement
        self.curve, self.spread, self.yld, self.backend = curve, spread, yld, backend
        self.runs = 0

    def price(self, deal: Deal, name: str) -> float:
        res = run_engine(deal, [self.scenario], backend=self.backend)
        self.runs += 1
        if self.yld is not None:
            a = res.analytics(settlement=self.settlement, pricing={name: {"yield": self.yld}})
            row = a[a["tranche"] == name].iloc[0]
            if not math.isfinite(float(row["price"])):
                raise AnalyticsError(str(row["note"]) or "not priced")
            return float(row["price"])
        assert self.curve is not None
        cf = tranche_cashflows(res.tranches, res.tranche_info(), scenario=self.scenario.name, tranche=name,
                               settlement=self.settlement)
        return float(price_from_z_spread(cf, self.spread, self.curve, self.settlement))


def solve_coupons(
    deal: Deal,
    scenario: Scenario | None = None,
    *,
    curve: Curve | dict[str, Any] | None = None,
    spread: float = 0.0,
    yield_: float | None = None,
    tranches: Sequence[str] | None = None,
    settlement: dt.date | None = None,
    backend: Backend = "cython",
    max_rounds: int = 5,
) -> tuple[Deal, pd.DataFrame]:
    """The coupons at which the tranches price at par (module docstring); returns the deal
    with them and one row per tranche: ``tranche``, ``field`` (rate or spread),
    ``original``, ``solved``, ``price`` (clean, at the solved coupon), ``discount``,
    ``runs``.

    ``curve`` (default: the deal's ``pricing.curve``) plus ``spread`` (a z-spread, decimal),
    or ``yield_``: give one. ``settlement`` defaults to the deal's pricing settlement, else
    the closing date.

    Examples
    --------
    >>> import abs_engine as ae
    >>> deal = ae.load_deal("deals/sz_pledge_2026_1.yaml")
    >>> flat = {"kind": "flat", "rate": 0.02}
    >>> solved, table = solve_coupons(deal, curve=flat, spread=0.015)
    >>> row = table.iloc[0]
    >>> row["tranche"], bool(abs(row["price"] - 100.0) < 1e-9), bool(0.03 < row["solved"] < 0.04)
    ('A', True, True)
    """
    sc = scenario or BASE
    settle = settlement or deal.pricing.settlement or deal.deal.closing_date
    names = _check_tranches(deal, tranches, coupons=True)
    if yield_ is not None and curve is not None:
        raise InputError.single("", "--yield", "give a curve and spread, or a yield, not both")
    c: Curve | None = None
    if yield_ is None:
        spec = curve if curve is not None else deal.pricing.curve
        if spec is None:
            raise InputError.single("", "--curve", "pricing at par needs a discount curve (--curve FILE, or the deal's "
                                    "pricing.curve) plus --spread, or a --yield")
        try:
            c = spec if isinstance(spec, Curve) else Curve.from_dict(spec, reference_date=settle)  # type: ignore[arg-type]
        except AnalyticsError as exc:
            raise InputError.single("", "--curve", str(exc)) from None
        if not math.isfinite(spread):
            raise InputError.single("", "--spread", f"must be a finite decimal (got {spread})")
    pricer = _Pricer(deal, sc, settlement=settle, curve=c, spread=spread, yld=yield_, backend=backend)
    current = deal
    original = {n: _coupon_of(deal, n) for n in names}
    solved: dict[str, float] = {}
    for _ in range(max_rounds):
        for n in names:
            solved[n] = _solve_one(pricer, current, n)
            current = with_coupon(current, n, solved[n])
        prices = {n: pricer.price(current, n) for n in names}
        if all(abs(p - 100.0) <= PAR_TOLERANCE for p in prices.values()):
            break
    rows = [{"tranche": n, "field": coupon_field(current.tranche(n)), "original": original[n], "solved": solved[n],
             "price": prices[n], "discount": (f"yield {yield_:.6g}" if yield_ is not None else
                                              f"curve + spread {spread:.6g}"),
             "settlement": settle, "scenario": sc.name} for n in names]
    out = pd.DataFrame(rows)
    out["runs"] = pricer.runs
    return current, out


def _solve_one(pricer: _Pricer, deal: Deal, name: str) -> float:
    def f(x: float) -> float:
        return pricer.price(with_coupon(deal, name, x), name) - 100.0

    lo, hi = COUPON_RANGE
    x0 = min(max(_coupon_of(deal, name), lo), hi)
    f0 = f(x0)
    if f0 == 0.0:
        return x0
    # bracket the root: the price rises with the coupon
    step = 0.01
    a, fa = x0, f0
    while True:
        b = min(max(a + (step if fa < 0 else -step), lo), hi)
        fb = f(b)
        if fa * fb <= 0:
            break
        if b in (lo, hi):
            raise InputError.single("", f"--tranche {name}",
                                    f"no coupon in [{lo:g}, {hi:g}] prices tranche '{name}' at par (clean price "
                                    f"{fb + 100:.6f} at {b:g})")
        a, fa, step = b, fb, step * 2
    lo_, hi_ = (a, b) if a < b else (b, a)
    return float(brentq(f, lo_, hi_, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200))


# --------------------------------------------------------------------------- max spread


def max_coupon(
    deal: Deal,
    scenarios: Sequence[Scenario] | None = None,
    *,
    tranches: Sequence[str] | None = None,
    criterion: Criterion = "timely",
    precision: float = SPREAD_PRECISION,
    no_support: bool = False,
    backend: Backend = "cython",
) -> pd.DataFrame:
    """The highest coupon (rate or spread) each tranche can carry and still be whole in
    every scenario (module docstring); with ``no_support`` every support party fails from
    the cut-off date in every scenario, so only the pool's excess spread (and the deal's own
    accounts) pay it. One row per tranche with ``field``, ``current``,
    ``max``, ``first_break`` (the next level tried, at which it is not whole; NaN when whole
    up to the range's end), ``headroom`` (max - current), ``bound`` (``found``, ``range``)
    and ``binding`` (the scenario in which it fails at ``first_break``).

    Examples
    --------
    >>> import abs_engine as ae
    >>> deal = ae.load_deal("deals/sz_pledge_2026_1.yaml")
    >>> row = max_coupon(deal, [ae.load_scenario("scenarios/stress_guarantor_fails.yaml")]).iloc[0]
    >>> row["tranche"], row["bound"], bool(0 < row["first_break"] - row["max"] <= 1e-6)
    ('A', 'found', True)
    """
    scs = list(scenarios) if scenarios else [BASE]
    if no_support:
        from .agency import _support_failures

        fails = _support_failures(deal)
        scs = [sc.model_copy(update={"support_failures": {**sc.support_failures, **fails}}) for sc in scs]
    names = _check_tranches(deal, tranches, coupons=True)
    rows = []
    for n in names:
        def whole(x: float, n: str = n) -> tuple[bool, str]:
            d = with_coupon(deal, n, x)
            res = run_engine(d, scs, backend=backend)
            ok = res.measures(yields=False).whole(criterion)[:, [t.name for t in d.tranches].index(n)]
            bad = [s.name for s, w in zip(scs, ok, strict=True) if not w]
            return not bad, bad[0] if bad else ""

        cur = _coupon_of(deal, n)
        lo, hi = COUPON_RANGE
        ok0, bind0 = whole(lo)
        if not ok0:
            raise InputError.single("", f"--tranche {n}", f"tranche '{n}' is not whole even at a zero coupon "
                                    f"(in scenario '{bind0}'): no coupon is supported")
        ok1, _ = whole(hi)
        if ok1:
            rows.append({"tranche": n, "field": coupon_field(deal.tranche(n)), "current": cur, "max": hi,
                         "first_break": math.nan, "headroom": hi - cur, "bound": "range", "binding": ""})
            continue
        binding = ""
        while hi - lo > precision:
            mid = 0.5 * (lo + hi)
            ok, b = whole(mid)
            if ok:
                lo = mid
            else:
                hi, binding = mid, b
        if not binding:
            binding = whole(hi)[1]
        rows.append({"tranche": n, "field": coupon_field(deal.tranche(n)), "current": cur, "max": lo,
                     "first_break": hi, "headroom": lo - cur, "bound": "found", "binding": binding})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- subordinate IRR


def subordinate_irr(
    deal: Deal,
    scenarios: Sequence[Scenario] | None = None,
    *,
    price: float = 100.0,
    settlement: dt.date | None = None,
    backend: Backend = "cython",
) -> pd.DataFrame:
    """The subordinate's IRR (annual compounding, ACT/365F) and cash multiple at a purchase
    ``price`` (per 100 of its face at settlement) in each scenario: one row per scenario and
    subordinate tranche with ``price``, ``irr``, ``cash_multiple``, ``total_residual``,
    ``note``.

    Examples
    --------
    >>> import abs_engine as ae
    >>> deal = ae.load_deal("deals/sz_pledge_2026_1.yaml")
    >>> t = subordinate_irr(deal, [ae.load_scenario("scenarios/base.yaml")], price=90.0)
    >>> t.loc[0, "tranche"], bool(t.loc[0, "irr"] > subordinate_irr(deal, [ae.load_scenario("scenarios/base.yaml")]).loc[0, "irr"])
    ('SUB', True)
    """
    if not (isinstance(price, int | float) and math.isfinite(price) and 0 < price <= 1000):
        raise InputError.single("", "--sub-price", f"must be a price per 100 in (0, 1000] (got {price!r})")
    subs = [t.name for t in deal.tranches if t.kind == "subordinate"]
    if not subs:
        raise InputError.single("", "tranches", "the deal has no subordinate tranche")
    scs = list(scenarios) if scenarios else [BASE]
    res = run_engine(deal, scs, backend=backend)
    a = res.analytics(settlement=settlement, pricing={s: {"price": float(price)} for s in subs})
    a = a[a["tranche"].isin(subs)]
    return a[["scenario", "tranche", "price", "irr", "cash_multiple", "total_residual", "note"]].reset_index(drop=True)
