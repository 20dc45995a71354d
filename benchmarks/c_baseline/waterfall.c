/*
 * Hand-written C baseline of the benchmark waterfall (benchmarks/synthetic.py).
 *
 * The same semantics as abs_engine/_waterfall_ref.py on the same flat arrays, but
 * specialised to the one fixed program of the benchmark deal: the steps, their order,
 * their lists, modes and `when` conditions, the fee bases, carry flags and trigger
 * definitions are written into the code (that is the point of a hand-written baseline:
 * no interpretation of op/iarg/ilist). Numeric data (balances, coupons, accruals, fee
 * rates, reserve parameters, thresholds, collections, pool balances, external metrics)
 * is read from the arrays, and so is the scenario data of support providers (the period
 * from which each account pays nothing, acct_fail). Which accounts belong to a support
 * provider is part of the program (EXT below: none in this deal; benchmarks/run.py checks
 * acct_ext matches): a draw on one would be recorded in a_drawn as the kernel does.
 * Outputs must be zero on entry (as KernelArgs.allocate_outputs leaves them); they are
 * written with the same += as the kernel.
 *
 * Built by benchmarks/run.py: cc -O2 -ffp-contract=off -fPIC -shared (no fast-math, the
 * same floating-point contract as the kernel). benchmarks/run.py checks its outputs equal
 * the kernel's before it reports any timing.
 *
 * Layout: tranches 0 A1, 1 A2, 2 B, 3 C, 4 SUB; fees 0 vat (pool), 1 manager (notes),
 * 2 trustee (original notes), 3 audit (pool, fixed); accounts 0 interest, 1 principal,
 * 2 reserve; triggers 0 cumulative defaults (external), 1 OC of A1..C, 2 interest coverage
 * of A1/A2, 3 interest shortfall of A1/A2; parties: residual "rest" goes to party 2.
 */
#include <math.h>

enum { K = 5, F = 4, A = 3, J = 4, NS = 2, NP = 6, NRES = 6 };
enum { INT = 0, PRIN = 1, RES = 2 };
enum { A1 = 0, A2 = 1, B = 2, C = 3, SUB = 4 };
enum { SUB_PRINCIPAL_FROM = 24 };
static const double RESIDUAL_SHARE_SUB = 0.95;

typedef struct {
    int S, T;
    /* inputs */
    const double *bal0, *rate, *accr, *fee_fixed, *fee_rate, *fee_cap, *yf, *acct0, *res_par;
    const double *coll, *pool_start, *pool_end, *trg_thr, *ext;
    /* outputs */
    double *t_bal_start, *t_int_due, *t_int_paid, *t_int_short, *t_prin, *t_wd, *t_bal_end, *t_resid;
    double *f_due, *f_paid, *f_unpaid, *a_start, *a_in, *a_end, *party;
    int *state, *fired;
    /* support providers: scenario data and the draws output */
    const int *acct_fail;
    double *a_drawn;
    /* each trigger's consecutive breaches after the period (the kernel's trg_count) */
    int *trg_count;
} Args;

static inline double dmin(double a, double b) { return a < b ? a : b; }
static inline double dmax(double a, double b) { return a > b ? a : b; }

/* program constants */
static const int CARRY[K] = {1, 1, 1, 1, 0};
static const int SFINT[K] = {0, 0, 1, 1, 0};
static const int FEE_CARRY[F] = {1, 1, 0, 1};
enum { BASE_POOL = 0, BASE_NOTES = 1, BASE_ORIGINAL = 2 };
static const int FEE_BASE[F] = {BASE_POOL, BASE_NOTES, BASE_ORIGINAL, BASE_POOL};
static const int FEES[F] = {0, 1, 2, 3};
static const int SENIOR[2] = {A1, A2};
static const int RATED[4] = {A1, A2, B, C};
static const int ONLY_B[1] = {B}, ONLY_C[1] = {C}, ONLY_SUB[1] = {SUB};
static const int SUP_PRIN[1] = {PRIN}, SUP_RES[1] = {RES};
static const int EXT[A] = {0, 0, 0}; /* accounts of support providers (acct_ext) */

typedef struct {
    double bal[K], int_due[K], carry_int[K], fee_due[F], fee_carry[F], acct[A];
    int count[J], fired[J];
    int last;
    double pool_end;
    const double *res;
    double *drawn; /* a_drawn row of the current period */
} St;

