"""Break-even levels (临界违约率): the worst level of a stress at which each tranche is
still whole (docs/scenarios.md, "Break-even").

A *stress* turns a level into a scenario derived from the base:

========================= ======================================================= =========
stress                    the scenario at level ``x``                             worse when
========================= ======================================================= =========
``cdr``                   a constant CDR of ``x`` (the base's timing, segment     higher
                          rates and tape PDs are dropped: :func:`at_cdr`)
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


def at_cdr(base: Scenario, cdr: float | list[float], name: str | None = None) -> Scenario:
    """``base`` with one annual default rate ``cdr`` (a constant, or a vector by projection
    month) for every loan and obligor; everything else of ``base`` stays. Whatever else set
    default rates gives way: the base's curve, the segments' own rates and the obligors' tape
    PDs (``receivables.use_tape_pd``). The one definition of "this scenario at CDR x" for
    the break-even search, the investor speeds, the agency stresses, the heat map and sizing.

    >>> import abs_engine as ae
    >>> sc = at_cdr(ae.load_scenario("scenarios/pudong_base.yaml"), 0.05)
    >>> sc.defaults.cdr, sc.receivables.use_tape_pd
    (0.05, False)
    """
    segments = [seg.model_copy(update={"defaults": None}) for seg in base.segments]
    upd: dict[str, Any] = {"defaults": base.defaults.model_copy(update={"cdr": cdr}), "segments": segments}
    if base.receivables.use_tape_pd:
        upd["receivables"] = base.receivables.model_copy(update={"use_tape_pd": False})
    if name is not None:
        upd["name"] = name
    return base.model_copy(update=upd)


def lifetime_defaults(deal: Deal, scenarios: Sequence[Scenario]) -> np.ndarray:
    """Each scenario's gross defaults over the projection, all pools, from the cut-off date
    (currency units; one projection of the pools, no waterfall)."""
    from ..engine import Projector

    scs = list(scenarios)
    monthly = Projector(deal, scs).monthly(scs)
    return np.asarray(sum(f.default_amount[:, 1:].sum(axis=1) for f in monthly), dtype=np.float64)


def equivalent_cdr(deal: Deal, sc: Scenario, *, points: int = 33) -> float:
    """The constant annual CDR (:func:`at_cdr`) whose lifetime defaults on this deal's pools
    equal those of ``sc`` (a curve by loan age, segments, a vector, the tape's PDs): the
    "effective CDR" a table shows beside a constant one. A plain constant CDR is itself.
    A one-dimensional solve: lifetime defaults rise with the CDR; two rounds of ``points``
    levels (one projection each), then linear interpolation within the last bracket.

    >>> import abs_engine as ae
    >>> deal = ae.load_deal("deals/sz_pledge_2026_1.yaml")
    >>> equivalent_cdr(deal, ae.load_scenario("scenarios/base.yaml"))
    0.02
    """
    cdr = sc.defaults.cdr
    if isinstance(cdr, float | int) and not sc.segments and not sc.receivables.use_tape_pd:
        return float(cdr)
    target = float(lifetime_defaults(deal, [sc])[0])
    if target <= 0.0:
        return 0.0
    lo, hi = 0.0, 1.0
    for _ in range(2):
        xs = np.linspace(lo, hi, points)
        d = lifetime_defaults(deal, [at_cdr(sc, float(x), f"cdr={x!r}") for x in xs])
        if target >= d[-1]:
            return hi
        j = int(np.searchsorted(d, target, side="left"))
        j = min(max(j, 1), points - 1)
        lo, hi = float(xs[j - 1]), float(xs[j])
        d_lo, d_hi = float(d[j - 1]), float(d[j])
    return lo if d_hi <= d_lo else lo + (hi - lo) * (target - d_lo) / (d_hi - d_lo)


def stressed(base: Scenario, stress: str, x: float, name: str | None = None) -> Scenario:
    """The scenario of ``stress`` at level ``x`` (module docstring)."""
    name = name or f"{stress}={x!r}"
    if stress == "cdr":  # one constant CDR for every loan and obligor (:func:`at_cdr`)
        return at_cdr(base, x, name)
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


def _fail_runs(whole: np.ndarray) -> list[tuple[int, int]]:
    """``(first, last)`` indices of each maximal run of ``False`` in ``whole``."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, w in enumerate(whole):
        if not w and start is None:
            start = i
        elif w and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(whole) - 1))
    return runs


