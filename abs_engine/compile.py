"""Deal + projected collections -> the flat program and arrays the kernel runs.

Everything here is validation-free bookkeeping: the deal was checked when it was
loaded, so every name resolves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _program as P
from .dates import Schedule, accrual_fractions
from .io.deal_file import PARTIES
from .model.deal import Deal, Tranche
from .model.scenario import Scenario
from .pools.base import EXTRA_SERIES, SERIES, PoolFlows, PoolSnapshot
from .support.layers import LayerResult

INF = float("inf")


@dataclass
class PeriodLedger:
    """A pool's risk-sharing ledger aggregated to payment periods: one column per payer
    (``names``, ``kinds``), arrays ``(S, T, P)``. Flows are summed over the months of a
    period; ``capacity_remaining`` is that at the end of the period's last month."""

    names: list[str]
    kinds: list[str]
    columns: dict[str, np.ndarray]


#: The flow columns of a ledger, then the stock.
LEDGER_FLOWS = ("claims", "paid", "refunded", "recoveries_kept", "counter_recovered", "net_cost")


@dataclass
class PeriodFlows:
    """A pool's cash flows aggregated to payment periods: arrays ``(S, T)``."""

    name: str
    original_balance: float
    series: dict[str, np.ndarray]
    ledger: PeriodLedger | None = None
    #: the layers' monthly result, kept for the conservation check
    layer_result: LayerResult | None = None
    #: the pool at the end of a grid month, when the projection was asked for it
    snapshot: PoolSnapshot | None = None


def _period_sum(arr: np.ndarray, mp: np.ndarray, T: int) -> np.ndarray:
    """Sum ``arr[:, 1:M1, ...]`` (grid months 1..) into the periods ``mp`` gives."""
    agg = np.zeros((arr.shape[0], T + 1, *arr.shape[2:]))
    np.add.at(agg, (slice(None), mp[1:]), arr[:, 1 : len(mp)])  # type: ignore[arg-type]
    return agg[:, :T]


def aggregate_ledger(lr: LayerResult, sched: Schedule, M1: int) -> PeriodLedger:
    """A pool's monthly layer ledger on the grid -> payment periods (what falls after
    the grid is dropped, as the pool series drop it)."""
    T = sched.n_periods
    mp = sched.month_period[:M1]
    cols = {k: _period_sum(getattr(lr, k)[:, :M1], mp, T) for k in LEDGER_FLOWS}
    cap = lr.capacity_remaining[:, :M1]
    end = np.empty((cap.shape[0], T, cap.shape[2]))
    prev = cap[:, 0]
    for t in range(T):
        months = np.nonzero(mp[1:] == t)[0] + 1
        if len(months):
            prev = cap[:, months[-1]]
        end[:, t] = prev
    cols["capacity_remaining"] = end
    return PeriodLedger(list(lr.names), list(lr.kinds), cols)


def aggregate(flows: PoolFlows, sched: Schedule) -> PeriodFlows:
    """Sum monthly pool flows into the payment periods they are distributed in."""
    T = sched.n_periods
    S, M1 = flows.balance_end.shape
    mp = sched.month_period[:M1]
    out: dict[str, np.ndarray] = {}
    for key, arr in flows.series().items():
        if key in ("balance_start", "balance_end"):
            continue
        out[key] = _period_sum(arr, mp, T)
    end = np.zeros((S, T))
    start = np.zeros((S, T))
    prev = flows.balance_end[:, 0].copy()
    for t in range(T):
        months = np.nonzero(mp[1:] == t)[0] + 1
        start[:, t] = prev
        if len(months):
            prev = flows.balance_end[:, months[-1]].copy()
        end[:, t] = prev
    out["balance_start"] = start
    out["balance_end"] = end
    series = {k: out[k] for k in SERIES}
    for key, stock in EXTRA_SERIES.items():  # (only those the projection modelled)
        if key in flows.extra:
            series[key] = _period_end(flows.extra[key], mp, T) if stock else _period_sum(flows.extra[key], mp, T)
    ledger = aggregate_ledger(flows.layers, sched, M1) if flows.layers is not None else None
    return PeriodFlows(flows.name, flows.original_balance, series, ledger, flows.layers,
                       flows.snapshot)


