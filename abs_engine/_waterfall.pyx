# cython: language_level=3
"""The waterfall kernel: runs a compiled program over scenarios x periods.

Semantics are those of :mod:`abs_engine.waterfall.reference` (the specification); this file
is its translation to typed, nogil C loops. The entry point checks dtypes (through typed
memoryviews), shapes, contiguity and every index the program holds, decodes the program
into an array of :c:type:`Step` structs and hands raw pointers to ``loop``, which holds no
Python objects and raises nothing. Directives are set once in setup.py
(``ABS_ENGINE_DEBUG=1`` re-enables Cython's checks where memoryviews are still indexed).

Performance notes (benchmarks/run.py, docs/performance.md): the hot loop reads raw
pointers held in a local struct rather than memoryviews through ``self``; per-period row
pointers are computed once; the program and the triggers are decoded once per call into
:c:type:`Step` and :c:type:`Trig` structs; a step without a limit skips the ``cap``
arithmetic (``min(min(x, inf), 1.0 * x) == x`` exactly); the commonest step shape (one
recipient, no support, no limit) runs a specialisation of the same helper source with
constant list lengths (the fused type ``Shape``); work whose result the reference throws
away is not done (what is due is recomputed each period, so it is not re-zeroed). The
arithmetic is the reference's, operation for operation: no fast-math, no reassociation.
benchmarks/check_equivalence.py checks every output bit for bit against the committed
kernel and twin.
"""

import numpy as np

from libc.math cimport INFINITY

cdef extern from *:
    """
    #ifndef ABS_ENGINE_PYX_SHA256
    #define ABS_ENGINE_PYX_SHA256 ""
    #endif
    """
    const char* ABS_ENGINE_PYX_SHA256

#: SHA-256 (hex) of the _waterfall.pyx this module was compiled from, passed to the C
#: compiler by setup.py ("" when built some other way); abs_engine.engine refuses a build
#: whose hash is not that of the .pyx beside it.
SOURCE_SHA256 = (<bytes> ABS_ENGINE_PYX_SHA256).decode("ascii")

# opcodes and operand columns: keep in step with abs_engine/waterfall/program.py
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
    OP_REPAY_LIQUIDITY = 10
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
    BASE_POOL = 0
    BASE_NOTES = 1
    BASE_ORIGINAL_NOTES = 2
    BASE_COLL_INTEREST = 3
    BASE_COLL_PRINCIPAL = 4
    BASE_COLL_ALL = 5
    BASE_TAXABLE = 6
    N_BASES = 7
    C_INTEREST = 0
    C_PRINCIPAL = 1
    C_TAXABLE = 2
    N_INC = 3
    L_IS = 0
    L_RATE = 1
    L_FEE = 2
    N_LIQ = 3
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


# kernel-internal (not in waterfall/program.py): how the loop dispatches a decoded step
# (Step.kind): the opcode, with pay_fee and pay_interest merged, and the shape a helper is
# specialised for
cdef enum:
    K_NONE = 0
    K_DUES = 1
    K_DUES_ONE = 2
    K_PRINCIPAL = 3
    K_PRINCIPAL_ONE = 4
    K_FUND = 5
    K_RELEASE = 6
    K_DRAW = 7
    K_TRANSFER = 8
    K_RESIDUAL = 9
    K_REIMBURSE = 10
    K_REPAY_LIQUIDITY = 11


cdef struct Step:
    # One program step decoded once per call (rows of op/iarg/farg, lists resolved to
    # pointers into ilist); the loop reads only these.
    int op
    int kind  # K_*: set from op and the step's shape by _decode
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
    bint ext_src  # the step's account is a support provider's (acct_ext)
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


cdef struct Trig:
    # One trigger decoded once per call (a row of trg_i and trg_thr, its tranche list
    # resolved to a pointer into ilist; no list unless the metric reads one).
    int kind
    int n
    int account
    bint above
    int consecutive
    bint curable
    int effect
    const int* lst
    double thr


# Shapes a step helper is specialised for (Cython fused types, resolved at compile time):
# ``One``: list A holds one entry, list B none and the step has no limit (a single
# recipient, no support, cap(x) == x) and, for pay_principal, neither a schedule to follow
# nor a pool target, so the helpers' list loops run with constant bounds and those tests
# drop out; ``Any``: the step's own lists, limit, schedule and target. Both
# specialisations are compiled from the same helper source; _kind picks one per step.
cdef struct One:
    char unused
