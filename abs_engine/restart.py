"""A deal picked up mid-life (docs/seasoned.md): from a status as of a payment date to the
opening state of the waterfall and of the pool projections, and back, the status a run
leaves a deal in after a period.

The run from a status keeps the deal's schedule and monthly grid (both start at the
cut-off date, so curves by projection month, disposal timing and collateral decay run on
as from closing) and starts the kernel at the next period with the status's figures as
its opening-state operands (:class:`~abs_engine.waterfall.program.Opening`); each pool projection
continues from the end of the last collection month paid (:class:`~abs_engine.pools.base.
PoolStart`), its support layers replaying the defaults the status lists. Run from the
status a run writes after period ``k``, a deal pays what the run from closing pays after
``k`` (tests/test_restart.py checks it to the cent on both backends, every pool kind).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .checks import CENT
from .dates import grid_month, legal_schedule
from .errors import InputError, Problem
from .model.deal import Deal, Pool, asset_id, patents_of, sections
from .model.scenario import Scenario
from .model.status import (
    AccountStatus,
    AssetStatus,
    Cumulative,
    DefaultStatus,
    InterestStatus,
    PatentStatus,
    PayerStatus,
    PeriodActuals,
    PoolStatus,
    Status,
    TranchePeriod,
    TrancheStatus,
    TriggerStatus,
)
from .pools.base import PoolStart
from .waterfall.program import Opening

if TYPE_CHECKING:
    from .periods import PeriodFlows
    from .results import Result


def _lag(pool: Pool, sc: Scenario) -> int:
    """Months from a default to its disposal proceeds under ``sc``, for ``pool``'s kind."""
    return sc.receivables.recovery_lag_months if "receivables" in type(pool).SECTIONS else sc.recovery.lag_months


def pool_start(pool: Pool, ps: PoolStatus, month: int, cutoff: object) -> PoolStart:
    """A pool's status as the arrays its projection starts from (tape order; an asset the
    status does not list has nothing left: balance 0, not performing)."""
    ids = {asset_id(a): i for i, a in enumerate(pool.assets)}
    L = len(ids)
    balance, performing = np.zeros(L), np.zeros(L)
    for a in ps.assets:
        balance[ids[a.asset_id]] = a.balance
        performing[ids[a.asset_id]] = a.performing
    patents = None
    if "patents" in type(pool).SECTIONS:
        pidx = {p.patent_id: i for i, p in enumerate(patents_of(pool))}
        patents = np.ones(len(pidx))
        for pt in ps.patents:
            patents[pidx[pt.patent_id]] = pt.in_force
    interest = survival = None
    if ps.interest:  # (a pool with an interest subsidy: what its loans paid so far)
        interest, survival = np.zeros((L, month + 1)), np.ones((L, month + 1))
        for x in ps.interest:
            m = grid_month(x.month_end, cutoff)  # type: ignore[arg-type]
            interest[ids[x.asset_id], m] += x.interest
            survival[ids[x.asset_id], m] = x.performing
    d = ps.defaults
    return PoolStart(
        month=month, balance=balance, performing=performing, patents=patents,
        d_asset=np.array([ids[x.asset_id] for x in d], dtype=np.int64),
        d_month=np.array([grid_month(x.default_date, cutoff) for x in d], dtype=np.int64),  # type: ignore[arg-type]
        d_amount=np.array([x.amount for x in d], dtype=np.float64),
        d_balance=np.array([x.amount if x.balance_if_performing is None else x.balance_if_performing for x in d],
                           dtype=np.float64),
        d_recovered=np.array([math.nan if x.recovered is None else x.recovered for x in d], dtype=np.float64),
        interest=interest, survival=survival,
    )


def opening(deal: Deal, st: Status, t0: int) -> Opening:
    """The waterfall's opening state of period ``t0`` from a status."""
    acc = []
    for a in deal.accounts:
        s = st.accounts[a.name]
        if a.external:
            acc.append(math.inf if s.capacity_remaining is None else s.capacity_remaining)
        else:
            acc.append(s.balance or 0.0)
    trig = [st.triggers.get(t.name, TriggerStatus()) for t in deal.triggers]
    return Opening(
        t0=t0,
        balance=np.array([st.tranches[t.name].balance for t in deal.tranches], dtype=np.float64),
        carry=np.array([st.tranches[t.name].unpaid_interest for t in deal.tranches], dtype=np.float64),
        fee_carry=np.array([st.fees.get(f.name, 0.0) for f in deal.fees], dtype=np.float64),
        accounts=np.array(acc, dtype=np.float64),
        owed=np.array([st.accounts[a.name].owed for a in deal.accounts], dtype=np.float64),
        count=np.array([x.consecutive for x in trig], dtype=np.int32),
        fired=np.array([int(x.fired) for x in trig], dtype=np.int32),
        cum_defaults=st.cumulative.defaults,
    )


