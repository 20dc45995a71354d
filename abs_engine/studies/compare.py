"""Comparing structures side by side (docs/structuring.md, "Comparing structures"): several
deals (or one deal and its variants, :func:`abs_engine.io.variants.load_variants`) run
under the same scenarios.

Per structure, scenario and tranche (``tranches``): balance and share of the notes,
coupon, WAL, yield (at par at closing, :meth:`abs_engine.Result.measures`), loss rate, whole;
the expected loss (mean loss rate over a Monte Carlo, the same seed and paths for every
structure) and the BDR (the pool's cumulative default rate at the tranche's break-even
multiple of the first scenario's default curve).

Per structure and scenario (``structures``): the originator's **cost of funding** (the
yield at par at closing of the investor-held notes' cash, every class but the subordinate,
in the notes' yield convention: the ChinaBond yield at the payment frequency for a CNY deal,
else the annual IRR over ACT/365F years), the **all-in cost** (the same with the fees, which
the pool's cash pays too), the **residual to the subordinate** (its excess return, beside its
principal) and the subordinate's yield (its IRR).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import curves
from ..engine import Backend
from ..engine import run as run_engine
from ..errors import InputError
from ..io.variants import Structure
from ..measures import notes_yield
from ..model.deal import Deal
from ..model.scenario import MonteCarlo, Scenario
from ..results import Criterion
from .breakeven import breakeven, stressed
from .executors import Executor


@dataclass
class Comparison:
    """What :func:`compare` returns (docs/outputs.md, ``compare_*.csv``)."""

    structures: list[Structure]
    scenarios: list[Scenario]
    #: structure x scenario x tranche
    tranches: pd.DataFrame
    #: structure x scenario
    summary: pd.DataFrame
    #: structure x tranche: expected loss, BDR (scenario-independent figures)
    risk: pd.DataFrame
    paths: int = 0
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def _coupon(t: object) -> float:
    c = t.coupon  # type: ignore[attr-defined]
    return float(c.rate) if c.kind == "fixed" else float(c.spread) if c.kind == "floating" else math.nan


def _funding(deal: Deal, res: object) -> tuple[np.ndarray, np.ndarray]:
    """Per scenario: the yield at par of the investor-held notes' cash, and with the fees, in
    the notes' yield convention (:func:`abs_engine.measures.notes_yield`)."""
    a = res.args  # type: ignore[attr-defined]
    sold = [k for k, t in enumerate(deal.tranches) if t.kind != "subordinate"]
    if not sold:
        n = a.t_prin.shape[0]
        return np.full(n, np.nan), np.full(n, np.nan)
    cash = (a.t_int_paid[:, :, sold] + a.t_prin[:, :, sold] + a.t_resid[:, :, sold]).sum(axis=2)
    face = float(sum(deal.tranches[k].balance for k in sold))
    fees = a.f_paid.sum(axis=2) if a.f_paid.size else np.zeros_like(cash)
    sched = res.schedule  # type: ignore[attr-defined]
    return notes_yield(deal, sched, cash, face), notes_yield(deal, sched, cash + fees, face)