cdef struct Any:
    char unused
ctypedef fused Shape:
    One
    Any


cdef struct Ctx:
    # The state of one kernel call: raw pointers into C-contiguous arrays (the entry
    # point checked dtype, shape and contiguity), sizes, and the running state of the
    # current scenario. Row pointers ``*_st`` point at period t of scenario s.
    Py_ssize_t S, T, NS, K, F, A, J, NP
    Py_ssize_t t0  # first period run (the opening state is that of its start)
    const Step* steps
    const Trig* trigs
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
    const double* ext
    const double* inc  # the period's income for the collection and tax fee bases
    const double* liq_par
    int n_liq  # liquidity facilities: their number and account indices
    const int* liq_idx
    # the opening state at t0 (bal_open, carry_open, ...; acct0 above)
    const double* bal_open
    const double* carry_open
    const double* fee_carry_open
    const double* owed_open
    const double* liq_open
    const int* count_open
    const int* fired_open
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
    double* l_int
    double* l_fee
    double* l_paid
    int* state
    int* fired
    int* trg_count
    # scratch: the running state of one scenario
    double* bal
    double* int_due
    double* carry_int
    double* fee_due
    double* fee_carry_amt
    double* acct
    double* owed
    double* liq  # a liquidity facility's interest and fees unpaid
    int* count
    int* is_fired
    double orig_notes
    # the current period
    const double* sched_t
    const double* no_floor  # K zeros
    Py_ssize_t t_cur  # the period (the rarely used rows are found from it)
    Py_ssize_t st_cur  # s * T + t
    const int* fail_cur  # the current scenario's failure period of each account
    double pool_end_st
    double* int_paid_st
    double* f_paid_st
    double* prin_st
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


cdef inline double available(const Ctx* c, const Step* p, int nb) noexcept nogil:
    """Cash a step can use: its account, then its ``nb`` (= p.nb) support accounts."""
    cdef double total = c.acct[p.src]
    cdef int i
    for i in range(nb):
        total += c.acct[p.lb[i]]
    return total


cdef inline void draw(Ctx* c, int acc, bint ext, double amount) noexcept nogil:
    """Withdraw ``amount`` from account ``acc``; a support provider's (``ext`` is
    acct_ext[acc]) draws are recorded: they are cash coming into the trust from outside."""
    c.acct[acc] -= amount
    if ext:
        c.a_drawn[c.st_cur * c.A + acc] += amount
        c.owed[acc] += amount


cdef inline void take(Ctx* c, const Step* p, double amount, int nb) noexcept nogil:
    """Withdraw ``amount`` from the step's account first, then from its ``nb`` (= p.nb)
    support accounts in order."""
    cdef double left = amount
    cdef double use = dmin(left, c.acct[p.src])
    cdef int i, acc
    draw(c, p.src, p.ext_src, use)
    left -= use
    for i in range(nb):
        if left <= 0.0:
            break
        acc = p.lb[i]
        use = dmin(left, c.acct[acc])
        draw(c, acc, c.acct_ext[acc], use)
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


cdef inline double payable(const Ctx* c, int k, const double* floor) noexcept nogil:
    """Principal tranche k may receive: down to ``floor[k]``, its scheduled balance if the
    step follows the schedule, else 0 (``c.no_floor``; ``bal - 0.0`` as the reference)."""
    return dmax(c.bal[k] - floor[k], 0.0)


