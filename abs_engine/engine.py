"""run(): validate -> project -> compile -> allocate outputs -> kernel -> results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from . import _waterfall_ref
from ._program import KernelArgs
from .checks import check_run
from .compile import compile_deal
from .dates import Schedule, build_schedule
from .errors import InputError, KernelError, Problem
from .limits import check_run_size
from .model.deal import Deal, PledgeLoanPool
from .model.scenario import BASE, Scenario
from .periods import PeriodFlows, aggregate, cleanup_months, reference_paths
from .pools.base import PoolFlows
from .pools.kinds import horizon_months
from .pools.pledge import loan_arrays, project_pledge_pool
from .pools.receivables import project_receivable_pool, receivable_arrays
from .results import Result

Backend = Literal["cython", "reference"]

#: Scenarios per kernel call; bounds the memory of the outputs.
CHUNK = 2048


def kernel(backend: Backend) -> Callable[[KernelArgs], int]:
    """The ``run`` function of a backend."""
    if backend == "reference":
        return _waterfall_ref.run
    if backend == "cython":
        try:
            from . import _waterfall
        except ImportError as exc:  # pragma: no cover - only without a build
            raise KernelError(
                "the Cython kernel is not built; install the package (pip install .) "
                "or use backend='reference'"
            ) from exc
        return _waterfall.run
    raise ValueError(f"unknown backend {backend!r} (cython, reference)")


def projection_grid(deal: Deal, scenarios: Sequence[Scenario]) -> tuple[int, Schedule]:
    """The months of the monthly grid and the payment schedule :func:`project` lays out
    for ``scenarios`` (the grid runs past the legal maturity by the longest recovery lag)."""
    grid_months = horizon_months(deal, scenarios)
    return grid_months, build_schedule(deal.deal, grid_months)


def project(
    deal: Deal,
    scenarios: Sequence[Scenario],
    *,
    default_months: Sequence[np.ndarray | None] | None = None,
    invalidation_months: Sequence[np.ndarray | None] | None = None,
    pool_flows: Sequence[PoolFlows | None] | None = None,
    sale_months: np.ndarray | None = None,
) -> tuple[Schedule, list[PeriodFlows]]:
    """Project every pool under every scenario and aggregate to payment periods.

    The keyword-only hooks are one entry per pool of ``deal.pools`` (None: not used for
    that pool); the Monte Carlo (:mod:`abs_engine.scenarios`) uses them:

    * ``default_months``: integers ``(n_scenarios, n_assets)``, the grid month in which each
      asset defaults wholly in each scenario (0: none) — ``project_pledge_pool`` /
      ``project_receivable_pool``'s ``default_month``;
    * ``invalidation_months``: integers ``(n_scenarios, n_patents)`` for licence pools, the
      grid month from which each patent is invalid (0: never);
    * ``pool_flows``: monthly flows of a pool projected elsewhere on the grid
      :func:`projection_grid` lays out, used instead of projecting that pool here.

    ``sale_months`` (integers ``(n_scenarios,)``, 0: none): the grid month at whose end the
    deal's clean-up call buys the performing assets of every projected pool
    (:func:`abs_engine.periods.cleanup_months`).
    """
    h = deal.deal
    grid_months, sched = projection_grid(deal, scenarios)
    ref_names, refs_period = reference_paths(deal, list(scenarios), sched.n_periods)
    # reference rate in force in each grid month = that of the period it is paid in
    mp = np.minimum(sched.month_period, sched.n_periods - 1)
    refs_month = refs_period[:, :, mp]
    out = []
    sale_price = deal.cleanup_call.price if deal.cleanup_call is not None else 1.0
    for i, pool in enumerate(deal.pools):
        dm = default_months[i] if default_months is not None else None
        given = pool_flows[i] if pool_flows is not None else None
        if given is not None:
            if given.balance_end.shape != (len(scenarios), grid_months + 1):
                raise ValueError(f"pool_flows[{i}] has shape {given.balance_end.shape}, "
                                 f"expected {(len(scenarios), grid_months + 1)}")
            flows = given
        elif isinstance(pool, PledgeLoanPool):
            loans = loan_arrays(pool, h.cutoff_date, grid_months, ref_names)
            flows = project_pledge_pool(pool, loans, list(scenarios), sched.grid, refs_month, default_month=dm,
                                        sale_month=sale_months, sale_price=sale_price)
        else:
            arrays = receivable_arrays(pool, h.cutoff_date, grid_months)
            im = invalidation_months[i] if invalidation_months is not None else None
            flows = project_receivable_pool(pool, arrays, list(scenarios), sched.grid, default_month=dm,
                                            invalidation_month=im, sale_month=sale_months, sale_price=sale_price)
        out.append(aggregate(flows, sched))
    return sched, out


def run(
    deal: Deal,
    scenario: Scenario | Sequence[Scenario] | None = None,
    *,
    backend: Backend = "cython",
    default_months: Sequence[np.ndarray | None] | None = None,
    invalidation_months: Sequence[np.ndarray | None] | None = None,
    pool_flows: Sequence[PoolFlows | None] | None = None,
    sale_months: np.ndarray | None = None,
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
    default_months, invalidation_months, pool_flows : optional
        Per-pool hooks of :func:`project` (asset default months and patent invalidation
        months per scenario as arrays, flows projected elsewhere); for Monte Carlo paths.
    sale_months : optional
        With ``pool_flows``: the clean-up call's sale month per scenario those flows were
        projected with (0: none). Without it, a deal's clean-up call is found here and the
        pools are projected again with it.
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
    sched, pools = project(deal, scenarios, default_months=default_months,
                           invalidation_months=invalidation_months, pool_flows=pool_flows)
    if sale_months is None:
        sale_months = cleanup_months(deal, sched, pools)
        if sale_months.any():
            if pool_flows is not None and any(f is not None for f in pool_flows):
                raise ValueError("the clean-up call is exercised but pool_flows were projected without it: "
                                 "project them with its sale_month and pass sale_months")
            sched, pools = project(deal, scenarios, default_months=default_months,
                                   invalidation_months=invalidation_months, sale_months=sale_months)
    sale_months = np.asarray(sale_months, dtype=np.int64)
    mp = np.asarray(sched.month_period)
    cleanup = np.where(sale_months > 0, mp[np.clip(sale_months, 0, len(mp) - 1)], -1)
    args = compile_deal(deal, sched, pools, scenarios)
    run_kernel(args, backend)
    return Result(deal=deal, scenarios=scenarios, schedule=sched, pools=pools, args=args, cleanup_period=cleanup)


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
