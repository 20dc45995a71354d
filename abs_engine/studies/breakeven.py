"""Break-even levels (临界违约率): the worst level of a stress at which each tranche is
still whole (docs/scenarios.md, "Break-even").

A *stress* turns a level into a scenario derived from the base:

========================= ======================================================= =========
stress                    the scenario at level ``x``                             worse when
========================= ======================================================= =========
``cdr``                   a constant CDR of ``x`` (the base's timing is dropped)  higher
``cdr_multiple``          the base's default curve (constant, vector or curve)    higher
                          times ``x``
``recovery``              recovery rate ``x`` of every defaulted loan and         lower
                          receivable (``recovery.rate``, ``receivables.
                          recovery_rate``)
``invalidation``          a constant annual patent invalidation hazard ``x``      higher
``invalidation_multiple`` the base's hazard (by patent type) times ``x``          higher
========================= ======================================================= =========

**Definition.** The break-even level of a tranche is the worst level ``x*`` such that
the tranche is whole (:meth:`abs_engine.Result.measures`, criterion ``timely`` by
default) at ``x*`` and at every level evaluated between the base-most end of the range
and ``x*``; ``first_break`` is the next level evaluated, at which it is not whole, and
``first_break - x*`` is at most the precision (1 bp of the rate; for multiples, 1 bp of
the highest rate the multiple gives). A tranche whole across the whole range has
``x*`` at the range's end (``bound = "range"``); one not whole even at the best level has
no break-even (NaN, ``bound = "never whole"``).

**Search.** A vectorised bisection: each round evaluates ``points`` levels spread over
every open bracket in *one* engine call (all tranches' brackets together), and keeps,
per tranche, the sub-bracket between its last whole level and its first level that is not
whole. Plain bisection is ``points = 3``; with 33 points a bracket shrinks 32-fold per
round, so a rate is found to 1 bp in three rounds after the first.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import curves
from ..engine import Backend
from ..errors import InputError
from ..model.deal import Deal, sections
from ..model.scenario import Scenario
from ..results import Criterion, TrancheMeasures
from .executors import Executor
from .sweep import SweepContext, run_chunk

#: stress -> (field set, True if a higher level is worse)
STRESSES: dict[str, tuple[str, bool]] = {
    "cdr": ("defaults.cdr", True),
    "cdr_multiple": ("defaults.cdr", True),
    "recovery": ("recovery.rate", False),
    "invalidation": ("patents.invalidation_hazard", True),
    "invalidation_multiple": ("patents.invalidation_hazard", True),
}
#: Width of the final bracket: 1 bp of a rate.
PRECISION = 1e-4


def _peak(value: Any) -> float:
    if not isinstance(value, dict | list | float | int):  # a convention (abs_engine/curves.py)
        return curves.peak_annual(value)
    if isinstance(value, list):
        return max(value) if value else 0.0
    if isinstance(value, dict):
        return max(value.values()) if value else 0.0
    return float(value)


def _default_peak(sc: Scenario) -> float:
    """The highest annual default rate of a scenario (its own and its segments')."""
    return max([_peak(sc.defaults.cdr)] + [_peak(seg.cdr) for seg in sc.segments if seg.cdr is not None])


def _scale(value: Any, x: float) -> Any:
    if not isinstance(value, dict | list | float | int):  # a convention: its rates or speed x x
        return curves.scale(value, x)
    if isinstance(value, list):
        return [min(v * x, 1.0) for v in value]
    if isinstance(value, dict):
        return {k: min(v * x, 1.0) for k, v in value.items()}
    return min(float(value) * x, 1.0)


def stressed(base: Scenario, stress: str, x: float, name: str | None = None) -> Scenario:
    """The scenario of ``stress`` at level ``x`` (module docstring)."""
    name = name or f"{stress}={x!r}"
    if stress == "cdr":  # one constant CDR for every loan: the segments' default rates go too
        segments = [seg.model_copy(update={"defaults": None}) for seg in base.segments]
        return base.model_copy(update={"name": name, "defaults": base.defaults.model_copy(update={"cdr": x}),
                                       "segments": segments})
    if stress == "cdr_multiple":  # every default rate, the segments' too, x times
        cdr = _scale(base.defaults.cdr, x)
        segments = [seg if seg.cdr is None else seg.model_copy(update={"defaults": seg.defaults.model_copy(  # type: ignore[union-attr]
            update={"cdr": _scale(seg.cdr, x)})}) for seg in base.segments]
        return base.model_copy(update={"name": name, "defaults": base.defaults.model_copy(update={"cdr": cdr}),
                                       "segments": segments})
    if stress == "recovery":
        return base.model_copy(update={"name": name, "recovery": base.recovery.model_copy(update={"rate": x}),
                                       "receivables": base.receivables.model_copy(update={"recovery_rate": x})})
    if stress == "invalidation":
        return base.model_copy(update={"name": name, "patents": base.patents.model_copy(update={"invalidation_hazard": x})})
    if stress == "invalidation_multiple":
        hz = _scale(base.patents.invalidation_hazard, x)
        return base.model_copy(update={"name": name, "patents": base.patents.model_copy(update={"invalidation_hazard": hz})})
    raise ValueError(f"unknown stress {stress!r} (one of {', '.join(STRESSES)})")


def stress_range(base: Scenario, stress: str) -> tuple[float, float, float, float | None]:
    """``(lo, hi, precision, base level)`` of a stress: rates on [0, 1] to 1 bp;
    multiples on [0, 1 / peak] (the peak rate reaches 100%) to 1 bp of the peak rate."""
    if stress in ("cdr", "recovery", "invalidation"):
        level: float | None
        if stress == "cdr":
            level = curves.base_level(base.defaults.cdr)
        elif stress == "recovery":
            level = base.recovery.rate
        else:
            hz = base.patents.invalidation_hazard
            level = float(hz) if not isinstance(hz, dict) else None
        return 0.0, 1.0, PRECISION, level
    if stress == "cdr_multiple":
        peak = _default_peak(base)
    else:
        peak = _peak(base.patents.invalidation_hazard)
    if peak <= 0:
        raise InputError.single("", f"stress {stress}",
                                f"the base scenario '{base.name}' has no {'defaults' if stress == 'cdr_multiple' else 'invalidation hazard'} to multiply")
    return 0.0, 1.0 / peak, PRECISION / peak, 1.0


@dataclass
class Breakeven:
    """What :func:`breakeven` returns."""

    deal: Deal
    base: Scenario
    table: pd.DataFrame  # one row per stress and tranche
    curve: pd.DataFrame  # tranche loss rate against the level, per stress
    criterion: str
    evaluations: int = 0
    engine_calls: int = 0
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)