cdef inline void pay_principal(Ctx* c, const Step* p, const Shape* shape) noexcept nogil:
    """pay_principal: down to the schedule if followed and to the pool target if any;
    sequential in list order, or pro rata by what each tranche may receive."""
    cdef int na = 1 if Shape is One else p.na
    cdef int nb = 0 if Shape is One else p.nb
    cdef double total = 0.0
    cdef double group = 0.0
    cdef double pay, left, part, wsum, w
    cdef int i, k
    cdef const double* floor = c.no_floor if Shape is One else (c.sched_t if p.follow else c.no_floor)
    for i in range(na):
        k = p.la[i]
        total += payable(c, k, floor)
        group += c.bal[k]
    if Shape is Any and p.target >= 0.0:
        total = dmin(total, dmax(group - p.target * c.pool_end_st, 0.0))
    pay = dmin(total, available(c, p, nb) if Shape is One else cap(p, available(c, p, nb)))
    if pay <= 0.0:
        return
    take(c, p, pay, nb)
    if p.mode == 0:
        left = pay
        for i in range(na):
            k = p.la[i]
            part = dmin(left, payable(c, k, floor))
            c.bal[k] -= part
            c.prin_st[k] += part
            left -= part
    else:
        wsum = 0.0
        for i in range(na):
            wsum += payable(c, p.la[i], floor)
        # each tranche's weight is its payable amount before this step pays it
        for i in range(na):
            k = p.la[i]
            w = payable(c, k, floor)
            part = w if pay >= wsum else pay * w / wsum
            c.bal[k] -= part
            c.prin_st[k] += part


cdef inline void move_cash(Ctx* c, const Step* p, double move) noexcept nogil:
    """Move ``move`` from the step's account to its destination account."""
    draw(c, p.src, p.ext_src, move)
    c.acct[p.dst] += move


cdef inline void pay_dues(Ctx* c, const Step* p, double* dues, double* paid_out, const Shape* shape) noexcept nogil:
    """pay_fee / pay_interest: pay what is due to list A, pro rata among it when short."""
    cdef int na = 1 if Shape is One else p.na
    cdef int nb = 0 if Shape is One else p.nb
    cdef double total = 0.0
    cdef double pay, part
    cdef int i, k
    for i in range(na):
        total += dues[p.la[i]]
    pay = dmin(total, available(c, p, nb) if Shape is One else cap(p, available(c, p, nb)))
    if pay <= 0.0:
        return
    take(c, p, pay, nb)
    for i in range(na):
        k = p.la[i]
        part = dues[k] if pay >= total else pay * dues[k] / total
        dues[k] -= part
        paid_out[k] += part


cdef inline double cover_need(const Ctx* c, const Step* p) noexcept nogil:
    """draw_reserve: fees of list A, interest of list B and principal due of list C (the
    balance above the tranche's due balance this period), less what the destination holds."""
    cdef double need = 0.0
    cdef int i, k
    for i in range(p.na):
        need += c.fee_due[p.la[i]]
    for i in range(p.nb):
        need += c.int_due[p.lb[i]]
    for i in range(p.nc):
        k = p.lc[i]
        need += dmax(c.bal[k] - c.due[c.t_cur * c.K + k], 0.0)
    return dmax(need - c.acct[p.dst], 0.0)


cdef inline void pay_residual(Ctx* c, const Step* p) noexcept nogil:
    """pay_residual: its share of what the account holds, to a tranche or a party."""
    cdef double pay = cap(p, c.acct[p.src]) * p.share
    if pay <= 0.0:
        return
    draw(c, p.src, p.ext_src, pay)
    if p.mode == 0:
        c.t_resid[c.st_cur * c.K + p.dst] += pay
    else:
        c.party[c.st_cur * c.NP + p.dst] += pay


cdef inline void reimburse(Ctx* c, const Step* p) noexcept nogil:
    """reimburse_support: repay the provider (account p.dst) what it is owed, out of the
    step's account; a revolving undertaking (mode 1) gets its capacity back unless it has
    failed (a failed provider is still repaid, but pays nothing more)."""
    cdef double pay = dmin(c.owed[p.dst], cap(p, c.acct[p.src]))
    if pay <= 0.0:
        return
    c.acct[p.src] -= pay
    c.owed[p.dst] -= pay
    c.a_repaid[c.st_cur * c.A + p.dst] += pay
    if p.mode == 1 and c.t_cur < c.fail_cur[p.dst]:
        c.acct[p.dst] += pay


cdef inline void repay_liquidity(Ctx* c, const Step* p) noexcept nogil:
    """repay_liquidity: out of the step's account, the facility's (p.dst) interest and fees
    owed first (mode 0 and 1), then the principal drawn (mode 0 and 2); repaid principal
    may be drawn again unless the facility has failed."""
    cdef double avail = cap(p, c.acct[p.src])
    cdef double paid = 0.0
    cdef double pay
    if p.mode != 2:
        paid = dmin(c.liq[p.dst], avail)
        if paid > 0.0:
            c.acct[p.src] -= paid
            c.liq[p.dst] -= paid
            c.l_paid[c.st_cur * c.A + p.dst] += paid
    if p.mode != 1:
        pay = dmin(c.owed[p.dst], avail - paid)
        if pay > 0.0:
            c.acct[p.src] -= pay
            c.owed[p.dst] -= pay
            c.a_repaid[c.st_cur * c.A + p.dst] += pay
            if c.t_cur < c.fail_cur[p.dst]:
                c.acct[p.dst] += pay