def format_ranges(ranges: Sequence[tuple[float, ...]]) -> str:
    """Levels at which a tranche is not whole, as ``"lo-hi; lo-hi"`` (decimals; the first
    and last level evaluated in each run of failures).

    >>> format_ranges([(0.3115, 0.35), (0.9, 1.0)])
    '0.3115-0.35; 0.9-1'
    """
    return "; ".join(f"{lo:.10g}-{hi:.10g}" for lo, hi in ranges)


def parse_ranges(text: Any) -> list[tuple[float, float]]:
    """The inverse of :func:`format_ranges` (an empty or missing text: no range)."""
    if not isinstance(text, str) or not text.strip():
        return []
    out = []
    for part in text.split(";"):
        lo, _, hi = part.strip().rpartition("-")
        out.append((float(lo), float(hi)))
    return out


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

        # samples[k]: badness -> whole, for every level evaluated; every pair of neighbouring
        # samples whose flags differ is a bracket, refined until it is narrower than the
        # precision (so every change the first grid sees is located, not only the first)
        u0 = np.linspace(0.0, 1.0, points)
        if base_level is not None and stress in ("cdr", "recovery", "invalidation") and lo < base_level < hi:
            # the base's own level is evaluated too, so the table never contradicts the base run
            u_base = (base_level - lo) / span if worse_up else 1.0 - (base_level - lo) / span
            u0 = np.unique(np.append(u0, u_base))
        whole0 = _whole_matrix(ev(stress, level(u0)), names)
        samples: dict[int, dict[float, bool]] = {k: dict(zip(u0.tolist(), whole0[:, k].tolist(), strict=True))
                                                 for k in want}
        utol = tol / span

        def brackets(k: int, samples: dict[int, dict[float, bool]] = samples, utol: float = utol) -> list[tuple[float, float]]:
            us = sorted(samples[k])
            return [(a_, b_) for a_, b_ in zip(us, us[1:], strict=False)
                    if samples[k][a_] != samples[k][b_] and b_ - a_ > utol]

        while True:
            todo = [(k, ab) for k in want for ab in brackets(k)]
            if not todo:
                break
            uu = np.unique(np.concatenate([np.linspace(a_, b_, points)[1:-1] for _, (a_, b_) in todo]))
            whole = _whole_matrix(ev(stress, level(uu)), names)
            for k, (a_, b_) in todo:
                inside = (uu > a_) & (uu < b_)
                samples[k].update(zip(uu[inside].tolist(), whole[inside, k].tolist(), strict=True))
        for k in want:
            us = np.array(sorted(samples[k]))
            ws = np.array([samples[k][x] for x in us])
            runs = _fail_runs(ws)
            lv = level(us)
            x = xb = math.nan
            if not runs:
                bound = "range"
                x = float(lv[-1])
            elif runs[0][0] == 0:
                bound = "never whole"
                xb = float(lv[0])
            else:
                bound = "found"
                x, xb = float(lv[runs[0][0] - 1]), float(lv[runs[0][0]])
            monotone = len(runs) <= 1 and (not runs or runs[0][1] == len(us) - 1)
            ranges = [tuple(sorted((float(lv[r0]), float(lv[r1])))) for r0, r1 in runs]
            rows.append({
                "stress": stress, "tranche": names[k], "kind": deal.tranches[k].kind, "criterion": criterion,
                "breakeven": x, "first_break": xb, "precision": tol, "bound": bound,
                "base_level": base_level if base_level is not None else math.nan,
                "multiple_of_base": (x / base_level) if (base_level not in (None, 0) and x == x) else math.nan,
                "monotone": monotone, "fail_ranges": format_ranges(ranges),
                "peak_cdr": (_default_peak(stressed(base, "cdr_multiple", x)) if stress == "cdr_multiple" and x == x else math.nan),
            })
            if not monotone:
                notes.append(f"{stress}: tranche {names[k]} is not whole at {format_ranges(ranges)} and whole between "
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