class _Evaluator:
    """Runs scenarios of one stress level list per call (one engine call per chunk)."""

    def __init__(self, deal: Deal, base: Scenario, backend: Backend, criterion: Criterion, executor: Executor,
                 chunk: int) -> None:
        self.deal, self.base, self.criterion, self.executor, self.chunk = deal, base, criterion, executor, chunk
        self.ctx = SweepContext(deal, backend, criterion)
        self.evaluations = 0
        self.calls = 0

    def __call__(self, stress: str, levels: np.ndarray) -> pd.DataFrame:
        from .executors import run_tasks

        scenarios = [stressed(self.base, stress, float(x), f"{stress}[{i}]={float(x)!r}") for i, x in enumerate(levels)]
        tasks = [scenarios[i:i + self.chunk] for i in range(0, len(scenarios), self.chunk)]
        parts = run_tasks(run_chunk, self.ctx, tasks, executor=self.executor)
        self.evaluations += len(scenarios)
        self.calls += len(tasks)
        df = pd.concat([p[0] for p in parts], ignore_index=True)
        K = len(self.deal.tranches)
        df["level"] = np.repeat(levels, K)
        return df


def _whole_matrix(df: pd.DataFrame, names: list[str]) -> np.ndarray:
    """``(n_levels, K)`` whole flags from the evaluator's rows (levels in order)."""
    return df["whole"].to_numpy().reshape(-1, len(names))