cdef inline double* dues_of(Ctx* c, const Step* p) noexcept nogil:
    """What is due to the recipients of a pay_fee (fees) or pay_interest (tranches) step."""
    return c.fee_due if p.op == OP_PAY_FEE else c.int_due


cdef inline double* paid_of(Ctx* c, const Step* p) noexcept nogil:
    """Where a pay_fee or pay_interest step records its payments this period."""
    return c.f_paid_st if p.op == OP_PAY_FEE else c.int_paid_st


cdef inline void run_step(Ctx* c, const Step* p, bint last) noexcept nogil:
    """One waterfall step (its ``when`` holds); see abs_engine.waterfall.reference._run_step."""
    cdef double need
    cdef int kind = p.kind
    if kind == K_DUES_ONE:
        pay_dues(c, p, dues_of(c, p), paid_of(c, p), <One*> NULL)
    elif kind == K_DUES:
        pay_dues(c, p, dues_of(c, p), paid_of(c, p), <Any*> NULL)
    elif kind == K_PRINCIPAL_ONE:
        pay_principal(c, p, <One*> NULL)
    elif kind == K_PRINCIPAL:
        pay_principal(c, p, <Any*> NULL)
    elif kind == K_FUND:
        need = dmax(reserve_target(c, p.dst, last) - c.acct[p.dst], 0.0)
        move_cash(c, p, dmin(need, cap(p, c.acct[p.src])))
    elif kind == K_RELEASE:
        need = dmax(c.acct[p.src] - reserve_target(c, p.src, last), 0.0)
        move_cash(c, p, dmin(need, cap(p, c.acct[p.src])))
    elif kind == K_DRAW:
        move_cash(c, p, dmin(cover_need(c, p), cap(p, c.acct[p.src])))
    elif kind == K_TRANSFER:
        move_cash(c, p, cap(p, c.acct[p.src]))
    elif kind == K_REIMBURSE:
        reimburse(c, p)
    elif kind == K_RESIDUAL:
        pay_residual(c, p)
    elif kind == K_REPAY_LIQUIDITY:
        repay_liquidity(c, p)


cdef inline bint when(const Ctx* c, const Step* p, Py_ssize_t t) noexcept nogil:
    """A step runs if its trigger has fired, its not-trigger has not, and t is in range."""
    if p.trig >= 0 and not c.is_fired[p.trig]:
        return False
    if p.not_trig >= 0 and c.is_fired[p.not_trig]:
        return False
    return p.t_from <= t < p.t_before


cdef inline double metric(const Ctx* c, const Trig* g, Py_ssize_t j) noexcept nogil:
    """The value trigger j (``g``) tests in the current period."""
    cdef double total = 0.0
    cdef int i, k
    if g.kind == M_EXTERNAL:
        return c.ext[c.st_cur * c.J + j]
    if g.kind == M_OC:
        for i in range(g.n):
            total += c.bal[g.lst[i]]
        return c.pool_end_st / total if total > 0.0 else INFINITY
    if g.kind == M_COVERAGE:
        for i in range(g.n):
            total += c.int_due[g.lst[i]]
        return c.a_in_st[g.account] / total if total > 0.0 else INFINITY
    if g.kind == M_DSCR:
        for i in range(g.n):
            k = g.lst[i]
            total += c.int_due[k] + dmax(c.bal[k] - c.due[c.t_cur * c.K + k], 0.0)
        return c.a_in_st[g.account] / total if total > 0.0 else INFINITY
    if g.kind == M_SHORTFALL:
        for i in range(g.n):
            total += c.carry_int[g.lst[i]]
        return total
    return 0.0


