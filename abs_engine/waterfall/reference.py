"""The waterfall semantics in plain Python: the specification and the test oracle.

The Cython kernel (:mod:`abs_engine._waterfall`) runs the same program and must give the
same numbers (to ~1e-9 currency units). Read this file to know what a step does.

Each scenario starts from the opening state of period ``t0`` (``a.t0``, 0 at closing): note
balances ``bal_open``, unpaid interest and fees carried (``carry_open``, ``fee_carry_open``),
account balances ``acct0`` (a support provider's: the capacity it has left), what each
provider is owed (``owed_open``), each trigger's consecutive breaches and fired flag
(``count_open``, ``fired_open``). At closing these are the deal's original balances and
zeros; a deal picked up mid-life from a status (abs_engine/restart.py) gives its figures, and
the periods before ``t0`` are not run (their outputs stay 0). Each period ``t >= t0`` of each
scenario ``s``:

1. a support provider that has failed (scenario) is emptied; record opening balances;
   deposit the period's collections into their accounts;
2. compute what is due: tranche interest ``balance * coupon * accrual`` plus unpaid
   interest carried from earlier periods (plus interest on it where enabled); fees
   ``min(cap, fixed + rate * base * year_fraction)`` on a balance base, or
   ``min(cap, fixed + rate * income)`` on the period's collections or taxable income (only
   while notes are outstanding) plus unpaid carried fees; each liquidity facility's interest
   ``drawn * rate * year_fraction`` and commitment fee ``undrawn * fee * year_fraction`` (the
   fee only while notes are outstanding), added to what it is owed besides principal;
3. test the triggers (consecutive breaches, curable or not); the deal state is the most
   severe effect of the fired triggers (0 normal, 1 accelerated, 2 event of default);
4. run the steps of that state's waterfall in order (a step whose ``when`` does not hold
   is skipped);
5. carry unpaid interest and fees forward (or forfeit them); in the last period write
   off any note balance left;
6. record closing balances.
"""

from __future__ import annotations

import math

from .program import (
    BASE_COLL_ALL,
    BASE_COLL_INTEREST,
    BASE_COLL_PRINCIPAL,
    BASE_NOTES,
    BASE_ORIGINAL_NOTES,
    BASE_TAXABLE,
    C_INTEREST,
    C_PRINCIPAL,
    C_TAXABLE,
    F_LIMIT_AMOUNT,
    F_LIMIT_FRACTION,
    F_SHARE,
    F_TARGET_POOL,
    G_ABOVE,
    G_ACCOUNT,
    G_CONSECUTIVE,
    G_CURABLE,
    G_EFFECT,
    G_LIST_LEN,
    G_LIST_OFF,
    G_METRIC,
    I_A_LEN,
    I_A_OFF,
    I_B_LEN,
    I_B_OFF,
    I_C_LEN,
    I_C_OFF,
    I_DST,
    I_FOLLOW,
    I_MODE,
    I_SRC,
    I_WHEN_BEFORE,
    I_WHEN_FROM,
    I_WHEN_NOT_TRIG,
    I_WHEN_TRIG,
    L_FEE,
    L_IS,
    L_RATE,
    M_COVERAGE,
    M_DSCR,
    M_EXTERNAL,
    M_OC,
    M_SHORTFALL,
    OP_DRAW_RESERVE,
    OP_FUND_RESERVE,
    OP_PAY_FEE,
    OP_PAY_INTEREST,
    OP_PAY_PRINCIPAL,
    OP_PAY_RESIDUAL,
    OP_REIMBURSE,
    OP_RELEASE_RESERVE,
    OP_REPAY_LIQUIDITY,
    OP_TRANSFER,
    R_AMOUNT,
    R_CAP,
    R_FLOOR,
    R_PCT_NOTES,
    R_PCT_POOL,
    KernelArgs,
)


class _State:
    """The running state of one scenario."""

    def __init__(self, a: KernelArgs):
        self.bal = [float(x) for x in a.bal_open]
        self.int_due = [0.0] * len(a.bal0)
        self.carry_int = [float(x) for x in a.carry_open]
        self.fee_due = [0.0] * len(a.fee_fixed)
        self.fee_carry = [float(x) for x in a.fee_carry_open]
        self.acct = [float(x) for x in a.acct0]
        self.owed = [float(x) for x in a.owed_open]  # what each support provider has paid in, not yet repaid
        self.liq = [float(x) for x in a.liq_open]  # a liquidity facility's interest and fees unpaid
        self.count = [int(x) for x in a.count_open]
        self.fired = [int(x) for x in a.fired_open]


def _notes(st: _State) -> float:
    total = 0.0
    for b in st.bal:
        total += b
    return total