def compare(
    structures: Sequence[Structure],
    scenarios: Sequence[Scenario],
    *,
    settings: MonteCarlo | None = None,
    criterion: Criterion = "timely",
    backend: Backend = "cython",
    executor: Executor | None = None,
    breakevens: bool = True,
) -> Comparison:
    """Run every structure under ``scenarios`` (module docstring). ``settings`` with
    ``paths > 0`` adds the Monte Carlo expected loss (under the first scenario);
    ``breakevens`` adds each tranche's BDR.

    Examples
    --------
    >>> import abs_engine as ae
    >>> from abs_engine.io.variants import Structure
    >>> from abs_engine.studies.sizing import with_balances
    >>> deal = ae.load_deal("deals/sz_pledge_2026_1.yaml")
    >>> thin = Structure("senior_90", with_balances(deal, {"A": 185_400_000}), "example")
    >>> c = compare([Structure("base", deal, "deals"), thin], [ae.load_scenario("scenarios/base.yaml")])
    >>> s = c.summary.set_index("structure")
    >>> bool(s.loc["senior_90", "subordinate_balance"] > s.loc["base", "subordinate_balance"])
    True
    """
    from .montecarlo import simulate

    t0 = time.perf_counter()
    structures = list(structures)
    scenarios = list(scenarios)
    if not structures:
        raise InputError.single("", "DEAL", "give at least one structure to compare")
    if not scenarios:
        raise InputError.single("", "--scenario", "give at least one scenario")
    names = [s.name for s in structures]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError.single("", "DEAL", f"structure names must differ (twice: {', '.join(dup)}); deals are named "
                                "by their deal name, variants by theirs")
    rows, summary, risk = [], [], []
    notes: list[str] = []
    paths = settings.paths if settings is not None else 0
    for st in structures:
        d = st.deal
        res = run_engine(d, scenarios, backend=backend)
        tm = res.measures()
        whole = tm.whole(criterion)
        total = float(sum(t.balance for t in d.tranches))
        fund, allin = _funding(d, res)
        sub = [k for k, t in enumerate(d.tranches) if t.kind == "subordinate"]
        for s, sc in enumerate(scenarios):
            for k, t in enumerate(d.tranches):
                rows.append({"structure": st.name, "scenario": sc.name, "tranche": t.name, "kind": t.kind,
                             "balance": t.balance, "share_of_notes": t.balance / total if total else math.nan,
                             "coupon": _coupon(t), "wal_years": float(tm.wal_years[s, k]), "yield": float(tm.yield_[s, k]),
                             "loss_rate": float(tm.loss_rate[s, k]), "whole": bool(whole[s, k]),
                             "interest": float(tm.interest[s, k]), "principal": float(tm.principal[s, k]),
                             "residual": float(tm.residual[s, k])})
            summary.append({
                "structure": st.name, "scenario": sc.name, "notes_total": total,
                "senior_share": sum(t.balance for t in d.tranches if t.kind == "senior") / total if total else math.nan,
                "subordinate_balance": float(sum(d.tranches[k].balance for k in sub)),
                "funding_cost": float(fund[s]), "all_in_cost": float(allin[s]),
                "subordinate_residual": float(sum(tm.residual[s, k] for k in sub)),
                "subordinate_principal": float(sum(tm.principal[s, k] for k in sub)),
                "subordinate_yield": float(tm.yield_[s, sub[0]]) if len(sub) == 1 else math.nan,
                "all_whole": bool(whole[s, [k for k in range(len(d.tranches)) if k not in sub]].all()),
            })
        el = {t.name: math.nan for t in d.tranches}
        if paths:
            sim = simulate(d, scenarios[0], settings, executor=executor, backend=backend, criterion=criterion)
            el = sim.paths.groupby("tranche", sort=False)["loss_rate"].mean().to_dict()
        bdr = {t.name: math.nan for t in d.tranches}
        bound = dict.fromkeys(bdr, "")
        if breakevens:
            base = scenarios[0]
            stress = "cdr_multiple" if _has_defaults(base) else "cdr"
            be = breakeven(d, base, stresses=[stress], criterion=criterion, curve_points=0, backend=backend)
            tb = be.table.set_index("tranche")
            at = [stressed(base, stress, float(tb.loc[t.name, "breakeven"]), f"be:{t.name}")
                  for t in d.tranches if tb.loc[t.name, "breakeven"] == tb.loc[t.name, "breakeven"]]
            if at:
                from .agency import pool_default_rates

                rates = iter(pool_default_rates(d, at, backend))
                for t in d.tranches:
                    bound[t.name] = str(tb.loc[t.name, "bound"])
                    bdr[t.name] = float(next(rates)) if tb.loc[t.name, "breakeven"] == tb.loc[t.name, "breakeven"] else 0.0
        for t in d.tranches:
            risk.append({"structure": st.name, "tranche": t.name, "kind": t.kind, "balance": t.balance,
                         "expected_loss": float(el.get(t.name, math.nan)), "bdr": bdr[t.name], "bdr_bound": bound[t.name]})
    return Comparison(structures, scenarios, pd.DataFrame(rows), pd.DataFrame(summary), pd.DataFrame(risk), paths,
                      time.perf_counter() - t0, notes)


def _has_defaults(sc: Scenario) -> bool:
    return any(curves.peak_annual(c) > 0 for c in (sc.defaults.cdr, *(s.cdr for s in sc.segments if s.cdr is not None)))


def side_by_side(c: Comparison, scenario: str | None = None) -> pd.DataFrame:
    """One column per structure, one row per figure (``section``, ``tranche``, ``measure``)
    under ``scenario`` (default: the first): sizes, coupons, WAL, yield, loss, expected loss,
    BDR per tranche, then the structure's cost of funding, all-in cost and the subordinate's
    residual and yield."""
    sc = scenario or c.scenarios[0].name
    t = c.tranches[c.tranches["scenario"] == sc]
    r = c.risk
    s = c.summary[c.summary["scenario"] == sc].set_index("structure")
    order = [st.name for st in c.structures]
    tranche_names = list(dict.fromkeys(t["tranche"]))
    out: list[dict[str, object]] = []
    for tr in tranche_names:
        for m in ("balance", "share_of_notes", "coupon", "wal_years", "yield", "loss_rate"):
            g = t[t["tranche"] == tr].set_index("structure")[m]
            out.append({"section": "tranche", "tranche": tr, "measure": m, **{n: g.get(n, math.nan) for n in order}})
        for m in ("expected_loss", "bdr"):
            g = r[r["tranche"] == tr].set_index("structure")[m]
            out.append({"section": "tranche", "tranche": tr, "measure": m, **{n: g.get(n, math.nan) for n in order}})
    for m in ("notes_total", "funding_cost", "all_in_cost", "subordinate_balance", "subordinate_residual",
              "subordinate_yield"):
        out.append({"section": "structure", "tranche": "", "measure": m, **{n: s[m].get(n, math.nan) for n in order}})
    return pd.DataFrame(out)
