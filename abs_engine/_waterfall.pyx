# cython: language_level=3
"""The waterfall kernel: runs a compiled program over scenarios x periods.

Semantics are those of :mod:`abs_engine._waterfall_ref` (the specification); this file
is its translation to typed, nogil C loops. The entry point checks dtypes (through typed
memoryviews), shapes, contiguity and every index the program holds, decodes the program
into an array of :c:type:`Step` structs and hands raw pointers to ``loop``, which holds no
Python objects and raises nothing. Directives are set once in setup.py
(``ABS_ENGINE_DEBUG=1`` re-enables Cython's checks where memoryviews are still indexed).

Performance notes (benchmarks/run.py, docs/performance.md): the hot loop reads raw
pointers held in a local struct rather than memoryviews through ``self``; per-period row
pointers are computed once; the program is decoded once per call; a step without a limit
skips the ``cap`` arithmetic (``min(min(x, inf), 1.0 * x) == x`` exactly). Arithmetic is
the reference's, operation for operation: no fast-math, no reassociation.
"""

import numpy as np

from libc.math cimport INFINITY

# opcodes and operand columns: keep in step with abs_engine/_program.py
cdef enum:
    OP_PAY_FEE = 1
    OP_PAY_INTEREST = 2
    OP_PAY_PRINCIPAL = 3
    OP_FUND_RESERVE = 4
    OP_RELEASE_RESERVE = 5
    OP_DRAW_RESERVE = 6
    OP_TRANSFER = 7
    OP_PAY_RESIDUAL = 8
    OP_REIMBURSE = 9
    I_SRC = 0
    I_DST = 1
    I_A_OFF = 2
    I_A_LEN = 3
    I_B_OFF = 4
    I_B_LEN = 5
    I_C_OFF = 6
    I_C_LEN = 7
    I_MODE = 8
    I_FOLLOW = 9
    I_WHEN_TRIG = 10
    I_WHEN_NOT_TRIG = 11
    I_WHEN_FROM = 12
    I_WHEN_BEFORE = 13
    F_LIMIT_AMOUNT = 0
    F_LIMIT_FRACTION = 1
    F_TARGET_POOL = 2
    F_SHARE = 3
    BASE_NOTES = 1
    BASE_ORIGINAL_NOTES = 2
    R_AMOUNT = 1
    R_PCT_POOL = 2
    R_PCT_NOTES = 3
    R_FLOOR = 4
    R_CAP = 5
    G_METRIC = 0
    G_LIST_OFF = 1
    G_LIST_LEN = 2
    G_ACCOUNT = 3
    G_ABOVE = 4
    G_CONSECUTIVE = 5
    G_CURABLE = 6
    G_EFFECT = 7
    M_EXTERNAL = 0
    M_OC = 1
    M_COVERAGE = 2
    M_SHORTFALL = 3
    M_DSCR = 4
    N_IARG = 14
    N_FARG = 4
    N_RES = 6
    N_TRG = 8
    N_STATES = 3


cdef struct Step:
    # One program step decoded once per call (rows of op/iarg/farg, lists resolved to
    # pointers into ilist); the loop reads only these.
    int op
    int src
    int dst
    int mode
    int follow
    int trig
    int not_trig
    int t_from
    int t_before
    bint every  # runs in every period: no trigger condition and no period range
    bint plain  # no limit amount and a limit fraction of 1, so cap(x) == x exactly
    const int* la
    const int* lb
    const int* lc
    int na
    int nb
    int nc
    double limit
    double fraction
    double target
    double share


