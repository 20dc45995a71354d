"""Many scenarios through the engine, chunked so memory stays bounded.

:func:`sweep` splits a list of scenarios (a grid file's points, say) into chunks of at
most ``chunk`` scenarios; each chunk is one :func:`abs_engine.run` call (projection and
kernel over the whole chunk at once) whose arrays are reduced at once to one row per
scenario and tranche (:meth:`abs_engine.Result.measures`) and then dropped, so a sweep
holds one chunk's arrays per worker whatever its size. Chunks run on the executor given
(threads by default); rows come back in scenario order.

Results are bit-identical whatever the executor or the number of workers for a given
chunk size. Across chunk sizes they agree to rounding (1e-12 relative): the pledge
projection drops the loans repaid in every scenario of a call, which changes the order of
its sums over loans. (Monte Carlo paths, computed in fixed blocks, are bit-identical
whatever the chunk.)
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..engine import CHUNK, Backend
from ..engine import run as run_engine
from ..errors import InputError
from ..model.deal import Deal
from ..model.scenario import Scenario
from ..results import Criterion, pool_measures
from .executors import Context, Executor, OnDone, run_tasks

#: Scenarios per engine call unless told otherwise.
DEFAULT_CHUNK = 256


class SweepContext(Context):
    def __init__(self, deal: Deal, backend: Backend, criterion: Criterion) -> None:
        super().__init__()
        self.deal = deal
        self.backend = backend
        self.criterion = criterion


def run_chunk(ctx: SweepContext, scenarios: list[Scenario]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One engine call over ``scenarios``, reduced to (tranche rows, pool rows). A task
    function of :func:`abs_engine.studies.executors.run_tasks`."""
    res = run_engine(ctx.deal, scenarios, backend=ctx.backend)
    names = [s.name for s in scenarios]
    tm = res.measures()
    pm = pool_measures(res.pools)
    return tm.frame(names, ctx.criterion), pd.DataFrame({"scenario": names, **pm})


@dataclass
class Sweep:
    """What :func:`sweep` returns: one row per scenario and tranche (``tranches``) and one
    per scenario (``pool``); grid axes, when given, are columns of both."""

    deal: Deal
    tranches: pd.DataFrame
    pool: pd.DataFrame
    axes: list[str] = field(default_factory=list)
    criterion: str = "timely"
    executor: str = "serial"
    elapsed_s: float = 0.0
    chunk: int = DEFAULT_CHUNK

    @property
    def n_scenarios(self) -> int:
        return int(self.pool.shape[0])


def sweep(
    deal: Deal,
    scenarios: Sequence[Scenario],
    *,
    points: pd.DataFrame | None = None,
    executor: Executor | None = None,
    chunk: int | None = None,
    backend: Backend = "cython",
    criterion: Criterion = "timely",
    on_done: OnDone | None = None,
) -> Sweep:
    """Run ``scenarios`` in chunks and reduce each to its tranche and pool figures.

    ``points`` (e.g. :meth:`abs_engine.io.scenario_file.GridPoints.frame`) has a
    ``scenario`` column and one column per grid axis; its axes are joined to the results.

    Examples
    --------
    >>> import abs_engine as ae
    >>> from abs_engine.io import load_grid
    >>> deal = ae.load_deal("deals/sz_pledge_2026_1.yaml")
    >>> grid = load_grid("scenarios/grid_cdr_recovery.yaml")
    >>> out = sweep(deal, grid.scenarios, points=grid.frame(), executor=Executor("serial"))
    >>> out.n_scenarios == len(grid.scenarios), "cdr" in out.tranches.columns
    (True, True)
    """
    from ..checks import check_scenarios

    scenarios = list(scenarios)
    if not scenarios:
        raise InputError.single("", "scenario", "no scenario given")
    check_scenarios(deal, scenarios)
    ex = executor or Executor()
    size = min(chunk or DEFAULT_CHUNK, CHUNK)
    if size < 1:
        raise ValueError(f"chunk must be at least 1 (got {chunk})")
    # about four chunks per worker when the sweep is small, so every core has work
    size = max(1, min(size, math.ceil(len(scenarios) / (4 * ex.n_workers)))) if chunk is None else size
    tasks = [scenarios[i:i + size] for i in range(0, len(scenarios), size)]
    ctx = SweepContext(deal, backend, criterion)
    t0 = time.perf_counter()
    parts = run_tasks(run_chunk, ctx, tasks, executor=ex, units=[len(t) for t in tasks], on_done=on_done)
    tranches = pd.concat([p[0] for p in parts], ignore_index=True)
    pool = pd.concat([p[1] for p in parts], ignore_index=True)
    axes: list[str] = []
    if points is not None:
        axes = [c for c in points.columns if c != "scenario"]
        tranches = points.merge(tranches, on="scenario", how="right")[["scenario", *axes, *[c for c in tranches.columns if c != "scenario"]]]
        pool = points.merge(pool, on="scenario", how="right")
    return Sweep(deal, tranches, pool, axes, criterion, ex.describe(), time.perf_counter() - t0, size)


def loss_matrix(result: Sweep, tranche: str, value: str = "loss_rate") -> pd.DataFrame:
    """For a grid of one or two axes: ``value`` of ``tranche`` with the first axis down
    and the second across (one column if there is one axis)."""
    df = result.tranches[result.tranches["tranche"] == tranche]
    if not result.axes:
        raise ValueError("the sweep has no grid axes")
    if len(result.axes) == 1:
        return df.set_index(result.axes[0])[[value]]
    a, b = result.axes[:2]
    return df.pivot_table(index=a, columns=b, values=value, aggfunc=np.max)
