"""run(): validate -> project -> compile -> allocate outputs -> kernel -> results.

:class:`Projector` is the one projection API every run and study goes through."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from .checks import check_run, require, status_problems
from .dates import Schedule, build_schedule
from .errors import InputError, KernelError, Problem
from .limits import check_run_size
from .model.deal import Deal
from .model.scenario import BASE, Scenario
from .model.status import Status
from .periods import PeriodFlows, aggregate, cleanup_months, reference_paths
from .pools.base import Events, PoolFlows, PoolStart, Sparse
from .pools.kinds import horizon_months, kind_of
from .restart import check_replay, restart_plan
from .results import Result
from .support.pool import support_flows
from .waterfall import reference as _waterfall_ref
from .waterfall.compile import compile_deal
from .waterfall.program import KernelArgs, Opening

Backend = Literal["cython", "reference"]

#: Scenarios per kernel call; bounds the memory of the outputs.
CHUNK = 2048


def stale_kernel(built: str, source: Path) -> str | None:
    """Why a kernel compiled from a .pyx of SHA-256 ``built`` must not run beside the
    source file ``source`` (None if it may: the hashes agree, or the source is not there to
    compare with). A kernel older than its source runs semantics that neither the source
    nor the reference twin states."""
    if not source.is_file():
        return None
    current = hashlib.sha256(source.read_bytes()).hexdigest()
    if built == current:
        return None
    how = f"from a different {source.name} (built {built[:12]}, source {current[:12]})" if built else \
        "without the hash of its source (build it with setup.py)"
    return (f"the compiled kernel was built {how}: rebuild it (pip install -e . --no-deps) "
            "or use backend='reference'")


@functools.cache
def _cython_run() -> Callable[[KernelArgs], int]:
    """The compiled kernel's ``run``, once it is known to match its source."""
    try:
        from . import _waterfall
    except ImportError as exc:  # pragma: no cover - only without a build
        raise KernelError(
            "the Cython kernel is not built; install the package (pip install .) "
            "or use backend='reference'"
        ) from exc
    why = stale_kernel(getattr(_waterfall, "SOURCE_SHA256", ""), Path(__file__).with_name("_waterfall.pyx"))
    if why is not None:
        raise KernelError(why)
    return _waterfall.run


def kernel(backend: Backend) -> Callable[[KernelArgs], int]:
    """The ``run`` function of a backend. The compiled kernel is refused (KernelError) when
    it was not built from the ``_waterfall.pyx`` beside it (setup.py compiles the source's
    SHA-256 into it)."""
    if backend == "reference":
        return _waterfall_ref.run
    if backend == "cython":
        return _cython_run()
    raise ValueError(f"unknown backend {backend!r} (cython, reference)")


def projection_grid(deal: Deal, scenarios: Sequence[Scenario]) -> tuple[int, Schedule]:
    """The months of the monthly grid and the payment schedule :func:`project` lays out
    for ``scenarios`` (the grid runs past the legal maturity by the longest recovery lag)."""
    grid_months = horizon_months(deal, scenarios)
    return grid_months, build_schedule(deal.deal, grid_months)