def _period_end(arr: np.ndarray, mp: np.ndarray, T: int) -> np.ndarray:
    """A balance at the end of each period: that of the period's last grid month."""
    end = np.zeros((arr.shape[0], T))
    prev = arr[:, 0].copy()
    for t in range(T):
        months = np.nonzero(mp[1:] == t)[0] + 1
        if len(months):
            prev = arr[:, months[-1]].copy()
        end[:, t] = prev
    return end


def _upkeep_paid(due: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Annual fees paid out of a pool's collections per period, ``(S, T)``: what is due plus
    what earlier periods could not pay, at most the period's collections (a fee due before
    any cash has come in is paid from the first collections; what the last period cannot
    pay is never paid)."""
    if not due.any():
        return due
    paid = np.zeros_like(due)
    carried = np.zeros(due.shape[0])
    for t in range(due.shape[1]):
        owed = carried + due[:, t]
        paid[:, t] = np.minimum(owed, np.maximum(available[:, t], 0.0))
        carried = owed - paid[:, t]
    return paid


def cleanup_months(deal: Deal, sched: Schedule, pools: list[PeriodFlows], first_period: int = 0) -> np.ndarray:
    """Where the deal has a clean-up call, the grid month of its exercise per scenario
    (0: not exercised): the last collection month of the first period whose closing pool
    balance is at or below ``threshold`` x the cut-off balance (and not yet zero). The
    pools are then projected again with that sale month (``sale_month`` of the pool
    projections), so that loans defaulted before the call keep their recoveries. A deal
    picked up mid-life looks from its first projected period (``first_period``) on."""
    S, T = pools[0].series["balance_end"].shape
    months = np.zeros(S, dtype=np.int64)
    call = deal.cleanup_call
    if call is None:
        return months
    total0 = sum(p.original_balance for p in pools)
    total_end: np.ndarray = np.sum([p.series["balance_end"] for p in pools], axis=0)
    mp = np.asarray(sched.month_period)
    for s in range(S):
        hit = np.nonzero((total_end[s] <= call.threshold * total0 + 1e-9) & (total_end[s] > 0))[0]
        for t in hit[hit >= first_period].tolist():
            in_period = np.nonzero(mp[1:] == t)[0] + 1
            if len(in_period):
                months[s] = int(in_period[-1])
                break
    return months


def reference_paths(deal: Deal, scenarios: list[Scenario], T: int) -> tuple[list[str], np.ndarray]:
    """Reference-rate values per scenario and payment period: ``(S, n_refs, T)``."""
    names = sorted(deal.deal.reference_rates)
    out = np.zeros((len(scenarios), len(names), T))
    for si, sc in enumerate(scenarios):
        for ri, n in enumerate(names):
            v = sc.reference_rates.get(n, deal.deal.reference_rates[n])
            if isinstance(v, list):
                arr = np.asarray(v, dtype=np.float64)
                out[si, ri] = arr[np.minimum(np.arange(T), len(arr) - 1)]
            else:
                out[si, ri] = float(v)
    return names, out


#: The delinquency buckets counted from each number of days past due.
PAST_DUE = {1: ("delinquent_1_30", "delinquent_31_60", "delinquent_61_90"),
            31: ("delinquent_31_60", "delinquent_61_90"), 61: ("delinquent_61_90",)}


def delinquency_ratio(pools: list[PeriodFlows], pool_end: Any, days: int) -> np.ndarray:
    """Unpaid principal of the loans at least ``days`` past due over the pool balance, at
    each period's end (0 where the pool balance is 0 or no pool has a pipeline)."""
    late = sum((pf.series[k] for pf in pools for k in PAST_DUE[days] if k in pf.series), np.zeros_like(pool_end))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pool_end > 0, late / np.where(pool_end > 0, pool_end, 1.0), 0.0)


def _sched_balance(tr: Tranche, deal: Deal, sched: Schedule) -> np.ndarray:
    """Each period's scheduled balance after payment: a bullet's whole balance until the
    period of its expected maturity, a schedule row's balance from the period its date
    names (unadjusted or adjusted payment date, :meth:`Schedule.period_of`)."""
    T = sched.n_periods
    if tr.principal.style == "pass_through":
        return np.zeros(T)
    if tr.principal.style == "bullet":
        em = sched.period_of(tr.expected_maturity or deal.deal.expected_maturity)
        return np.where(np.arange(T) >= em, 0.0, tr.balance)
    out = np.full(T, tr.balance)
    for r in tr.principal.schedule:
        out[sched.period_of(r.date):] = r.balance
    return out