cdef inline int test_triggers(Ctx* c, int* fired_out, int* count_out) noexcept nogil:
    """Update every trigger's breach count and fired flag (recorded in ``count_out`` and
    ``fired_out``); return the deal state, the most severe effect of the fired triggers
    (0 normal)."""
    cdef int state = 0
    cdef Py_ssize_t j
    cdef const Trig* g
    cdef bint breach
    cdef double value
    for j in range(c.J):
        g = c.trigs + j
        value = metric(c, g, j)
        breach = value > g.thr if g.above else value < g.thr
        c.count[j] = c.count[j] + 1 if breach else 0
        if c.count[j] >= g.consecutive:
            c.is_fired[j] = 1
        elif g.curable:
            c.is_fired[j] = 0
        fired_out[j] = c.is_fired[j]
        count_out[j] = c.count[j]
        if c.is_fired[j] and g.effect > state:
            state = g.effect
    return state


cdef void accrue_liquidity(Ctx* c, Py_ssize_t oa, double yf, bint outstanding) noexcept nogil:
    """Each liquidity facility's interest on what is drawn and commitment fee on what it can
    still lend (the fee only while notes are outstanding), recorded and added to what it is
    owed besides principal."""
    cdef Py_ssize_t i
    cdef int acc
    cdef double interest, fee
    cdef const double* lp
    for i in range(c.n_liq):
        acc = c.liq_idx[i]
        lp = c.liq_par + acc * N_LIQ
        interest = c.owed[acc] * lp[L_RATE] * yf
        fee = c.acct[acc] * lp[L_FEE] * yf if outstanding else 0.0
        c.l_int[oa + acc] = interest
        c.l_fee[oa + acc] = fee
        c.liq[acc] += interest + fee