cdef struct Ctx:
    # The state of one kernel call: raw pointers into C-contiguous arrays (the entry
    # point checked dtype, shape and contiguity), sizes, and the running state of the
    # current scenario. Row pointers ``*_st`` point at period t of scenario s.
    Py_ssize_t S, T, NS, K, F, A, J, NP
    const Step* steps
    const int* ilist
    const int* seg
    const double* bal0
    const int* carry
    const int* sfint
    const double* rate
    const double* accr
    const double* sched
    const double* fee_fixed
    const double* fee_rate
    const double* fee_cap
    const int* fee_base
    const int* fee_carry
    const double* yf
    const double* acct0
    const double* res_par
    const int* acct_ext
    const int* acct_fail
    const double* due
    const double* coll
    const int* src_acct
    const double* pool_start
    const double* pool_end
    const int* trg_i
    const double* trg_thr
    const double* ext
    # outputs
    double* t_bal_start
    double* t_int_due
    double* t_int_paid
    double* t_int_short
    double* t_prin
    double* t_wd
    double* t_bal_end
    double* t_resid
    double* f_due
    double* f_paid
    double* f_unpaid
    double* a_start
    double* a_in
    double* a_end
    double* party
    double* a_drawn
    double* a_repaid
    int* state
    int* fired
    # scratch: the running state of one scenario
    double* bal
    double* int_due
    double* carry_int
    double* fee_due
    double* fee_carry_amt
    double* acct
    double* owed
    int* count
    int* is_fired
    double orig_notes
    # the current period
    const double* sched_t
    const double* due_t
    double pool_end_st
    double* a_drawn_st
    double* a_repaid_st
    double* int_paid_st
    double* f_paid_st
    double* prin_st
    double* resid_st
    double* party_st
    double* a_in_st


cdef inline double dmin(double a, double b) noexcept nogil:
    """The smaller of a and b (b when they are equal)."""
    return a if a < b else b


cdef inline double dmax(double a, double b) noexcept nogil:
    """The larger of a and b (b when they are equal)."""
    return a if a > b else b


cdef inline double notes(const Ctx* c) noexcept nogil:
    """Outstanding balance of all tranches, summed in tranche order."""
    cdef double total = 0.0
    cdef Py_ssize_t k
    for k in range(c.K):
        total += c.bal[k]
    return total


cdef inline double cap(const Step* p, double avail) noexcept nogil:
    """The most a step may move: its limit amount and its fraction of what is available.
    A plain step (no limit) may move all of it: min(min(x, inf), 1.0 * x) == x."""
    if p.plain:
        return avail
    return dmin(dmin(avail, p.limit), p.fraction * avail)


cdef inline double available(const Ctx* c, const Step* p) noexcept nogil:
    """Cash a step can use: its account, then its support accounts."""
    cdef double total = c.acct[p.src]
    cdef int i
    for i in range(p.nb):
        total += c.acct[p.lb[i]]
    return total


cdef inline void draw(Ctx* c, int acc, double amount) noexcept nogil:
    """Withdraw ``amount`` from account ``acc``; a support provider's draws are recorded
    (they are cash coming into the trust from outside)."""
    c.acct[acc] -= amount
    if c.acct_ext[acc]:
        c.a_drawn_st[acc] += amount
        c.owed[acc] += amount


cdef inline void take(Ctx* c, const Step* p, double amount) noexcept nogil:
    """Withdraw ``amount`` from the step's account first, then from its support accounts
    in order."""
    cdef double left = amount
    cdef double use = dmin(left, c.acct[p.src])
    cdef int i, acc
    draw(c, p.src, use)
    left -= use
    for i in range(p.nb):
        if left <= 0.0:
            break
        acc = p.lb[i]
        use = dmin(left, c.acct[acc])
        draw(c, acc, use)
        left -= use


cdef inline double reserve_target(const Ctx* c, int acc, bint last) noexcept nogil:
    """Largest of amount / % pool / % notes, floored and capped; zero once the notes are
    repaid or in the last period."""
    cdef double n = notes(c)
    cdef const double* r = c.res_par + acc * N_RES
    cdef double target
    if last or n <= 0.0:
        return 0.0
    target = dmax(dmax(r[R_AMOUNT], r[R_PCT_POOL] * c.pool_end_st), r[R_PCT_NOTES] * n)
    target = dmax(target, r[R_FLOOR])
    return dmin(target, r[R_CAP])


cdef inline double payable(const Ctx* c, int k, int follow) noexcept nogil:
    """Principal tranche k may receive: down to its scheduled balance if followed."""
    cdef double floor = c.sched_t[k] if follow else 0.0
    return dmax(c.bal[k] - floor, 0.0)