static inline double notes(const St *st) {
    double n = 0.0;
    for (int k = 0; k < K; k++) n += st->bal[k];
    return n;
}

/* Reserve target: max(amount, %pool, %notes), floored, capped; 0 when notes are repaid or last. */
static inline double reserve_target(const St *st) {
    double n = notes(st);
    if (st->last || n <= 0.0) return 0.0;
    const double *p = st->res;
    double target = dmax(dmax(p[1], p[2] * st->pool_end), p[3] * n);
    target = dmax(target, p[4]);
    return dmin(target, p[5]);
}

/* Withdraw from an account; a support provider's draws are recorded. */
static inline void draw(St *st, int acc, double amount) {
    st->acct[acc] -= amount;
    if (EXT[acc]) st->drawn[acc] += amount;
}

static inline void take(St *st, int src, const int *sup, int nsup, double amount) {
    double left = amount;
    double use = dmin(left, st->acct[src]);
    draw(st, src, use);
    left -= use;
    for (int i = 0; i < nsup; i++) {
        if (left <= 0.0) break;
        use = dmin(left, st->acct[sup[i]]);
        draw(st, sup[i], use);
        left -= use;
    }
}

/* pay_fee / pay_interest: pro rata among the list when short. */
static inline void pay_dues(St *st, double *dues, double *paid, const int *lst, int n, int src,
                            const int *sup, int nsup) {
    double total = 0.0, avail = st->acct[src], pay;
    for (int i = 0; i < n; i++) total += dues[lst[i]];
    for (int i = 0; i < nsup; i++) avail += st->acct[sup[i]];
    pay = dmin(total, avail);
    if (pay <= 0.0) return;
    take(st, src, sup, nsup, pay);
    for (int i = 0; i < n; i++) {
        int k = lst[i];
        double part = pay >= total ? dues[k] : pay * dues[k] / total;
        dues[k] -= part;
        paid[k] += part;
    }
}

/* pay_principal, not following a schedule, no pool target, no support. */
static inline void pay_principal(St *st, double *prin, const int *lst, int n, int src, int pro_rata) {
    double total = 0.0, pay;
    for (int i = 0; i < n; i++) total += dmax(st->bal[lst[i]] - 0.0, 0.0);
    pay = dmin(total, st->acct[src]);
    if (pay <= 0.0) return;
    draw(st, src, dmin(pay, st->acct[src]));
    if (!pro_rata) {
        double left = pay;
        for (int i = 0; i < n; i++) {
            int k = lst[i];
            double part = dmin(left, dmax(st->bal[k] - 0.0, 0.0));
            st->bal[k] -= part;
            prin[k] += part;
            left -= part;
        }
    } else {
        double wsum = total;  /* the same sum, in the same order */
        for (int i = 0; i < n; i++) {
            int k = lst[i];
            double w = dmax(st->bal[k] - 0.0, 0.0);
            double part = pay >= wsum ? w : pay * w / wsum;
            st->bal[k] -= part;
            prin[k] += part;
        }
    }
}

static inline void transfer(St *st, int src, int dst) {
    double move = st->acct[src];
    draw(st, src, move);
    st->acct[dst] += move;
}