def _available(st: _State, src: int, support: list[int]) -> float:
    """Cash a step can use: its account, then its support accounts."""
    total = st.acct[src]
    for acc in support:
        total += st.acct[acc]
    return total


def _draw(a: KernelArgs, st: _State, acc: int, amount: float, s: int, t: int) -> None:
    """Withdraw ``amount`` from account ``acc``; a support provider's draws are recorded
    (they are cash coming into the trust from outside)."""
    st.acct[acc] -= amount
    if a.acct_ext[acc]:
        a.a_drawn[s, t, acc] += amount
        st.owed[acc] += amount


def _take(a: KernelArgs, st: _State, src: int, support: list[int], amount: float, s: int, t: int) -> None:
    """Withdraw ``amount`` from ``src`` first, then from the support accounts in order."""
    left = amount
    use = min(left, st.acct[src])
    _draw(a, st, src, use, s, t)
    left -= use
    for acc in support:
        if left <= 0.0:
            break
        use = min(left, st.acct[acc])
        _draw(a, st, acc, use, s, t)
        left -= use


def _move(a: KernelArgs, st: _State, src: int, dst: int, amount: float, s: int, t: int) -> None:
    """Move cash between accounts."""
    _draw(a, st, src, amount, s, t)
    st.acct[dst] += amount


def _cap(a: KernelArgs, step: int, available: float) -> float:
    """The most a step may move: its limit amount and its fraction of what is available."""
    return min(available, a.farg[step, F_LIMIT_AMOUNT], a.farg[step, F_LIMIT_FRACTION] * available)


def _reserve_target(a: KernelArgs, st: _State, acc: int, s: int, t: int, last: bool) -> float:
    """Target of a reserve: the largest of amount / % pool / % notes, floored and capped;
    zero once the notes are repaid or in the last period."""
    notes = _notes(st)
    if last or notes <= 0.0:
        return 0.0
    p = a.res_par[acc]
    target = max(p[R_AMOUNT], p[R_PCT_POOL] * a.pool_end[s, t], p[R_PCT_NOTES] * notes)
    target = max(target, p[R_FLOOR])
    return min(target, p[R_CAP])


def _principal_payable(a: KernelArgs, st: _State, k: int, t: int, follow: int) -> float:
    floor = a.sched[t, k] if follow else 0.0
    return max(st.bal[k] - floor, 0.0)


