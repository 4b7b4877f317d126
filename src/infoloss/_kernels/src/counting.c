/* counting.c: the discrete estimators' kernels (infoloss.estimators).
 *
 * Why they are shaped this way:
 *
 * - il_count_rows is the one pass over the samples.  The samples arrive in whatever integer
 *   type and strides the caller had (no conversion copy of a column that may be most of
 *   memory), so the loop is generated once per integer type by a macro; every value is
 *   read as an unsigned 64-bit integer (sign-extended for signed types) and its offset from
 *   `lo` taken modulo 2^64, which is exact for the values of a uint64 column above 2^63 as
 *   for negative ones.  Rows are shared among threads; a batch with fewer rows than
 *   threads splits each row into pieces with private histograms, summed at the end, so
 *   one long column uses every core.  Counts are integers: the result does not depend on
 *   the order of the pieces.
 * - il_row_sum sums each row left to right with Neumaier's compensation.  Left to right,
 *   so trailing zeros (the padding of a batch whose rows saw different numbers of
 *   categories) leave a row's sum bit for bit what it is alone; no reassociation (no simd
 *   reduction) for the same reason.
 * - il_cwj_tail is the series T(z, c) = sum_{m>=1} z^m / (c + m), z = 1 - a, of the
 *   Chao-Wang-Jost estimator.  Summed term by term it costs about min(c, 1/a) terms, which
 *   grows with the sample size N = c + 1 (10^12 terms for one large count).  Where that
 *   count is small it is summed so (exactly as before); elsewhere (c large and a small) it
 *   is the integral
 *       T = int_0^inf e^{-ct} / expm1(t + L) dt,   L = -log z,
 *   split as 1/expm1(u) = 1/u + h(u): the first part is e^{cL} E1(cL) (scaled exponential
 *   integral), the second, h being analytic within 2 pi of the real axis, is Watson's
 *   series sum_k h^(k)(L) / c^{k+1}, whose terms fall by about 1/(2 pi c).  Cost O(1)
 *   whatever N is; accuracy a few ulps (tests check against mpmath's Lerch Phi).
 *
 * Scalar libm (exp, log, log1p) is used here, not vmath.h: these loops are not vectorised
 * (one running product per row), and the results must agree with the series summed
 * directly to the last bits.  The C never raises; infoloss/_kernels/counting.py checks
 * layouts and owns every message.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "counting.h"

/* A row shorter than this is never split across threads: the private histograms would
 * cost more than they save.  Below IL_PARALLEL_MIN entries a kernel runs on one thread. */
#define IL_SPLIT_MIN (1 << 16)
#define IL_PARALLEL_MIN (1 << 16)

#define IL_COUNT_LOOPS(NAME, T)                                                          \
    static void NAME##_whole(const T *x, int64_t b, int64_t n, int64_t s0, int64_t s1,   \
                             uint64_t lo, int64_t k, int64_t *out, int par)              \
    {                                                                                    \
        int64_t i;                                                                       \
        _Pragma("omp parallel for schedule(static) if(par)")                             \
        for (i = 0; i < b; i++) {                                                        \
            const T *row = x + i * s0;                                                   \
            int64_t *o = out + i * k;                                                    \
            for (int64_t j = 0; j < n; j++)                                              \
                o[(uint64_t)(int64_t)row[j * s1] - lo]++;                                \
        }                                                                                \
    }                                                                                    \
    static void NAME##_split(const T *x, int64_t b, int64_t n, int64_t s0, int64_t s1,   \
                             uint64_t lo, int64_t k, int64_t *out, int64_t pieces,       \
                             int64_t *part)                                              \
    {                                                                                    \
        int64_t step = (n + pieces - 1) / pieces, t;                                     \
        _Pragma("omp parallel for schedule(static)")                                     \
        for (t = 0; t < b * pieces; t++) {                                               \
            const T *row = x + (t / pieces) * s0;                                        \
            int64_t *o = part + t * k;                                                   \
            int64_t start = (t % pieces) * step;                                         \
            int64_t stop = start + step < n ? start + step : n;                          \
            for (int64_t j = start; j < stop; j++)                                       \
                o[(uint64_t)(int64_t)row[j * s1] - lo]++;                                \
        }                                                                                \
        for (int64_t i = 0; i < b; i++)                                                  \
            for (int64_t p = i * pieces; p < (i + 1) * pieces; p++)                      \
                for (int64_t v = 0; v < k; v++)                                          \
                    out[i * k + v] += part[p * k + v];                                   \
    }