cdef inline void pay_principal(Ctx* c, const Step* p) noexcept nogil:
    """pay_principal: down to the schedule if followed and to the pool target if any;
    sequential in list order, or pro rata by what each tranche may receive."""
    cdef double total = 0.0
    cdef double group = 0.0
    cdef double pay, left, part, wsum, w
    cdef int i, k
    for i in range(p.na):
        k = p.la[i]
        total += payable(c, k, p.follow)
        group += c.bal[k]
    if p.target >= 0.0:
        total = dmin(total, dmax(group - p.target * c.pool_end_st, 0.0))
    pay = dmin(total, cap(p, available(c, p)))
    if pay <= 0.0:
        return
    take(c, p, pay)
    if p.mode == 0:
        left = pay
        for i in range(p.na):
            k = p.la[i]
            part = dmin(left, payable(c, k, p.follow))
            c.bal[k] -= part
            c.prin_st[k] += part
            left -= part
    else:
        wsum = 0.0
        for i in range(p.na):
            wsum += payable(c, p.la[i], p.follow)
        # each tranche's weight is its payable amount before this step pays it
        for i in range(p.na):
            k = p.la[i]
            w = payable(c, k, p.follow)
            part = w if pay >= wsum else pay * w / wsum
            c.bal[k] -= part
            c.prin_st[k] += part


cdef inline void move_cash(Ctx* c, const Step* p, double move) noexcept nogil:
    """Move ``move`` from the step's account to its destination account."""
    draw(c, p.src, move)
    c.acct[p.dst] += move


cdef void run_step(Ctx* c, const Step* p, bint last) noexcept nogil:
    """One waterfall step (its ``when`` holds); see _waterfall_ref._run_step."""
    cdef double total, pay, part, need
    cdef double* dues
    cdef double* paid_out
    cdef int i, k
    cdef int op = p.op
    if op == OP_PAY_FEE or op == OP_PAY_INTEREST:
        # pay what is due to list A, pro rata among it when short
        if op == OP_PAY_FEE:
            dues = c.fee_due
            paid_out = c.f_paid_st
        else:
            dues = c.int_due
            paid_out = c.int_paid_st
        total = 0.0
        for i in range(p.na):
            total += dues[p.la[i]]
        pay = dmin(total, cap(p, available(c, p)))
        if pay <= 0.0:
            return
        take(c, p, pay)
        for i in range(p.na):
            k = p.la[i]
            part = dues[k] if pay >= total else pay * dues[k] / total
            dues[k] -= part
            paid_out[k] += part
    elif op == OP_PAY_PRINCIPAL:
        pay_principal(c, p)
    elif op == OP_FUND_RESERVE:
        need = dmax(reserve_target(c, p.dst, last) - c.acct[p.dst], 0.0)
        move_cash(c, p, dmin(need, cap(p, c.acct[p.src])))
    elif op == OP_RELEASE_RESERVE:
        need = dmax(c.acct[p.src] - reserve_target(c, p.src, last), 0.0)
        move_cash(c, p, dmin(need, cap(p, c.acct[p.src])))
    elif op == OP_DRAW_RESERVE:
        need = 0.0
        for i in range(p.na):
            need += c.fee_due[p.la[i]]
        for i in range(p.nb):
            need += c.int_due[p.lb[i]]
        for i in range(p.nc):
            # principal due: the balance above the tranche's due balance this period
            k = p.lc[i]
            need += dmax(c.bal[k] - c.due_t[k], 0.0)
        need = dmax(need - c.acct[p.dst], 0.0)
        move_cash(c, p, dmin(need, cap(p, c.acct[p.src])))
    elif op == OP_TRANSFER:
        move_cash(c, p, cap(p, c.acct[p.src]))
    elif op == OP_REIMBURSE:
        # repay the provider what it is owed, out of the step's account
        pay = dmin(c.owed[p.dst], cap(p, c.acct[p.src]))
        if pay <= 0.0:
            return
        c.acct[p.src] -= pay
        c.owed[p.dst] -= pay
        c.a_repaid_st[p.dst] += pay
        if p.mode == 1:  # a revolving undertaking: its capacity comes back
            c.acct[p.dst] += pay
    elif op == OP_PAY_RESIDUAL:
        pay = cap(p, c.acct[p.src]) * p.share
        if pay <= 0.0:
            return
        draw(c, p.src, pay)
        if p.mode == 0:
            c.resid_st[p.dst] += pay
        else:
            c.party_st[p.dst] += pay


cdef inline bint when(const Ctx* c, const Step* p, Py_ssize_t t) noexcept nogil:
    """A step runs if its trigger has fired, its not-trigger has not, and t is in range."""
    if p.trig >= 0 and not c.is_fired[p.trig]:
        return False
    if p.not_trig >= 0 and c.is_fired[p.not_trig]:
        return False
    return p.t_from <= t < p.t_before