def restart_plan(deal: Deal, st: Status, scenarios: Sequence[Scenario]) -> tuple[list[PoolStart | None], Opening]:
    """Where each pool's projection and the waterfall start from ``st`` (a status checked
    against ``deal``, :func:`abs_engine.checks.status_problems`).

    Raises :class:`~abs_engine.errors.InputError` when a scenario cannot run from it: in a
    pool with a support stack the layers time each disposal by the scenario's lag after
    its default, so a disposal that lag puts on or before the status date must be
    recorded as received.
    """
    sched = legal_schedule(deal.deal)
    period = sched.match(st.date)
    if period is None:  # (load_status refuses it; a status built in code may not have been checked)
        raise InputError.single("<status>", "date", sched.not_a_payment_date(st.date))
    month = sched.paid_through(period)
    starts: list[PoolStart | None] = []
    problems: list[Problem] = []
    for pool in deal.pools:
        ps = st.pools[pool.name]
        start = pool_start(pool, ps, month, deal.deal.cutoff_date)
        starts.append(start)
        stack = [x for x in pool.support if x.kind != "annual_fee_upkeep"]
        if not stack:
            continue
        for sc in scenarios:
            lag = _lag(pool, sc)
            late = np.flatnonzero(start.pending & (start.d_month + lag <= month))
            for i in late.tolist():
                problems.append(Problem(
                    "<status>", f"pools.{pool.name}.defaults[{i}]",
                    f"the disposal of '{ps.defaults[i].asset_id}' is due by {sched.grid[start.d_month[i] + lag]} under "
                    f"scenario '{sc.name}' (lag {lag} months), on or before the status date, and is not recorded as "
                    "received; with a support stack the layers time each disposal by the scenario's lag: give "
                    "'recovered' (0 if nothing came in) or a scenario with a longer lag"))
    if problems:
        raise InputError(problems)
    return starts, opening(deal, st, period + 1)


def check_replay(deal: Deal, st: Status, scenarios: Sequence[Scenario], pools: Sequence[PeriodFlows]) -> None:
    """The capacities the status gives the pools' risk-sharing payers must be those their
    layers' replay of the defaults listed leaves them (to the cent); else an input error.
    Not checked under a scenario in which the payer fails (it then pays none of the claims
    still pending, which the replay leaves with the next regime)."""
    sched = legal_schedule(deal.deal)
    month = sched.paid_through(sched.period_of(st.date))
    problems: list[Problem] = []
    for pool, pf in zip(deal.pools, pools, strict=True):
        lr = pf.layer_result
        ps = st.pools[pool.name]
        if lr is None:
            continue
        for name, payer in ps.support.items():
            if payer.capacity_remaining is None or name not in lr.names:
                continue
            for s, sc in enumerate(scenarios):
                if name in sc.support_failures:  # (a scenario where it fails: its pending claims go elsewhere)
                    continue
                replay = float(lr.capacity_remaining[s, month, lr.names.index(name)])
                stated = payer.capacity_remaining
                if not abs(stated - replay) <= 0.01 + 1e-9 * max(abs(stated), abs(replay) if math.isfinite(replay) else 0.0):
                    problems.append(Problem(
                        "<status>", f"pools.{pool.name}.support.{name}.capacity_remaining",
                        f"{stated:,.2f} contradicts the defaults listed: the layers' replay of them under scenario "
                        f"'{sc.name}' leaves {replay:,.2f}"))
    if problems:
        raise InputError(problems)