def breakeven(
    deal: Deal,
    base: Scenario,
    *,
    stresses: Sequence[str] | None = None,
    tranches: Sequence[str] | None = None,
    criterion: Criterion = "timely",
    points: int = 33,
    curve_points: int = 41,
    backend: Backend = "cython",
    executor: Executor | None = None,
    chunk: int = 512,
) -> Breakeven:
    """Break-even level of every tranche (or of ``tranches``) under each stress.

    ``stresses`` default: ``cdr``, ``cdr_multiple`` (when the base has defaults) and
    ``recovery`` for every deal, and ``invalidation`` (and ``invalidation_multiple`` when the
    base has a hazard) for deals with licence pools. ``curve`` holds each tranche's loss
    rate at ``curve_points`` levels across the range of the first default stress (multiples
    of the base's defaults when it has any), for the plot of loss against the default
    multiple.

    Examples
    --------
    >>> import abs_engine as ae
    >>> deal = ae.load_deal("deals/sz_pledge_2026_1.yaml")
    >>> be = breakeven(deal, ae.load_scenario("scenarios/stress_guarantor_fails.yaml"), stresses=["cdr"])
    >>> row = be.table.set_index("tranche").loc["A"]
    >>> row["bound"], bool(0 < row["first_break"] - row["breakeven"] <= 1e-4)
    ('found', True)
    """
    from ..checks import check_scenarios

    t0 = time.perf_counter()
    check_scenarios(deal, [base])
    names = [t.name for t in deal.tranches]
    chosen = list(tranches) if tranches else names
    unknown = [t for t in chosen if t not in names]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], names, n=1)
        raise InputError.single("", "--tranche", f"unknown tranche '{unknown[0]}'"
                                + (f"; did you mean '{close[0]}'?" if close else "") + f" (known: {', '.join(names)})")
    has_licence = "patents" in sections(deal.pools)
    if stresses is None:
        stresses = ["cdr"] + (["cdr_multiple"] if _default_peak(base) > 0 else []) + ["recovery"]
        if has_licence:
            stresses += ["invalidation"] + (["invalidation_multiple"] if _peak(base.patents.invalidation_hazard) > 0 else [])
    bad = [s for s in stresses if s not in STRESSES]
    if bad:
        raise InputError.single("", "stress", f"unknown stress '{bad[0]}' (one of {', '.join(STRESSES)})")
    if points < 3:
        raise ValueError("points must be at least 3 (plain bisection)")
    ev = _Evaluator(deal, base, backend, criterion, executor or Executor("serial"), chunk)
    K = len(names)
    want = [names.index(t) for t in chosen]
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for stress in stresses:
        lo, hi, tol, base_level = stress_range(base, stress)
        worse_up = STRESSES[stress][1]
        # search in "badness" u in [0, 1]: level = lo + u (hi - lo) if worse_up else hi - u (hi - lo)
        span = hi - lo

        def level(u: np.ndarray, lo: float = lo, span: float = span, worse_up: bool = worse_up) -> np.ndarray:
            return lo + u * span if worse_up else lo + (1.0 - u) * span

        u = np.linspace(0.0, 1.0, points)
        df = ev(stress, level(u))
        whole = _whole_matrix(df, names)  # (n, K)
        a = np.full(K, np.nan)  # badness of the last whole level
        b = np.full(K, np.nan)  # badness of the first level not whole
        bound = [""] * K
        monotone = [True] * K
        for k in want:
            bad_at = np.flatnonzero(~whole[:, k])
            if not len(bad_at):
                a[k], bound[k] = 1.0, "range"
            elif bad_at[0] == 0:
                bound[k] = "never whole"
            else:
                a[k], b[k] = u[bad_at[0] - 1], u[bad_at[0]]
                monotone[k] = bool((~whole[bad_at[0]:, k]).all())
        utol = tol / span
        while True:
            open_k = [k for k in want if not np.isnan(b[k]) and b[k] - a[k] > utol]
            if not open_k:
                break
            news = [np.linspace(a[k], b[k], points)[1:-1] for k in open_k]
            uu = np.unique(np.concatenate(news))
            df = ev(stress, level(uu))
            whole = _whole_matrix(df, names)
            for k in open_k:
                inside = (uu > a[k]) & (uu < b[k])
                ui, wi = uu[inside], whole[inside, k]
                bad_at = np.flatnonzero(~wi)
                if len(bad_at):
                    monotone[k] = monotone[k] and not wi[bad_at[0]:].any()
                    b[k] = ui[bad_at[0]]
                    a[k] = ui[bad_at[0] - 1] if bad_at[0] > 0 else a[k]
                else:
                    a[k] = ui[-1] if len(ui) else a[k]
        for k in want:
            x = float(level(np.array([a[k]]))[0]) if not np.isnan(a[k]) else math.nan
            xb = float(level(np.array([b[k]]))[0]) if not np.isnan(b[k]) else math.nan
            rows.append({
                "stress": stress, "tranche": names[k], "kind": deal.tranches[k].kind, "criterion": criterion,
                "breakeven": x, "first_break": xb, "precision": tol, "bound": bound[k] or "found",
                "base_level": base_level if base_level is not None else math.nan,
                "multiple_of_base": (x / base_level) if (base_level not in (None, 0) and x == x) else math.nan,
                "monotone": monotone[k],
                "peak_cdr": (_default_peak(stressed(base, "cdr_multiple", x)) if stress == "cdr_multiple" and x == x else math.nan),
            })
            if not monotone[k]:
                notes.append(f"{stress}: tranche {names[k]} is whole again at some level worse than its break-even "
                             "(a trigger or support layer changes the structure); the break-even is the first failure")
    curve = _loss_curve(ev, base, stresses, curve_points, names)
    return Breakeven(deal, base, pd.DataFrame(rows), curve, criterion, ev.evaluations, ev.calls,
                     time.perf_counter() - t0, notes)