def compile_deal(
    deal: Deal,
    sched: Schedule,
    pools: list[PeriodFlows],
    scenarios: list[Scenario],
    opening: P.Opening | None = None,
) -> KernelArgsBundle:
    """Build the kernel's arguments for ``deal`` over ``scenarios`` (from ``opening``, the
    state of a deal picked up mid-life, if given; abs_engine/restart.py)."""
    T = sched.n_periods
    S = len(scenarios)
    tr_idx = {t.name: i for i, t in enumerate(deal.tranches)}
    fee_idx = {f.name: i for i, f in enumerate(deal.fees)}
    acc_idx = {a.name: i for i, a in enumerate(deal.accounts)}
    trg_idx = {t.name: i for i, t in enumerate(deal.triggers)}
    party_idx = {p: i for i, p in enumerate(PARTIES)}
    ilist: list[int] = []

    def add_list(items: list[int]) -> tuple[int, int]:
        off = len(ilist)
        ilist.extend(items)
        return off, len(items)

    ops: list[int] = []
    iargs: list[list[int]] = []
    fargs: list[list[float]] = []
    seg = [0]
    carry = np.ones(len(deal.tranches), dtype=np.int32)
    sfint = np.zeros(len(deal.tranches), dtype=np.int32)
    for state in P_STATES:
        # an absent waterfall (None) falls back to the normal one; an empty one pays nothing
        given = getattr(deal.waterfalls, state)
        steps = deal.waterfalls.normal if given is None else given
        s: Any  # a step of the closed vocabulary; the fields read below exist for its action
        for s in steps:
            ia = [0] * P.N_IARG
            fa = [INF, 1.0, -1.0, 1.0]
            ia[P.I_WHEN_TRIG] = ia[P.I_WHEN_NOT_TRIG] = -1
            ia[P.I_WHEN_FROM], ia[P.I_WHEN_BEFORE] = 0, T
            if s.when is not None:
                w = s.when
                if w.trigger is not None:
                    ia[P.I_WHEN_TRIG] = trg_idx[w.trigger]
                if w.not_trigger is not None:
                    ia[P.I_WHEN_NOT_TRIG] = trg_idx[w.not_trigger]
                if w.on_or_after is not None:
                    ia[P.I_WHEN_FROM] = sched.period_of(w.on_or_after)
                if w.before is not None:
                    ia[P.I_WHEN_BEFORE] = sched.period_of(w.before)
            if s.limit is not None:
                if s.limit.amount is not None:
                    fa[P.F_LIMIT_AMOUNT] = s.limit.amount
                if s.limit.fraction is not None:
                    fa[P.F_LIMIT_FRACTION] = s.limit.fraction
            act = s.action
            if act in ("pay_fee", "pay_interest", "pay_principal"):
                ia[P.I_SRC] = acc_idx[s.from_]
                names = fee_idx if act == "pay_fee" else tr_idx
                ia[P.I_A_OFF], ia[P.I_A_LEN] = add_list([names[n] for n in s.to])
                ia[P.I_B_OFF], ia[P.I_B_LEN] = add_list([acc_idx[n] for n in s.support])
                if act == "pay_interest":
                    for n in s.to:
                        carry[tr_idx[n]] = int(s.carry_shortfall)
                        sfint[tr_idx[n]] = int(s.interest_on_shortfall)
                if act == "pay_principal":
                    ia[P.I_MODE] = 0 if s.mode == "sequential" else 1
                    ia[P.I_FOLLOW] = int(s.follow_schedule)
                    if s.target_percent_of_pool is not None:
                        fa[P.F_TARGET_POOL] = s.target_percent_of_pool
            elif act in ("fund_reserve", "release_reserve", "transfer"):
                ia[P.I_SRC], ia[P.I_DST] = acc_idx[s.from_], acc_idx[s.to]
            elif act == "draw_reserve":
                ia[P.I_SRC], ia[P.I_DST] = acc_idx[s.from_], acc_idx[s.to]
                ia[P.I_A_OFF], ia[P.I_A_LEN] = add_list([fee_idx[n] for n in s.cover.fees])
                ia[P.I_B_OFF], ia[P.I_B_LEN] = add_list([tr_idx[n] for n in s.cover.interest])
                ia[P.I_C_OFF], ia[P.I_C_LEN] = add_list([tr_idx[n] for n in s.cover.principal])
            elif act == "reimburse_support":
                ia[P.I_SRC], ia[P.I_DST] = acc_idx[s.from_], acc_idx[s.to]
                ia[P.I_MODE] = int(s.restore_capacity)
            elif act == "pay_residual":
                ia[P.I_SRC] = acc_idx[s.from_]
                if s.to in tr_idx:
                    ia[P.I_MODE], ia[P.I_DST] = 0, tr_idx[s.to]
                else:
                    ia[P.I_MODE], ia[P.I_DST] = 1, party_idx[s.to]
                fa[P.F_SHARE] = s.share
            ops.append(P.OPCODES[act])
            iargs.append(ia)
            fargs.append(fa)
        seg.append(len(ops))

    # tranches
    K = len(deal.tranches)
    rate = np.zeros((S, T, K))
    ref_names, refs = reference_paths(deal, scenarios, T)
    for k, tr in enumerate(deal.tranches):
        c = tr.coupon
        if c.kind == "fixed":
            rate[:, :, k] = c.rate
        elif c.kind == "floating":
            r = refs[:, ref_names.index(c.index), :] + c.spread
            if c.floor is not None:
                r = np.maximum(r, c.floor)
            if c.cap is not None:
                r = np.minimum(r, c.cap)
            rate[:, :, k] = np.maximum(r, 0.0)  # index + spread below zero: no coupon (docs/conventions.md)
    accr = np.stack([accrual_fractions(sched, tr.day_count or deal.deal.day_count) for tr in deal.tranches], axis=1)
    sched_bal = np.stack([_sched_balance(tr, deal, sched) for tr in deal.tranches], axis=1)

    # fees
    base_code = {"pool_balance": P.BASE_POOL, "note_balance": P.BASE_NOTES, "original_notes": P.BASE_ORIGINAL_NOTES}
    yf = accrual_fractions(sched, deal.deal.day_count)

    # principal due (draw_reserve cover): a scheduled tranche above its schedule; a
    # pass-through or bullet tranche's whole balance from its expected maturity on
    due = np.empty((T, K))
    for k, tr in enumerate(deal.tranches):
        if tr.principal.style == "scheduled":
            due[:, k] = sched_bal[:, k]
        else:
            em = sched.period_of(tr.expected_maturity or deal.deal.expected_maturity)
            due[:, k] = np.where(np.arange(T) >= em, 0.0, INF)

    # accounts
    A = len(deal.accounts)
    acct_ext = np.array([int(a.external) for a in deal.accounts], dtype=np.int32)
    acct_fail = np.full((S, A), T, dtype=np.int32)
    for si, sc in enumerate(scenarios):
        for name, when in sc.support_failures.items():
            if name in acc_idx:  # (the others are payers of the pools' support stacks)
                acct_fail[si, acc_idx[name]] = sched.event_period(when)
    res_par = np.zeros((A, P.N_RES))
    res_par[:, P.R_CAP] = INF
    for i, acc in enumerate(deal.accounts):
        if acc.target is not None:
            rt = acc.target
            res_par[i] = [1.0, rt.amount or 0.0, rt.percent_of_pool or 0.0, rt.percent_of_notes or 0.0,
                          rt.floor, INF if rt.cap is None else rt.cap]

    # collections: per pool an interest and a principal source
    coll = np.zeros((S, T, 2 * len(pools)))
    src_acct = np.zeros(2 * len(pools), dtype=np.int32)
    for i, (pool_def, pf) in enumerate(zip(deal.pools, pools, strict=True)):
        ps = pf.series
        interest = ps["interest_collected"] + ps["subsidy"]
        principal = ps["scheduled_principal"] + ps["prepayment"] + ps["recovery"] + ps["support_paid"]
        # annual fees paid out of the pool: from its interest, then its principal collections
        paid = _upkeep_paid(ps["upkeep_cost"], interest + principal)
        coll[:, :, 2 * i] = interest - np.minimum(paid, interest)
        coll[:, :, 2 * i + 1] = principal - (paid - np.minimum(paid, interest))
        src_acct[2 * i] = acc_idx[pool_def.deposit_interest_to]
        src_acct[2 * i + 1] = acc_idx[pool_def.deposit_principal_to]
    pool_start = sum(pf.series["balance_start"] for pf in pools)
    pool_end = sum(pf.series["balance_end"] for pf in pools)
    original_pool = sum(pf.original_balance for pf in pools)

    # triggers
    J = len(deal.triggers)
    trg_i = np.zeros((J, P.N_TRG), dtype=np.int32)
    trg_thr = np.zeros(J)
    ext = np.zeros((S, T, J))
    metric = {"cumulative_default_ratio": P.M_EXTERNAL, "oc_ratio": P.M_OC,
              "interest_coverage": P.M_COVERAGE, "interest_shortfall": P.M_SHORTFALL,
              "debt_service_coverage": P.M_DSCR, "delinquency_ratio": P.M_EXTERNAL}
    cum_defaults = np.cumsum(sum(pf.series["default_amount"] for pf in pools), axis=1)
    if opening is not None:  # (the defaults before the opening are in its figures)
        cum_defaults = cum_defaults + opening.cum_defaults
    for j, tg in enumerate(deal.triggers):
        off, n = add_list([tr_idx[x] for x in tg.tranches])
        trg_i[j] = [metric[tg.metric], off, n, acc_idx[tg.account] if tg.account else 0,
                    1 if tg.above is not None else 0, tg.consecutive, int(tg.curable),
                    1 if tg.effect == "accelerate" else 2]
        trg_thr[j] = tg.above if tg.above is not None else tg.below
        if tg.metric == "cumulative_default_ratio":
            ext[:, :, j] = cum_defaults / original_pool if original_pool > 0 else 0.0
        elif tg.metric == "delinquency_ratio":  # (a series of the pools: no waterfall state)
            ext[:, :, j] = delinquency_ratio(pools, pool_end, tg.past_due_days)

    args = P.KernelArgs(
        op=np.asarray(ops, dtype=np.int32),
        iarg=np.asarray(iargs, dtype=np.int32).reshape(-1, P.N_IARG),
        farg=np.asarray(fargs, dtype=np.float64).reshape(-1, P.N_FARG),
        ilist=np.asarray(ilist or [0], dtype=np.int32),
        seg=np.asarray(seg, dtype=np.int32),
        bal0=np.array([t.balance for t in deal.tranches], dtype=np.float64),
        carry=carry,
        sfint=sfint,
        rate=np.ascontiguousarray(rate),
        accr=np.ascontiguousarray(accr),
        sched=np.ascontiguousarray(sched_bal),
        fee_fixed=np.array([f.fixed for f in deal.fees], dtype=np.float64),
        fee_rate=np.array([f.rate for f in deal.fees], dtype=np.float64),
        fee_cap=np.array([INF if f.cap is None else f.cap for f in deal.fees], dtype=np.float64),
        fee_base=np.array([base_code[f.base] for f in deal.fees], dtype=np.int32),
        fee_carry=np.array([int(f.carry_forward) for f in deal.fees], dtype=np.int32),
        yf=yf,
        acct0=np.array([(INF if a.capacity is None else a.capacity) if a.external else a.initial_balance
                        for a in deal.accounts], dtype=np.float64),
        res_par=res_par,
        acct_ext=acct_ext,
        acct_fail=acct_fail,
        due=np.ascontiguousarray(due),
        coll=np.ascontiguousarray(coll),
        src_acct=src_acct,
        pool_start=np.ascontiguousarray(pool_start),
        pool_end=np.ascontiguousarray(pool_end),
        trg_i=trg_i,
        trg_thr=trg_thr,
        ext=np.ascontiguousarray(ext),
        n_parties=len(PARTIES),
    )
    if opening is not None:
        opening.apply(args)
    return args.allocate_outputs()


P_STATES = ("normal", "accelerated", "event_of_default")
KernelArgsBundle = P.KernelArgs