IL_COUNT_LOOPS(il_count_i8, int8_t)
IL_COUNT_LOOPS(il_count_i16, int16_t)
IL_COUNT_LOOPS(il_count_i32, int32_t)
IL_COUNT_LOOPS(il_count_i64, int64_t)
IL_COUNT_LOOPS(il_count_u8, uint8_t)
IL_COUNT_LOOPS(il_count_u16, uint16_t)
IL_COUNT_LOOPS(il_count_u32, uint32_t)
IL_COUNT_LOOPS(il_count_u64, uint64_t)

int il_count_rows(const void *x, int kind, int64_t b, int64_t n, int64_t s0, int64_t s1,
                  uint64_t lo, int64_t k, int64_t *out)
{
    int threads = omp_get_max_threads();
    int64_t pieces = 1;
    memset(out, 0, (size_t)(b * k) * sizeof(int64_t));
    if (b > 0 && b < threads && n >= 2 * (int64_t)IL_SPLIT_MIN) {
        pieces = n / IL_SPLIT_MIN;
        if (pieces > threads)
            pieces = threads;
        /* Private histograms must stay small next to the data they count. */
        if (pieces * k > n)
            pieces = 1;
    }
    int par = b * n >= IL_PARALLEL_MIN;
    int64_t *part = NULL;
    if (pieces > 1) {
        part = calloc((size_t)(b * pieces * k), sizeof(int64_t));
        if (part == NULL)
            return -1;
    }
#define IL_DISPATCH(CODE, NAME, T)                                                       \
    case CODE:                                                                           \
        if (pieces > 1)                                                                  \
            NAME##_split((const T *)x, b, n, s0, s1, lo, k, out, pieces, part);          \
        else                                                                             \
            NAME##_whole((const T *)x, b, n, s0, s1, lo, k, out, par);                   \
        break;
    switch (kind) {
        IL_DISPATCH(IL_I8, il_count_i8, int8_t)
        IL_DISPATCH(IL_I16, il_count_i16, int16_t)
        IL_DISPATCH(IL_I32, il_count_i32, int32_t)
        IL_DISPATCH(IL_I64, il_count_i64, int64_t)
        IL_DISPATCH(IL_U8, il_count_u8, uint8_t)
        IL_DISPATCH(IL_U16, il_count_u16, uint16_t)
        IL_DISPATCH(IL_U32, il_count_u32, uint32_t)
        IL_DISPATCH(IL_U64, il_count_u64, uint64_t)
    default:
        free(part);
        return -2;
    }
#undef IL_DISPATCH
    free(part);
    return 0;
}

/* ------------------------------------------------------------------------- row sums */

static double il_neumaier(const double *row, int64_t n, int64_t s1)
{
    double s = 0.0, c = 0.0;
    for (int64_t j = 0; j < n; j++) {
        double v = row[j * s1];
        double t = s + v;
        if (fabs(s) >= fabs(v))
            c += (s - t) + v;
        else
            c += (v - t) + s;
        s = t;
    }
    return s + c;
}

void il_row_sum(const double *terms, int64_t b, int64_t n, int64_t s0, int64_t s1,
                double *out)
{
    int64_t i;
    int par = b > 1 && b * n >= IL_PARALLEL_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (i = 0; i < b; i++)
        out[i] = il_neumaier(terms + i * s0, n, s1);
}

/* --------------------------------------------------------------- Chao-Wang-Jost tail */

/* Re-anchor the running power z^m with an exact exp every so many steps, so the rounding
 * of the repeated products never grows past this many ulps. */
#define IL_ANCHOR 64
/* Term by term where c < IL_TAIL_DIRECT_C (at most about 15 c terms) or a >= IL_TAIL_DIRECT_A
 * (at most about (39 + log(1/a))/a < 2800 terms); the integral elsewhere, where c >= 1024
 * makes the Watson terms fall by 1/(2 pi c) < 1.6e-4 each and L < 0.016 leaves h's Taylor
 * series below used to six terms. */
#define IL_TAIL_DIRECT_C 1024.0
#define IL_TAIL_DIRECT_A (1.0 / 64.0)
#define IL_EULER 0.57721566490153286061

