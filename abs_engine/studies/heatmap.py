"""Heat maps of a tranche over two assumptions (docs/structuring.md, "Heat maps"): its loss
rate (or yield, or whether it is whole) on a grid of a constant CDR against the recovery
haircut or the disposal lag, every point a scenario derived from the base (everything else
as the base writes it), run as one sweep (:func:`abs_engine.studies.sweep`).

The **break-even frontier** is read off the grid: for each value of the second
assumption, the highest CDR of the grid at which the tranche is whole (with the grid's
resolution; :func:`abs_engine.studies.breakeven` finds it to 1 bp). The base scenario
and each stress scenario are marked at their (mean) CDR and their haircut or lag.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import curves
from ..engine import Backend
from ..errors import InputError, Problem
from ..model.deal import Deal
from ..model.scenario import Scenario
from ..results import Criterion
from .executors import Executor
from .sweep import sweep

#: The second axis: scenario field, label, default values.
AXES: dict[str, tuple[str, str, list[float]]] = {
    "haircut": ("recovery.haircut", "recovery haircut", [round(0.1 * i, 10) for i in range(11)]),
    "lag": ("recovery.lag_months", "disposal lag (months)", [float(m) for m in range(0, 37, 3)]),
}
VALUES: tuple[str, ...] = ("loss_rate", "yield", "whole")


@dataclass
class Heatmap:
    """What :func:`heatmap` returns."""

    deal: Deal
    tranche: str
    y: str
    value: str
    #: one row per grid point: cdr, the second axis, loss_rate, yield, whole
    grid: pd.DataFrame
    #: per value of the second axis: the highest CDR of the grid at which the tranche is whole
    frontier: pd.DataFrame
    #: the marked scenarios: name, cdr, the second axis' value, role (base / stress)
    points: pd.DataFrame
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def _mean_cdr(sc: Scenario) -> float:
    return curves.mean_annual(sc.defaults.cdr)


def _axis_value(sc: Scenario, y: str) -> float:
    return float(sc.recovery.haircut if y == "haircut" else sc.recovery.lag_months)


def heatmap(
    deal: Deal,
    base: Scenario,
    tranche: str,
    *,
    y: str = "haircut",
    cdr: Sequence[float] | None = None,
    y_values: Sequence[float] | None = None,
    stresses: Sequence[Scenario] = (),
    value: str = "loss_rate",
    criterion: Criterion = "timely",
    backend: Backend = "cython",
    executor: Executor | None = None,
) -> Heatmap:
    """The grid, the frontier and the marked points (module docstring).

    Examples
    --------
    >>> import abs_engine as ae
    >>> deal = ae.load_deal("deals/sz_pledge_2026_1.yaml")
    >>> stress = ae.load_scenario("scenarios/stress_guarantor_fails.yaml")
    >>> hm = heatmap(deal, stress, "A", cdr=[0.0, 0.2, 0.4], y_values=[0.3, 0.7], executor=Executor("serial"))
    >>> hm.grid.shape[0], list(hm.points["role"])
    (6, ['base'])
    """
    import time

    t0 = time.perf_counter()
    problems = []
    names = [t.name for t in deal.tranches]
    if tranche not in names:
        import difflib

        close = difflib.get_close_matches(tranche, names, n=1)
        problems.append(Problem("", "--tranche", f"unknown tranche '{tranche}'" + (f"; did you mean '{close[0]}'?" if close else "")
                                + f" (known: {', '.join(names)})"))
    if y not in AXES:
        problems.append(Problem("", "--y", f"unknown axis '{y}' ({', '.join(AXES)})"))
    if value not in VALUES:
        problems.append(Problem("", "--value", f"unknown value '{value}' ({', '.join(VALUES)})"))
    xs = sorted({float(v) for v in cdr}) if cdr is not None else None
    if xs is not None and (not xs or any(not 0.0 <= v <= 1.0 for v in xs)):
        problems.append(Problem("", "--cdr", "give CDRs between 0 and 1 (decimals: 0.05 is 5%)"))
    if problems:
        raise InputError(problems)
    field_path, _, default_y = AXES[y]
    ys = sorted({float(v) for v in y_values}) if y_values is not None else default_y
    if y == "haircut" and any(not 0.0 <= v <= 1.0 for v in ys):
        raise InputError.single("", "--y-values", "haircuts are between 0 and 1")
    if y == "lag" and any(v < 0 or v > 240 or v != int(v) for v in ys):
        raise InputError.single("", "--y-values", "lags are whole months from 0 to 240")
    marked = [("base", base)] + [("stress", s) for s in stresses]
    if xs is None:
        top = max(0.3, min(1.0, 2.0 * max(_mean_cdr(s) for _, s in marked)))
        xs = [round(top * i / 20, 10) for i in range(21)]
    scs, pts = [], []
    for yv in ys:
        for xv in xs:
            rc = base.recovery.model_copy(update={"haircut": yv} if y == "haircut" else {"lag_months": int(yv)})
            name = f"heatmap[cdr={xv:g}, {y}={yv:g}]"
            scs.append(base.model_copy(update={"name": name, "recovery": rc,
                                               "defaults": base.defaults.model_copy(update={"cdr": xv})}))
            pts.append({"scenario": name, "cdr": xv, y: yv})
    res = sweep(deal, scs, points=pd.DataFrame(pts), executor=executor, backend=backend, criterion=criterion)
    g = res.tranches[res.tranches["tranche"] == tranche][["cdr", y, "loss_rate", "yield", "whole"]].reset_index(drop=True)
    front = []
    for yv, part in g.groupby(y, sort=True):
        part = part.sort_values("cdr")
        bad = np.flatnonzero(~part["whole"].to_numpy())
        cdrs = part["cdr"].to_numpy()
        if not len(bad):
            front.append({y: yv, "breakeven_cdr": float(cdrs[-1]), "first_break_cdr": math.nan, "bound": "range"})
        elif bad[0] == 0:
            front.append({y: yv, "breakeven_cdr": math.nan, "first_break_cdr": float(cdrs[0]), "bound": "never whole"})
        else:
            front.append({y: yv, "breakeven_cdr": float(cdrs[bad[0] - 1]), "first_break_cdr": float(cdrs[bad[0]]),
                          "bound": "found"})
    points = pd.DataFrame([{"scenario": s.name, "role": role, "cdr": _mean_cdr(s), y: _axis_value(s, y)}
                           for role, s in marked])
    notes = []
    if any(isinstance(s.defaults.cdr, list) for _, s in marked):
        notes.append("a scenario with a CDR vector or curve is marked at its mean CDR; the grid's CDRs are constant")
    if field_path == "recovery.haircut" and base.recovery.rate is not None:
        notes.append("the base recovers a fixed rate (recovery.rate), which the haircut does not change: the haircut "
                     "axis then has no effect")
    return Heatmap(deal, tranche, y, value, g, pd.DataFrame(front), points, time.perf_counter() - t0, notes)