int waterfall(const Args *a) {
    const int S = a->S, T = a->T;
    double orig_notes = 0.0;
    for (int k = 0; k < K; k++) orig_notes += a->bal0[k];
    for (int s = 0; s < S; s++) {
        St st;
        for (int k = 0; k < K; k++) {
            st.bal[k] = a->bal0[k];
            st.int_due[k] = 0.0;
            st.carry_int[k] = 0.0;
        }
        for (int f = 0; f < F; f++) st.fee_due[f] = st.fee_carry[f] = 0.0;
        for (int i = 0; i < A; i++) st.acct[i] = a->acct0[i];
        for (int j = 0; j < J; j++) st.count[j] = st.fired[j] = 0;
        st.res = a->res_par + RES * NRES;
        const int *fail = a->acct_fail + (long)s * A;
        for (int t = 0; t < T; t++) {
            const long st_ = (long)s * T + t;
            const double *rate = a->rate + st_ * K, *accr = a->accr + (long)t * K;
            const double *coll = a->coll + st_ * NS, *ext = a->ext + st_ * J;
            double *bal_start = a->t_bal_start + st_ * K, *int_due_o = a->t_int_due + st_ * K;
            double *int_paid = a->t_int_paid + st_ * K, *int_short = a->t_int_short + st_ * K;
            double *prin = a->t_prin + st_ * K, *wd = a->t_wd + st_ * K, *bal_end = a->t_bal_end + st_ * K;
            double *resid = a->t_resid + st_ * K;
            double *f_due = a->f_due + st_ * F, *f_paid = a->f_paid + st_ * F, *f_unpaid = a->f_unpaid + st_ * F;
            double *a_start = a->a_start + st_ * A, *a_in = a->a_in + st_ * A, *a_end = a->a_end + st_ * A;
            double *party = a->party + st_ * NP;
            int *fired = a->fired + st_ * J, *trg_count = a->trg_count + st_ * J;
            const double pool_start = a->pool_start[st_];
            st.pool_end = a->pool_end[st_];
            st.last = t == T - 1;
            st.drawn = a->a_drawn + st_ * A;

            const double n = notes(&st);
            for (int i = 0; i < A; i++)
                if (t >= fail[i]) st.acct[i] = 0.0; /* a failed provider pays nothing from now on */
            for (int k = 0; k < K; k++) bal_start[k] = st.bal[k];
            for (int i = 0; i < A; i++) a_start[i] = st.acct[i];
            st.acct[INT] += coll[0];
            a_in[INT] += coll[0];
            st.acct[PRIN] += coll[1];
            a_in[PRIN] += coll[1];
            for (int k = 0; k < K; k++) {
                double r = rate[k] * accr[k];
                double due = st.bal[k] * r + st.carry_int[k];
                if (SFINT[k]) due += st.carry_int[k] * r;
                st.int_due[k] = due;
                int_due_o[k] = due;
            }
            for (int f = 0; f < F; f++) {
                double base = FEE_BASE[f] == BASE_NOTES ? n : FEE_BASE[f] == BASE_ORIGINAL ? orig_notes : pool_start;
                double cur = n > 0.0 ? dmin(a->fee_fixed[f] + a->fee_rate[f] * base * a->yf[t], a->fee_cap[f]) : 0.0;
                st.fee_due[f] = cur + st.fee_carry[f];
                f_due[f] = st.fee_due[f];
            }
            /* triggers */
            double v[J], x;
            v[0] = ext[0];
            x = 0.0;
            for (int i = 0; i < 4; i++) x += st.bal[RATED[i]];
            v[1] = x > 0.0 ? st.pool_end / x : INFINITY;
            x = 0.0 + st.int_due[A1] + st.int_due[A2];
            v[2] = x > 0.0 ? a_in[INT] / x : INFINITY;
            v[3] = 0.0 + st.carry_int[A1] + st.carry_int[A2];
            static const int ABOVE[J] = {1, 0, 0, 1}, CONSEC[J] = {1, 2, 3, 1}, CURABLE[J] = {0, 1, 1, 0};
            static const int EFFECT[J] = {1, 1, 1, 2};
            int state = 0;
            for (int j = 0; j < J; j++) {
                int breach = ABOVE[j] ? v[j] > a->trg_thr[j] : v[j] < a->trg_thr[j];
                st.count[j] = breach ? st.count[j] + 1 : 0;
                if (st.count[j] >= CONSEC[j]) st.fired[j] = 1;
                else if (CURABLE[j]) st.fired[j] = 0;
                fired[j] = st.fired[j];
                trg_count[j] = st.count[j];
                if (st.fired[j] && EFFECT[j] > state) state = EFFECT[j];
            }
            a->state[st_] = state;

            if (state == 0) {
                double move;
                /* release_reserve reserve -> interest */
                move = dmin(dmax(st.acct[RES] - reserve_target(&st), 0.0), st.acct[RES]);
                draw(&st, RES, move);
                st.acct[INT] += move;
                /* draw_reserve reserve -> interest covering the fees and A1/A2 interest */
                double need = 0.0;
                for (int f = 0; f < F; f++) need += st.fee_due[f];
                need += st.int_due[A1];
                need += st.int_due[A2];
                move = dmin(dmax(need - st.acct[INT], 0.0), st.acct[RES]);
                draw(&st, RES, move);
                st.acct[INT] += move;
                pay_dues(&st, st.fee_due, f_paid, FEES, F, INT, SUP_PRIN, 1);
                pay_dues(&st, st.int_due, int_paid, SENIOR, 2, INT, SUP_RES, 1);
                pay_dues(&st, st.int_due, int_paid, ONLY_B, 1, INT, 0, 0);
                pay_dues(&st, st.int_due, int_paid, ONLY_C, 1, INT, 0, 0);
                if (!st.fired[1]) { /* fund_reserve interest -> reserve, unless the OC trigger is on */
                    move = dmin(dmax(reserve_target(&st) - st.acct[RES], 0.0), st.acct[INT]);
                    draw(&st, INT, move);
                    st.acct[RES] += move;
                }
                transfer(&st, INT, PRIN);
                pay_principal(&st, prin, RATED, 4, PRIN, 0);
                if (t >= SUB_PRINCIPAL_FROM) pay_principal(&st, prin, ONLY_SUB, 1, PRIN, 0);
                double pay = st.acct[PRIN] * RESIDUAL_SHARE_SUB;
                if (pay > 0.0) {
                    draw(&st, PRIN, pay);
                    resid[SUB] += pay;
                }
                pay = st.acct[PRIN] * 1.0;
                if (pay > 0.0) {
                    draw(&st, PRIN, pay);
                    party[2] += pay;
                }
            } else if (state == 1) {
                transfer(&st, RES, INT);
                pay_dues(&st, st.fee_due, f_paid, FEES, F, INT, SUP_PRIN, 1);
                pay_dues(&st, st.int_due, int_paid, SENIOR, 2, INT, SUP_PRIN, 1);
                transfer(&st, INT, PRIN);
                pay_principal(&st, prin, SENIOR, 2, PRIN, 1);
                pay_dues(&st, st.int_due, int_paid, ONLY_B, 1, PRIN, 0, 0);
                pay_principal(&st, prin, ONLY_B, 1, PRIN, 0);
                pay_dues(&st, st.int_due, int_paid, ONLY_C, 1, PRIN, 0, 0);
                pay_principal(&st, prin, ONLY_C, 1, PRIN, 0);
                pay_principal(&st, prin, ONLY_SUB, 1, PRIN, 0);
                double pay = st.acct[PRIN] * 1.0;
                if (pay > 0.0) {
                    draw(&st, PRIN, pay);
                    resid[SUB] += pay;
                }
            } else {
                transfer(&st, RES, INT);
                transfer(&st, PRIN, INT);
                pay_dues(&st, st.fee_due, f_paid, FEES, F, INT, 0, 0);
                pay_dues(&st, st.int_due, int_paid, SENIOR, 2, INT, 0, 0);
                pay_principal(&st, prin, SENIOR, 2, INT, 1);
                pay_dues(&st, st.int_due, int_paid, ONLY_B, 1, INT, 0, 0);
                pay_principal(&st, prin, ONLY_B, 1, INT, 0);
                pay_dues(&st, st.int_due, int_paid, ONLY_C, 1, INT, 0, 0);
                pay_principal(&st, prin, ONLY_C, 1, INT, 0);
                pay_principal(&st, prin, ONLY_SUB, 1, INT, 0);
                double pay = st.acct[INT] * 1.0;
                if (pay > 0.0) {
                    draw(&st, INT, pay);
                    resid[SUB] += pay;
                }
            }

            for (int k = 0; k < K; k++) {
                int_short[k] = st.int_due[k];
                st.carry_int[k] = CARRY[k] ? st.int_due[k] : 0.0;
                st.int_due[k] = 0.0;
            }
            for (int f = 0; f < F; f++) {
                f_unpaid[f] = st.fee_due[f];
                st.fee_carry[f] = FEE_CARRY[f] ? st.fee_due[f] : 0.0;
                st.fee_due[f] = 0.0;
            }
            if (st.last) {
                for (int k = 0; k < K; k++) {
                    wd[k] = st.bal[k];
                    st.bal[k] = 0.0;
                }
            }
            for (int k = 0; k < K; k++) bal_end[k] = st.bal[k];
            for (int i = 0; i < A; i++) a_end[i] = st.acct[i];
        }
    }
    return 0;
}