def _run_step(a: KernelArgs, st: _State, step: int, s: int, t: int, T: int) -> None:
    op = int(a.op[step])
    ia = a.iarg[step]
    src, dst = int(ia[I_SRC]), int(ia[I_DST])
    la = [int(x) for x in a.ilist[ia[I_A_OFF]: ia[I_A_OFF] + ia[I_A_LEN]]]
    lb = [int(x) for x in a.ilist[ia[I_B_OFF]: ia[I_B_OFF] + ia[I_B_LEN]]]
    lc = [int(x) for x in a.ilist[ia[I_C_OFF]: ia[I_C_OFF] + ia[I_C_LEN]]]
    last = t == T - 1

    if op in (OP_PAY_FEE, OP_PAY_INTEREST):
        # pro rata among the list if short
        dues = st.fee_due if op == OP_PAY_FEE else st.int_due
        paid_out = a.f_paid if op == OP_PAY_FEE else a.t_int_paid
        total = 0.0
        for i in la:
            total += dues[i]
        pay = min(total, _cap(a, step, _available(st, src, lb)))
        if pay <= 0.0:
            return
        _take(a, st, src, lb, pay, s, t)
        for i in la:
            part = dues[i] if pay >= total else pay * dues[i] / total
            dues[i] -= part
            paid_out[s, t, i] += part
    elif op == OP_PAY_PRINCIPAL:
        follow = int(ia[I_FOLLOW])
        total = 0.0
        group = 0.0
        for k in la:
            total += _principal_payable(a, st, k, t, follow)
            group += st.bal[k]
        target = a.farg[step, F_TARGET_POOL]
        if target >= 0.0:
            total = min(total, max(group - target * a.pool_end[s, t], 0.0))
        pay = min(total, _cap(a, step, _available(st, src, lb)))
        if pay <= 0.0:
            return
        _take(a, st, src, lb, pay, s, t)
        if int(ia[I_MODE]) == 0:  # sequential
            left = pay
            for k in la:
                part = min(left, _principal_payable(a, st, k, t, follow))
                st.bal[k] -= part
                a.t_prin[s, t, k] += part
                left -= part
        else:  # pro rata by what each may receive
            weights = [_principal_payable(a, st, k, t, follow) for k in la]
            wsum = 0.0
            for w in weights:
                wsum += w
            for k, w in zip(la, weights, strict=True):
                part = w if pay >= wsum else pay * w / wsum
                st.bal[k] -= part
                a.t_prin[s, t, k] += part
    elif op == OP_FUND_RESERVE:
        need = max(_reserve_target(a, st, dst, s, t, last) - st.acct[dst], 0.0)
        move = min(need, _cap(a, step, st.acct[src]))
        _move(a, st, src, dst, move, s, t)
    elif op == OP_RELEASE_RESERVE:
        excess = max(st.acct[src] - _reserve_target(a, st, src, s, t, last), 0.0)
        move = min(excess, _cap(a, step, st.acct[src]))
        _move(a, st, src, dst, move, s, t)
    elif op == OP_DRAW_RESERVE:
        need = 0.0
        for f in la:
            need += st.fee_due[f]
        for k in lb:
            need += st.int_due[k]
        for k in lc:
            need += max(st.bal[k] - a.due[t, k], 0.0)
        need = max(need - st.acct[dst], 0.0)
        move = min(need, _cap(a, step, st.acct[src]))
        _move(a, st, src, dst, move, s, t)
    elif op == OP_TRANSFER:
        move = _cap(a, step, st.acct[src])
        _move(a, st, src, dst, move, s, t)
    elif op == OP_REIMBURSE:
        # repay the provider what it is owed, out of the step's account
        pay = min(st.owed[dst], _cap(a, step, st.acct[src]))
        if pay <= 0.0:
            return
        st.acct[src] -= pay
        st.owed[dst] -= pay
        a.a_repaid[s, t, dst] += pay
        # a revolving undertaking gets its capacity back, unless it has failed: a failed
        # provider is still repaid what it is owed, but it pays nothing more
        if int(ia[I_MODE]) == 1 and t < a.acct_fail[s, dst]:
            st.acct[dst] += pay
    elif op == OP_REPAY_LIQUIDITY:
        # interest and commitment fees owed first (unless principal only), then the principal
        # drawn (unless interest only); repaid principal may be drawn again, unless the
        # facility has failed
        avail = _cap(a, step, st.acct[src])
        mode = int(ia[I_MODE])
        paid = 0.0
        if mode != 2:
            paid = min(st.liq[dst], avail)
            if paid > 0.0:
                st.acct[src] -= paid
                st.liq[dst] -= paid
                a.l_paid[s, t, dst] += paid
        if mode != 1:
            pay = min(st.owed[dst], avail - paid)
            if pay > 0.0:
                st.acct[src] -= pay
                st.owed[dst] -= pay
                a.a_repaid[s, t, dst] += pay
                if t < a.acct_fail[s, dst]:
                    st.acct[dst] += pay
    elif op == OP_PAY_RESIDUAL:
        pay = _cap(a, step, st.acct[src]) * a.farg[step, F_SHARE]
        if pay <= 0.0:
            return
        _draw(a, st, src, pay, s, t)
        if int(ia[I_MODE]) == 0:
            a.t_resid[s, t, dst] += pay
        else:
            a.party[s, t, dst] += pay


def _when(a: KernelArgs, st: _State, step: int, t: int) -> bool:
    ia = a.iarg[step]
    trig, not_trig = int(ia[I_WHEN_TRIG]), int(ia[I_WHEN_NOT_TRIG])
    if trig >= 0 and not st.fired[trig]:
        return False
    if not_trig >= 0 and st.fired[not_trig]:
        return False
    return ia[I_WHEN_FROM] <= t < ia[I_WHEN_BEFORE]


def _metric(a: KernelArgs, st: _State, j: int, s: int, t: int) -> float:
    """A trigger's metric (Python floats: a ratio too large for a float is inf, silently,
    as in C)."""
    g = a.trg_i[j]
    kind = int(g[G_METRIC])
    tranches = [int(x) for x in a.ilist[g[G_LIST_OFF]: g[G_LIST_OFF] + g[G_LIST_LEN]]]
    if kind == M_EXTERNAL:
        return float(a.ext[s, t, j])
    if kind == M_OC:
        notes = 0.0
        for k in tranches:
            notes += st.bal[k]
        return float(a.pool_end[s, t]) / float(notes) if notes > 0.0 else math.inf
    if kind == M_COVERAGE:
        due = 0.0
        for k in tranches:
            due += st.int_due[k]
        return float(a.a_in[s, t, g[G_ACCOUNT]]) / float(due) if due > 0.0 else math.inf
    if kind == M_DSCR:
        due = 0.0
        for k in tranches:
            due += st.int_due[k] + max(st.bal[k] - a.due[t, k], 0.0)
        return float(a.a_in[s, t, g[G_ACCOUNT]]) / float(due) if due > 0.0 else math.inf
    if kind == M_SHORTFALL:
        short = 0.0
        for k in tranches:
            short += st.carry_int[k]
        return short
    return 0.0