cdef inline double metric(const Ctx* c, int j, Py_ssize_t st) noexcept nogil:
    """The value trigger j tests in period st (= s * T + t)."""
    cdef const int* g = c.trg_i + j * N_TRG
    cdef int kind = g[G_METRIC]
    cdef int off = g[G_LIST_OFF]
    cdef int n = g[G_LIST_LEN]
    cdef double total = 0.0
    cdef int i, k
    if kind == M_EXTERNAL:
        return c.ext[st * c.J + j]
    if kind == M_OC:
        for i in range(off, off + n):
            total += c.bal[c.ilist[i]]
        return c.pool_end_st / total if total > 0.0 else INFINITY
    if kind == M_COVERAGE:
        for i in range(off, off + n):
            total += c.int_due[c.ilist[i]]
        return c.a_in_st[g[G_ACCOUNT]] / total if total > 0.0 else INFINITY
    if kind == M_DSCR:
        for i in range(off, off + n):
            k = c.ilist[i]
            total += c.int_due[k] + dmax(c.bal[k] - c.due_t[k], 0.0)
        return c.a_in_st[g[G_ACCOUNT]] / total if total > 0.0 else INFINITY
    if kind == M_SHORTFALL:
        for i in range(off, off + n):
            total += c.carry_int[c.ilist[i]]
        return total
    return 0.0


cdef void loop(Ctx* c) noexcept nogil:
    """Every scenario, every period: the steps of _waterfall_ref.run in the same order."""
    cdef Py_ssize_t S = c.S, T = c.T, NS = c.NS, K = c.K, F = c.F, A = c.A, J = c.J
    cdef Py_ssize_t s, t, k, f, acc, src, j, st, ok, of, oa
    cdef int step, state, step_end
    cdef double n, r, due, base, cur, value, x
    cdef bint breach, last
    cdef const int* g
    cdef double* bal = c.bal
    cdef double* int_due = c.int_due
    cdef double* carry_int = c.carry_int
    cdef double* fee_due = c.fee_due
    cdef double* fee_carry_amt = c.fee_carry_amt
    cdef double* acct = c.acct
    cdef int* count = c.count
    cdef int* is_fired = c.is_fired
    cdef const double* rate_st
    cdef const double* accr_t
    cdef const double* coll_st
    cdef double* out
    cdef double* out2
    cdef double pool_start, yf
    cdef const int* sfint = c.sfint
    cdef const int* carry = c.carry
    cdef const int* fee_base = c.fee_base
    cdef const int* fee_carry = c.fee_carry
    cdef const int* src_acct = c.src_acct
    cdef const Step* p
    for s in range(S):
        for k in range(K):
            bal[k] = c.bal0[k]
            carry_int[k] = 0.0
            int_due[k] = 0.0
        for f in range(F):
            fee_due[f] = 0.0
            fee_carry_amt[f] = 0.0
        for acc in range(A):
            acct[acc] = c.acct0[acc]
            c.owed[acc] = 0.0
        for j in range(J):
            count[j] = 0
            is_fired[j] = 0
        for t in range(T):
            st = s * T + t
            ok = st * K
            of = st * F
            oa = st * A
            last = t == T - 1
            rate_st = c.rate + ok
            accr_t = c.accr + t * K
            coll_st = c.coll + st * NS
            c.sched_t = c.sched + t * K
            c.due_t = c.due + t * K
            c.a_drawn_st = c.a_drawn + oa
            c.a_repaid_st = c.a_repaid + oa
            c.pool_end_st = c.pool_end[st]
            c.int_paid_st = c.t_int_paid + ok
            c.prin_st = c.t_prin + ok
            c.resid_st = c.t_resid + ok
            c.f_paid_st = c.f_paid + of
            c.a_in_st = c.a_in + oa
            c.party_st = c.party + st * c.NP

            # opening balances, deposits, what is due (notes summed in tranche order)
            n = 0.0
            out = c.t_bal_start + ok
            out2 = c.t_int_due + ok
            for k in range(K):
                x = bal[k]
                n += x
                out[k] = x
                r = rate_st[k] * accr_t[k]
                due = x * r + carry_int[k]
                if sfint[k]:
                    due += carry_int[k] * r
                int_due[k] = due
                out2[k] = due
            out = c.a_start + oa
            for acc in range(A):
                if t >= c.acct_fail[s * A + acc]:  # a failed provider pays nothing from now on
                    acct[acc] = 0.0
                out[acc] = acct[acc]
            for src in range(NS):
                acc = src_acct[src]
                x = coll_st[src]
                acct[acc] += x
                c.a_in_st[acc] += x
            out = c.f_due + of
            pool_start = c.pool_start[st]
            yf = c.yf[t]
            for f in range(F):
                base = pool_start
                if fee_base[f] == BASE_NOTES:
                    base = n
                elif fee_base[f] == BASE_ORIGINAL_NOTES:
                    base = c.orig_notes
                # fees accrue only while notes are outstanding (the trust winds up after)
                cur = dmin(c.fee_fixed[f] + c.fee_rate[f] * base * yf, c.fee_cap[f]) if n > 0.0 else 0.0
                x = cur + fee_carry_amt[f]
                fee_due[f] = x
                out[f] = x
            # triggers and the deal state
            state = 0
            for j in range(J):
                g = c.trg_i + j * N_TRG
                value = metric(c, <int>j, st)
                if g[G_ABOVE]:
                    breach = value > c.trg_thr[j]
                else:
                    breach = value < c.trg_thr[j]
                count[j] = count[j] + 1 if breach else 0
                if count[j] >= g[G_CONSECUTIVE]:
                    is_fired[j] = 1
                elif g[G_CURABLE]:
                    is_fired[j] = 0
                c.fired[st * J + j] = is_fired[j]
                if is_fired[j] and g[G_EFFECT] > state:
                    state = g[G_EFFECT]
            c.state[st] = state
            step_end = c.seg[state + 1]
            for step in range(c.seg[state], step_end):
                p = c.steps + step
                if p.every or when(c, p, t):
                    run_step(c, p, last)
            # carry forward what is unpaid; closing balances
            out = c.t_int_short + ok
            out2 = c.t_bal_end + ok
            for k in range(K):
                x = int_due[k]
                out[k] = x
                carry_int[k] = x if carry[k] else 0.0
                int_due[k] = 0.0
                if last:
                    c.t_wd[ok + k] = bal[k]
                    bal[k] = 0.0
                out2[k] = bal[k]
            out = c.f_unpaid + of
            for f in range(F):
                x = fee_due[f]
                out[f] = x
                fee_carry_amt[f] = x if fee_carry[f] else 0.0
                fee_due[f] = 0.0
            out = c.a_end + oa
            for acc in range(A):
                out[acc] = acct[acc]

