/*
 * Memory-bandwidth probe for the kernel benchmark (driven by benchmarks/bandwidth.py).
 *
 * STREAM-like loops over a large buffer (far larger than the caches) and, more to the
 * point, a loop that does nothing but the memory traffic the waterfall kernel's contract
 * implies: read every input row and write every output row of every scenario-period, in
 * the kernel's order, into the very arrays the benchmark uses. No arithmetic beyond a
 * running sum that keeps the reads alive. Its time is a floor for any implementation of
 * the waterfall on those arrays (the kernel, the C baseline), whatever its instructions.
 *
 * Built by benchmarks/bandwidth.py with the same flags as the C baseline
 * (cc -O2 -ffp-contract=off -fPIC -shared). x86-64 only for the non-temporal variant
 * (SSE2 is part of x86-64).
 */
#include <stddef.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

/* plain stores: each line is read for ownership, then written back (2 bytes moved per byte) */
void store(double *buf, long n) {
    for (long i = 0; i < n; i++) buf[i] = (double)(i & 1023);
}

/* non-temporal stores: full lines written without being read first (1 byte per byte) */
int store_nt(double *buf, long n) {
#if defined(__x86_64__)
    __m128d v = _mm_set1_pd(1.0);
    long i = 0;
    for (; i + 1 < n; i += 2) _mm_stream_pd(buf + i, v);
    for (; i < n; i++) buf[i] = 1.0;
    _mm_sfence();
    return 1;
#else
    for (long i = 0; i < n; i++) buf[i] = 1.0;
    return 0;
#endif
}

double load(const double *buf, long n) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    long i = 0;
    for (; i + 3 < n; i += 4) {
        s0 += buf[i];
        s1 += buf[i + 1];
        s2 += buf[i + 2];
        s3 += buf[i + 3];
    }
    for (; i < n; i++) s0 += buf[i];
    return s0 + s1 + s2 + s3;
}

/* read-modify-write, as `out[k] += x` on a caller-zeroed array */
void add(double *buf, long n) {
    for (long i = 0; i < n; i++) buf[i] += 1.0;
}

/*
 * The kernel's memory traffic only. For each scenario-period st (s * T + t), in order:
 * read row st of each of the n_in input arrays (width in_w[i] doubles), then write row st
 * of each of the n_out output arrays (width out_w[i]; int32 arrays are given in out_i
 * with widths out_iw). Per-period tables that every scenario shares (accr, sched, due,
 * yf: T x K doubles) stay in cache in any implementation and are not modelled.
 */
double traffic(long n_st, int n_in, const double *const *in, const int *in_w, int n_out, double *const *out,
               const int *out_w, int n_iout, int *const *out_i, const int *out_iw) {
    double sum = 0.0;
    for (long st = 0; st < n_st; st++) {
        double x = 0.0;
        for (int i = 0; i < n_in; i++) {
            const double *row = in[i] + st * in_w[i];
            for (int j = 0; j < in_w[i]; j++) x += row[j];
        }
        for (int i = 0; i < n_out; i++) {
            double *row = out[i] + st * out_w[i];
            for (int j = 0; j < out_w[i]; j++) row[j] = x;
        }
        for (int i = 0; i < n_iout; i++) {
            int *row = out_i[i] + st * out_iw[i];
            for (int j = 0; j < out_iw[i]; j++) row[j] = (int)j;
        }
        sum += x;
    }
    return sum;
}