def status_pool_deal(deal: Deal, st: Status) -> Deal:
    """The deal with its pools as a status gives them, for the pool statistics of a run from
    it: the cut-off date moved to the pool's status date (the end of the last collection
    month paid), each pool's surviving assets, a loan at its current balance (receivables:
    their scheduled fees after that date; a licence's links kept)."""
    sched = legal_schedule(deal.deal)
    month = sched.paid_through(sched.period_of(st.date))
    pools: list[Pool] = []
    for pool in deal.pools:
        ps = st.pools[pool.name]
        bal = {a.asset_id: a.balance for a in ps.assets}
        pools.append(pool.surviving(bal))
    header = deal.deal.model_copy(update={"cutoff_date": sched.grid[month]})
    return deal.model_copy(update={"deal": header, "pools": pools})


# --------------------------------------------------------------------------- a run's status


def _money(x: float) -> float:
    """An amount from the kernel's arrays, without the -1e-12 of rounding."""
    return max(float(x), 0.0)


def status_of(result: Result, period: int, scenario: str | int | None = None) -> Status:
    """The status a run leaves its deal in after ``period`` (1-based, as the frames number
    periods) under one scenario (name or index; default the first): what
    :meth:`abs_engine.results.Result.status_at` returns."""
    deal, sched, args = result.deal, result.schedule, result.args
    if any(a.kind == "liquidity" for a in deal.accounts):
        raise ValueError("a status of a deal with a liquidity facility is not written yet (it would lose the "
                         "facility's interest owed); docs/seasoned.md")
    if result.project is None:
        raise ValueError("the result does not carry the projection it came from (run it with abs_engine.run)")
    project = result.project
    names = result.scenario_names
    s = names.index(scenario) if isinstance(scenario, str) else int(scenario or 0)
    t = int(period) - 1
    if not int(args.t0) <= t < sched.n_periods - 1:
        raise ValueError(f"period {period}: a status is written after a period the run projected, "
                         f"{int(args.t0) + 1}..{sched.n_periods - 1}")
    sc = result.scenarios[s]
    prior = result.status
    month = sched.paid_through(t)
    # the pools as of the end of that month: projected again for this scenario, recorded there
    starts = None
    if prior is not None:
        starts, _ = restart_plan(deal, prior, [sc])
    sale = np.zeros(1, dtype=np.int64)
    if len(result.cleanup_period) and result.cleanup_period[s] >= 0:
        mp = np.asarray(sched.month_period)
        sale[0] = int(np.flatnonzero(mp[1:] == result.cleanup_period[s])[-1]) + 1
    _, flows = project(deal, [sc], sale_months=sale if sale.any() else None, starts=starts, snapshot=month)
    cum_default_amount = np.cumsum(sum(pf.series["default_amount"] for pf in result.pools), axis=1)[s, t]
    op = Opening.after(args, s, t, cum_defaults=float(cum_default_amount) + (prior.cumulative.defaults if prior else 0.0))

    pools: dict[str, PoolStatus] = {}
    listed = recovered = 0.0
    for pool, pf, pfl in zip(deal.pools, result.pools, flows, strict=True):
        snap = pfl.snapshot
        assert snap is not None
        start = snap.start(0)
        ids = [asset_id(a) for a in pool.assets]
        assets = [AssetStatus(asset_id=ids[i], balance=_money(start.balance[i]), performing=min(float(start.performing[i]), 1.0))
                  for i in np.flatnonzero(start.balance > 0).tolist()]
        lag = _lag(pool, sc)
        defaults = []
        for j in range(len(start.d_asset)):
            got = start.d_recovered[j]
            received = not math.isnan(got)
            defaults.append(DefaultStatus(
                asset_id=ids[int(start.d_asset[j])], default_date=sched.grid[int(start.d_month[j])],
                amount=float(start.d_amount[j]), balance_if_performing=float(start.d_balance[j]),
                recovered=float(got) if received else None,
                recovery_date=sched.grid[int(start.d_month[j]) + lag] if received else None))
            listed += float(start.d_amount[j])
            recovered += float(got) if received else 0.0
        patents = []
        if "patents" in type(pool).SECTIONS and start.patents is not None:
            patents = [PatentStatus(patent_id=p.patent_id, in_force=min(float(f), 1.0))
                       for p, f in zip(patents_of(pool), start.patents, strict=True) if f != 1.0]
        support = {}
        if pf.layer_result is not None:
            lr = pf.layer_result
            cap = lr.capacity_remaining[s, month]
            support = {n: PayerStatus(capacity_remaining=_money(cap[i])) for i, n in enumerate(lr.names)
                       if lr.kinds[i] != "interest_subsidy" and math.isfinite(cap[i])}
        interest = []
        if any(layer.kind == "interest_subsidy" for layer in pool.support) and start.interest is not None:
            assert start.survival is not None
            li, mi = np.nonzero(start.interest[:, 1:] != 0)
            order = np.lexsort((li, mi))
            interest = [InterestStatus(asset_id=ids[int(i)], month_end=sched.grid[int(m) + 1],
                                       interest=_money(start.interest[i, m + 1]),
                                       performing=min(float(start.survival[i, m + 1]), 1.0))
                        for i, m in zip(li[order], mi[order], strict=True)]
        pools[pool.name] = PoolStatus(balance=sum(a.balance for a in assets), assets=assets, defaults=defaults,
                                      patents=patents, support=support, interest=interest)

    losses = sum(float(pf.series["loss"][s, : t + 1].sum()) for pf in result.pools)
    # receivable pools: what the default amounts count beyond the defaults listed is
    # terminations (pledge loans have none: the difference there is rounding)
    receivables = "receivables" in sections(deal.pools)
    terminations = max(op.cum_defaults - listed, 0.0) if receivables else 0.0
    cumulative = Cumulative(defaults=op.cum_defaults, terminations=terminations, recoveries=recovered,
                            losses=_money(losses + (prior.cumulative.losses if prior else 0.0)))

    accounts = {}
    notes = sum(_money(b) for b in op.balance)
    pool_balance = sum(p.balance for p in pools.values())
    for i, a in enumerate(deal.accounts):
        if a.external:
            cap = float(op.accounts[i])
            accounts[a.name] = AccountStatus(capacity_remaining=None if math.isinf(cap) else _money(cap),
                                             owed=_money(op.owed[i]))
        else:
            held = _money(op.accounts[i])
            met = None if a.target is None else held >= a.target.level(notes, pool_balance) - CENT
            accounts[a.name] = AccountStatus(balance=held, target_met=met)
    fired = [bool(x) for x in op.fired]
    state = max([0] + [1 if tg.effect == "accelerate" else 2 for tg, f in zip(deal.triggers, fired, strict=True) if f])
    from .model.deal import STATES

    return Status(
        deal=deal.name, date=sched.payment_dates[t], scenario=sc.name,
        tranches={tr.name: TrancheStatus(balance=_money(op.balance[k]), unpaid_interest=_money(op.carry[k]))
                  for k, tr in enumerate(deal.tranches)},
        fees={f.name: _money(op.fee_carry[i]) for i, f in enumerate(deal.fees) if op.fee_carry[i] > 0},
        accounts=accounts,
        triggers={tg.name: TriggerStatus(fired=fired[j], consecutive=int(op.count[j])) for j, tg in enumerate(deal.triggers)},
        deal_state=STATES[state],  # type: ignore[arg-type]
        cumulative=cumulative,
        pools=pools,
        history=[*(prior.history if prior else []), *_actuals(result, s, t)],
    )