# ------------------------------------------------------------------------ entry point

cdef tuple _SHAPES = (
    # name, dtype, shape in terms of the sizes (S, T, K, F, A, NS, J, P, n_steps, n_list)
    ("op", "i", ("n_steps",)),
    ("iarg", "i", ("n_steps", N_IARG)),
    ("farg", "d", ("n_steps", N_FARG)),
    ("ilist", "i", ("n_list",)),
    ("seg", "i", (N_STATES + 1,)),
    ("bal0", "d", ("K",)),
    ("carry", "i", ("K",)),
    ("sfint", "i", ("K",)),
    ("rate", "d", ("S", "T", "K")),
    ("accr", "d", ("T", "K")),
    ("sched", "d", ("T", "K")),
    ("fee_fixed", "d", ("F",)),
    ("fee_rate", "d", ("F",)),
    ("fee_cap", "d", ("F",)),
    ("fee_base", "i", ("F",)),
    ("fee_carry", "i", ("F",)),
    ("yf", "d", ("T",)),
    ("acct0", "d", ("A",)),
    ("res_par", "d", ("A", N_RES)),
    ("acct_ext", "i", ("A",)),
    ("acct_fail", "i", ("S", "A")),
    ("due", "d", ("T", "K")),
    ("coll", "d", ("S", "T", "NS")),
    ("src_acct", "i", ("NS",)),
    ("pool_start", "d", ("S", "T")),
    ("pool_end", "d", ("S", "T")),
    ("trg_i", "i", ("J", N_TRG)),
    ("trg_thr", "d", ("J",)),
    ("ext", "d", ("S", "T", "J")),
)

cdef tuple _OUT_SHAPES = (
    ("t_bal_start", "K"), ("t_int_due", "K"), ("t_int_paid", "K"), ("t_int_short", "K"), ("t_prin", "K"),
    ("t_wd", "K"), ("t_bal_end", "K"), ("t_resid", "K"), ("f_due", "F"), ("f_paid", "F"), ("f_unpaid", "F"),
    ("a_start", "A"), ("a_in", "A"), ("a_end", "A"), ("party", "P"), ("a_drawn", "A"), ("a_repaid", "A"),
)


