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

/* write x to row[0..w-1]: constant-size stores for the widths the benchmark uses */
static inline void put(double *row, int w, double x) {
    switch (w) {
    case 3: row[0] = x; row[1] = x; row[2] = x; return;
    case 4: row[0] = x; row[1] = x; row[2] = x; row[3] = x; return;
    case 5: row[0] = x; row[1] = x; row[2] = x; row[3] = x; row[4] = x; return;
    case 6: row[0] = x; row[1] = x; row[2] = x; row[3] = x; row[4] = x; row[5] = x; return;
    default: for (int j = 0; j < w; j++) row[j] = x;
    }
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
        for (int i = 0; i < n_out; i++) put(out[i] + st * out_w[i], out_w[i], x);
        for (int i = 0; i < n_iout; i++) {
            int *row = out_i[i] + st * out_iw[i];
            for (int j = 0; j < out_iw[i]; j++) row[j] = (int)j;
        }
        sum += x;
    }
    return sum;
}

/* copy n doubles with non-temporal stores (dst 16-byte aligned after its first element
 * at most) */
static void copy_nt(double *dst, const double *src, long n) {
    long i = 0;
#if defined(__x86_64__)
    if (((size_t)dst & 15) && n > 0) {
        dst[0] = src[0];
        i = 1;
    }
    for (; i + 1 < n; i += 2) _mm_stream_pd(dst + i, _mm_loadu_pd(src + i));
#endif
    for (; i < n; i++) dst[i] = src[i];
}

/*
 * The traffic of traffic() with the outputs staged: each scenario's T rows of every
 * double output array are written into a small block that stays in cache (stage: T x
 * sum(out_w) doubles), then each array's block (T * out_w[i] contiguous doubles) goes to
 * memory with non-temporal stores, which do not read the lines first. The best a kernel
 * could do by reordering its writes; int32 outputs are written as in traffic().
 */
double traffic_staged_nt(long S, long T, int n_in, const double *const *in, const int *in_w, int n_out,
                         double *const *out, const int *out_w, int n_iout, int *const *out_i, const int *out_iw,
                         double *stage) {
    double sum = 0.0;
    for (long s = 0; s < S; s++) {
        for (long t = 0; t < T; t++) {
            long st = s * T + t;
            double x = 0.0;
            for (int i = 0; i < n_in; i++) {
                const double *row = in[i] + st * in_w[i];
                for (int j = 0; j < in_w[i]; j++) x += row[j];
            }
            double *blk = stage;
            for (int i = 0; i < n_out; i++) {
                put(blk + t * out_w[i], out_w[i], x);
                blk += T * out_w[i];
            }
            for (int i = 0; i < n_iout; i++) {
                int *row = out_i[i] + st * out_iw[i];
                for (int j = 0; j < out_iw[i]; j++) row[j] = (int)j;
            }
            sum += x;
        }
        const double *blk = stage;
        for (int i = 0; i < n_out; i++) {
            copy_nt(out[i] + s * T * out_w[i], blk, T * out_w[i]);
            blk += T * out_w[i];
        }
    }
#if defined(__x86_64__)
    _mm_sfence();
#endif
    return sum;
}

/*
 * The same bytes written array by array (each output array in one sequential pass of
 * plain stores, as memset would), after one sequential read of each input array: the
 * cheapest order there is for plain stores; no waterfall could do with less traffic.
 */
double traffic_stream(int n_in, const double *const *in, const long *in_n, int n_out, double *const *out,
                      const long *out_n, int n_iout, int *const *out_i, const long *out_in) {
    double sum = 0.0;
    for (int i = 0; i < n_in; i++) sum += load(in[i], in_n[i]);
    for (int i = 0; i < n_out; i++) store(out[i], out_n[i]);
    for (int i = 0; i < n_iout; i++)
        for (long j = 0; j < out_in[i]; j++) out_i[i][j] = (int)(j & 1023);
    return sum;
}