def run(a: KernelArgs) -> int:
    """Run the program over every scenario and period, filling ``a``'s outputs. Returns 0."""
    S, T = a.shape
    K, F, A, J = len(a.bal0), len(a.fee_fixed), len(a.acct0), len(a.trg_thr)
    orig_notes = 0.0
    for b in a.bal0:
        orig_notes += float(b)
    for s in range(S):
        st = _State(a)
        for t in range(int(a.t0), T):
            notes = _notes(st)
            for acc in range(A):
                if t >= a.acct_fail[s, acc]:  # a failed provider pays nothing from now on
                    st.acct[acc] = 0.0
            for k in range(K):
                a.t_bal_start[s, t, k] = st.bal[k]
            for acc in range(A):
                a.a_start[s, t, acc] = st.acct[acc]
            for src in range(a.coll.shape[2]):
                acc = int(a.src_acct[src])
                st.acct[acc] += a.coll[s, t, src]
                a.a_in[s, t, acc] += a.coll[s, t, src]
            # what is due
            for k in range(K):
                r = a.rate[s, t, k] * a.accr[t, k]
                due = st.bal[k] * r + st.carry_int[k]
                if a.sfint[k]:
                    due += st.carry_int[k] * r
                st.int_due[k] = due
                a.t_int_due[s, t, k] = due
            for f in range(F):
                base = a.pool_start[s, t]
                code = a.fee_base[f]
                if code == BASE_NOTES:
                    base = notes
                elif code == BASE_ORIGINAL_NOTES:
                    base = orig_notes
                # fees accrue only while notes are outstanding (the trust winds up after)
                if notes <= 0.0:
                    cur = 0.0
                elif BASE_COLL_INTEREST <= code <= BASE_TAXABLE:  # a share of the period's income
                    inc = a.inc[s, t]
                    income = {BASE_COLL_INTEREST: inc[C_INTEREST], BASE_COLL_PRINCIPAL: inc[C_PRINCIPAL],
                              BASE_COLL_ALL: inc[C_INTEREST] + inc[C_PRINCIPAL], BASE_TAXABLE: inc[C_TAXABLE]}[code]
                    cur = min(a.fee_fixed[f] + a.fee_rate[f] * income, a.fee_cap[f])
                else:
                    cur = min(a.fee_fixed[f] + a.fee_rate[f] * base * a.yf[t], a.fee_cap[f])
                st.fee_due[f] = cur + st.fee_carry[f]
                a.f_due[s, t, f] = st.fee_due[f]
            # liquidity facilities: interest on what is drawn, a commitment fee on the rest of
            # the limit (what the facility can still lend: 0 once it has failed)
            for acc in range(A):
                if a.liq_par[acc, L_IS]:
                    interest = st.owed[acc] * a.liq_par[acc, L_RATE] * a.yf[t]
                    fee = st.acct[acc] * a.liq_par[acc, L_FEE] * a.yf[t] if notes > 0.0 else 0.0
                    a.l_int[s, t, acc] = interest
                    a.l_fee[s, t, acc] = fee
                    st.liq[acc] += interest + fee
            # triggers and the deal state
            state = 0
            for j in range(J):
                g = a.trg_i[j]
                value = _metric(a, st, j, s, t)
                breach = value > a.trg_thr[j] if g[G_ABOVE] else value < a.trg_thr[j]
                st.count[j] = st.count[j] + 1 if breach else 0
                if st.count[j] >= g[G_CONSECUTIVE]:
                    st.fired[j] = 1
                elif g[G_CURABLE]:
                    st.fired[j] = 0
                a.fired[s, t, j] = st.fired[j]
                a.trg_count[s, t, j] = st.count[j]
                if st.fired[j] and g[G_EFFECT] > state:
                    state = int(g[G_EFFECT])
            a.state[s, t] = state
            for step in range(int(a.seg[state]), int(a.seg[state + 1])):
                if _when(a, st, step, t):
                    _run_step(a, st, step, s, t, T)
            # carry forward what is unpaid
            for k in range(K):
                a.t_int_short[s, t, k] = st.int_due[k]
                st.carry_int[k] = st.int_due[k] if a.carry[k] else 0.0
                st.int_due[k] = 0.0
            for f in range(F):
                a.f_unpaid[s, t, f] = st.fee_due[f]
                st.fee_carry[f] = st.fee_due[f] if a.fee_carry[f] else 0.0
                st.fee_due[f] = 0.0
            if t == T - 1:
                for k in range(K):
                    a.t_wd[s, t, k] = st.bal[k]
                    st.bal[k] = 0.0
            for k in range(K):
                a.t_bal_end[s, t, k] = st.bal[k]
            for acc in range(A):
                a.a_end[s, t, acc] = st.acct[acc]
    return 0