cdef void loop(Ctx* c) noexcept nogil:
    """Every scenario, every period: the steps of abs_engine.waterfall.reference.run in the same order."""
    cdef Py_ssize_t S = c.S, T = c.T, NS = c.NS, K = c.K, F = c.F, A = c.A, J = c.J
    cdef Py_ssize_t s, t, k, f, acc, src, j, st, ok, of, oa
    cdef int state, fail_first
    cdef double n, r, due, x
    cdef double base[N_BASES]
    cdef const double* inc_st
    cdef int b
    cdef bint last
    cdef double* bal = c.bal
    cdef double* int_due = c.int_due
    cdef double* carry_int = c.carry_int
    cdef double* fee_due = c.fee_due
    cdef double* fee_carry_amt = c.fee_carry_amt
    cdef double* acct = c.acct
    cdef const double* rate_st
    cdef const double* accr_t
    cdef const double* coll_st
    cdef const int* fail_s
    cdef double* out
    cdef double* out2
    cdef double yf
    cdef const Step* p
    cdef const Step* p_end
    base[BASE_ORIGINAL_NOTES] = c.orig_notes
    for s in range(S):
        # the opening state of period t0 (at closing: the original balances and zeros)
        for k in range(K):
            bal[k] = c.bal_open[k]
            carry_int[k] = c.carry_open[k]
        for f in range(F):
            fee_carry_amt[f] = c.fee_carry_open[f]
        fail_s = c.acct_fail + s * A
        c.fail_cur = fail_s
        fail_first = <int>T
        for acc in range(A):
            acct[acc] = c.acct0[acc]
            c.owed[acc] = c.owed_open[acc]
            c.liq[acc] = c.liq_open[acc]
            if fail_s[acc] < fail_first:
                fail_first = fail_s[acc]
        for j in range(J):
            c.count[j] = c.count_open[j]
            c.is_fired[j] = c.fired_open[j]
        for t in range(c.t0, T):
            st = s * T + t
            ok = st * K
            of = st * F
            oa = st * A
            last = t == T - 1
            rate_st = c.rate + ok
            accr_t = c.accr + t * K
            coll_st = c.coll + st * NS
            c.sched_t = c.sched + t * K
            c.t_cur = t
            c.st_cur = st
            c.pool_end_st = c.pool_end[st]
            c.int_paid_st = c.t_int_paid + ok
            c.prin_st = c.t_prin + ok
            c.f_paid_st = c.f_paid + of
            c.a_in_st = c.a_in + oa

            # opening balances, what is due (notes summed in tranche order)
            n = 0.0
            out = c.t_bal_start + ok
            out2 = c.t_int_due + ok
            for k in range(K):
                x = bal[k]
                n += x
                out[k] = x
                r = rate_st[k] * accr_t[k]
                due = x * r + carry_int[k]
                if c.sfint[k]:
                    due += carry_int[k] * r
                int_due[k] = due
                out2[k] = due
            # a failed provider pays nothing from its failure period on; deposits
            if t >= fail_first:
                for acc in range(A):
                    if t >= fail_s[acc]:
                        acct[acc] = 0.0
            out = c.a_start + oa
            for acc in range(A):
                out[acc] = acct[acc]
            for src in range(NS):
                acc = c.src_acct[src]
                x = coll_st[src]
                acct[acc] += x
                c.a_in_st[acc] += x
            # fees accrue only while notes are outstanding (the trust winds up after)
            out = c.f_due + of
            base[BASE_POOL] = c.pool_start[st]
            base[BASE_NOTES] = n
            inc_st = c.inc + st * N_INC
            base[BASE_COLL_INTEREST] = inc_st[C_INTEREST]
            base[BASE_COLL_PRINCIPAL] = inc_st[C_PRINCIPAL]
            base[BASE_COLL_ALL] = inc_st[C_INTEREST] + inc_st[C_PRINCIPAL]
            base[BASE_TAXABLE] = inc_st[C_TAXABLE]
            yf = c.yf[t]
            if n > 0.0:
                for f in range(F):
                    b = c.fee_base[f]
                    if b < BASE_COLL_INTEREST:  # a balance: rate p.a. over the period
                        x = dmin(c.fee_fixed[f] + c.fee_rate[f] * base[b] * yf, c.fee_cap[f]) + fee_carry_amt[f]
                    else:  # the period's income: a share of it
                        x = dmin(c.fee_fixed[f] + c.fee_rate[f] * base[b], c.fee_cap[f]) + fee_carry_amt[f]
                    fee_due[f] = x
                    out[f] = x
            else:
                for f in range(F):
                    x = 0.0 + fee_carry_amt[f]
                    fee_due[f] = x
                    out[f] = x
            if c.n_liq:
                accrue_liquidity(c, oa, yf, n > 0.0)
            state = test_triggers(c, c.fired + st * J, c.trg_count + st * J)
            c.state[st] = state
            p = c.steps + c.seg[state]
            p_end = c.steps + c.seg[state + 1]
            while p < p_end:
                if p.every or when(c, p, t):
                    run_step(c, p, last)
                p += 1
            # carry forward what is unpaid (what is due is recomputed next period);
            # write off what is left in the last period; closing balances
            out = c.t_int_short + ok
            out2 = c.t_bal_end + ok
            for k in range(K):
                x = int_due[k]
                out[k] = x
                if c.carry[k]:  # (a tranche that does not carry keeps carry_int 0.0)
                    carry_int[k] = x
                if last:
                    c.t_wd[ok + k] = bal[k]
                    bal[k] = 0.0
                out2[k] = bal[k]
            out = c.f_unpaid + of
            for f in range(F):
                x = fee_due[f]
                out[f] = x
                if c.fee_carry[f]:  # (a fee that does not carry keeps fee_carry_amt 0.0)
                    fee_carry_amt[f] = x
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
    ("inc", "d", ("S", "T", N_INC)),
    ("liq_par", "d", ("A", N_LIQ)),
    ("bal_open", "d", ("K",)),
    ("carry_open", "d", ("K",)),
    ("fee_carry_open", "d", ("F",)),
    ("owed_open", "d", ("A",)),
    ("liq_open", "d", ("A",)),
    ("count_open", "i", ("J",)),
    ("fired_open", "i", ("J",)),
)