class Projector:
    """The one projection API: a deal's pools laid on the monthly grid that ``scenarios``
    need (:func:`projection_grid`), projected under any scenarios on that grid, densely or,
    on Monte Carlo paths, sparsely; then run through the waterfall. :func:`run` and every
    study (sweeps, break-evens, Monte Carlo) go through it.

    The pools are laid on the grid once (each kind's ``prepare``); :meth:`flows` projects
    them (each kind's ``project``, its support stack through
    :func:`abs_engine.support.pool.support_flows`), finds where the clean-up call is
    exercised and projects again with its sale; :meth:`result` aggregates the flows to
    payment periods, compiles the waterfall and runs the kernel.
    """

    def __init__(self, deal: Deal, scenarios: Sequence[Scenario], *,
                 starts: Sequence[PoolStart | None] | None = None) -> None:
        """``starts``: per pool, the state a deal picked up mid-life continues from
        (abs_engine/restart.py; None: from the cut-off date)."""
        self.deal = deal
        self.starts = list(starts) if starts is not None else [None] * len(deal.pools)
        self.grid_months, self.schedule = projection_grid(deal, scenarios)
        self.ref_names = sorted(deal.deal.reference_rates)
        self.kinds = [kind_of(p) for p in deal.pools]
        cutoff = deal.deal.cutoff_date
        self.prepared = [k.prepare(p, cutoff, self.grid_months, self.ref_names)
                         for k, p in zip(self.kinds, deal.pools, strict=True)]

    @property
    def grid(self) -> list[dt.date]:
        return self.schedule.grid

    def ref_rates(self, scenarios: Sequence[Scenario]) -> np.ndarray:
        """The reference rate in force in each grid month, ``(S, n_refs, M+1)``: that of the
        payment period the month's cash is paid in."""
        sched = self.schedule
        _, refs_period = reference_paths(self.deal, list(scenarios), sched.n_periods)
        mp = np.minimum(sched.month_period, sched.n_periods - 1)
        return refs_period[:, :, mp]

    def sparse(self, scenario: Scenario, *, exact: bool = True) -> list[Sparse | None]:
        """Each pool's sparse projection of Monte Carlo paths under ``scenario`` (None where
        its kind has none, or its support stack needs the dense one and ``exact``)."""
        refs = self.ref_rates([scenario])[0]
        return [k.sparse(p, prep, scenario, self.grid, refs, exact=exact)
                for k, p, prep in zip(self.kinds, self.deal.pools, self.prepared, strict=True)]

    def monthly(self, scenarios: Sequence[Scenario], events: Sequence[Events] | None = None, *,
                sale_months: np.ndarray | None = None, sparse: Sequence[Sparse | None] | None = None,
                snapshot: int | None = None) -> list[PoolFlows]:
        """Every pool's monthly flows under ``scenarios``: with ``events`` (per pool: the drawn
        default and invalidation months of Monte Carlo paths) and a ``sparse`` projection of a
        pool, that projection; else each kind's dense projection, with the clean-up call's
        sale in ``sale_months`` (per scenario, 0: none), from the pool's start, recording it at
        the end of grid month ``snapshot`` if given."""
        scenarios = list(scenarios)
        price = self.deal.cleanup_call.price if self.deal.cleanup_call is not None else 1.0
        refs: np.ndarray | None = None
        out = []
        for i, (kind, pool, prep) in enumerate(zip(self.kinds, self.deal.pools, self.prepared, strict=True)):
            ev = events[i] if events is not None else Events()
            sp = sparse[i] if sparse is not None and sale_months is None else None
            if sp is not None and ev.default_month is not None and self.starts[i] is None and snapshot is None:
                out.append(sp.flows(ev.default_month))
                continue
            if refs is None:
                refs = self.ref_rates(scenarios)
            ev = Events(ev.default_month, ev.invalidation_month, sale_months, price, self.starts[i], snapshot)
            out.append(kind.project(pool, prep, scenarios, self.grid, refs, ev, support_flows))
        return out

    def flows(self, scenarios: Sequence[Scenario], events: Sequence[Events] | None = None, *,
              sparse: Sequence[Sparse | None] | None = None, first_period: int = 0) -> tuple[list[PoolFlows], np.ndarray]:
        """:meth:`monthly`, then, where the deal's clean-up call is exercised (from
        ``first_period`` on: a deal picked up mid-life), again (dense) with its sale, so that
        assets defaulted before the call keep their recoveries; and the sale month per
        scenario (0: not exercised; :func:`abs_engine.periods.cleanup_months`)."""
        flows = self.monthly(scenarios, events, sparse=sparse)
        sale = np.zeros(len(scenarios), dtype=np.int64)
        if self.deal.cleanup_call is not None:
            sale = cleanup_months(self.deal, self.schedule, [aggregate(f, self.schedule) for f in flows], first_period)
            if sale.any():
                flows = self.monthly(scenarios, events, sale_months=sale)
        return flows, np.asarray(sale, dtype=np.int64)

    def result(self, scenarios: Sequence[Scenario], flows: Sequence[PoolFlows], sale_months: np.ndarray,
               backend: Backend = "cython", *, opening: Opening | None = None, status: Status | None = None,
               check: bool = True) -> Result:
        """Aggregate ``flows`` to payment periods, compile the waterfall (from ``opening``, the
        state of a deal picked up mid-life at ``status``), run the kernel; check that cash is
        conserved (:meth:`Result.check_conservation`) unless ``check`` is false."""
        scenarios = list(scenarios)
        sched = self.schedule
        pools = [aggregate(f, sched) for f in flows]
        if status is not None:
            check_replay(self.deal, status, scenarios, pools)
        mp = np.asarray(sched.month_period)
        cleanup = np.where(sale_months > 0, mp[np.clip(sale_months, 0, len(mp) - 1)], -1)
        args = compile_deal(self.deal, sched, pools, scenarios, opening)
        run_kernel(args, backend)
        result = Result(deal=self.deal, scenarios=scenarios, schedule=sched, pools=pools, args=args,
                        cleanup_period=cleanup, status=status, project=project)
        if check:
            result.check_conservation()
        return result