def _actuals(result: Result, s: int, t: int) -> list[PeriodActuals]:
    """The run's figures of its projected periods up to ``t``, as a status's history."""
    a = result.args
    out = []
    ser = {k: sum(pf.series[k][s] for pf in result.pools) for k in
           ("interest_collected", "scheduled_principal", "prepayment", "default_amount", "recovery", "loss",
            "support_paid", "balance_end")}
    for u in range(int(a.t0), t + 1):
        out.append(PeriodActuals(
            date=result.schedule.payment_dates[u],
            interest_collected=_money(ser["interest_collected"][u]),
            principal_collected=_money(ser["scheduled_principal"][u] + ser["prepayment"][u]),
            prepayments=_money(ser["prepayment"][u]),
            defaults=_money(ser["default_amount"][u]),
            recoveries=_money(ser["recovery"][u]),
            losses=_money(ser["loss"][u]),
            support_paid=_money(ser["support_paid"][u]),
            pool_balance=_money(ser["balance_end"][u]),
            fees_paid=_money(a.f_paid[s, u].sum()),
            tranches={tr.name: TranchePeriod(interest=_money(a.t_int_paid[s, u, k]), principal=_money(a.t_prin[s, u, k]),
                                             residual=_money(a.t_resid[s, u, k]), balance=_money(a.t_bal_end[s, u, k]))
                      for k, tr in enumerate(result.deal.tranches)},
        ))
    return out