cdef const double* _dptr(const double[::1] v) noexcept:
    return &v[0] if v.shape[0] > 0 else NULL


cdef const int* _iptr(const int[::1] v) noexcept:
    return &v[0] if v.shape[0] > 0 else NULL


cdef double* _wdptr(double[::1] v) noexcept:
    return &v[0] if v.shape[0] > 0 else NULL


cdef int* _wiptr(int[::1] v) noexcept:
    return &v[0] if v.shape[0] > 0 else NULL


cdef const unsigned char* _bptr(const unsigned char[::1] v) noexcept:
    return &v[0] if v.shape[0] > 0 else NULL


def _decode(flat, sizes):
    """The program's steps as an array of Step structs (in a uint8 buffer); the indices
    were checked by _check_indices."""
    cdef Step* p
    cdef const int* ilist = _iptr(flat["ilist"])
    cdef Py_ssize_t i, n = sizes["n_steps"]
    cdef const int[::1] op = flat["op"]
    cdef const int[:, ::1] ia = flat["iarg"].reshape(-1, N_IARG)
    cdef const double[:, ::1] fa = flat["farg"].reshape(-1, N_FARG)
    buf = np.zeros(max(n, 1) * sizeof(Step), dtype=np.uint8)
    cdef unsigned char[::1] raw = buf
    p = <Step*> &raw[0]
    for i in range(n):
        p[i].op = op[i]
        p[i].src = ia[i, I_SRC]
        p[i].dst = ia[i, I_DST]
        p[i].mode = ia[i, I_MODE]
        p[i].follow = ia[i, I_FOLLOW]
        p[i].trig = ia[i, I_WHEN_TRIG]
        p[i].not_trig = ia[i, I_WHEN_NOT_TRIG]
        p[i].t_from = ia[i, I_WHEN_FROM]
        p[i].t_before = ia[i, I_WHEN_BEFORE]
        p[i].la = ilist + ia[i, I_A_OFF] if ia[i, I_A_LEN] > 0 else NULL
        p[i].lb = ilist + ia[i, I_B_OFF] if ia[i, I_B_LEN] > 0 else NULL
        p[i].lc = ilist + ia[i, I_C_OFF] if ia[i, I_C_LEN] > 0 else NULL
        p[i].na = max(ia[i, I_A_LEN], 0)
        p[i].nb = max(ia[i, I_B_LEN], 0)
        p[i].nc = max(ia[i, I_C_LEN], 0)
        p[i].limit = fa[i, F_LIMIT_AMOUNT]
        p[i].fraction = fa[i, F_LIMIT_FRACTION]
        p[i].target = fa[i, F_TARGET_POOL]
        p[i].share = fa[i, F_SHARE]
        p[i].every = p[i].trig < 0 and p[i].not_trig < 0 and p[i].t_from <= 0 and p[i].t_before >= sizes["T"]
        p[i].plain = p[i].limit == INFINITY and p[i].fraction == 1.0
    return buf


cdef object _bad_list(const int[::1] ilist, Py_ssize_t off, Py_ssize_t ln, Py_ssize_t n):
    """Why ilist[off:off + ln] is not a list of indices in 0..n-1 (None if it is)."""
    cdef Py_ssize_t i
    if ln < 0 or (ln > 0 and (off < 0 or off + ln > ilist.shape[0])):
        return "list outside ilist"
    for i in range(off, off + ln):
        if ilist[i] < 0 or ilist[i] >= n:
            return f"index {ilist[i]} outside 0..{n - 1}"
    return None