def _loss_curve(ev: _Evaluator, base: Scenario, stresses: Sequence[str], n: int, names: list[str]) -> pd.DataFrame:
    stress = "cdr_multiple" if "cdr_multiple" in stresses else ("cdr" if "cdr" in stresses else None)
    if stress is None or n < 2:
        return pd.DataFrame(columns=["stress", "level", "tranche", "loss_rate", "whole", "peak_cdr"])
    lo, hi, _, _ = stress_range(base, stress)
    if stress == "cdr_multiple":
        hi = min(hi, 20.0)  # the curve up to 20 x the base (or to a 100% CDR)
    levels = np.linspace(lo, hi, n)
    df = ev(stress, levels)
    peak = [(_default_peak(stressed(base, "cdr_multiple", x)) if stress == "cdr_multiple" else x) for x in levels]
    df["peak_cdr"] = np.repeat(peak, len(names))
    df["stress"] = stress
    return df[["stress", "level", "tranche", "loss_rate", "whole", "peak_cdr"]].reset_index(drop=True)


def whole_at(deal: Deal, base: Scenario, stress: str, levels: Sequence[float], *, criterion: Criterion = "timely",
             backend: Backend = "cython") -> TrancheMeasures:
    """The tranche measures at given levels of a stress (for checks; one engine call)."""
    from ..engine import run as run_engine
    scs = [stressed(base, stress, float(x), f"{stress}[{i}]") for i, x in enumerate(levels)]
    res = run_engine(deal, scs, backend=backend)
    return res.measures()