cdef tuple _OUT_SHAPES = (
    ("t_bal_start", "K"), ("t_int_due", "K"), ("t_int_paid", "K"), ("t_int_short", "K"), ("t_prin", "K"),
    ("t_wd", "K"), ("t_bal_end", "K"), ("t_resid", "K"), ("f_due", "F"), ("f_paid", "F"), ("f_unpaid", "F"),
    ("a_start", "A"), ("a_in", "A"), ("a_end", "A"), ("party", "P"), ("a_drawn", "A"), ("a_repaid", "A"),
    ("l_int", "A"), ("l_fee", "A"), ("l_paid", "A"),
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


cdef int _kind(const Step* p) noexcept:
    """How the loop dispatches step ``p`` (its fields other than ``kind`` are set): by
    opcode, and for payments by shape. The One shape: one recipient, no support, no limit,
    and for pay_principal no schedule to follow and no pool target."""
    cdef int op = p.op
    cdef bint one = p.na == 1 and p.nb == 0 and p.plain
    if op == OP_PAY_FEE or op == OP_PAY_INTEREST:
        return K_DUES_ONE if one else K_DUES
    if op == OP_PAY_PRINCIPAL:
        return K_PRINCIPAL_ONE if one and p.follow == 0 and not p.target >= 0.0 else K_PRINCIPAL
    if op == OP_FUND_RESERVE:
        return K_FUND
    if op == OP_RELEASE_RESERVE:
        return K_RELEASE
    if op == OP_DRAW_RESERVE:
        return K_DRAW
    if op == OP_TRANSFER:
        return K_TRANSFER
    if op == OP_PAY_RESIDUAL:
        return K_RESIDUAL
    if op == OP_REIMBURSE:
        return K_REIMBURSE
    if op == OP_REPAY_LIQUIDITY:
        return K_REPAY_LIQUIDITY
    return K_NONE  # an unknown opcode does nothing, as in the reference


def _decode(flat, sizes):
    """The program's steps as an array of Step structs (in a uint8 buffer); the indices
    were checked by _check_indices."""
    cdef Step* p
    cdef const int* ilist = _iptr(flat["ilist"])
    cdef Py_ssize_t i, n = sizes["n_steps"]
    cdef const int[::1] op = flat["op"]
    cdef const int[:, ::1] ia = flat["iarg"].reshape(-1, N_IARG)
    cdef const double[:, ::1] fa = flat["farg"].reshape(-1, N_FARG)
    cdef const int[::1] acct_ext = flat["acct_ext"]
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
        p[i].ext_src = acct_ext[p[i].src] != 0 if 0 <= p[i].src < acct_ext.shape[0] else False
        p[i].kind = _kind(&p[i])
    return buf


def _decode_triggers(flat, sizes):
    """The triggers as an array of Trig structs (in a uint8 buffer); the indices were
    checked by _check_indices."""
    cdef Trig* g
    cdef const int* ilist = _iptr(flat["ilist"])
    cdef Py_ssize_t j, n = sizes["J"]
    cdef bint listed
    cdef const int[:, ::1] ti = flat["trg_i"].reshape(-1, N_TRG)
    cdef const double[::1] thr = flat["trg_thr"]
    buf = np.zeros(max(n, 1) * sizeof(Trig), dtype=np.uint8)
    cdef unsigned char[::1] raw = buf
    g = <Trig*> &raw[0]
    for j in range(n):
        g[j].kind = ti[j, G_METRIC]
        listed = g[j].kind == M_OC or g[j].kind == M_COVERAGE or g[j].kind == M_DSCR or g[j].kind == M_SHORTFALL
        g[j].n = max(ti[j, G_LIST_LEN], 0) if listed else 0
        g[j].lst = ilist + ti[j, G_LIST_OFF] if g[j].n > 0 else NULL
        g[j].account = ti[j, G_ACCOUNT]
        g[j].above = ti[j, G_ABOVE] != 0
        g[j].consecutive = ti[j, G_CONSECUTIVE]
        g[j].curable = ti[j, G_CURABLE] != 0
        g[j].effect = ti[j, G_EFFECT]
        g[j].thr = thr[j]
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


cdef object _repeated(const int[::1] ilist, Py_ssize_t off, Py_ssize_t ln):
    """Why a recipient list names an index twice (None if it does not): a step paying its
    list pro rata counts each entry's due once in the total, so a repeated entry would take
    cash twice and pay it once (the deal loader refuses it; this catches hand-built
    programs)."""
    seen = set()
    cdef Py_ssize_t i
    for i in range(off, off + ln):
        if ilist[i] in seen:
            return f"index {ilist[i]} listed twice"
        seen.add(ilist[i])
    return None


def _check_indices(flat, sizes):
    """Every index the program holds must be in range, so the raw-pointer loop never
    reads or writes outside an array. (waterfall/compile.py only builds valid programs; this turns
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
            if o != OP_PAY_PRINCIPAL or ia[i, I_MODE] == 1:  # (pro rata; sequential: harmless)
                bad(f"step {i} to", _repeated(ilist, ia[i, I_A_OFF], ia[i, I_A_LEN]))
            bad(f"step {i} support", _bad_list(ilist, ia[i, I_B_OFF], ia[i, I_B_LEN], A))
        elif o == OP_FUND_RESERVE or o == OP_RELEASE_RESERVE or o == OP_DRAW_RESERVE or o == OP_TRANSFER:
            index(f"step {i} from", ia[i, I_SRC], A)
            index(f"step {i} to", ia[i, I_DST], A)
            if o == OP_DRAW_RESERVE:
                bad(f"step {i} cover fees", _bad_list(ilist, ia[i, I_A_OFF], ia[i, I_A_LEN], F))
                bad(f"step {i} cover interest", _bad_list(ilist, ia[i, I_B_OFF], ia[i, I_B_LEN], K))
                bad(f"step {i} cover principal", _bad_list(ilist, ia[i, I_C_OFF], ia[i, I_C_LEN], K))
        elif o == OP_REIMBURSE or o == OP_REPAY_LIQUIDITY:
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
    """Run the compiled program in ``a`` (a :class:`abs_engine.waterfall.program.KernelArgs`) over
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
    trigs = _decode_triggers(flat, sizes)
    c.trigs = <const Trig*> _bptr(trigs)
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
    # the base each fee accrues on, as an index into (pool, notes, original notes, the
    # period's income ...): any other code accrues on the pool, as in the reference
    fee_base = flat["fee_base"]
    fee_base = np.where((fee_base >= 0) & (fee_base < N_BASES), fee_base, 0).astype(np.int32)
    c.fee_base = _iptr(fee_base)
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
    c.ext = _dptr(flat["ext"])
    c.inc = _dptr(flat["inc"])
    c.liq_par = _dptr(flat["liq_par"])
    liq_idx = np.flatnonzero(flat["liq_par"].reshape(-1, N_LIQ)[:, L_IS] != 0.0).astype(np.int32)
    c.n_liq = len(liq_idx)
    c.liq_idx = _iptr(liq_idx)
    c.t0 = int(a.t0)
    if not 0 <= c.t0 <= T:
        raise ValueError(f"kernel argument t0: {c.t0} outside 0..{T}")
    c.bal_open = _dptr(flat["bal_open"])
    c.carry_open = _dptr(flat["carry_open"])
    c.fee_carry_open = _dptr(flat["fee_carry_open"])
    c.owed_open = _dptr(flat["owed_open"])
    c.liq_open = _dptr(flat["liq_open"])
    c.count_open = _iptr(flat["count_open"])
    c.fired_open = _iptr(flat["fired_open"])
    # outputs: written in place when C-contiguous (as allocate_outputs makes them)
    outs = {}
    for name, dim in _OUT_SHAPES:
        outs[name] = _flat(getattr(a, name), name, (S, T, sizes[dim]))
    outs["state"] = _flat(a.state, "state", (S, T))
    outs["fired"] = _flat(a.fired, "fired", (S, T, sizes["J"]))
    outs["trg_count"] = _flat(a.trg_count, "trg_count", (S, T, sizes["J"]))
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
    c.l_int = _wdptr(outs["l_int"])
    c.l_fee = _wdptr(outs["l_fee"])
    c.l_paid = _wdptr(outs["l_paid"])
    c.state = _wiptr(outs["state"])
    c.fired = _wiptr(outs["fired"])
    c.trg_count = _wiptr(outs["trg_count"])
    # scratch
    scratch_d = np.zeros((9, max(c.K, c.F, c.A, 1)))
    scratch_i = np.zeros((2, max(c.J, 1)), dtype=np.int32)
    c.bal = _wdptr(scratch_d[0])
    c.int_due = _wdptr(scratch_d[1])
    c.carry_int = _wdptr(scratch_d[2])
    c.fee_due = _wdptr(scratch_d[3])
    c.fee_carry_amt = _wdptr(scratch_d[4])
    c.acct = _wdptr(scratch_d[5])
    c.no_floor = _wdptr(scratch_d[6])
    c.owed = _wdptr(scratch_d[7])
    c.liq = _wdptr(scratch_d[8])
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
