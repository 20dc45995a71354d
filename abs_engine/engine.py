"""run(): validate -> project -> compile -> allocate outputs -> kernel -> results."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from . import _waterfall_ref
from ._program import KernelArgs
from .compile import PeriodFlows, aggregate, cleanup_months, compile_deal, reference_paths
from .curves import SegmentIndex, by_age, is_sda, label, segment_problems
from .dates import Schedule, build_schedule
from .errors import InputError, KernelError, Problem
from .io.deal_file import check_assets, check_references, curve_problems
from .limits import check_run_size
from .model.deal import Deal, PledgeLoanPool, Pool, asset_id
from .model.scenario import BASE, Scenario
from .model.status import Status
from .model.support import failure_names
from .pools.base import PoolFlows, PoolStart
from .pools.pledge import grid_months_needed, loan_arrays, project_pledge_pool
from .pools.receivables import months_needed as receivable_months
from .pools.receivables import project_receivable_pool, receivable_arrays
from .results import Result

Backend = Literal["cython", "reference"]

#: Scenarios per kernel call; bounds the memory of the outputs.
CHUNK = 2048


def _months(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month) + 1


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


def months_needed(pool: Pool, cutoff: dt.date) -> int:
    """Grid months from the cut-off date to the pool's last scheduled cash flow."""
    if isinstance(pool, PledgeLoanPool):
        return grid_months_needed(pool, cutoff)
    return receivable_months(pool, cutoff)


def _check_scenarios(deal: Deal, scenarios: Sequence[Scenario]) -> None:
    """Every name a scenario uses resolves in the deal (with a did-you-mean), and every date
    it gives falls inside the deal (a default dated before the cut-off date would silently
    become a first-month default; one after the legal maturity would have no effect)."""
    from .io.deal_file import _unknown
    from .model.deal import LicencePool

    problems: list[Problem] = []
    h = deal.deal
    ids = {asset_id(a) for p in deal.pools for a in p.assets}
    patents = sorted({pt.patent_id for p in deal.pools if isinstance(p, LicencePool) for pt in p.patents})
    names: set[str] = set()
    # what may fail: deal-level providers (accounts) and every payer of the pools' stacks
    providers = [a.name for a in deal.accounts if a.external] + [n for p in deal.pools for n in failure_names(p.support)]

    def outside(d: dt.date, first: dt.date, first_name: str) -> str | None:
        if d < first:
            return f"{d} is before the {first_name} {first}"
        if d > h.legal_maturity:
            return f"{d} is after the legal maturity {h.legal_maturity}"
        return None

    receivable_pools = [p.name for p in deal.pools if not isinstance(p, PledgeLoanPool)]
    pledge = [SegmentIndex(p.name, p.assets) for p in deal.pools if isinstance(p, PledgeLoanPool)]
    for sc in scenarios:
        where = f"scenario '{sc.name}'"
        if receivable_pools and (by_age(sc.defaults.cdr) or is_sda(sc.defaults.cdr)):
            problems.append(Problem(where, "defaults.cdr", (
                f"{label(sc.defaults.cdr)} runs on loan age, which the receivable pools of the deal "
                f"({', '.join(receivable_pools)}) do not have; write the rate by projection_month")))
        problems += segment_problems(sc, pledge)
        for what, on in (("recovery.advancing", sc.recovery.advancing != "none"), ("delinquency", sc.delinquency is not None)):
            for p in deal.pools if on else []:
                if isinstance(p, PledgeLoanPool) and p.support:
                    problems.append(Problem(f"scenario '{sc.name}'", what, (
                        f"{'servicer advancing' if what != 'delinquency' else 'a delinquency pipeline'} with the "
                        f"risk-sharing layers of pool '{p.name}' is not modelled (the layers take each default "
                        "as it happens); run it without")))
        if sc.name in names:
            problems.append(Problem(where, "name", "duplicate scenario name"))
        names.add(sc.name)
        for lid, day in sc.defaults.loans.items():
            if lid not in ids:
                hint = _hint(lid, sorted(ids)) if len(ids) <= 10_000 else ""
                problems.append(Problem(where, f"defaults.loans.{lid}", f"unknown loan id '{lid}'{hint}"))
            elif (why := outside(day, h.cutoff_date, "cut-off date")) is not None:
                problems.append(Problem(where, f"defaults.loans.{lid}", f"default date {why}"))
        for i, ev in enumerate(sc.patents.events):
            if ev.patent not in patents:
                problems.append(Problem(where, f"patents.events[{i}].patent",
                                        _unknown("patent", ev.patent, patents[:20]) if patents
                                        else f"unknown patent '{ev.patent}' (the deal has no licence pool with patents)"))
            elif (why := outside(ev.date, h.cutoff_date, "cut-off date")) is not None:
                problems.append(Problem(where, f"patents.events[{i}].date", f"event date {why}"))
        for name in sc.support_failures:  # (any date: before the cut-off, failed from the start)
            if name not in providers:
                problems.append(Problem(where, f"support_failures.{name}",
                                        f"not a support provider of the deal{_hint(name, providers)} "
                                        f"(known: {', '.join(providers) or 'none'})"))
        if sc.curve is not None:
            settle = deal.pricing.settlement or h.closing_date
            problems += curve_problems(sc.curve, settle, where, "curve")
        for ref in sc.reference_rates:
            if ref not in h.reference_rates:
                known = ", ".join(h.reference_rates) or "none"
                problems.append(Problem(where, f"reference_rates.{ref}",
                                        f"not a reference rate of the deal{_hint(ref, list(h.reference_rates))} (known: {known})"))
    if problems:
        raise InputError(problems)