def _check_indices(flat, sizes):
    """Every index the program holds must be in range, so the raw-pointer loop never
    reads or writes outside an array. (compile.py only builds valid programs; this turns
    a bad hand-built program into a ValueError instead of undefined behaviour.)"""
    cdef Py_ssize_t K = sizes["K"], F = sizes["F"], A = sizes["A"], J = sizes["J"], P = sizes["P"]
    cdef Py_ssize_t n_steps = sizes["n_steps"], i, st
    cdef const int[::1] ilist = flat["ilist"]
    cdef const int[::1] op = flat["op"]
    cdef const int[:, ::1] ia = flat["iarg"].reshape(-1, N_IARG)
    cdef const int[:, ::1] trg = flat["trg_i"].reshape(-1, N_TRG)
    cdef const int[::1] seg = flat["seg"]
    cdef const int[::1] src_acct = flat["src_acct"]
    cdef int o
    problems = []

    def bad(where, why):
        if why is not None:
            problems.append(f"{where}: {why}")

    def index(where, Py_ssize_t value, Py_ssize_t n):
        if not 0 <= value < n:
            problems.append(f"{where}: index {value} outside 0..{n - 1}")

    if seg[0] < 0 or seg[N_STATES] > n_steps or any(seg[st] > seg[st + 1] for st in range(N_STATES)):
        problems.append("seg: not an ordered partition of the steps")
    for i in range(n_steps):
        o = op[i]
        if ia[i, I_WHEN_TRIG] >= J or ia[i, I_WHEN_NOT_TRIG] >= J:  # negative: no condition
            problems.append(f"step {i} when: trigger index outside 0..{J - 1}")
        if o == OP_PAY_FEE or o == OP_PAY_INTEREST or o == OP_PAY_PRINCIPAL:
            index(f"step {i} from", ia[i, I_SRC], A)
            bad(f"step {i} to", _bad_list(ilist, ia[i, I_A_OFF], ia[i, I_A_LEN], F if o == OP_PAY_FEE else K))
            bad(f"step {i} support", _bad_list(ilist, ia[i, I_B_OFF], ia[i, I_B_LEN], A))
        elif o == OP_FUND_RESERVE or o == OP_RELEASE_RESERVE or o == OP_DRAW_RESERVE or o == OP_TRANSFER:
            index(f"step {i} from", ia[i, I_SRC], A)
            index(f"step {i} to", ia[i, I_DST], A)
            if o == OP_DRAW_RESERVE:
                bad(f"step {i} cover fees", _bad_list(ilist, ia[i, I_A_OFF], ia[i, I_A_LEN], F))
                bad(f"step {i} cover interest", _bad_list(ilist, ia[i, I_B_OFF], ia[i, I_B_LEN], K))
                bad(f"step {i} cover principal", _bad_list(ilist, ia[i, I_C_OFF], ia[i, I_C_LEN], K))
        elif o == OP_REIMBURSE:
            index(f"step {i} from", ia[i, I_SRC], A)
            index(f"step {i} to", ia[i, I_DST], A)
        elif o == OP_PAY_RESIDUAL:
            index(f"step {i} from", ia[i, I_SRC], A)
            index(f"step {i} to", ia[i, I_DST], K if ia[i, I_MODE] == 0 else P)
    for i in range(src_acct.shape[0]):
        index(f"src_acct[{i}]", src_acct[i], A)
    for i in range(J):
        if trg[i, G_METRIC] == M_OC or trg[i, G_METRIC] == M_COVERAGE or trg[i, G_METRIC] == M_SHORTFALL \
                or trg[i, G_METRIC] == M_DSCR:
            bad(f"trigger {i} tranches", _bad_list(ilist, trg[i, G_LIST_OFF], trg[i, G_LIST_LEN], K))
        if trg[i, G_METRIC] == M_COVERAGE or trg[i, G_METRIC] == M_DSCR:
            index(f"trigger {i} account", trg[i, G_ACCOUNT], A)
        index(f"trigger {i} effect", trg[i, G_EFFECT], N_STATES)
    if problems:
        raise ValueError("kernel arguments: " + "; ".join(problems))


def _flat(arr, name, shape):
    """``arr`` as a flat C-contiguous view (a copy only if it was not contiguous)."""
    if arr.shape != shape:
        raise ValueError(f"kernel argument {name}: shape {arr.shape}, expected {shape}")
    return np.ascontiguousarray(arr).reshape(-1)