/* The series summed term by term (0 < a < 1, c >= 0). */
static double il_tail_direct(double a, double c)
{
    double la = log1p(-a); /* log z, exactly enough even for tiny a */
    double s = 0.0, comp = 0.0, p = 1.0;
    if (c * a <= 3.0) {
        /* z^{-c} (-log a - sum_{r=1}^{c} z^r / r): the subtraction loses at most a factor
         * e^{ca} <= e^3 of relative accuracy, and the loop has c terms. */
        int64_t top = (int64_t)c;
        for (int64_t r = 1; r <= top; r++) {
            if (r % IL_ANCHOR == 1)
                p = exp((double)r * la);
            else
                p *= 1.0 - a;
            double v = p / (double)r;
            double t = s + v;
            comp += (s - t) + v;
            s = t;
        }
        return (-log(a) - (s + comp)) * exp(-c * la);
    }
    /* ca > 3: the terms fall geometrically; what is left after a term v is at most
     * v (1 - a)/a, so the loop stops once that is below 1e-17 of the sum. */
    for (int64_t m = 1;; m++) {
        if (m % IL_ANCHOR == 1)
            p = exp((double)m * la);
        else
            p *= 1.0 - a;
        double v = p / (c + (double)m);
        double t = s + v;
        comp += (s - t) + v;
        s = t;
        if (v * (1.0 - a) <= 1e-17 * a * s)
            break;
    }
    return s + comp;
}

/* e^x E1(x) for x > 0: the power series of E1 for x <= 1/4 (at most 14 terms); above, the
 * continued fraction e^x E1(x) = 1/(x + 1 - 1/(x + 3 - 4/(x + 5 - 9/(x + 7 - ...)))),
 * evaluated from the bottom up (which damps the rounding of each level, where the forward
 * Lentz product accumulates it: 19 ulps at x = 1) from a depth at which its truncation
 * error, about exp(-4 sqrt(depth x)), is below 1e-18 (at most 500 levels).  About 2 ulps. */
static double il_scaled_e1(double x)
{
    if (x <= 0.25) {
        double term = 1.0, s = 0.0;
        for (int k = 1; k < 40; k++) {
            term *= -x / k;
            double v = term / k;
            s += v;
            if (fabs(v) <= 1e-18 * fabs(s))
                break;
        }
        return exp(x) * (-IL_EULER - log(x) - s);
    }
    int depth = x > 120.0 ? 20 : 20 + (int)(120.0 / x);
    double t = 0.0;
    for (int i = depth; i >= 1; i--)
        t = ((double)i * i) / (x + (2.0 * i + 1.0) - t);
    return 1.0 / (x + 1.0 - t);
}

/* int_0^inf e^{-ct} h(t + L) dt, h(u) = 1/expm1(u) - 1/u = -1/2 + u/12 - u^3/720 + ...,
 * by Watson's lemma: sum_{k=0}^{4} h^(k)(L) / c^{k+1}, each derivative from the Taylor
 * series (Bernoulli numbers) to terms below 1e-18 of its size at L < 0.016. */
static double il_tail_smooth(double L, double c)
{
    double u2 = L * L;
    double h0 = -0.5 + L * (1.0 / 12.0 - u2 * (1.0 / 720.0 - u2 * (1.0 / 30240.0 - u2 / 1209600.0)));
    double h1 = 1.0 / 12.0 - u2 * (1.0 / 240.0 - u2 * (1.0 / 6048.0 - u2 / 172800.0));
    double h2 = -L * (1.0 / 120.0 - u2 * (1.0 / 1512.0 - u2 / 28800.0));
    double h3 = -1.0 / 120.0 + u2 * (1.0 / 504.0 - u2 / 5760.0);
    double h4 = L * (1.0 / 252.0 - u2 / 1440.0);
    double r = 1.0 / c;
    return r * (h0 + r * (h1 + r * (h2 + r * (h3 + r * h4))));
}

static double il_tail_one(double a, double c)
{
    if (a >= 1.0)
        return 0.0;
    if (c < IL_TAIL_DIRECT_C || a >= IL_TAIL_DIRECT_A)
        return il_tail_direct(a, c);
    double L = -log1p(-a);
    return il_scaled_e1(c * L) + il_tail_smooth(L, c);
}

void il_cwj_tail(const double *a, const double *c, int64_t n, double *out)
{
    int64_t i;
    /* A row costs about a microsecond (up to 16000 terms summed directly where c < 1024);
     * starting the threads cost milliseconds on a loaded two-core machine. */
#pragma omp parallel for schedule(dynamic, 64) if (n >= 1024)
    for (i = 0; i < n; i++)
        out[i] = il_tail_one(a[i], c[i]);
}