def _hint(name: str, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""


def projection_grid(deal: Deal, scenarios: Sequence[Scenario]) -> tuple[int, Schedule]:
    """The months of the monthly grid and the payment schedule :func:`project` lays out
    for ``scenarios`` (the grid runs past the legal maturity by the longest recovery lag)."""
    h = deal.deal
    max_lag = max(max(sc.recovery.lag_months, sc.receivables.recovery_lag_months) for sc in scenarios)
    need = max(months_needed(p, h.cutoff_date) for p in deal.pools)
    grid_months = max(need, _months(h.cutoff_date, h.legal_maturity)) + max_lag
    return grid_months, build_schedule(h, grid_months)


def project(
    deal: Deal,
    scenarios: Sequence[Scenario],
    *,
    default_months: Sequence[np.ndarray | None] | None = None,
    invalidation_months: Sequence[np.ndarray | None] | None = None,
    pool_flows: Sequence[PoolFlows | None] | None = None,
    sale_months: np.ndarray | None = None,
    starts: Sequence[PoolStart | None] | None = None,
    snapshot: int | None = None,
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
    (:func:`abs_engine.compile.cleanup_months`). ``starts``: per pool, the state a deal
    picked up mid-life continues from (abs_engine/restart.py); ``snapshot``: a grid month at
    whose end each pool's state is recorded (``PeriodFlows.snapshot``).
    """
    sched, monthly = project_monthly(deal, scenarios, default_months=default_months,
                                     invalidation_months=invalidation_months, pool_flows=pool_flows,
                                     sale_months=sale_months, starts=starts, snapshot=snapshot)
    return sched, [aggregate(flows, sched) for flows in monthly]


def project_monthly(
    deal: Deal,
    scenarios: Sequence[Scenario],
    *,
    default_months: Sequence[np.ndarray | None] | None = None,
    invalidation_months: Sequence[np.ndarray | None] | None = None,
    pool_flows: Sequence[PoolFlows | None] | None = None,
    sale_months: np.ndarray | None = None,
    starts: Sequence[PoolStart | None] | None = None,
    snapshot: int | None = None,
) -> tuple[Schedule, list[PoolFlows]]:
    """:func:`project` before the flows are summed into payment periods: each pool's
    monthly flows on the grid."""
    h = deal.deal
    grid_months, sched = projection_grid(deal, scenarios)
    ref_names, refs_period = reference_paths(deal, list(scenarios), sched.n_periods)
    # reference rate in force in each grid month = that of the period it is paid in
    mp = np.minimum(sched.month_period, sched.n_periods - 1)
    refs_month = refs_period[:, :, mp]
    out: list[PoolFlows] = []
    sale_price = deal.cleanup_call.price if deal.cleanup_call is not None else 1.0
    for i, pool in enumerate(deal.pools):
        dm = default_months[i] if default_months is not None else None
        given = pool_flows[i] if pool_flows is not None else None
        start = starts[i] if starts is not None else None
        if given is not None:
            if given.balance_end.shape != (len(scenarios), grid_months + 1):
                raise ValueError(f"pool_flows[{i}] has shape {given.balance_end.shape}, "
                                 f"expected {(len(scenarios), grid_months + 1)}")
            flows = given
        elif isinstance(pool, PledgeLoanPool):
            loans = loan_arrays(pool, h.cutoff_date, grid_months, ref_names)
            flows = project_pledge_pool(pool, loans, list(scenarios), sched.grid, refs_month, default_month=dm,
                                        sale_month=sale_months, sale_price=sale_price, start=start, snapshot=snapshot)
        else:
            arrays = receivable_arrays(pool, h.cutoff_date, grid_months)
            im = invalidation_months[i] if invalidation_months is not None else None
            flows = project_receivable_pool(pool, arrays, list(scenarios), sched.grid, default_month=dm,
                                            invalidation_month=im, sale_month=sale_months, sale_price=sale_price,
                                            start=start, snapshot=snapshot)
        out.append(flows)
    return sched, out


def effective_cdr(deal: Deal, scenario: Scenario) -> list[float]:
    """What a scenario's default rates (curves by loan age, segments) amount to for this
    deal's pools as one annual CDR per projection month: each grid month's defaults over
    the balance outstanding at its start, all pools together (a month with nothing
    outstanding keeps the month before's rate)."""
    _, monthly = project_monthly(deal, [scenario.model_copy(update={"defaults": scenario.defaults.model_copy(
        update={"loans": {}})})])
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
    default_months: Sequence[np.ndarray | None] | None = None,
    invalidation_months: Sequence[np.ndarray | None] | None = None,
    pool_flows: Sequence[PoolFlows | None] | None = None,
    sale_months: np.ndarray | None = None,
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
    default_months, invalidation_months, pool_flows : optional
        Per-pool hooks of :func:`project` (asset default months and patent invalidation
        months per scenario as arrays, flows projected elsewhere); for Monte Carlo paths.
    sale_months : optional
        With ``pool_flows``: the clean-up call's sale month per scenario those flows were
        projected with (0: none). Without it, a deal's clean-up call is found here and the
        pools are projected again with it.
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
    problems = check_assets(deal, "<deal>") + check_references(deal, "<deal>")
    if problems:
        raise InputError(problems)
    _check_scenarios(deal, scenarios)
    check_run_size(deal, scenarios)  # horizon and working memory (abs_engine/limits.py)
    starts, opening = None, None
    if status is not None:  # a deal picked up mid-life (abs_engine/restart.py)
        from .io.status_file import check_status
        from .restart import check_replay, restart_plan

        problems = check_status(deal, status, "<status>")  # (load_status checked a file's; this, one built in code)
        if problems:
            raise InputError(problems)
        starts, opening = restart_plan(deal, status, scenarios)
    sched, pools = project(deal, scenarios, default_months=default_months,
                           invalidation_months=invalidation_months, pool_flows=pool_flows, starts=starts)
    if sale_months is None:
        sale_months = cleanup_months(deal, sched, pools, 0 if opening is None else opening.t0)
        if sale_months.any():
            if pool_flows is not None and any(f is not None for f in pool_flows):
                raise ValueError("the clean-up call is exercised but pool_flows were projected without it: "
                                 "project them with its sale_month and pass sale_months")
            sched, pools = project(deal, scenarios, default_months=default_months,
                                   invalidation_months=invalidation_months, sale_months=sale_months, starts=starts)
    if status is not None:
        check_replay(deal, status, scenarios, pools)
    sale_months = np.asarray(sale_months, dtype=np.int64)
    mp = np.asarray(sched.month_period)
    cleanup = np.where(sale_months > 0, mp[np.clip(sale_months, 0, len(mp) - 1)], -1)
    args = compile_deal(deal, sched, pools, scenarios, opening)
    run_kernel(args, backend)
    result = Result(deal=deal, scenarios=scenarios, schedule=sched, pools=pools, args=args, cleanup_period=cleanup,
                    status=status)
    if check:
        result.check_conservation()
    return result


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
