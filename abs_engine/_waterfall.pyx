# cython: language_level=3
"""The waterfall kernel: runs a compiled program over scenarios x periods.

Semantics are those of :mod:`abs_engine._waterfall_ref` (the specification); this file
is its translation to typed, nogil C loops. The entry point only checks dtypes and
shapes (through the typed memoryviews); the loop holds no Python objects and raises
nothing. Directives are set once in setup.py (``ABS_ENGINE_DEBUG=1`` re-enables checks).
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


cdef inline double dmin(double a, double b) noexcept nogil:
    return a if a < b else b


cdef inline double dmax(double a, double b) noexcept nogil:
    return a if a > b else b


cdef class _Kernel:
    """Holds the typed views of one call; `loop` runs without the GIL."""

    cdef const int[:] op
    cdef const int[:, :] iarg
    cdef const double[:, :] farg
    cdef const int[:] ilist
    cdef const int[:] seg
    cdef const double[:] bal0
    cdef const int[:] carry
    cdef const int[:] sfint
    cdef const double[:, :, :] rate
    cdef const double[:, :] accr
    cdef const double[:, :] sched
    cdef const double[:] fee_fixed
    cdef const double[:] fee_rate
    cdef const double[:] fee_cap
    cdef const int[:] fee_base
    cdef const int[:] fee_carry
    cdef const double[:] yf
    cdef const double[:] acct0
    cdef const double[:, :] res_par
    cdef const double[:, :, :] coll
    cdef const int[:] src_acct
    cdef const double[:, :] pool_start
    cdef const double[:, :] pool_end
    cdef const int[:, :] trg_i
    cdef const double[:] trg_thr
    cdef const double[:, :, :] ext
    # outputs
    cdef double[:, :, :] t_bal_start
    cdef double[:, :, :] t_int_due
    cdef double[:, :, :] t_int_paid
    cdef double[:, :, :] t_int_short
    cdef double[:, :, :] t_prin
    cdef double[:, :, :] t_wd
    cdef double[:, :, :] t_bal_end
    cdef double[:, :, :] t_resid
    cdef double[:, :, :] f_due
    cdef double[:, :, :] f_paid
    cdef double[:, :, :] f_unpaid
    cdef double[:, :, :] a_start
    cdef double[:, :, :] a_in
    cdef double[:, :, :] a_end
    cdef double[:, :, :] party
    cdef int[:, :] state
    cdef int[:, :, :] fired
    # scratch state of one scenario
    cdef double[:] bal
    cdef double[:] int_due
    cdef double[:] carry_int
    cdef double[:] fee_due
    cdef double[:] fee_carry_amt
    cdef double[:] acct
    cdef int[:] count
    cdef int[:] is_fired
    cdef double orig_notes

    def __init__(self, a):
        self.op = a.op
        self.iarg = a.iarg
        self.farg = a.farg
        self.ilist = a.ilist
        self.seg = a.seg
        self.bal0 = a.bal0
        self.carry = a.carry
        self.sfint = a.sfint
        self.rate = a.rate
        self.accr = a.accr
        self.sched = a.sched
        self.fee_fixed = a.fee_fixed
        self.fee_rate = a.fee_rate
        self.fee_cap = a.fee_cap
        self.fee_base = a.fee_base
        self.fee_carry = a.fee_carry
        self.yf = a.yf
        self.acct0 = a.acct0
        self.res_par = a.res_par
        self.coll = a.coll
        self.src_acct = a.src_acct
        self.pool_start = a.pool_start
        self.pool_end = a.pool_end
        self.trg_i = a.trg_i
        self.trg_thr = a.trg_thr
        self.ext = a.ext
        self.t_bal_start = a.t_bal_start
        self.t_int_due = a.t_int_due
        self.t_int_paid = a.t_int_paid
        self.t_int_short = a.t_int_short
        self.t_prin = a.t_prin
        self.t_wd = a.t_wd
        self.t_bal_end = a.t_bal_end
        self.t_resid = a.t_resid
        self.f_due = a.f_due
        self.f_paid = a.f_paid
        self.f_unpaid = a.f_unpaid
        self.a_start = a.a_start
        self.a_in = a.a_in
        self.a_end = a.a_end
        self.party = a.party
        self.state = a.state
        self.fired = a.fired
        K, F, A, J = len(a.bal0), len(a.fee_fixed), len(a.acct0), len(a.trg_thr)
        self.bal = np.zeros(max(K, 1))
        self.int_due = np.zeros(max(K, 1))
        self.carry_int = np.zeros(max(K, 1))
        self.fee_due = np.zeros(max(F, 1))
        self.fee_carry_amt = np.zeros(max(F, 1))
        self.acct = np.zeros(max(A, 1))
        self.count = np.zeros(max(J, 1), dtype=np.int32)
        self.is_fired = np.zeros(max(J, 1), dtype=np.int32)
        self.orig_notes = float(sum(float(x) for x in a.bal0))

    cdef inline double notes(self) noexcept nogil:
        """Outstanding balance of all tranches."""
        cdef double total = 0.0
        cdef Py_ssize_t k
        for k in range(self.bal0.shape[0]):
            total += self.bal[k]
        return total

    cdef inline double available(self, int src, int off, int n) noexcept nogil:
        """Cash a step can use: its account, then its support accounts."""
        cdef double total = self.acct[src]
        cdef int i
        for i in range(off, off + n):
            total += self.acct[self.ilist[i]]
        return total

    cdef inline void take(self, int src, int off, int n, double amount) noexcept nogil:
        """Withdraw from ``src`` first, then from the support accounts in order."""
        cdef double left = amount
        cdef double use = dmin(left, self.acct[src])
        cdef int i, acc
        self.acct[src] -= use
        left -= use
        for i in range(off, off + n):
            if left <= 0.0:
                break
            acc = self.ilist[i]
            use = dmin(left, self.acct[acc])
            self.acct[acc] -= use
            left -= use

    cdef inline double cap(self, int step, double avail) noexcept nogil:
        """The most a step may move: its limit amount and its fraction of what is available."""
        return dmin(dmin(avail, self.farg[step, F_LIMIT_AMOUNT]), self.farg[step, F_LIMIT_FRACTION] * avail)

    cdef inline double reserve_target(self, int acc, int s, int t, bint last) noexcept nogil:
        """Largest of amount / % pool / % notes, floored and capped; zero once the notes are
        repaid or in the last period."""
        cdef double n = self.notes()
        cdef double target
        if last or n <= 0.0:
            return 0.0
        target = dmax(dmax(self.res_par[acc, R_AMOUNT], self.res_par[acc, R_PCT_POOL] * self.pool_end[s, t]),
                      self.res_par[acc, R_PCT_NOTES] * n)
        target = dmax(target, self.res_par[acc, R_FLOOR])
        return dmin(target, self.res_par[acc, R_CAP])

    cdef inline double payable(self, int k, int t, int follow) noexcept nogil:
        """Principal tranche k may receive: down to its scheduled balance if followed."""
        cdef double floor = self.sched[t, k] if follow else 0.0
        return dmax(self.bal[k] - floor, 0.0)

    cdef void run_step(self, int step, int s, int t, int T) noexcept nogil:
        cdef int op = self.op[step]
        cdef int src = self.iarg[step, I_SRC]
        cdef int dst = self.iarg[step, I_DST]
        cdef int aoff = self.iarg[step, I_A_OFF]
        cdef int alen = self.iarg[step, I_A_LEN]
        cdef int boff = self.iarg[step, I_B_OFF]
        cdef int blen = self.iarg[step, I_B_LEN]
        cdef int coff = self.iarg[step, I_C_OFF]
        cdef int clen = self.iarg[step, I_C_LEN]
        cdef bint last = t == T - 1
        cdef double total, pay, part, group, target, left, wsum, w, need, move, excess
        cdef int i, k, follow
        cdef double[:] dues
        cdef double[:, :, :] paid_out

        if op == OP_PAY_FEE or op == OP_PAY_INTEREST:
            if op == OP_PAY_FEE:
                dues = self.fee_due
                paid_out = self.f_paid
            else:
                dues = self.int_due
                paid_out = self.t_int_paid
            total = 0.0
            for i in range(aoff, aoff + alen):
                total += dues[self.ilist[i]]
            pay = dmin(total, self.cap(step, self.available(src, boff, blen)))
            if pay <= 0.0:
                return
            self.take(src, boff, blen, pay)
            for i in range(aoff, aoff + alen):
                k = self.ilist[i]
                part = dues[k] if pay >= total else pay * dues[k] / total
                dues[k] -= part
                paid_out[s, t, k] += part
        elif op == OP_PAY_PRINCIPAL:
            follow = self.iarg[step, I_FOLLOW]
            total = 0.0
            group = 0.0
            for i in range(aoff, aoff + alen):
                k = self.ilist[i]
                total += self.payable(k, t, follow)
                group += self.bal[k]
            target = self.farg[step, F_TARGET_POOL]
            if target >= 0.0:
                total = dmin(total, dmax(group - target * self.pool_end[s, t], 0.0))
            pay = dmin(total, self.cap(step, self.available(src, boff, blen)))
            if pay <= 0.0:
                return
            self.take(src, boff, blen, pay)
            if self.iarg[step, I_MODE] == 0:
                left = pay
                for i in range(aoff, aoff + alen):
                    k = self.ilist[i]
                    part = dmin(left, self.payable(k, t, follow))
                    self.bal[k] -= part
                    self.t_prin[s, t, k] += part
                    left -= part
            else:
                wsum = 0.0
                for i in range(aoff, aoff + alen):
                    wsum += self.payable(self.ilist[i], t, follow)
                # each tranche's weight is its payable amount before this step pays it
                for i in range(aoff, aoff + alen):
                    k = self.ilist[i]
                    w = self.payable(k, t, follow)
                    part = w if pay >= wsum else pay * w / wsum
                    self.bal[k] -= part
                    self.t_prin[s, t, k] += part
        elif op == OP_FUND_RESERVE:
            need = dmax(self.reserve_target(dst, s, t, last) - self.acct[dst], 0.0)
            move = dmin(need, self.cap(step, self.acct[src]))
            self.acct[src] -= move
            self.acct[dst] += move
        elif op == OP_RELEASE_RESERVE:
            excess = dmax(self.acct[src] - self.reserve_target(src, s, t, last), 0.0)
            move = dmin(excess, self.cap(step, self.acct[src]))
            self.acct[src] -= move
            self.acct[dst] += move
        elif op == OP_DRAW_RESERVE:
            need = 0.0
            for i in range(aoff, aoff + alen):
                need += self.fee_due[self.ilist[i]]
            for i in range(boff, boff + blen):
                need += self.int_due[self.ilist[i]]
            for i in range(coff, coff + clen):
                need += self.payable(self.ilist[i], t, 1)
            need = dmax(need - self.acct[dst], 0.0)
            move = dmin(need, self.cap(step, self.acct[src]))
            self.acct[src] -= move
            self.acct[dst] += move
        elif op == OP_TRANSFER:
            move = self.cap(step, self.acct[src])
            self.acct[src] -= move
            self.acct[dst] += move
        elif op == OP_PAY_RESIDUAL:
            pay = self.cap(step, self.acct[src]) * self.farg[step, F_SHARE]
            if pay <= 0.0:
                return
            self.acct[src] -= pay
            if self.iarg[step, I_MODE] == 0:
                self.t_resid[s, t, dst] += pay
            else:
                self.party[s, t, dst] += pay

    cdef inline bint when(self, int step, int t) noexcept nogil:
        cdef int trig = self.iarg[step, I_WHEN_TRIG]
        cdef int not_trig = self.iarg[step, I_WHEN_NOT_TRIG]
        if trig >= 0 and not self.is_fired[trig]:
            return False
        if not_trig >= 0 and self.is_fired[not_trig]:
            return False
        return self.iarg[step, I_WHEN_FROM] <= t < self.iarg[step, I_WHEN_BEFORE]

    cdef double metric(self, int j, int s, int t) noexcept nogil:
        cdef int kind = self.trg_i[j, G_METRIC]
        cdef int off = self.trg_i[j, G_LIST_OFF]
        cdef int n = self.trg_i[j, G_LIST_LEN]
        cdef double total = 0.0
        cdef int i
        if kind == M_EXTERNAL:
            return self.ext[s, t, j]
        if kind == M_OC:
            for i in range(off, off + n):
                total += self.bal[self.ilist[i]]
            return self.pool_end[s, t] / total if total > 0.0 else INFINITY
        if kind == M_COVERAGE:
            for i in range(off, off + n):
                total += self.int_due[self.ilist[i]]
            return self.a_in[s, t, self.trg_i[j, G_ACCOUNT]] / total if total > 0.0 else INFINITY
        if kind == M_SHORTFALL:
            for i in range(off, off + n):
                total += self.carry_int[self.ilist[i]]
            return total
        return 0.0

    cdef void loop(self) noexcept nogil:
        cdef Py_ssize_t S = self.coll.shape[0]
        cdef Py_ssize_t T = self.coll.shape[1]
        cdef Py_ssize_t NS = self.coll.shape[2]
        cdef Py_ssize_t K = self.bal0.shape[0]
        cdef Py_ssize_t F = self.fee_fixed.shape[0]
        cdef Py_ssize_t A = self.acct0.shape[0]
        cdef Py_ssize_t J = self.trg_thr.shape[0]
        cdef Py_ssize_t s, t, k, f, acc, src, j
        cdef int step, state
        cdef double n, r, due, base, cur, value
        cdef bint breach
        for s in range(S):
            for k in range(K):
                self.bal[k] = self.bal0[k]
                self.carry_int[k] = 0.0
                self.int_due[k] = 0.0
            for f in range(F):
                self.fee_due[f] = 0.0
                self.fee_carry_amt[f] = 0.0
            for acc in range(A):
                self.acct[acc] = self.acct0[acc]
            for j in range(J):
                self.count[j] = 0
                self.is_fired[j] = 0
            for t in range(T):
                n = self.notes()
                for k in range(K):
                    self.t_bal_start[s, t, k] = self.bal[k]
                for acc in range(A):
                    self.a_start[s, t, acc] = self.acct[acc]
                for src in range(NS):
                    acc = self.src_acct[src]
                    self.acct[acc] += self.coll[s, t, src]
                    self.a_in[s, t, acc] += self.coll[s, t, src]
                for k in range(K):
                    r = self.rate[s, t, k] * self.accr[t, k]
                    due = self.bal[k] * r + self.carry_int[k]
                    if self.sfint[k]:
                        due += self.carry_int[k] * r
                    self.int_due[k] = due
                    self.t_int_due[s, t, k] = due
                for f in range(F):
                    base = self.pool_start[s, t]
                    if self.fee_base[f] == BASE_NOTES:
                        base = n
                    elif self.fee_base[f] == BASE_ORIGINAL_NOTES:
                        base = self.orig_notes
                    # fees accrue only while notes are outstanding (the trust winds up after)
                    cur = dmin(self.fee_fixed[f] + self.fee_rate[f] * base * self.yf[t], self.fee_cap[f]) if n > 0.0 else 0.0
                    self.fee_due[f] = cur + self.fee_carry_amt[f]
                    self.f_due[s, t, f] = self.fee_due[f]
                state = 0
                for j in range(J):
                    value = self.metric(j, s, t)
                    if self.trg_i[j, G_ABOVE]:
                        breach = value > self.trg_thr[j]
                    else:
                        breach = value < self.trg_thr[j]
                    self.count[j] = self.count[j] + 1 if breach else 0
                    if self.count[j] >= self.trg_i[j, G_CONSECUTIVE]:
                        self.is_fired[j] = 1
                    elif self.trg_i[j, G_CURABLE]:
                        self.is_fired[j] = 0
                    self.fired[s, t, j] = self.is_fired[j]
                    if self.is_fired[j] and self.trg_i[j, G_EFFECT] > state:
                        state = self.trg_i[j, G_EFFECT]
                self.state[s, t] = state
                for step in range(self.seg[state], self.seg[state + 1]):
                    if self.when(step, t):
                        self.run_step(step, s, t, T)
                for k in range(K):
                    self.t_int_short[s, t, k] = self.int_due[k]
                    self.carry_int[k] = self.int_due[k] if self.carry[k] else 0.0
                    self.int_due[k] = 0.0
                for f in range(F):
                    self.f_unpaid[s, t, f] = self.fee_due[f]
                    self.fee_carry_amt[f] = self.fee_due[f] if self.fee_carry[f] else 0.0
                    self.fee_due[f] = 0.0
                if t == T - 1:
                    for k in range(K):
                        self.t_wd[s, t, k] = self.bal[k]
                        self.bal[k] = 0.0
                for k in range(K):
                    self.t_bal_end[s, t, k] = self.bal[k]
                for acc in range(A):
                    self.a_end[s, t, acc] = self.acct[acc]


def run(a):
    """Run the compiled program in ``a`` (a :class:`abs_engine._program.KernelArgs`) over
    every scenario and period, filling its output arrays. Returns 0 on success."""
    cdef _Kernel kern = _Kernel(a)
    with nogil:
        kern.loop()
    return 0