def run(a):
    """Run the compiled program in ``a`` (a :class:`abs_engine._program.KernelArgs`) over
    every scenario and period, filling its output arrays. Returns 0 on success.

    Checks dtype (through typed memoryviews: int32 / float64), shape and contiguity (a
    non-contiguous input is copied; a non-contiguous output is written through a copy).
    """
    cdef Ctx c
    S, T, NS = a.coll.shape
    sizes = {"S": S, "T": T, "K": len(a.bal0), "F": len(a.fee_fixed), "A": len(a.acct0), "NS": NS,
             "J": len(a.trg_thr), "P": int(a.n_parties), "n_steps": len(a.op), "n_list": len(a.ilist)}
    flat = {}
    for name, kind, dims in _SHAPES:
        flat[name] = _flat(getattr(a, name), name, tuple(sizes[d] if isinstance(d, str) else d for d in dims))
    c.S, c.T, c.NS = S, T, NS
    c.K, c.F, c.A, c.J, c.NP = sizes["K"], sizes["F"], sizes["A"], sizes["J"], sizes["P"]
    _check_indices(flat, sizes)
    steps = _decode(flat, sizes)
    c.steps = <const Step*> _bptr(steps)
    c.ilist = _iptr(flat["ilist"])
    c.seg = _iptr(flat["seg"])
    c.bal0 = _dptr(flat["bal0"])
    c.carry = _iptr(flat["carry"])
    c.sfint = _iptr(flat["sfint"])
    c.rate = _dptr(flat["rate"])
    c.accr = _dptr(flat["accr"])
    c.sched = _dptr(flat["sched"])
    c.fee_fixed = _dptr(flat["fee_fixed"])
    c.fee_rate = _dptr(flat["fee_rate"])
    c.fee_cap = _dptr(flat["fee_cap"])
    c.fee_base = _iptr(flat["fee_base"])
    c.fee_carry = _iptr(flat["fee_carry"])
    c.yf = _dptr(flat["yf"])
    c.acct0 = _dptr(flat["acct0"])
    c.res_par = _dptr(flat["res_par"])
    c.acct_ext = _iptr(flat["acct_ext"])
    c.acct_fail = _iptr(flat["acct_fail"])
    c.due = _dptr(flat["due"])
    c.coll = _dptr(flat["coll"])
    c.src_acct = _iptr(flat["src_acct"])
    c.pool_start = _dptr(flat["pool_start"])
    c.pool_end = _dptr(flat["pool_end"])
    c.trg_i = _iptr(flat["trg_i"])
    c.trg_thr = _dptr(flat["trg_thr"])
    c.ext = _dptr(flat["ext"])
    # outputs: written in place when C-contiguous (as allocate_outputs makes them)
    outs = {}
    for name, dim in _OUT_SHAPES:
        outs[name] = _flat(getattr(a, name), name, (S, T, sizes[dim]))
    outs["state"] = _flat(a.state, "state", (S, T))
    outs["fired"] = _flat(a.fired, "fired", (S, T, sizes["J"]))
    c.t_bal_start = _wdptr(outs["t_bal_start"])
    c.t_int_due = _wdptr(outs["t_int_due"])
    c.t_int_paid = _wdptr(outs["t_int_paid"])
    c.t_int_short = _wdptr(outs["t_int_short"])
    c.t_prin = _wdptr(outs["t_prin"])
    c.t_wd = _wdptr(outs["t_wd"])
    c.t_bal_end = _wdptr(outs["t_bal_end"])
    c.t_resid = _wdptr(outs["t_resid"])
    c.f_due = _wdptr(outs["f_due"])
    c.f_paid = _wdptr(outs["f_paid"])
    c.f_unpaid = _wdptr(outs["f_unpaid"])
    c.a_start = _wdptr(outs["a_start"])
    c.a_in = _wdptr(outs["a_in"])
    c.a_end = _wdptr(outs["a_end"])
    c.party = _wdptr(outs["party"])
    c.a_drawn = _wdptr(outs["a_drawn"])
    c.a_repaid = _wdptr(outs["a_repaid"])
    c.state = _wiptr(outs["state"])
    c.fired = _wiptr(outs["fired"])
    # scratch
    scratch_d = np.zeros((7, max(c.K, c.F, c.A, 1)))
    scratch_i = np.zeros((2, max(c.J, 1)), dtype=np.int32)
    c.bal = _wdptr(scratch_d[0])
    c.int_due = _wdptr(scratch_d[1])
    c.carry_int = _wdptr(scratch_d[2])
    c.fee_due = _wdptr(scratch_d[3])
    c.fee_carry_amt = _wdptr(scratch_d[4])
    c.acct = _wdptr(scratch_d[5])
    c.owed = _wdptr(scratch_d[6])
    c.count = _wiptr(scratch_i[0])
    c.is_fired = _wiptr(scratch_i[1])
    c.orig_notes = float(sum(float(x) for x in a.bal0))
    with nogil:
        loop(&c)
    # outputs that were not contiguous were written through a copy: copy back
    for name in outs:
        arr = getattr(a, name)
        if not np.may_share_memory(arr, outs[name]):
            arr[...] = outs[name].reshape(arr.shape)
    return 0