def project(deal: Deal, scenarios: Sequence[Scenario], *, sale_months: np.ndarray | None = None,
            starts: Sequence[PoolStart | None] | None = None, snapshot: int | None = None) -> tuple[Schedule, list[PeriodFlows]]:
    """Project every pool under every scenario once (with the clean-up call's sale in
    ``sale_months``, from ``starts``, recording each pool at the end of grid month
    ``snapshot``: :meth:`Projector.monthly`) and aggregate to payment periods."""
    proj = Projector(deal, scenarios, starts=starts)
    flows = proj.monthly(scenarios, sale_months=sale_months, snapshot=snapshot)
    return proj.schedule, [aggregate(f, proj.schedule) for f in flows]


def effective_cdr(deal: Deal, scenario: Scenario) -> list[float]:
    """What a scenario's default rates (curves by loan age, segments) amount to for this
    deal's pools as one annual CDR per projection month: each grid month's defaults over
    the balance outstanding at its start, all pools together (a month with nothing
    outstanding keeps the month before's rate)."""
    sc = scenario.model_copy(update={"defaults": scenario.defaults.model_copy(update={"loans": {}})})
    monthly = Projector(deal, [sc]).monthly([sc])
    default = sum(f.default_amount[0, 1:] for f in monthly)
    start = sum(f.balance_start[0, 1:] for f in monthly)
    out, last = [], 0.0
    for d, b in zip(np.atleast_1d(default), np.atleast_1d(start), strict=True):
        if b > 0:
            last = min(max(float(1.0 - (1.0 - d / b) ** 12), 0.0), 1.0)
        out.append(last)
    return out or [0.0]


def run(
    deal: Deal,
    scenario: Scenario | Sequence[Scenario] | None = None,
    *,
    backend: Backend = "cython",
    status: Status | None = None,
    check: bool = True,
) -> Result:
    """Project ``deal`` under one or several scenarios and run its waterfall.

    Parameters
    ----------
    deal : Deal
        A loaded deal (:func:`abs_engine.load_deal`).
    scenario : Scenario or list of Scenario, optional
        Assumptions; default: no defaults and no prepayments.
    backend : {"cython", "reference"}
        The compiled kernel, or its pure-Python reference twin.
    status : Status, optional
        The deal's status as of a payment date (:func:`abs_engine.load_status`): the run
        picks the deal up there and projects its remaining life (abs_engine/restart.py,
        docs/seasoned.md); the result's frames start with the next period.
    check : bool
        Verify that cash is conserved (:meth:`Result.check_conservation`, a
        :class:`~abs_engine.results.ConservationError` if not) before returning, as every
        command relies on: on by default (it costs under 1% of a run); off only to inspect
        a broken run.
    """
    if scenario is None:
        scenarios: list[Scenario] = [BASE]
    elif isinstance(scenario, Scenario):
        scenarios = [scenario]
    else:
        scenarios = list(scenario)
    if not scenarios:
        raise InputError([Problem("", "scenario", "no scenario given")])
    check_run(deal, scenarios)  # what the inputs mean (abs_engine/checks.py)
    check_run_size(deal, scenarios)  # horizon and working memory (abs_engine/limits.py)
    starts, opening = None, None
    if status is not None:  # a deal picked up mid-life (abs_engine/restart.py)
        require(status_problems(deal, status, "<status>"))  # (load_status checked a file's; this, one built in code)
        starts, opening = restart_plan(deal, status, scenarios)
    proj = Projector(deal, scenarios, starts=starts)
    flows, sale = proj.flows(scenarios, first_period=0 if opening is None else opening.t0)
    return proj.result(scenarios, flows, sale, backend, opening=opening, status=status, check=check)


def run_kernel(args: KernelArgs, backend: Backend = "cython") -> KernelArgs:
    """Run the kernel over ``args`` in chunks of scenarios; outputs land in ``args``."""
    fn = kernel(backend)
    S = args.shape[0]
    if S <= CHUNK:
        code = fn(args)
        if code != 0:
            raise KernelError(f"kernel returned code {code}")
        return args
    for s0 in range(0, S, CHUNK):
        part = args.subset(s0, min(S, s0 + CHUNK))
        code = fn(part)
        if code != 0:
            raise KernelError(f"kernel returned code {code}")
        for name in KernelArgs.OUTPUTS:
            getattr(args, name)[s0 : s0 + part.shape[0]] = getattr(part, name)
    return args
