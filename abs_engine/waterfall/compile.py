"""Deal + the pools' collections per payment period -> the flat program and arrays the
kernel runs (:class:`~abs_engine.waterfall.program.KernelArgs`).

Everything here is validation-free bookkeeping: the deal was checked
(:mod:`abs_engine.checks`), so every name resolves. Each waterfall action is encoded in
one place, :func:`encode_step`, one ``match`` arm per action: an action added to the model
without its arm is a type error (:func:`typing.assert_never`). Turning the monthly pool
flows into payment periods is :mod:`abs_engine.periods`'s job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, assert_never

import numpy as np

from ..dates import Schedule, accrual_fractions
from ..model.deal import (
    PARTIES,
    STATES,
    Account,
    AnyStep,
    Deal,
    DrawReserve,
    FundReserve,
    PayFee,
    PayInterest,
    PayPrincipal,
    PayResidual,
    ReimburseSupport,
    ReleaseReserve,
    RepayLiquidity,
    Tranche,
    Transfer,
)
from ..model.scenario import Scenario
from ..periods import PeriodFlows, reference_paths
from . import program as P

INF = float("inf")


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


def _opening_capacity(a: Account) -> float:
    """What a support provider can pay at closing: a liquidity facility's limit, another's
    capacity (inf: unlimited)."""
    if a.kind == "liquidity":
        return float(a.limit or 0.0)
    return INF if a.capacity is None else a.capacity


class _Index:
    """Where each name of the deal sits in the kernel's arrays, the program's shared lists
    (``add_list`` appends one and returns its offset and length), and the per-tranche
    interest flags that ``pay_interest`` steps set."""

    def __init__(self, tranche: dict[str, int], fee: dict[str, int], account: dict[str, int],
                 trigger: dict[str, int], party: dict[str, int],
                 add_list: Callable[[list[int]], tuple[int, int]], carry: np.ndarray, sfint: np.ndarray) -> None:
        self.tranche, self.fee, self.account, self.trigger, self.party = tranche, fee, account, trigger, party
        self.add_list, self.carry, self.sfint = add_list, carry, sfint


def encode_step(s: AnyStep, ia: list[int], fa: list[float], n: _Index) -> int:
    """Fill a step's integer and float operands (``ia``, ``fa``: the ``when`` and ``limit``
    operands are set already) and return its opcode (docs/deal-language.md states what each
    action does; :mod:`abs_engine.waterfall.program` the operand layout)."""

    def paid_from(step: PayFee | PayInterest | PayPrincipal, recipients: dict[str, int]) -> None:
        ia[P.I_SRC] = n.account[step.from_]
        ia[P.I_A_OFF], ia[P.I_A_LEN] = n.add_list([recipients[x] for x in step.to])
        ia[P.I_B_OFF], ia[P.I_B_LEN] = n.add_list([n.account[x] for x in step.support])

    match s:
        case PayFee():
            paid_from(s, n.fee)
            return P.OP_PAY_FEE
        case PayInterest():
            paid_from(s, n.tranche)
            for x in s.to:
                n.carry[n.tranche[x]] = int(s.carry_shortfall)
                n.sfint[n.tranche[x]] = int(s.interest_on_shortfall)
            return P.OP_PAY_INTEREST
        case PayPrincipal():
            paid_from(s, n.tranche)
            ia[P.I_MODE] = 0 if s.mode == "sequential" else 1
            ia[P.I_FOLLOW] = int(s.follow_schedule)
            if s.target_percent_of_pool is not None:
                fa[P.F_TARGET_POOL] = s.target_percent_of_pool
            return P.OP_PAY_PRINCIPAL
        case FundReserve():
            ia[P.I_SRC], ia[P.I_DST] = n.account[s.from_], n.account[s.to]
            return P.OP_FUND_RESERVE
        case ReleaseReserve():
            ia[P.I_SRC], ia[P.I_DST] = n.account[s.from_], n.account[s.to]
            return P.OP_RELEASE_RESERVE
        case Transfer():
            ia[P.I_SRC], ia[P.I_DST] = n.account[s.from_], n.account[s.to]
            return P.OP_TRANSFER
        case DrawReserve():
            ia[P.I_SRC], ia[P.I_DST] = n.account[s.from_], n.account[s.to]
            ia[P.I_A_OFF], ia[P.I_A_LEN] = n.add_list([n.fee[x] for x in s.cover.fees])
            ia[P.I_B_OFF], ia[P.I_B_LEN] = n.add_list([n.tranche[x] for x in s.cover.interest])
            ia[P.I_C_OFF], ia[P.I_C_LEN] = n.add_list([n.tranche[x] for x in s.cover.principal])
            return P.OP_DRAW_RESERVE
        case ReimburseSupport():
            ia[P.I_SRC], ia[P.I_DST] = n.account[s.from_], n.account[s.to]
            ia[P.I_MODE] = int(s.restore_capacity)
            return P.OP_REIMBURSE
        case RepayLiquidity():
            ia[P.I_SRC], ia[P.I_DST] = n.account[s.from_], n.account[s.to]
            ia[P.I_MODE] = {"all": 0, "interest": 1, "principal": 2}[s.part]
            return P.OP_REPAY_LIQUIDITY
        case PayResidual():
            ia[P.I_SRC] = n.account[s.from_]
            if s.to in n.tranche:
                ia[P.I_MODE], ia[P.I_DST] = 0, n.tranche[s.to]
            else:
                ia[P.I_MODE], ia[P.I_DST] = 1, n.party[s.to]
            fa[P.F_SHARE] = s.share
            return P.OP_PAY_RESIDUAL
        case _:
            assert_never(s)


def compile_deal(
    deal: Deal,
    sched: Schedule,
    pools: list[PeriodFlows],
    scenarios: list[Scenario],
    opening: P.Opening | None = None,
) -> P.KernelArgs:
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
    index = _Index(tr_idx, fee_idx, acc_idx, trg_idx, party_idx, add_list, carry, sfint)
    for state in STATES:
        # an absent waterfall (None) falls back to the normal one; an empty one pays nothing
        given = getattr(deal.waterfalls, state)
        steps = deal.waterfalls.normal if given is None else given
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
            ops.append(encode_step(s, ia, fa, index))
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
    base_code = {"pool_balance": P.BASE_POOL, "note_balance": P.BASE_NOTES, "original_notes": P.BASE_ORIGINAL_NOTES,
                 "taxable_income": P.BASE_TAXABLE}
    coll_code = {"interest": P.BASE_COLL_INTEREST, "principal": P.BASE_COLL_PRINCIPAL, "all": P.BASE_COLL_ALL}
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
    liq_par = np.zeros((A, P.N_LIQ))
    for i, acc in enumerate(deal.accounts):
        if acc.kind == "liquidity":
            liq_par[i] = [1.0, acc.rate or 0.0, acc.commitment_fee or 0.0]
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
    # taxable income (VAT, 财税〔2016〕140号): interest and subsidies as collected (before the
    # annual fees paid out of the pool), and a receivable pool's stated income share of its
    # scheduled and early collections; never recoveries or support payments (principal)
    taxable = np.zeros((S, T))
    for i, (pool_def, pf) in enumerate(zip(deal.pools, pools, strict=True)):
        ps = pf.series
        interest = ps["interest_collected"] + ps["subsidy"]
        principal = ps["scheduled_principal"] + ps["prepayment"] + ps["recovery"] + ps["support_paid"]
        # annual fees paid out of the pool: from its interest, then its principal collections
        paid = _upkeep_paid(ps["upkeep_cost"], interest + principal)
        coll[:, :, 2 * i] = interest - np.minimum(paid, interest)
        coll[:, :, 2 * i + 1] = principal - (paid - np.minimum(paid, interest))
        taxable += interest + getattr(pool_def, "income_share", 0.0) * (ps["scheduled_principal"] + ps["prepayment"])
        src_acct[2 * i] = acc_idx[pool_def.deposit_interest_to]
        src_acct[2 * i + 1] = acc_idx[pool_def.deposit_principal_to]
    inc = np.zeros((S, T, P.N_INC))
    inc[:, :, P.C_INTEREST] = coll[:, :, 0::2].sum(axis=2)
    inc[:, :, P.C_PRINCIPAL] = coll[:, :, 1::2].sum(axis=2)
    inc[:, :, P.C_TAXABLE] = taxable
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
        fee_rate=np.array([f.effective_rate for f in deal.fees], dtype=np.float64),
        fee_cap=np.array([INF if f.cap is None else f.cap for f in deal.fees], dtype=np.float64),
        fee_base=np.array([coll_code[f.collections] if f.collections is not None else base_code[f.base]
                           for f in deal.fees], dtype=np.int32),
        fee_carry=np.array([int(f.carry_forward) for f in deal.fees], dtype=np.int32),
        yf=yf,
        acct0=np.array([_opening_capacity(a) if a.external else a.initial_balance for a in deal.accounts],
                       dtype=np.float64),
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
        inc=np.ascontiguousarray(inc),
        liq_par=liq_par,
    )
    if opening is not None:
        opening.apply(args)
    return args.allocate_outputs()

