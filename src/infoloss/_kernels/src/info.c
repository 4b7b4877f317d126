/* info.c: entropy, cross-entropy, KL and Jensen-Shannon of rows, every form; conditional
 * entropy and mutual information of tables.
 *
 * Why the kernels are shaped as they are:
 *
 * - One pass over memory per row.  A row is taken in chunks of CHUNK entries (small enough
 *   for L1): the chunk's maximum, then the chunk's sums against the running maximum, over
 *   the chunk again from L1.  When a chunk raises the maximum, the sums so far are rescaled
 *   (each part keeps its sign, so nothing cancels).  A row whose terms need its normaliser
 *   first (normalised probabilities, logits) gets this statistics pass, then a terms pass
 *   that re-reads the row from cache; the exps of logits are kept from the first pass so
 *   that no entry pays two.  Entropy needs no terms pass: H = log s - t/s with
 *   t = sum e^d d, summed online beside s.
 * - The maximal entries stay out of the sums: s = k + rest with k ties, and
 *   log s = log1p((k - 1) + rest) keeps the relative accuracy of a tiny rest (a nearly
 *   deterministic row).  Maximal entries are found by comparing each entry with the row
 *   maximum (both loaded values), never by comparing two evaluations of an expression,
 *   whose roundings may differ (contracted multiply-adds).
 * - Every term is non-negative where the measure is: KL of normalised rows as
 *   q h(delta) = p delta - p + q, Jensen-Shannon as (m/2) f(d) with d = (p - q)/(p + q),
 *   mutual information as the KL of P(x, y) from P(x) P(y) term by term.  So no measure
 *   comes out negative by rounding, and D(P||P) = 0 exactly.
 * - KL of two probability rows is sum p log(p/q) with il_log_ratio (one log, no over- or
 *   underflow of p/q), never a difference of two large sums.
 * - exp and log come from vmath.h only (vectorisable polynomials); each kind x form pair is
 *   its own loop (the per-entry decoding is inlined with constant modes, so the branches
 *   fold away and the loop vectorises under `omp simd`).  Sums run in the data's type
 *   within a chunk and in double across chunks.
 * - OpenMP over rows; rows with a column stride other than 1 are gathered into a per-thread
 *   buffer first, so the loops only ever see contiguous rows.  Short rows of two arguments
 *   read as given run a vector's worth at a time instead, a row a lane (pair_cols).
 * - Bad entries (NaN, +inf, negative probabilities; rows of logits that are all -inf) are
 *   counted, never raised on: their row's value is NaN.  The Python side owns every message.
 *
 * The body below the common part is a template, included twice (float, then double).
 */
#ifndef IL_INFO_TEMPLATE

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <omp.h>

#include "info.h"
#include "lanes.h"
#include "pieces.h"
#include "vmath.h"

/* A row's cost beyond its entries, in entries, for sharing rows among threads (pieces.h). */
#define IL_ROW_COST 32

/* lm[i] = log lm[i] for i in [i0, i1) (a row's sum >= 0, +inf, or NaN), IL_LOG_BLOCK at a
 * time in one vector loop: the kernels that sum rows as given leave their log-masses' logs
 * to this pass, which no row's loop then waits on. */
static void il_logs_of_sums(double *lm, int64_t i0, int64_t i1) {
    double lv[IL_LOG_BLOCK] __attribute__((aligned(64)));
    for (int64_t b0 = i0; b0 < i1; b0 += IL_LOG_BLOCK) {
        const int64_t nb = i1 - b0 < IL_LOG_BLOCK ? i1 - b0 : IL_LOG_BLOCK;
        for (int64_t q = 0; q < nb; q++)
            lv[q] = lm[b0 + q] > 0.0 && lm[b0 + q] < INFINITY ? lm[b0 + q] : 1.0;
        il_log_block_d(lv, nb);
        for (int64_t q = 0; q < nb; q++) {
            double v = lm[b0 + q];
            lm[b0 + q] = v > 0.0 ? (v < INFINITY ? lv[q] : v) : (v == 0.0 ? -INFINITY : NAN);
        }
    }
}

/* A thread's part of a call's totals (il_arg_sum): bad entries, least and largest row
 * log-mass, whether any log-mass is NaN. */
typedef struct {
    int64_t nb;
    double lo, hi;
    int nan;
} il_acc;

static inline void il_acc_init(il_acc *a) {
    a->nb = 0;
    a->lo = INFINITY;
    a->hi = -INFINITY;
    a->nan = 0;
}

/* a += rows [i0, i1) of the per-row counts nb and log-masses lm. */
static inline void il_acc_rows(il_acc *a, const int64_t *nb, const double *lm, int64_t i0,
                               int64_t i1) {
    int64_t t = 0;
    double lo = a->lo, hi = a->hi;
    int nan = 0;
#pragma omp simd reduction(+ : t) reduction(min : lo) reduction(max : hi) reduction(| : nan)
    for (int64_t i = i0; i < i1; i++) {
        const double v = lm[i];
        t += nb[i];
        nan |= v != v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    a->nb += t;
    a->lo = lo;
    a->hi = hi;
    a->nan |= nan;
}

static inline void il_sum_init(il_arg_sum *s) {
    s->nbad = 0;
    s->lm_lo = INFINITY;
    s->lm_hi = -INFINITY;
}

/* s += a; the caller holds the lock (omp critical) where threads share s. */
static inline void il_sum_merge(il_arg_sum *s, const il_acc *a) {
    const int nan = a->nan || s->lm_lo != s->lm_lo;
    s->nbad += a->nb;
    s->lm_lo = nan ? NAN : (a->lo < s->lm_lo ? a->lo : s->lm_lo);
    s->lm_hi = nan ? NAN : (a->hi > s->lm_hi ? a->hi : s->lm_hi);
}

/* s = the totals of a call's per-row counts nb and log-masses lm over n rows. */
static void il_sum_rows(const int64_t *nb, const double *lm, int64_t n, il_arg_sum *s) {
    il_sum_init(s);
#pragma omp parallel if (n >= 1 << 15)
    {
        il_acc a;
        il_acc_init(&a);
        const int nt = omp_get_num_threads(), t = omp_get_thread_num();
        il_acc_rows(&a, nb, lm, n * t / nt, n * (t + 1) / nt);
#pragma omp critical(il_sum)
        il_sum_merge(s, &a);
    }
}

/* g(delta) = h(delta)/delta^2, h(delta) = delta e^delta - expm1(delta), on [-1, 1] (least
 * squares in relative error at Chebyshev nodes): 1.5e-17 (double), 2.7e-8 (float). */
static inline double il_klg_d(double x) {
    /* Estrin's scheme: five multiply-adds deep instead of Horner's fourteen (the terms
     * loops that call it wait on its latency, not its throughput) */
    double x2 = x * x, x4 = x2 * x2, x8 = x4 * x4;
    double p0 = IL_FMA_D(0.33333333333333337, x, 0.5);
    double p1 = IL_FMA_D(0.03333333333333201, x, 0.12499999999999985);
    double p2 = IL_FMA_D(0.001190476190491155, x, 0.0069444444444469716);
    double p3 = IL_FMA_D(2.2045855305546772e-05, x, 0.0001736111110961616);
    double p4 = IL_FMA_D(2.505212686272622e-07, x, 2.4801587715075295e-06);
    double p5 = IL_FMA_D(1.926838288880433e-09, x, 2.2964376016322137e-08);
    double p6 = IL_FMA_D(1.0873328118926434e-11, x, 1.4915460366059796e-10);
    double q0 = IL_FMA_D(p1, x2, p0), q1 = IL_FMA_D(p3, x2, p2);
    double q2 = IL_FMA_D(p5, x2, p4), q3 = IL_FMA_D(7.125721315189791e-13, x2, p6);
    double r0 = IL_FMA_D(q1, x4, q0), r1 = IL_FMA_D(q3, x4, q2);
    return IL_FMA_D(r1, x8, r0);
}

static inline float il_klg_f(float x) {
    float g = 2.481796741449216e-07f;
    g = g * x + 2.536834699640167e-06f;
    g = g * x + 2.2057629394112155e-05f;
    g = g * x + 0.00017356284661218524f;
    g = g * x + 0.0011904658749699593f;
    g = g * x + 0.006944460794329643f;
    g = g * x + 0.03333333507180214f;
    g = g * x + 0.125f;
    g = g * x + 0.3333333432674408f;
    return g * x + 0.5f;
}

/* f(d)/d^2 as a polynomial in x = d^2 on [0, 1/4], f(d) = (1 + d) log1p(d) +
 * (1 - d) log1p(-d): relative error 1.4e-17 (double), 5.7e-9 (float). */
static inline double il_jsn_d(double x) {
    double g = 0.01440398723740618;
    g = g * x + -0.0067921580124478435;
    g = g * x + 0.009252011320319222;
    g = g * x + 0.0038325375004550424;
    g = g * x + 0.006809854619280138;
    g = g * x + 0.008297844135332546;
    g = g * x + 0.010992129043794407;
    g = g * x + 0.01515133276565231;
    g = g * x + 0.022222229037814987;
    g = g * x + 0.035714285563254816;
    g = g * x + 0.06666666666840061;
    g = g * x + 0.16666666666665886;
    return g * x + 1.0;
}

static inline float il_jsn_f(float x) {
    float g = 0.027547771111130714f;
    g = g * x + 0.018285660073161125f;
    g = g * x + 0.036255694925785065f;
    g = g * x + 0.06663384288549423f;
    g = g * x + 0.1666673868894577f;
    return g * x + 1.0f;
}

/* (2 - b) log(2 - b) for b in [0, 1/2]: within 1.4e-16 (double), 1.1e-8 (float) of
 * f(d) >= f(1/2) = 0.26. */
static inline double il_jsf_d(double x) {
    double g = 4.050584173333103e-06;
    g = g * x + -5.949107275409685e-06;
    g = g * x + 1.2341401200464932e-05;
    g = g * x + 2.642898172040158e-06;
    g = g * x + 2.4751443578261904e-05;
    g = g * x + 5.3204497391918e-05;
    g = g * x + 0.00013976622126597805;
    g = g * x + 0.0003719788321068133;
    g = g * x + 0.0010416721926441868;
    g = g * x + 0.003124999536303349;
    g = g * x + 0.010416666691985975;
    g = g * x + 0.041666666665836044;
    g = g * x + 0.25000000000001427;
    g = g * x + -1.6931471805599454;
    return g * x + 1.3862943611198906;
}

static inline float il_jsf_f(float x) {
    float g = 0.0008516042144037783f;
    g = g * x + 0.00058580661425367f;
    g = g * x + 0.0033336018677800894f;
    g = g * x + 0.010365382768213749f;
    g = g * x + 0.04167340695858002f;
    g = g * x + 0.24999956786632538f;
    g = g * x + -1.6931471824645996f;
    return g * x + 1.3862943649291992f;
}

/* Which term a measure of two arguments sums. */
enum { T_CE, T_KL_EXACT, T_KL_PROBS, T_KL_MIXED, T_JS };

#define IL_EXACT(m) ((m) == IL_P_SCL || (m) == IL_L_EXACT)
#define IL_RAW_MODE(m) ((m) == IL_P_RAW || (m) == IL_L_RAW)
#define IL_PROB(m) ((m) == IL_P_RAW || (m) == IL_P_SCL)
#define IL_TERM(kind, mp, mq)                                                               \
    ((kind) == IL_CROSS_ENTROPY ? T_CE                                                      \
     : (kind) == IL_KL          ? (IL_EXACT(mp) && IL_EXACT(mq)  ? T_KL_EXACT               \
                                   : IL_PROB(mp) && IL_PROB(mq) ? T_KL_PROBS                \
                                                                : T_KL_MIXED)               \
                                : T_JS)

/* Vector steps only, over j in [0, n): [0, n - n % IL_VW) as one loop, then the last IL_VW
 * entries again as a loop of fixed length with ok = 0 on those the first loop took: a row's
 * leftover entries run as one masked vector step instead of scalar ones (which cost many
 * short rows most of their time).  The bodies add ``ok & ... ? term : 0``, never
 * ``... | !ok ? 0 : term``: gcc turns the latter into a select of a truth value, which it
 * cannot vectorise when ok's mask is wider than the data's (float rows), and then runs the
 * whole masked step as scalar code (2.2x the row's time at 31 entries).  For the same reason a
 * term guarded by its own test (``e > 0 ? e * d : 0``, where e = 0 would give NaN) is taken
 * first and only then masked by ok: gcc folds ``(e > 0) & ok`` into exp's own flush test as a
 * select of a truth value, and the masked step of such a loop ran as scalar code (a float32
 * row of 31 logits: the cross-entropy 10%, the entropy 17% slower).  A recomputed entry
 * has the same bits, so storing it again is harmless, and a maximum may see it twice.  Rows
 * shorter than IL_VW run as the one loop.  IL_VW: a 512-bit vector's lanes where AVX-512 is
 * on (a multiple of the 256-bit ones gcc may prefer), else a 256-bit vector's. */
#ifdef __AVX512F__
#define IL_VBYTES 64
#else
#define IL_VBYTES 32
#endif
#define IL_SIMD_FOR(VW, n, RED, ...)                                                        \
    do {                                                                                    \
        const ptrdiff_t il_n = (n);                                                         \
        const ptrdiff_t il_m = il_n >= (VW) ? il_n - il_n % (VW) : il_n;                    \
        {                                                                                   \
            const int ok = 1;                                                               \
            (void)ok;                                                                       \
            _Pragma(RED) for (ptrdiff_t j = 0; j < il_m; j++) { __VA_ARGS__ }               \
        }                                                                                   \
        if (il_m < il_n) {                                                                  \
            const ptrdiff_t il_o = il_n - (VW);                                             \
            ptrdiff_t il_w = (VW);                                                          \
            __asm__("" : "+r"(il_w)); /* a loop, not unrolled into scalar code */           \
            _Pragma(RED) for (ptrdiff_t il_j = 0; il_j < il_w; il_j++) {                    \
                const ptrdiff_t j = il_o + il_j;                                            \
                const int ok = j >= il_m;                                                   \
                (void)ok;                                                                   \
                __VA_ARGS__                                                                 \
            }                                                                               \
        }                                                                                   \
    } while (0)

/* Short rows VW at a time, a row a lane (pair_cols), where AVX-512 is on; measured on an
 * AVX-512 machine only, so a build without it keeps the per-row loops. */
#if defined(__AVX512F__)
#define IL_COLS 1
#else
#define IL_COLS 0
#endif
/* t[j VW + l] = x[l s0 + j s1] for l < nr, 0 for nr <= l < VW (a vector's lanes), j < c:
 * nr <= VW rows of c entries, strides s0 (|s0| < 2^31 / VW), s1, as c columns of VW. */
#if IL_COLS
#include <immintrin.h>
/* r[0..16) transposed in registers: lane l of r[k] becomes lane k of r[l]. */
static inline __attribute__((always_inline)) void il_transpose16_f(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        /* per 128-bit quarter: a0 b0 a1 b1, a2 b2 a3 b3 (a, b: r[2i], r[2i + 1]) */
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        /* quarter q of u[4i + k]: entry 4q + k of r[4i .. 4i + 4) */
        u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int k = 0; k < 4; k++) {
        /* a: entries k, 8 + k of r[0..4), then of r[4..8); b: 4 + k, 12 + k; c, d: r[8..16) */
        __m512 a = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88);
        __m512 b = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xDD);
        __m512 c = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
        __m512 d = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xDD);
        r[k] = _mm512_shuffle_f32x4(a, c, 0x88);
        r[8 + k] = _mm512_shuffle_f32x4(a, c, 0xDD);
        r[4 + k] = _mm512_shuffle_f32x4(b, d, 0x88);
        r[12 + k] = _mm512_shuffle_f32x4(b, d, 0xDD);
    }
}
/* A gather a column; contiguous float rows in 16 x 16 blocks, loaded row by row (the last
 * one masked) and transposed in registers (65536 rows of 31 floats, twice, on two threads:
 * 0.49 ms, with gathers 0.57 ms, a plain read 0.28 ms). */
static inline void il_cols_f(float *t, const float *x, int64_t s0, int64_t s1, ptrdiff_t c,
                             int nr) {
    if (s1 != 1) {
        const __m512i at = _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32((int)s0));
        const __mmask16 m = (__mmask16)((1u << nr) - 1u);
        for (ptrdiff_t j = 0; j < c; j++)
            _mm512_store_ps(t + 16 * j,
                            _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, at, x + j * s1, 4));
        return;
    }
    for (ptrdiff_t b = 0; b < c; b += 16) {
        const ptrdiff_t w = c - b < 16 ? c - b : 16;
        const __mmask16 m = (__mmask16)((1u << w) - 1u);
        __m512 r[16];
        if (nr == 16)
            for (int l = 0; l < 16; l++) r[l] = _mm512_maskz_loadu_ps(m, x + l * s0 + b);
        else
            for (int l = 0; l < 16; l++)
                r[l] = l < nr ? _mm512_maskz_loadu_ps(m, x + l * s0 + b) : _mm512_setzero_ps();
        il_transpose16_f(r);
        for (ptrdiff_t k = 0; k < w; k++) _mm512_store_ps(t + 16 * (b + k), r[k]);
    }
}
static inline void il_cols_d(double *t, const double *x, int64_t s0, int64_t s1, ptrdiff_t c,
                             int nr) {
    const __m256i at = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                          _mm256_set1_epi32((int)s0));
    const __mmask8 m = (__mmask8)((1u << nr) - 1u);
    for (ptrdiff_t j = 0; j < c; j++)
        _mm512_store_pd(t + 8 * j,
                        _mm512_mask_i32gather_pd(_mm512_setzero_pd(), m, at, x + j * s1, 8));
}
#endif

#define IL_LOW_MAX_f IL_LOW_MAX_F
#define IL_LOW_MAX_d IL_LOW_MAX_D

#define IL_CAT2(a, b) a##b
#define IL_CAT(a, b) IL_CAT2(a, b)
#define F(name) IL_CAT(name, IL_SFX)
/* A chunk of entries of the current type, in bytes (il_prefetch's span). */
#define IL_PF_AHEAD ((int64_t)(sizeof(R) * IL_CHUNK))

#define IL_INFO_TEMPLATE
#define R float
#define IT int32_t /* an integer of R's width */
#define IL_SFX _f
#include "info.c"
#undef R
#undef IT
#undef IL_SFX
#define R double
#define IT int64_t
#define IL_SFX _d
#include "info.c"
#undef R
#undef IT
#undef IL_SFX

#else /* ------------------------------------------------------------ the template */

#define EXP_LOW F(il_exp_low)
#define VW ((ptrdiff_t)(IL_VBYTES / sizeof(R)))
#define LOG F(il_log)
#define LOG_RATIO F(il_log_ratio)

/* One entry of a log-sum-exp loop against the centre ctr, in an IL_SIMD_FOR body: v, its
 * d = v - ctr and e = exp(d); an entry tied at the maximum (top_at) counts in ks, any other
 * adds e to rs. */
#define IL_LSE_ENTRY(x_j)                                                                   \
    R v = (x_j);                                                                            \
    R d = v - ctr;                                                                          \
    R e = EXP_LOW(d);                                                                       \
    int top = v == top_at;                                                                  \
    rs += ok & !top ? e : (R)0;                                                             \
    ks += top & ok ? (R)1 : (R)0

/* exp(x) of a raw log-probability (<= 0 where valid): il_exp_low, bit for bit il_exp in
 * its domain and free of il_exp's float-to-int conversion (AVX2 has none for double), and
 * +inf beyond (a row holding such an entry fails the mass check either way). */
static inline R F(exp_raw)(R x) {
    return x <= F(IL_LOW_MAX) ? EXP_LOW(x) : (x != x ? x : (R)INFINITY);
}

/* A power of two a with m a far from over- and underflow, for finite m > 0. */
static inline R F(pow2_scale)(R m) {
    return m < (R)8.673617379884035e-19 ? (R)18446744073709551616.0
           : (m > (R)1.152921504606847e18 ? (R)5.421010862427522e-20 : (R)1);
}

/* max(x), NaN entries ignored where the vector maximum allows (a NaN row is caught by its
 * sums); -inf (or the lowest finite value) for an all -inf chunk. */
static inline R F(chunk_max)(const R *x, ptrdiff_t n) {
    R m = -INFINITY;
    IL_SIMD_FOR(VW, n, "omp simd reduction(max : m)", m = x[j] > m ? x[j] : m;);
    return m;
}

/* NaN and +inf entries of a log row; a logit row of all -inf counts 1. */
static int64_t F(count_bad_log)(const R *x, ptrdiff_t n, int logits) {
    int64_t nb = 0, live = 0;
    for (ptrdiff_t j = 0; j < n; j++) {
        nb += (x[j] != x[j]) | (x[j] == INFINITY);
        live += x[j] > -INFINITY;
    }
    return (logits && nb == 0 && live == 0) ? 1 : nb;
}

/* Negative, NaN and +inf entries of a probability row read as given. */
static int64_t F(count_bad_prob)(const R *x, ptrdiff_t n) {
    int64_t nb = 0;
    for (ptrdiff_t j = 0; j < n; j++) nb += !((x[j] >= (R)0) & (x[j] < INFINITY));
    return nb;
}

/* Row i of a (., c) array with column stride s1: in place, or gathered into g. */
static inline const R *F(row_at)(const R *X, int64_t i, int64_t s0, int64_t s1, ptrdiff_t c,
                                 R *g) {
    const R *x = X + i * s0;
    if (s1 == 1) return x;
    for (ptrdiff_t j = 0; j < c; j++) g[j] = x[j * s1];
    return g;
}

/* Log-sum-exp of a log row, online over chunks: m the maximum, k the entries equal to it,
 * rest = sum e^(x - m) over the others, t = sum e^d d (want_t).  With ``store``, each chunk's
 * exps relative to its centre (the running maximum then, 0 while it is -inf) go to buf and
 * the centres to cen.  Each chunk's loop also takes the maximum of the chunk after it, so
 * that a row is read in one loop a chunk, the next chunk's loads overlapping this one's exp
 * arithmetic; only the first chunk's maximum has a loop of its own.  (With the maximum in a
 * loop of its own for every chunk, the float64 entropy of 256 rows of 262144 logits took
 * 150 ms on one thread against 114 ms.)  With a row y of Q (my: Q's maximum; y NULL for
 * none), the same loop takes the cross-entropy's sums (ce_pass's, chunk by chunk):
 * ce[0] = sum e (my - y) over the entries with e > 0, rescaled with rest where the running
 * maximum rises, and ce[1] = the number of entries with x > -inf at y = -inf. */
static inline __attribute__((always_inline)) void F(lse_row)(const R *x, ptrdiff_t c, int store,
                                                             int want_t, R *buf, R *cen,
                                                             const R *y, R my, double *ce,
                                                             R *m_out, double *k_out,
                                                             double *rest_out, double *t_out) {
    R m = -INFINITY;
    double k = 0.0, rest = 0.0, t = 0.0, sce = 0.0, ninf = 0.0;
    const R cq = my > -INFINITY ? my : (R)0;
    ptrdiff_t ci = 0;
    if (c > IL_CHUNK) il_prefetch(x, IL_PF_AHEAD, IL_PF_AHEAD);
    R cm = F(chunk_max)(x, c < IL_CHUNK ? c : IL_CHUNK);
    for (ptrdiff_t c0 = 0; c0 < c; c0 += IL_CHUNK, ci++) {
        ptrdiff_t n = c - c0 < IL_CHUNK ? c - c0 : IL_CHUNK;
        const R *xc0 = x + c0, *yc0 = y ? y + c0 : NULL;
        const ptrdiff_t sub = IL_SUB_BYTES / (ptrdiff_t)sizeof(R);
        if (cm > m) {
            if (k > 0.0) { /* every term so far scales by e^-delta */
                double delta = (double)cm - (double)m;
                double f = il_exp_d(-delta);
                if (want_t) t = f * (t - delta * (k + rest));
                rest = (rest + k) * f;
                sce *= f;
                k = 0.0;
            }
            m = cm;
        }
        R ctr = m > -INFINITY ? m : (R)0;
        /* the entries tied at the maximum; none while it is -inf (those entries add 0) */
        R top_at = m > -INFINITY ? m : (R)NAN;
        R rs = 0, ks = 0, ts = 0, cs = 0, cn = 0, nm = -INFINITY;
        R *b0p = store ? buf + c0 : NULL;
#define IL_LSE_ROW_BODY                                                                     \
    IL_LSE_ENTRY(xc[j]);                                                                    \
    R te = e > (R)0 ? e * d : (R)0;                                                         \
    if (want_t) ts += ok ? te : (R)0;                                                       \
    if (store) b[j] = e;                                                                    \
    if (y) {                                                                                \
        R u = yc[j];                                                                        \
        R tc = e > (R)0 ? e * (cq - u) : (R)0;                                              \
        cs += ok ? tc : (R)0;                                                               \
        cn += ok & (v > -INFINITY) & (u == -INFINITY) ? (R)1 : (R)0;                        \
    }
        if (c0 + IL_CHUNK < c) {
            /* the next chunk's maximum in this chunk's loop: a shorter last chunk is read
             * ending at the row's end, the entries before it being this chunk's (<= m) */
            ptrdiff_t nn = c - c0 - IL_CHUNK < IL_CHUNK ? c - c0 - IL_CHUNK : IL_CHUNK;
            const R *nx0 = xc0 + nn;
#define IL_LSE_ROW_PIPE                                                                     \
    IL_LSE_ROW_BODY                                                                         \
    R w = nx[j];                                                                            \
    nm = w > nm ? w : nm;
            /* in blocks (IL_SUB_BYTES, pieces.h), each prefetching the memory ahead of its
             * reads of nx (and y) */
            for (ptrdiff_t b0 = 0; b0 < n;) {
                const ptrdiff_t bn = n - b0 >= 2 * sub ? sub : n - b0;
                const R *xc = xc0 + b0, *nx = nx0 + b0, *yc = y ? yc0 + b0 : NULL;
                R *b = store ? b0p + b0 : NULL;
                il_prefetch(nx, IL_SUB_AHEAD, (int64_t)sizeof(R) * bn);
                if (y) il_prefetch(yc, IL_SUB_AHEAD, (int64_t)sizeof(R) * bn);
                /* the cross-entropy's lanes only where they are wanted (gcc keeps an unused
                 * reduction's lanes and their final sum) */
                if (y)
                    IL_SIMD_FOR(VW, bn,
                                "omp simd reduction(+ : rs, ks, ts, cs, cn) reduction(max : nm)",
                                IL_LSE_ROW_PIPE);
                else
                    IL_SIMD_FOR(VW, bn, "omp simd reduction(+ : rs, ks, ts) reduction(max : nm)",
                                IL_LSE_ROW_PIPE);
                b0 += bn;
            }
#undef IL_LSE_ROW_PIPE
        } else {
            const R *xc = xc0, *yc = yc0;
            R *b = b0p;
            /* a last chunk (in memory when it followed another): memory ahead to L2 */
            il_prefetch(xc, 2 * IL_PF_AHEAD, (int64_t)sizeof(R) * n);
            if (y) il_prefetch(yc, IL_PF_AHEAD, (int64_t)sizeof(R) * n);
            if (y)
                IL_SIMD_FOR(VW, n, "omp simd reduction(+ : rs, ks, ts, cs, cn)", IL_LSE_ROW_BODY);
            else
                IL_SIMD_FOR(VW, n, "omp simd reduction(+ : rs, ks, ts)", IL_LSE_ROW_BODY);
        }
#undef IL_LSE_ROW_BODY
        if (store) cen[ci] = ctr;
        rest += (double)rs;
        k += (double)ks;
        t += (double)ts;
        sce += (double)cs;
        ninf += (double)cn;
        cm = nm;
    }
    *m_out = m;
    *k_out = k;
    *rest_out = rest;
    *t_out = t;
    if (y) {
        ce[0] = sce;
        ce[1] = ninf;
    }
}

/* A probability row relative to its maximum m (0 for a row of zeros; +inf entries are
 * bad and kept out of it): k entries equal to m, rest = sum x/m over the others,
 * t = sum r log r (want_t), nb the NaN, negative and +inf entries. */
static inline __attribute__((always_inline)) void F(scaled_row)(const R *x, ptrdiff_t c,
                                                                int want_t, R *m_out,
                                                                double *k_out, double *rest_out,
                                                                double *t_out, int64_t *nb_out) {
    R m = 0;
    double k = 0.0, rest = 0.0, t = 0.0, bad = 0.0;
    for (ptrdiff_t c0 = 0; c0 < c; c0 += IL_CHUNK) {
        ptrdiff_t n = c - c0 < IL_CHUNK ? c - c0 : IL_CHUNK;
        const R *xc = x + c0;
        il_prefetch(xc, IL_PF_AHEAD, (int64_t)sizeof(R) * n);
        R cm = F(chunk_max)(xc, n);
        if (cm > m && cm < INFINITY) {
            if (k > 0.0) {
                double f = (double)m / (double)cm;
                if (want_t) t = f * (t + (k + rest) * il_log_ratio_d((double)m, (double)cm));
                rest = (rest + k) * f;
                k = 0.0;
            }
            m = cm;
        }
        R rs = 0, ks = 0, ts = 0, cb = 0;
        if (m > 0) {
            R a = F(pow2_scale)(m);
            R inv = (R)1 / (m * a);
            IL_SIMD_FOR(VW, n, "omp simd reduction(+ : rs, ks, ts, cb)", {
                R v = xc[j];
                int top = v == m;
                R r = top ? (R)1 : (v * a) * inv;
                rs += ok & !top ? r : (R)0;
                ks += top & ok ? (R)1 : (R)0;
                cb += ok & !((v >= (R)0) & (v < INFINITY)) ? (R)1 : (R)0;
                R tr = r > (R)0 ? r * LOG(r > (R)0 ? r : (R)1) : (R)0;
                if (want_t) ts += ok ? tr : (R)0;
            });
        } else {
            IL_SIMD_FOR(VW, n, "omp simd reduction(+ : cb)", {
                R v = xc[j];
                cb += ok & !((v >= (R)0) & (v < INFINITY)) ? (R)1 : (R)0;
            });
        }
        rest += (double)rs;
        k += (double)ks;
        t += (double)ts;
        bad += (double)cb;
    }
    *m_out = m;
    *k_out = k;
    *rest_out = rest;
    *t_out = t;
    *nb_out = (int64_t)bad;
}

/* ------------------------------------------------------------------------- entropy */

/* lse_row's sums of a row of at most IL_CHUNK entries against its maximum m (taken
 * before), in the loop that takes the maximum of nx[0..c) (the next row, or the row itself
 * after the last): the next row's loads overlap this row's exp arithmetic, and every row
 * is read from memory once.  Every row of a block goes through this one loop (strided
 * rows gathered one ahead), so a row's bits depend on neither its neighbours nor its
 * layout; the sums are lse_row's, lane for lane, and so are the exps stored to buf
 * (``store``, the centre being the one chunk's). */
static inline __attribute__((always_inline)) R F(lse_short)(const R *x, const R *nx, ptrdiff_t c,
                                                            R m, int want_t, int store,
                                                            R *buf, double *k_out,
                                                            double *rest_out, double *t_out) {
    R ctr = m > -INFINITY ? m : (R)0;
    R top_at = m > -INFINITY ? m : (R)NAN;
    R rs = 0, ks = 0, ts = 0, nm = -INFINITY;
    /* this loop reads nx from memory: the row after it to L2 (where rows follow on) */
    il_prefetch(nx, (int64_t)sizeof(R) * c, (int64_t)sizeof(R) * c);
    /* no lanes for t where it is not wanted (gcc keeps an unused reduction's) */
#define IL_LSE_SHORT_BODY                                                                   \
    IL_LSE_ENTRY(x[j]);                                                                     \
    R te = e > (R)0 ? e * d : (R)0;                                                         \
    if (want_t) ts += ok ? te : (R)0;                                                       \
    if (store) buf[j] = e;                                                                  \
    R w = nx[j];                                                                            \
    nm = w > nm ? w : nm;
    if (want_t)
        IL_SIMD_FOR(VW, c, "omp simd reduction(+ : rs, ks, ts) reduction(max : nm)",
                    IL_LSE_SHORT_BODY);
    else
        IL_SIMD_FOR(VW, c, "omp simd reduction(+ : rs, ks) reduction(max : nm)",
                    IL_LSE_SHORT_BODY);
#undef IL_LSE_SHORT_BODY
    *rest_out = 0.0 + (double)rs;
    *k_out = 0.0 + (double)ks;
    *t_out = 0.0 + (double)ts;
    return nm;
}

/* A row's entropy and log-mass from its log-sum-exp sums (see lse_row) and ls =
 * log1p((k - 1) + rest), where they are ok. */
static inline void F(entropy_log_ok)(int mode, R m, double k, double rest, double t, double ls,
                                     double *out, int64_t *nbp, double *lmp) {
    double s = k + rest, fm = (double)m;
    *nbp = 0;
    *lmp = fm + ls;
    if (mode == IL_L_EXACT)
        *out = ls - t / s;
    else /* -sum e^z z = e^m (-t - m s): both parts >= 0 for m <= 0 */
        *out = fm > -745.2 ? il_exp_d(fm) * (-t - fm * s) : 0.0;
}

/* Whether a row's log-sum-exp sums are ok; where not, its outputs (bad count, log-mass,
 * NaN). */
static inline int F(entropy_log_bad)(const R *x, ptrdiff_t c, int logits, R m, double k,
                                     double rest, double *out, int64_t *nbp, double *lmp) {
    if (k > 0.0 && isfinite(rest) && isfinite(m)) return 0;
    int64_t nb = F(count_bad_log)(x, c, logits);
    *nbp = nb;
    *lmp = nb ? NAN : -INFINITY;
    *out = NAN;
    return 1;
}

/* Row i's entropy, log-mass and bad count from its log-sum-exp sums (see lse_row). */
static inline void F(entropy_log_out)(const R *x, ptrdiff_t c, int mode, int logits, R m,
                                      double k, double rest, double t, double *out,
                                      int64_t *nbp, double *lmp) {
    if (F(entropy_log_bad)(x, c, logits, m, k, rest, out, nbp, lmp)) return;
    F(entropy_log_ok)(mode, m, k, rest, t, il_log1p_d((k - 1.0) + rest), out, nbp, lmp);
}

/* The entropy of log rows r0..r1 of at most IL_CHUNK entries (see lse_short); g: two row
 * buffers where the rows are strided.  IL_LOG_BLOCK rows at a time: their sums, then their
 * logs together (il_log1p_block_d), then their entropies. */
static void F(entropy_short)(const R *P, int mode, int logits, int64_t s0, int64_t s1,
                             int64_t r0, int64_t r1, ptrdiff_t c, R *g, double *out,
                             int64_t *nbp, double *lmp) {
    if (r0 >= r1) return;
    R *ga = g, *gb = g ? g + c : NULL;
    const R *x = F(row_at)(P, r0, s0, s1, c, ga);
    R m = F(chunk_max)(x, c);
    double lg[IL_LOG_BLOCK] __attribute__((aligned(64)));
    double ks[IL_LOG_BLOCK], rs[IL_LOG_BLOCK], ts[IL_LOG_BLOCK];
    R ms[IL_LOG_BLOCK];
    int bad[IL_LOG_BLOCK];
    for (int64_t b0 = r0; b0 < r1; b0 += IL_LOG_BLOCK) {
        const int64_t b1 = r1 - b0 > IL_LOG_BLOCK ? b0 + IL_LOG_BLOCK : r1;
        for (int64_t i = b0; i < b1; i++) {
            const int64_t q = i - b0;
            const R *nx = i + 1 < r1 ? F(row_at)(P, i + 1, s0, s1, c, gb) : x;
            double k, rest, t;
            R nm = F(lse_short)(x, nx, c, m, 1, 0, NULL, &k, &rest, &t);
            bad[q] = F(entropy_log_bad)(x, c, logits, m, k, rest, out + i, nbp + i, lmp + i);
            lg[q] = bad[q] ? 0.0 : (k - 1.0) + rest;
            ks[q] = k;
            rs[q] = rest;
            ts[q] = t;
            ms[q] = m;
            m = nm;
            x = nx;
            R *sw = ga;
            ga = gb;
            gb = sw;
        }
        il_log1p_block_d(lg, b1 - b0);
        for (int64_t i = b0; i < b1; i++) {
            const int64_t q = i - b0;
            if (!bad[q])
                F(entropy_log_ok)(mode, ms[q], ks[q], rs[q], ts[q], lg[q], out + i, nbp + i,
                                  lmp + i);
        }
    }
}

/* The entropy of rows of probabilities as given: sum p, bad entries and -sum p log p in one
 * read.  *lmp gets the row's sum (NaN where it has bad entries): its log is the caller's
 * (il_logs_of_sums). */
static void F(entropy_raw_row)(const R *x, ptrdiff_t c, double *out, int64_t *nbp,
                               double *lmp) {
    double h = 0.0, s = 0.0;
    R lo = INFINITY; /* the least entry: with the sum, whether any is bad (pair_terms) */
    const ptrdiff_t sub = IL_SUB_BYTES / (ptrdiff_t)sizeof(R);
    for (ptrdiff_t c0 = 0; c0 < c; c0 += IL_CHUNK) {
        ptrdiff_t nn = c - c0 < IL_CHUNK ? c - c0 : IL_CHUNK;
        /* in blocks where the chunk holds two, as pair_terms */
        const int blocks = nn >= 2 * sub;
        if (!blocks) il_prefetch(x + c0, IL_PF_AHEAD, (int64_t)sizeof(R) * nn);
        /* the sums per lane (lanes.h) */
        R ch[VW], cs[VW], cl[VW];
        IL_LANES_SET(ch, VW, 0);
        IL_LANES_SET(cs, VW, 0);
        IL_LANES_SET(cl, VW, INFINITY);
        for (ptrdiff_t b0 = 0; b0 < nn;) {
            const ptrdiff_t bn = blocks && nn - b0 >= 2 * sub ? sub : nn - b0;
            const R *xc = x + c0 + b0;
            if (blocks) il_prefetch(xc, IL_SUB_AHEAD, (int64_t)sizeof(R) * bn);
            IL_LANES_FOR(VW, bn, {
                R v = xc[j];
                IL_LANE(cs) += ok ? v : (R)0;
                IL_LANE(cl) = ok & (v < IL_LANE(cl)) ? v : IL_LANE(cl);
                IL_LANE(ch) -= ok ? v * LOG(v > (R)0 ? v : (R)1) : (R)0;
            });
            b0 += bn;
        }
        h += (double)IL_FOLD_SUM(ch, VW);
        s += (double)IL_FOLD_SUM(cs, VW);
        const R cm = IL_FOLD_MIN(cl, VW);
        lo = cm < lo ? cm : lo;
    }
    const int64_t nb = isfinite(s) && lo >= (R)0 ? 0 : F(count_bad_prob)(x, c);
    *nbp = nb;
    *lmp = nb == 0 ? s : NAN;
    *out = nb == 0 ? h : NAN;
}

/* The entropy of one row of probabilities normalised relative to its maximum. */
static void F(entropy_scl_row)(const R *x, ptrdiff_t c, double *out, int64_t *nbp,
                               double *lmp) {
    R m;
    double k, rest, t;
    int64_t nb;
    F(scaled_row)(x, c, 1, &m, &k, &rest, &t, &nb);
    int ok = nb == 0 && k > 0.0;
    double ls = ok ? il_log1p_d((k - 1.0) + rest) : 0.0;
    *nbp = nb;
    *lmp = nb ? NAN : (m > 0 ? il_log_d((double)m) + ls : -INFINITY);
    /* H = log s - t/s: both parts >= 0 */
    *out = ok ? ls - t / (k + rest) : NAN;
}

/* The entropy of every other kind of row, the rows shared among the threads of the enclosing
 * parallel region; its own function, so that the short rows' code beside it leaves the
 * long rows' loops as they were compiled alone (inlined together, float32 logits of 1000
 * and 4000 entries took 7-9% longer). */
static __attribute__((noinline)) IL_WIDE void F(entropy_each)(const R *P, int mode, int logits,
                                                     int64_t s0, int64_t s1, int64_t n,
                                                     ptrdiff_t c, R *g, int mine, double *out,
                                                     int64_t *nbp, double *lmp) {
    const int64_t ch = il_piece_rows(n, c, IL_ROW_COST, omp_get_num_threads());
#pragma omp for schedule(dynamic, ch)
    for (int64_t i = 0; i < n; i++) {
        if (mine) continue;
        const R *x = F(row_at)(P, i, s0, s1, c, g);
        if (mode == IL_P_RAW) {
            F(entropy_raw_row)(x, c, out + i, nbp + i, lmp + i);
        } else if (mode == IL_P_SCL) {
            F(entropy_scl_row)(x, c, out + i, nbp + i, lmp + i);
        } else {
            R m;
            double k, rest, t;
            F(lse_row)(x, c, 0, 1, NULL, NULL, NULL, 0, NULL, &m, &k, &rest, &t);
            F(entropy_log_out)(x, c, mode, logits, m, k, rest, t, out + i, nbp + i, lmp + i);
        }
    }
    if (mode == IL_P_RAW) { /* the rows' sums to their logs */
        const int64_t nblk = (n + IL_LOG_BLOCK - 1) / IL_LOG_BLOCK;
#pragma omp for schedule(static)
        for (int64_t bi = 0; bi < nblk; bi++)
            il_logs_of_sums(lmp, bi * IL_LOG_BLOCK,
                            n - bi * IL_LOG_BLOCK > IL_LOG_BLOCK ? (bi + 1) * IL_LOG_BLOCK : n);
    }
}

static int F(entropy_rows)(const R *P, int mode, int logits, int64_t s0, int64_t s1, int64_t n,
                           ptrdiff_t c, double *out, int64_t *nbp, double *lmp) {
    const int logs = mode == IL_L_RAW || mode == IL_L_EXACT;
    const int short_logs = logs && c <= IL_CHUNK;
    int fail = 0;
#pragma omp parallel
    {
        size_t nbuf = s1 != 1 ? (short_logs ? 2 : 1) * (size_t)c : 0;
        R *g = nbuf ? (R *)malloc(sizeof(R) * nbuf) : NULL;
        int mine = nbuf && g == NULL;
        if (mine) {
#pragma omp atomic write
            fail = 1;
        }
        if (short_logs) {
            /* pieces of consecutive rows (pieces.h): each row's maximum comes from the loop
             * over the row before it */
            const int64_t np = il_pieces(n, c, IL_ROW_COST, omp_get_num_threads());
#pragma omp for schedule(dynamic, 1)
            for (int64_t p = 0; p < np; p++)
                if (!mine)
                    F(entropy_short)(P, mode, logits, s0, s1, il_piece_at(n, p, np),
                                     il_piece_at(n, p + 1, np), c, g, out, nbp, lmp);
        } else {
            F(entropy_each)(P, mode, logits, s0, s1, n, c, g, mine, out, nbp, lmp);
        }
        free(g);
    }
    return fail ? -1 : 0;
}

/* ------------------------------------------------------------------ two arguments */

/* What the terms pass needs of an argument: its maximum m, r = (x a) inv for scaled
 * probabilities, 1/s and log s; ok (no bad entry, some mass), nb and the log-mass. */
typedef struct {
    R m, a, inv, inv_s, ls;
    double inv_sd;
    int ok;
    int64_t nb;
    double lm;
} F(stats);

/* st's fields of a normalised log row from its log-sum-exp sums (see lse_row). */
static inline __attribute__((always_inline)) void F(stats_lse)(F(stats) *st, int logits,
                                                               const R *x, ptrdiff_t c, R m,
                                                               double k, double rest) {
    st->ok = k > 0.0 && isfinite(rest) && isfinite(m);
    st->m = m;
    if (st->ok) {
        double ls = il_log1p_d((k - 1.0) + rest);
        st->lm = (double)m + ls;
        st->inv_sd = 1.0 / (k + rest);
        st->inv_s = (R)st->inv_sd;
        st->ls = (R)ls;
    } else {
        st->nb = F(count_bad_log)(x, c, logits);
        st->lm = st->nb ? NAN : -INFINITY;
    }
}

static inline __attribute__((always_inline)) F(stats)
    F(stats_of)(int mode, int logits, const R *x, ptrdiff_t c, R *buf, R *cen) {
    F(stats) st = {0, 1, 1, 1, 0, 1.0, 1, 0, 0.0};
    if (mode == IL_P_SCL) {
        R m;
        double k, rest, t;
        int64_t nb;
        F(scaled_row)(x, c, 0, &m, &k, &rest, &t, &nb);
        st.ok = nb == 0 && k > 0.0;
        st.nb = nb;
        double ls = st.ok ? il_log1p_d((k - 1.0) + rest) : 0.0;
        st.lm = nb ? NAN : (m > 0 ? il_log_d((double)m) + ls : -INFINITY);
        st.m = m;
        if (st.ok) {
            st.a = F(pow2_scale)(m);
            st.inv = (R)1 / (m * st.a);
            st.inv_sd = 1.0 / (k + rest);
            st.inv_s = (R)st.inv_sd;
            st.ls = (R)ls;
        }
    } else if (mode == IL_L_EXACT) {
        R m;
        double k, rest, t;
        F(lse_row)(x, c, 1, 0, buf, cen, NULL, 0, NULL, &m, &k, &rest, &t);
        F(stats_lse)(&st, logits, x, c, m, k, rest);
    }
    return st;
}

/* The statistics of a normalised log row of at most IL_CHUNK entries, its maximum m taken
 * before; returns the maximum of nx (see lse_short). */
static inline __attribute__((always_inline)) R F(stats_short)(F(stats) *st, int logits,
                                                              const R *x, const R *nx,
                                                              ptrdiff_t c, R m, R *buf,
                                                              R *cen) {
    double k, rest, t;
    R nm = F(lse_short)(x, nx, c, m, 0, 1, buf, &k, &rest, &t);
    cen[0] = m > -INFINITY ? m : (R)0;
    *st = (F(stats)){0, 1, 1, 1, 0, 1.0, 1, 0, 0.0};
    F(stats_lse)(st, logits, x, c, m, k, rest);
    return nm;
}

typedef struct {
    int pos;
    R p, lp;
} F(entry);

/* (p > 0, p, log p) of one entry; log p is meaningless (finite) where p = 0.  ``e`` is the
 * stored exp of a normalised log argument, ``f`` its chunk's factor (1/s otherwise). */
static inline __attribute__((always_inline)) F(entry)
    F(decode)(int mode, R x, R e, const F(stats) *st, R f) {
    F(entry) o;
    if (mode == IL_P_RAW) {
        o.pos = x > (R)0;
        o.p = x;
        o.lp = LOG(o.pos ? x : (R)1);
    } else if (mode == IL_P_SCL) {
        o.pos = x > (R)0;
        R r = x == st->m ? (R)1 : (x * st->a) * st->inv;
        o.p = r * f;
        o.lp = LOG(r > (R)0 ? r : (R)1) - st->ls;
    } else if (mode == IL_L_RAW) {
        o.pos = x > -INFINITY;
        o.p = F(exp_raw)(x);
        o.lp = x;
    } else {
        o.pos = x > -INFINITY;
        o.p = e * f;
        o.lp = (x - st->m) - st->ls;
    }
    return o;
}

/* p delta - p + q >= 0 for finite delta = log p - log q: q h(delta) for |delta| <= 1 (no
 * cancellation), the direct form beyond. */
static inline __attribute__((always_inline)) R F(kl_term)(R p, R q, R delta) {
    int small = (delta <= (R)1) & (delta >= (R)-1);
    R ds = small ? delta : (R)0;
    return small ? q * (F(il_klg)(ds) * ds * ds) : p * (delta - (R)1) + q;
}

/* f(d) = (1 + d) log1p(d) + (1 - d) log1p(-d) >= 0 on [-1, 1]: a polynomial in d^2 for
 * |d| <= 1/2 (every term of its series > 0); beyond, with b = 1 - |d| (exact), a polynomial
 * for (2 - b) log(2 - b) plus b log b. */
static inline __attribute__((always_inline)) R F(js_excess)(R d) {
    R a = d < (R)0 ? -d : d;
    int small = a <= (R)0.5;
    R s = small ? a : (R)0;
    R b = (R)1 - a;
    R bf = small ? (R)0 : b;
    R bl = b > (R)0 ? b : (R)1;
    R far = F(il_jsf)(bf) + b * LOG(bl);
    return small ? F(il_jsn)(s * s) * (s * s) : far;
}

/* (term, 1 where it is +inf) of one outcome. */
typedef struct {
    R t, inf;
} F(term_t);

static inline __attribute__((always_inline)) F(term_t) F(term)(int code, F(entry) P, F(entry) Q) {
    int both = P.pos & Q.pos;
    F(term_t) o = {0, P.pos & !Q.pos ? (R)1 : (R)0};
    if (code == T_CE) {
        o.t = both ? -(P.p * Q.lp) : (R)0;
    } else if (code == T_KL_EXACT) {
        R delta = (both ? P.lp : (R)0) - (both ? Q.lp : (R)0);
        o.t = both ? F(kl_term)(P.p, Q.p, delta) : (Q.pos ? Q.p : (R)0);
    } else if (code == T_KL_PROBS) {
        o.t = both ? P.p * LOG_RATIO(both ? P.p : (R)1, both ? Q.p : (R)1) : (R)0;
    } else if (code == T_KL_MIXED) {
        o.t = both ? P.p * ((both ? P.lp : (R)0) - (both ? Q.lp : (R)0)) : (R)0;
    } else {
        /* Jensen-Shannon: (p + q)/4 f(d), 0 where p + q = 0 (an outcome of probability 0
         * on both sides, whatever its log says) */
        R tot = P.p + Q.p;
        int either = tot > (R)0;
        /* p = q compared as rounded values: with p and q products, p - q may be contracted
         * into a multiply-add that rounds one side only */
        R diff = P.p == Q.p ? (R)0 : P.p - Q.p;
        R d = either ? diff / tot : (R)0;
        o.t = either ? tot * (R)0.25 * F(js_excess)(d) : (R)0;
        o.inf = 0;
    }
    return o;
}

/* Per-thread scratch of the pair kernels: stored exps and chunk centres of normalised log
 * arguments (bp, cp; bq, cq), gathered rows of strided ones (gp, gq). */
typedef struct {
    R *bp, *cp, *bq, *cq, *gp, *gq;
} F(scratch);

/* ng: the gathered rows each strided argument needs (two where rows are gathered ahead). */
static int F(scratch_alloc)(F(scratch) *s, int ep, int eq, int gp, int gq, ptrdiff_t c,
                            size_t ng) {
    ptrdiff_t nch = (c + IL_CHUNK - 1) / IL_CHUNK;
    s->bp = ep ? (R *)malloc(sizeof(R) * (size_t)(c + nch)) : NULL;
    s->bq = eq ? (R *)malloc(sizeof(R) * (size_t)(c + nch)) : NULL;
    s->gp = gp ? (R *)malloc(sizeof(R) * ng * (size_t)c) : NULL;
    s->gq = gq ? (R *)malloc(sizeof(R) * ng * (size_t)c) : NULL;
    s->cp = s->bp ? s->bp + c : NULL;
    s->cq = s->bq ? s->bq + c : NULL;
    return (ep && !s->bp) || (eq && !s->bq) || (gp && !s->gp) || (gq && !s->gq);
}

static void F(scratch_free)(F(scratch) *s) {
    free(s->bp);
    free(s->bq);
    free(s->gp);
    free(s->gq);
}

/* One entry of the pair kernels' terms loops, in a lanes.h loop (ok, il_l): u = U of P (E its
 * stored exp), v = V of Q (FE); its term, its +inf flag and, for a raw argument, its sum and
 * least entry, each added to its lane (sums per lane: lanes.h).  The raw modes' sums are
 * kept only where a raw argument needs them (a row's fixed cost). */
#define IL_PAIR_BODY(U, V, E, FE)                                                           \
        R u = (U), v = (V);                                                                 \
        F(entry) pe = F(decode)(mp, u, (E), &sp, fp);                                       \
        F(entry) qe = F(decode)(mq, v, (FE), &sq, fq);                                      \
        F(term_t) tt = F(term)(code, pe, qe);                                               \
        IL_LANE(ct) += ok ? tt.t : (R)0;                                                    \
        IL_LANE(cinf) += ok ? tt.inf : (R)0;                                                \
        if (mp == IL_P_RAW) {                                                               \
            IL_LANE(csp) += ok ? u : (R)0;                                                  \
            IL_LANE(cmp) = ok & (u < IL_LANE(cmp)) ? u : IL_LANE(cmp);                      \
        } else if (mp == IL_L_RAW) {                                                        \
            IL_LANE(csp) += ok ? pe.p : (R)0;                                               \
        }                                                                                   \
        if (mq == IL_P_RAW) {                                                               \
            IL_LANE(csq) += ok ? v : (R)0;                                                  \
            IL_LANE(cmq) = ok & (v < IL_LANE(cmq)) ? v : IL_LANE(cmq);                      \
        } else if (mq == IL_L_RAW) {                                                        \
            IL_LANE(csq) += ok ? qe.p : (R)0;                                               \
        }

/* IL_PAIR_BODY's lanes, declared and set: sums at 0, least entries at +inf. */
#define IL_PAIR_LANES                                                                       \
    R ct[VW], cinf[VW], csp[VW], csq[VW], cmp[VW], cmq[VW];                                 \
    IL_LANES_SET(ct, VW, 0);                                                                \
    IL_LANES_SET(cinf, VW, 0);                                                              \
    IL_LANES_SET(csp, VW, 0);                                                               \
    IL_LANES_SET(csq, VW, 0);                                                               \
    IL_LANES_SET(cmp, VW, INFINITY);                                                        \
    IL_LANES_SET(cmq, VW, INFINITY)

/* The results of one row of the pair kernels from its sums: acc of the terms, ninf of the
 * +inf flags, sump and sumq of raw arguments (with their least entries minp, minq). */
static inline __attribute__((always_inline)) void F(pair_finish)(
    int mp, int mq, const R *x, const R *y, ptrdiff_t c, F(stats) sp, F(stats) sq, double acc,
    double ninf, double sump, double sumq, R minp, R minq, double *out, int64_t *nbp,
    int64_t *nbq, double *lmp, double *lmq) {
    /* a log argument read as given: NaN or +inf entries make its sum of exps NaN or +inf
     * (as may a finite sum's overflow: counted, none are bad) */
    if (mp == IL_P_RAW || mp == IL_L_RAW) {
        const int sure = isfinite(sump) && (mp == IL_L_RAW || minp >= (R)0);
        sp.nb = sure ? 0 : (mp == IL_P_RAW ? F(count_bad_prob)(x, c) : F(count_bad_log)(x, c, 0));
        sp.ok = sp.nb == 0;
        sp.lm = sp.ok ? sump : NAN; /* its log: il_logs_of_sums */
    }
    if (mq == IL_P_RAW || mq == IL_L_RAW) {
        const int sure = isfinite(sumq) && (mq == IL_L_RAW || minq >= (R)0);
        sq.nb = sure ? 0 : (mq == IL_P_RAW ? F(count_bad_prob)(y, c) : F(count_bad_log)(y, c, 0));
        sq.ok = sq.nb == 0;
        sq.lm = sq.ok ? sumq : NAN;
    }
    *nbp = sp.nb;
    *nbq = sq.nb;
    *lmp = sp.lm;
    *lmq = sq.lm;
    *out = !(sp.ok && sq.ok) ? NAN : (ninf > 0.0 ? INFINITY : acc);
}

/* The terms pass of one row of a measure of two arguments, their statistics sp, sq taken. */
static inline __attribute__((always_inline)) void F(pair_terms)(
    int code, int mp, int mq, const R *x, const R *y, ptrdiff_t c, const F(scratch) *sc,
    F(stats) sp, F(stats) sq, double *out, int64_t *nbp, int64_t *nbq, double *lmp,
    double *lmq) {
    const int ep = mp == IL_L_EXACT, eq = mq == IL_L_EXACT;
    const R *bp = sc->bp, *bq = sc->bq, *cp = sc->cp, *cq = sc->cq;
    double acc = 0.0, ninf = 0.0, sump = 0.0, sumq = 0.0;
    /* a raw argument's least entry (probabilities): with its sum, whether any entry is bad
     * (< 0, or NaN or +inf, which make the sum NaN or +inf), counted only then */
    R minp = INFINITY, minq = INFINITY;
    ptrdiff_t ci = 0;
    for (ptrdiff_t c0 = 0; c0 < c; c0 += IL_CHUNK, ci++) {
        ptrdiff_t nn = c - c0 < IL_CHUNK ? c - c0 : IL_CHUNK;
        const R *xc0 = x + c0, *yc0 = y + c0;
        const R *ec0 = ep ? bp + c0 : xc0, *fc0 = eq ? bq + c0 : yc0;
        const int multi = c > IL_CHUNK;
        /* a chunk of at least two blocks in blocks (IL_SUB_BYTES, pieces.h), each
         * prefetching the memory ahead of it, where this loop reads the row from memory:
         * an argument read as given, or a long row (a short one is in cache after its
         * statistics' loop); else the chunk ahead is prefetched at its head */
        const ptrdiff_t sub = IL_SUB_BYTES / (ptrdiff_t)sizeof(R);
        const int blocks = nn >= 2 * sub && (multi || IL_RAW_MODE(mp) || IL_RAW_MODE(mq));
        if (!blocks) {
            const int64_t span = (int64_t)sizeof(R) * nn;
            il_prefetch(xc0, IL_PF_AHEAD, span);
            il_prefetch(yc0, IL_PF_AHEAD, span);
            if (ep) il_prefetch(ec0, IL_PF_AHEAD, span);
            if (eq) il_prefetch(fc0, IL_PF_AHEAD, span);
        }
        /* a normalised log argument's stored exps are relative to its chunk's centre:
         * p = e exp(centre - m)/s; a row of one chunk is centred on its maximum (exp 0 =
         * 1; a row without a finite maximum is not ok, its terms unused) */
        R fp = ep && multi ? (R)(il_exp_d((double)cp[ci] - (double)sp.m) * sp.inv_sd)
                           : sp.inv_s;
        R fq = eq && multi ? (R)(il_exp_d((double)cq[ci] - (double)sq.m) * sq.inv_sd)
                           : sq.inv_s;
        IL_PAIR_LANES;
        for (ptrdiff_t b0 = 0; b0 < nn;) {
            const ptrdiff_t bn = blocks && nn - b0 >= 2 * sub ? sub : nn - b0;
            const R *xc = xc0 + b0, *yc = yc0 + b0, *ec = ec0 + b0, *fc = fc0 + b0;
            if (blocks) {
                /* [b0, b0 + bn) ahead: the blocks' spans follow on, into the next row */
                const int64_t span = (int64_t)sizeof(R) * bn;
                il_prefetch(xc, IL_SUB_AHEAD, span);
                il_prefetch(yc, IL_SUB_AHEAD, span);
                if (ep) il_prefetch(ec, IL_SUB_AHEAD, span);
                if (eq) il_prefetch(fc, IL_SUB_AHEAD, span);
            }
            IL_LANES_FOR(VW, bn, IL_PAIR_BODY(xc[j], yc[j], ec[j], fc[j]));
            b0 += bn;
        }
        acc += (double)IL_FOLD_SUM(ct, VW);
        ninf += (double)IL_FOLD_SUM(cinf, VW);
        if (IL_RAW_MODE(mp)) sump += (double)IL_FOLD_SUM(csp, VW);
        if (IL_RAW_MODE(mq)) sumq += (double)IL_FOLD_SUM(csq, VW);
        if (mp == IL_P_RAW) {
            R m = IL_FOLD_MIN(cmp, VW);
            minp = m < minp ? m : minp;
        }
        if (mq == IL_P_RAW) {
            R m = IL_FOLD_MIN(cmq, VW);
            minq = m < minq ? m : minq;
        }
    }
    F(pair_finish)(mp, mq, x, y, c, sp, sq, acc, ninf, sump, sumq, minp, minq, out, nbp, nbq,
                   lmp, lmq);
}
/* The longest rows pair_cols takes (beyond, its transposes cost more than the per-row
 * set-up they save: float32 KL, rows of 40 0.80x the per-row loops' time, of 64 1.07x;
 * float64, of 20 0.79x, of 24 1.05x). */
#define IL_COLS_MAXC ((ptrdiff_t)(sizeof(R) == 4 ? 40 : 20))
#define IL_COLS_AHEAD 4
/* The VW rows of c entries at x, row stride s0, IL_COLS_AHEAD groups of VW rows on, into L2:
 * a line in two where the rows are contiguous (the L2 streamer fetches lines in pairs), the
 * lines of each row where only its entries are (il_prefetch); none for other strides. */
static inline void F(cols_prefetch)(const R *x, int64_t s0, int64_t s1, ptrdiff_t c) {
    const int64_t ahead = (int64_t)sizeof(R) * IL_COLS_AHEAD * VW * s0;
    if (s1 != 1) return;
    if (s0 == c) {
        const char *b = (const char *)x + ahead;
        for (int64_t o = 0; o < (int64_t)sizeof(R) * VW * c; o += 2 * IL_LINE)
            __builtin_prefetch(b + o, 0, 2);
    } else {
        for (ptrdiff_t l = 0; l < VW; l++) il_prefetch(x + l * s0, ahead, (int64_t)sizeof(R) * c);
    }
}

/* A thread's totals from pair_cols where only totals are asked for: the least and the
 * largest mass sum of each argument's rows, lane by lane (in the data's type; their logs are
 * taken once, by cols_close).  Groups of rows with a bad entry add their per-row results to
 * an il_acc instead. */
typedef struct {
    R lo[2][VW] __attribute__((aligned(64)));
    R hi[2][VW] __attribute__((aligned(64)));
} F(cols_lanes);

static inline void F(cols_open)(F(cols_lanes) *cl) {
    for (int a = 0; a < 2; a++) {
        IL_LANES_SET(cl->lo[a], VW, INFINITY);
        IL_LANES_SET(cl->hi[a], VW, -INFINITY);
    }
}

/* The log-mass of rows whose mass sum is s, as pair_cols gives it (+inf for an overflowed
 * sum, -inf for no mass; +inf and -inf also for no rows, the empty least and largest),
 * moved one ulp of R outward (down for the least, ``up`` for the largest): a bound of the
 * rows' log-masses that holds whichever way LOG rounds between neighbouring sums. */
static inline double F(log_bound)(R s, int up) {
    if (!(s > (R)0)) return s == (R)0 ? -INFINITY : (double)s;
    if (s == (R)INFINITY) return INFINITY;
    const R l = LOG(s);
#define IL_NEXT(x, y) _Generic((x), float: nextafterf, double: nextafter)(x, y)
    return (double)IL_NEXT(l, up ? (R)INFINITY : -(R)INFINITY);
#undef IL_NEXT
}

/* acc[a] += the log-mass bounds of cl's lanes, argument a. */
static inline void F(cols_close)(const F(cols_lanes) *cl, il_acc *acc) {
    for (int a = 0; a < 2; a++) {
        R lo = INFINITY, hi = -INFINITY;
        for (ptrdiff_t l = 0; l < VW; l++) {
            lo = cl->lo[a][l] < lo ? cl->lo[a][l] : lo;
            hi = cl->hi[a][l] > hi ? cl->hi[a][l] : hi;
        }
        const double dlo = F(log_bound)(lo, 0), dhi = F(log_bound)(hi, 1);
        acc[a].lo = dlo < acc[a].lo ? dlo : acc[a].lo;
        acc[a].hi = dhi > acc[a].hi ? dhi : acc[a].hi;
    }
}

/* Rows r0 .. r0 + nr (nr <= VW) of two raw arguments (probabilities or log-probabilities as
 * given), of at most IL_COLS_MAXC entries, a row a lane: the rows are turned into columns
 * (il_cols: lane l of column j is entry j of row r0 + l; lanes past nr are zeros), and each
 * column is one vector step of pair_terms' body.  Each row's sums are then lanes of their
 * own from the start: no fold, no per-row set-up or scalar checks (those took most of a
 * row's time at 31 entries even with pair_terms' per-lane sums).  A row's sums run along
 * the row in order, whatever its neighbours, its place in the batch or its strides, so its
 * bits are the same in any batch.  On the 2-core AVX-512 Xeon, against the per-row loops:
 * float32 KL, JS and cross-entropy of 65536 rows of 31 probabilities 0.80-0.81x the time,
 * of 203161 rows of 10 0.24-0.25x; float64, rows of 10 0.58-0.61x. */
static inline __attribute__((always_inline)) void F(pair_cols)(
    int code, int mp, int mq, const R *P, int64_t sp0, int64_t sp1, const R *Q, int64_t sq0,
    int64_t sq1, int64_t r0, int nr, ptrdiff_t c, double *out, int64_t *nbp, int64_t *nbq,
    double *lmp, double *lmq, il_acc *acc, F(cols_lanes) *cl) {
#if IL_COLS
    const R *x = P + r0 * sp0, *y = Q + r0 * sq0;
    const F(stats) sp = {0, 1, 1, 1, 0, 1.0, 1, 0, 0.0}, sq = sp;
    const R fp = 1, fq = 1;
    IL_PAIR_LANES;
    R tx[IL_COLS_MAXC * VW] __attribute__((aligned(64)));
    R ty[IL_COLS_MAXC * VW] __attribute__((aligned(64)));
    /* the rows IL_COLS_AHEAD groups on, into L2 (beyond the last row: harmless) */
    F(cols_prefetch)(x, sp0, sp1, c);
    F(cols_prefetch)(y, sq0, sq1, c);
    F(il_cols)(tx, x, sp0, sp1, c, nr);
    F(il_cols)(ty, y, sq0, sq1, c, nr);
    /* probabilities on both sides: fewer steps an entry than pair_terms' body.  A term's
     * +inf (p > 0 = q) comes out of the term itself (log q taken as -inf at q = 0, its
     * product with p > 0 added only there), and a negative entry shows in the sign bits of
     * all entries OR-ed together instead of two minima (a -0 then sends the row to
     * pair_finish's count, which finds it good) */
    const int probs = mp == IL_P_RAW && mq == IL_P_RAW && code == T_CE;
    IT cneg[VW];
    IL_LANES_SET(cneg, VW, 0);
    for (ptrdiff_t j = 0; probs && j < c; j++) {
        const R *xj = tx + j * VW, *yj = ty + j * VW;
        _Pragma("omp simd") for (ptrdiff_t il_l = 0; il_l < VW; il_l++) {
            const R u = xj[il_l], v = yj[il_l];
            IL_LANE(csp) += u;
            IL_LANE(csq) += v;
            IL_LANE(cneg) |= F(il_bits)(u) | F(il_bits)(v);
            R lq = LOG(v > (R)0 ? v : (R)1);
            lq = v > (R)0 ? lq : -(R)INFINITY;
            IL_LANE(ct) = u > (R)0 ? IL_LANE(ct) - u * lq : IL_LANE(ct);
        }
    }
    for (ptrdiff_t j = 0; !probs && j < c; j++) {
        const int ok = 1;
        const R *xj = tx + j * VW, *yj = ty + j * VW;
        _Pragma("omp simd") for (ptrdiff_t il_l = 0; il_l < VW; il_l++) {
            IL_PAIR_BODY(xj[il_l], yj[il_l], (R)0, (R)0)
        }
    }
    if (probs)
        for (ptrdiff_t l = 0; l < VW; l++) cmp[l] = cmq[l] = cneg[l] < 0 ? (R)-1 : (R)0;
    /* pair_finish's results for the lanes at once, the mass sums' logs a vector of them in
     * the data's type (a sum in that type, log-ed); where a row has a bad entry (rare), the
     * lanes' rows again through pair_finish, which counts the bad entries (logs kept) */
    int bad = 0;
    double vo[VW], vp[VW], vq[VW];
    _Pragma("omp simd reduction(| : bad)") for (ptrdiff_t l = 0; l < VW; l++) {
        const double up = (double)csp[l], uq = (double)csq[l];
        bad |= !(isfinite(up) && (mp == IL_L_RAW || cmp[l] >= (R)0));
        bad |= !(isfinite(uq) && (mq == IL_L_RAW || cmq[l] >= (R)0));
        vo[l] = cinf[l] > (R)0 ? INFINITY : (double)ct[l];
    }
    if (cl && !bad) { /* totals only, and no row is bad: the sums' bounds, lane by lane */
        _Pragma("omp simd") for (ptrdiff_t l = 0; l < VW; l++) {
            const int in = l < nr; /* (the lanes past nr: zeros) */
            cl->lo[0][l] = in & (csp[l] < cl->lo[0][l]) ? csp[l] : cl->lo[0][l];
            cl->hi[0][l] = in & (csp[l] > cl->hi[0][l]) ? csp[l] : cl->hi[0][l];
            cl->lo[1][l] = in & (csq[l] < cl->lo[1][l]) ? csq[l] : cl->lo[1][l];
            cl->hi[1][l] = in & (csq[l] > cl->hi[1][l]) ? csq[l] : cl->hi[1][l];
        }
        for (ptrdiff_t l = 0; l < nr; l++) out[r0 + l] = vo[l];
        return;
    }
    _Pragma("omp simd") for (ptrdiff_t l = 0; l < VW; l++) {
        const R lp = LOG(csp[l] > (R)0 ? csp[l] : (R)1), lq = LOG(csq[l] > (R)0 ? csq[l] : (R)1);
        vp[l] = csp[l] > (R)0 ? (double)lp : -INFINITY;
        vq[l] = csq[l] > (R)0 ? (double)lq : -INFINITY;
    }
    /* (lanes past nr: zeros, never bad) */
    int64_t bp[VW], bq[VW];
    for (ptrdiff_t l = 0; l < VW; l++) {
        bp[l] = bq[l] = 0;
        /* a sum that overflowed: its log +inf (LOG's value there is meaningless) */
        vp[l] = csp[l] == (R)INFINITY ? INFINITY : vp[l];
        vq[l] = csq[l] == (R)INFINITY ? INFINITY : vq[l];
    }
    for (ptrdiff_t l = 0; bad && l < nr; l++) {
        /* pair_finish makes the same checks, and gives a good row the results above */
        R rx[IL_COLS_MAXC], ry[IL_COLS_MAXC]; /* the row pair, for the counts */
        for (ptrdiff_t j = 0; j < c; j++) {
            rx[j] = tx[j * VW + l];
            ry[j] = ty[j * VW + l];
        }
        double gp, gq;
        F(pair_finish)(mp, mq, rx, ry, c, sp, sq, (double)ct[l], (double)cinf[l],
                       (double)csp[l], (double)csq[l], cmp[l], cmq[l], &vo[l], &bp[l], &bq[l],
                       &gp, &gq);
        vp[l] = gp != gp ? NAN : vp[l];
        vq[l] = gq != gq ? NAN : vq[l];
    }
    for (ptrdiff_t l = 0; l < nr; l++) out[r0 + l] = vo[l];
    if (acc) { /* the totals only (rows = 0) */
        il_acc_rows(&acc[0], bp, vp, 0, nr);
        il_acc_rows(&acc[1], bq, vq, 0, nr);
        return;
    }
    for (ptrdiff_t l = 0; l < nr; l++) {
        nbp[r0 + l] = bp[l];
        nbq[r0 + l] = bq[l];
        lmp[r0 + l] = vp[l];
        lmq[r0 + l] = vq[l];
    }
#else
    (void)code, (void)mp, (void)mq, (void)P, (void)sp0, (void)sp1, (void)Q, (void)sq0, (void)sq1;
    (void)r0, (void)nr, (void)c;
    (void)out, (void)nbp, (void)nbq, (void)lmp, (void)lmq, (void)acc, (void)cl;
#endif
}

/* The cross-entropy of one long row pair of normalised log arguments in two passes and
 * nothing stored, by ce_short's identity H(P, Q) = ls_q + (1/s_p) sum exp(x - mx) (my - y):
 * Q's log-sum-exp (lse_row), then P's with the cross-entropy's sums (lse_row with y).  (Through the stored exps and the
 * terms pass, float32 logits of 256 rows of 262144 took 1.4-1.5x the numba kernel.) */
static inline __attribute__((always_inline)) void F(ce_long)(const R *x, int lgp, const R *y,
                                                             int lgq, ptrdiff_t c, double *out,
                                                             int64_t *nbp, int64_t *nbq,
                                                             double *lmp, double *lmq) {
    R mx, my;
    double kq, rq, tq, kp, rp, tp, ce[2];
    F(lse_row)(y, c, 0, 0, NULL, NULL, NULL, 0, NULL, &my, &kq, &rq, &tq);
    F(lse_row)(x, c, 0, 0, NULL, NULL, y, my, ce, &mx, &kp, &rp, &tp);
    const double sce = ce[0], ninf = ce[1];
    const int okp = kp > 0.0 && isfinite(rp) && isfinite(mx);
    const int okq = kq > 0.0 && isfinite(rq) && isfinite(my);
    *nbp = okp ? 0 : F(count_bad_log)(x, c, lgp);
    *nbq = okq ? 0 : F(count_bad_log)(y, c, lgq);
    const double lp = okp ? il_log1p_d((kp - 1.0) + rp) : 0.0;
    const double lq = okq ? il_log1p_d((kq - 1.0) + rq) : 0.0;
    *lmp = okp ? (double)mx + lp : (*nbp ? NAN : -INFINITY);
    *lmq = okq ? (double)my + lq : (*nbq ? NAN : -INFINITY);
    *out = !(okp && okq) ? NAN : (ninf > 0.0 ? INFINITY : lq + sce / (kp + rp));
}

/* One row of a measure of two arguments: the statistics passes, then the terms pass. */
static inline __attribute__((always_inline)) void F(pair_row)(
    int code, int mp, int mq, const R *x, int lgp, const R *y, int lgq, ptrdiff_t c,
    const F(scratch) *sc, double *out, int64_t *nbp, int64_t *nbq, double *lmp, double *lmq) {
    if (code == T_CE && mp == IL_L_EXACT && mq == IL_L_EXACT) {
        F(ce_long)(x, lgp, y, lgq, c, out, nbp, nbq, lmp, lmq);
        return;
    }
    F(stats) sp = F(stats_of)(mp, lgp, x, c, sc->bp, sc->cp);
    F(stats) sq = F(stats_of)(mq, lgq, y, c, sc->bq, sc->cq);
    F(pair_terms)(code, mp, mq, x, y, c, sc, sp, sq, out, nbp, nbq, lmp, lmq);
}

/* The cross-entropy's pass over a short log row x of P against the row y of Q, with their
 * maxima mx (taken before) and my: lse_short's sums of x (k, rest) beside
 * sce = sum e (my - y) over the entries with e = exp(x - mx) > 0, and the number of entries
 * with x > -inf at y = -inf; the maximum of nx is returned (see lse_short). */
static inline __attribute__((always_inline)) R F(ce_pass)(const R *x, const R *nx, const R *y,
                                                          ptrdiff_t c, R mx, R my,
                                                          double *k_out, double *rest_out,
                                                          double *sce_out, double *inf_out) {
    R ctr = mx > -INFINITY ? mx : (R)0;
    R top_at = mx > -INFINITY ? mx : (R)NAN;
    R cq = my > -INFINITY ? my : (R)0;
    R rs = 0, ks = 0, sce = 0, ninf = 0, nm = -INFINITY;
    il_prefetch(nx, (int64_t)sizeof(R) * c, (int64_t)sizeof(R) * c); /* see lse_short */
    IL_SIMD_FOR(VW, c, "omp simd reduction(+ : rs, ks, sce, ninf) reduction(max : nm)", {
        IL_LSE_ENTRY(x[j]);
        R u = y[j];
        R te = e > (R)0 ? e * (cq - u) : (R)0;
        sce += ok ? te : (R)0;
        ninf += ok & (v > -INFINITY) & (u == -INFINITY) ? (R)1 : (R)0;
        R w = nx[j];
        nm = w > nm ? w : nm;
    });
    *rest_out = 0.0 + (double)rs;
    *k_out = 0.0 + (double)ks;
    *sce_out = 0.0 + (double)sce;
    *inf_out = 0.0 + (double)ninf;
    return nm;
}

/* The cross-entropy of short normalised log rows (logits, or log-probabilities normalised),
 * rows r0..r1, in two loops a row rather than three: with s_p = sum exp(x - mx) and
 * ls_q = log sum exp(y - my),
 *     H(P, Q) = -sum p log q = ls_q + (1/s_p) sum exp(x - mx) (my - y),
 * both parts >= 0, so the loop over x takes the terms' sum with its own exps and no row's
 * exps are stored.  Maxima and gathered rows as in pair_short. */
static inline __attribute__((always_inline)) void F(ce_short)(
    const R *P, int lgp, int64_t sp0, int64_t sp1, const R *Q, int lgq, int64_t sq0,
    int64_t sq1, int64_t r0, int64_t r1, ptrdiff_t c, const F(scratch) *sc, double *out,
    int64_t *nbp, int64_t *nbq, double *lmp, double *lmq) {
    if (r0 >= r1) return;
    R *gp[2] = {sc->gp, sc->gp ? sc->gp + c : NULL}, *gq[2] = {sc->gq, sc->gq ? sc->gq + c : NULL};
    const R *x = F(row_at)(P, r0, sp0, sp1, c, gp[0]), *y = F(row_at)(Q, r0, sq0, sq1, c, gq[0]);
    R mx = F(chunk_max)(x, c), my = F(chunk_max)(y, c);
    /* IL_LOG_BLOCK rows at a time: their sums, their two logs together, then the outputs */
    double lp[IL_LOG_BLOCK] __attribute__((aligned(64)));
    double lq[IL_LOG_BLOCK] __attribute__((aligned(64)));
    double sps[IL_LOG_BLOCK], sces[IL_LOG_BLOCK], infs[IL_LOG_BLOCK], mxs[IL_LOG_BLOCK],
        mys[IL_LOG_BLOCK];
    int oks[IL_LOG_BLOCK];
    for (int64_t b0 = r0; b0 < r1; b0 += IL_LOG_BLOCK) {
        const int64_t b1 = r1 - b0 > IL_LOG_BLOCK ? b0 + IL_LOG_BLOCK : r1;
        for (int64_t i = b0; i < b1; i++) {
            const int64_t q = i - b0;
            const int h = (int)((i - r0 + 1) & 1), more = i + 1 < r1;
            const R *nx = more ? F(row_at)(P, i + 1, sp0, sp1, c, gp[h]) : x;
            const R *ny = more ? F(row_at)(Q, i + 1, sq0, sq1, c, gq[h]) : y;
            double kq, rq, tq, kp, rp;
            R nmy = F(lse_short)(y, ny, c, my, 0, 0, NULL, &kq, &rq, &tq);
            R nmx = F(ce_pass)(x, nx, y, c, mx, my, &kp, &rp, &sces[q], &infs[q]);
            const int okp = kp > 0.0 && isfinite(rp) && isfinite(mx);
            const int okq = kq > 0.0 && isfinite(rq) && isfinite(my);
            /* a bad row's counts now, while its rows are at hand */
            nbp[i] = okp ? 0 : F(count_bad_log)(x, c, lgp);
            nbq[i] = okq ? 0 : F(count_bad_log)(y, c, lgq);
            lp[q] = okp ? (kp - 1.0) + rp : 0.0;
            lq[q] = okq ? (kq - 1.0) + rq : 0.0;
            oks[q] = okp | okq << 1;
            sps[q] = kp + rp;
            mxs[q] = (double)mx;
            mys[q] = (double)my;
            mx = nmx;
            my = nmy;
            x = nx;
            y = ny;
        }
        il_log1p_block_d(lp, b1 - b0);
        il_log1p_block_d(lq, b1 - b0);
        for (int64_t i = b0; i < b1; i++) {
            const int64_t q = i - b0;
            const int okp = oks[q] & 1, okq = oks[q] >> 1;
            lmp[i] = okp ? mxs[q] + lp[q] : (nbp[i] ? NAN : -INFINITY);
            lmq[i] = okq ? mys[q] + lq[q] : (nbq[i] ? NAN : -INFINITY);
            out[i] = !(okp && okq) ? NAN : (infs[q] > 0.0 ? INFINITY : lq[q] + sces[q] / sps[q]);
        }
    }
}

/* Rows r0..r1 of at most IL_CHUNK entries with a normalised log argument: its maximum comes
 * from the loop over the row before (stats_short); strided rows are gathered one row ahead
 * into the two halves of gp, gq, so every row runs the same loops whatever its layout. */
static inline __attribute__((always_inline)) void F(pair_short)(
    int code, int mp, int mq, const R *P, int lgp, int64_t sp0, int64_t sp1, const R *Q,
    int lgq, int64_t sq0, int64_t sq1, int64_t r0, int64_t r1, ptrdiff_t c,
    const F(scratch) *sc, double *out, int64_t *nbp, int64_t *nbq, double *lmp, double *lmq) {
    const int ep = mp == IL_L_EXACT, eq = mq == IL_L_EXACT;
    if (code == T_CE && ep && eq) {
        F(ce_short)(P, lgp, sp0, sp1, Q, lgq, sq0, sq1, r0, r1, c, sc, out, nbp, nbq, lmp, lmq);
        return;
    }
    if (r0 >= r1) return;
    R *gp[2] = {sc->gp, sc->gp ? sc->gp + c : NULL}, *gq[2] = {sc->gq, sc->gq ? sc->gq + c : NULL};
    const R *x = F(row_at)(P, r0, sp0, sp1, c, gp[0]), *y = F(row_at)(Q, r0, sq0, sq1, c, gq[0]);
    R mx = ep ? F(chunk_max)(x, c) : (R)0, my = eq ? F(chunk_max)(y, c) : (R)0;
    for (int64_t i = r0; i < r1; i++) {
        const int h = (int)((i - r0 + 1) & 1), more = i + 1 < r1;
        const R *nx = more ? F(row_at)(P, i + 1, sp0, sp1, c, gp[h]) : x;
        const R *ny = more ? F(row_at)(Q, i + 1, sq0, sq1, c, gq[h]) : y;
        F(stats) sp, sq;
        if (ep)
            mx = F(stats_short)(&sp, lgp, x, nx, c, mx, sc->bp, sc->cp);
        else
            sp = F(stats_of)(mp, lgp, x, c, sc->bp, sc->cp);
        if (eq)
            my = F(stats_short)(&sq, lgq, y, ny, c, my, sc->bq, sc->cq);
        else
            sq = F(stats_of)(mq, lgq, y, c, sc->bq, sc->cq);
        F(pair_terms)(code, mp, mq, x, y, c, sc, sp, sq, out + i, nbp + i, nbq + i, lmp + i,
                      lmq + i);
        x = nx;
        y = ny;
    }
}

/* Short rows of two normalised log arguments (logits) of at least IL_WIDE_MINC entries,
 * KL and JS, run with 512-bit vectors where IL_WIDE has them (pieces.h): their terms are
 * bound by arithmetic.  On the AVX-512 Xeon, old against new build: float64 JS of 65536
 * rows of 1000 logits 198 -> 152 ms, of 32768 rows of 128 12.2 -> 9.5 ms; shorter rows
 * (float64 31, float32 64) ran as fast or up to 1.46x slower, and keep gcc's vectors. */
#define IL_WIDE_MINC ((ptrdiff_t)(sizeof(R) == 8 ? 64 : 256))
#define IL_WIDE_SHORT(K, MP, MQ, c)                                                            \
    ((K) != IL_CROSS_ENTROPY && (MP) == IL_L_EXACT && (MQ) == IL_L_EXACT && (c) >= IL_WIDE_MINC)

/* One parallel driver per kind and pair of modes, so that the body OpenMP outlines sees
 * them as constants (the per-entry decoding folds away and the loops vectorise). */
/* pair_short for one kind and pair of modes, compiled with the attributes ATTR. */
#define IL_PSHORT_FN(NAME, ATTR, K, MP, MQ)                                                    \
    static __attribute__((noinline)) ATTR void F(NAME##_##K##_##MP##_##MQ)(                    \
        const R *P, int lgp, int64_t sp0, int64_t sp1, const R *Q, int lgq, int64_t sq0,       \
        int64_t sq1, int64_t r0, int64_t r1, ptrdiff_t c, const F(scratch) *sc, double *out,   \
        int64_t *nbp, int64_t *nbq, double *lmp, double *lmq) {                                \
        F(pair_short)(IL_TERM(K, MP, MQ), MP, MQ, P, lgp, sp0, sp1, Q, lgq, sq0, sq1, r0, r1,  \
                      c, sc, out, nbp, nbq, lmp, lmq);                                         \
    }
/* pair_cols for one kind and pair of raw modes (a stub elsewhere, never called). */
#define IL_PCOLS_FN(K, MP, MQ)                                                                 \
    static __attribute__((noinline)) IL_WIDE void F(pcols_##K##_##MP##_##MQ)(                 \
        const R *P, int64_t sp0, int64_t sp1, const R *Q, int64_t sq0, int64_t sq1,           \
        int64_t r0, int nr, ptrdiff_t c, double *out, int64_t *nbp, int64_t *nbq, double *lmp, \
        double *lmq, il_acc *acc, F(cols_lanes) *cl) {                                         \
        if (IL_RAW_MODE(MP) && IL_RAW_MODE(MQ))                                                \
            F(pair_cols)(IL_TERM(K, MP, MQ), MP, MQ, P, sp0, sp1, Q, sq0, sq1, r0, nr, c, out,  \
                         nbp, nbq, lmp, lmq, acc, cl);                                         \
    }
/* Rows taken VW at a time by pair_cols: both arguments raw, rows of at most IL_COLS_MAXC
 * entries, row strides within its gathers' 32-bit offsets. */
#define IL_COLS_OK(MP, MQ, c, sp0, sq0)                                                        \
    (IL_COLS && IL_RAW_MODE(MP) && IL_RAW_MODE(MQ) && (c) <= IL_COLS_MAXC &&                  \
     llabs(sp0) <= INT32_MAX / VW && llabs(sq0) <= INT32_MAX / VW)
#define IL_PAIR_FN(K, MP, MQ)                                                                  \
    IL_PSHORT_FN(pshort, , K, MP, MQ)                                                          \
    IL_PCOLS_FN(K, MP, MQ)                                                                     \
    IL_PSHORT_FN(pshortw, IL_WIDE, K, MP, MQ)                                                  \
    static IL_WIDE int F(pair_##K##_##MP##_##MQ)(const R *P, int lgp, int64_t sp0, int64_t sp1,\
                                         const R *Q, int lgq, int64_t sq0, int64_t sq1,        \
                                         int64_t n, ptrdiff_t c, double *out, int64_t *nbp,    \
                                         int64_t *nbq, double *lmp, double *lmq, int rows,     \
                                         il_arg_sum *sum) {                                    \
        const int chain = (MP == IL_L_EXACT || MQ == IL_L_EXACT) && c <= IL_CHUNK;             \
        const int cols = !chain && IL_COLS_OK(MP, MQ, c, sp0, sq0);                            \
        /* the totals from the per-row results, unless pair_cols takes them as it goes */     \
        const int totals = sum && !(cols && !rows);                                            \
        int fail = 0;                                                                          \
        _Pragma("omp parallel") {                                                              \
            il_acc acc[2];                                                                     \
            il_acc_init(&acc[0]);                                                              \
            il_acc_init(&acc[1]);                                                              \
            F(scratch) sc;                                                                     \
            int mine = F(scratch_alloc)(&sc, MP == IL_L_EXACT, MQ == IL_L_EXACT, sp1 != 1,     \
                                        sq1 != 1, c, chain ? 2 : 1);                           \
            if (mine) {                                                                        \
                _Pragma("omp atomic write") fail = 1;                                          \
            }                                                                                  \
            if (chain) {                                                                       \
                /* pieces of consecutive rows (pair_short; pieces.h) */                        \
                const int64_t np = il_pieces(n, c, IL_ROW_COST, omp_get_num_threads());        \
                _Pragma("omp for schedule(dynamic, 1)") for (int64_t p = 0; p < np; p++) {     \
                    if (mine) continue;                                                        \
                    if (IL_WIDE_SHORT(K, MP, MQ, c))                                           \
                        F(pshortw_##K##_##MP##_##MQ)(P, lgp, sp0, sp1, Q, lgq, sq0, sq1,       \
                                                     il_piece_at(n, p, np),                    \
                                                     il_piece_at(n, p + 1, np), c, &sc, out,   \
                                                     nbp, nbq, lmp, lmq);                      \
                    else                                                                       \
                        F(pshort_##K##_##MP##_##MQ)(P, lgp, sp0, sp1, Q, lgq, sq0, sq1,        \
                                                    il_piece_at(n, p, np),                     \
                                                    il_piece_at(n, p + 1, np), c, &sc, out,    \
                                                    nbp, nbq, lmp, lmq);                       \
                }                                                                              \
            } else if (cols) {                                                                 \
                /* VW rows at a time (pair_cols), the last group in part */                    \
                const int64_t nu = (n + VW - 1) / VW;                                          \
                const int64_t ch = il_piece_rows(nu, c * VW, IL_ROW_COST, omp_get_num_threads()); \
                F(cols_lanes) cl;                                                              \
                F(cols_open)(&cl);                                                             \
                const int lean = sum && !rows;                                                 \
                _Pragma("omp for schedule(dynamic, ch)") for (int64_t g = 0; g < nu; g++) {    \
                    const int nr = (int)(n - g * VW < VW ? n - g * VW : VW);                   \
                    F(pcols_##K##_##MP##_##MQ)(P, sp0, sp1, Q, sq0, sq1, g * VW, nr, c, out,   \
                                               nbp, nbq, lmp, lmq, lean ? acc : NULL,          \
                                               lean ? &cl : NULL);                             \
                }                                                                              \
                if (lean) F(cols_close)(&cl, acc);                                             \
            } else {                                                                           \
                const int64_t ch = il_piece_rows(n, c, IL_ROW_COST, omp_get_num_threads());    \
                _Pragma("omp for schedule(dynamic, ch)") for (int64_t i = 0; i < n; i++) {     \
                    if (mine) continue;                                                        \
                    F(pair_row)(IL_TERM(K, MP, MQ), MP, MQ,                                    \
                                F(row_at)(P, i, sp0, sp1, c, sc.gp), lgp,                      \
                                F(row_at)(Q, i, sq0, sq1, c, sc.gq), lgq, c, &sc, out + i,     \
                                nbp + i, nbq + i, lmp + i, lmq + i);                           \
                }                                                                              \
            }                                                                                  \
            /* the sums of arguments read as given, to their logs; the totals */              \
            const int logs = (IL_RAW_MODE(MP) || IL_RAW_MODE(MQ)) && !cols;                    \
            if (logs || totals) {                                                              \
                const int64_t nblk = (n + IL_LOG_BLOCK - 1) / IL_LOG_BLOCK;                    \
                _Pragma("omp for schedule(static)") for (int64_t bi = 0; bi < nblk; bi++) {    \
                    const int64_t i0 = bi * IL_LOG_BLOCK;                                      \
                    const int64_t i1 = n - i0 > IL_LOG_BLOCK ? i0 + IL_LOG_BLOCK : n;          \
                    if (logs && IL_RAW_MODE(MP)) il_logs_of_sums(lmp, i0, i1);                 \
                    if (logs && IL_RAW_MODE(MQ)) il_logs_of_sums(lmq, i0, i1);                 \
                    if (totals) {                                                              \
                        il_acc_rows(&acc[0], nbp, lmp, i0, i1);                                \
                        il_acc_rows(&acc[1], nbq, lmq, i0, i1);                                \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
            if (sum) {                                                                         \
                _Pragma("omp critical(il_sum)") {                                              \
                    il_sum_merge(&sum[0], &acc[0]);                                            \
                    il_sum_merge(&sum[1], &acc[1]);                                            \
                }                                                                              \
            }                                                                                  \
            F(scratch_free)(&sc);                                                              \
        }                                                                                      \
        return fail ? -1 : 0;                                                                  \
    }
#define IL_PAIR_FNS_Q(K, MP) IL_PAIR_FN(K, MP, 0) IL_PAIR_FN(K, MP, 1) IL_PAIR_FN(K, MP, 2) IL_PAIR_FN(K, MP, 3)
#define IL_PAIR_FNS(K) IL_PAIR_FNS_Q(K, 0) IL_PAIR_FNS_Q(K, 1) IL_PAIR_FNS_Q(K, 2) IL_PAIR_FNS_Q(K, 3)
/* kinds 1, 2, 3: IL_CROSS_ENTROPY, IL_KL, IL_JS; modes 0-3: IL_P_RAW .. IL_L_EXACT */
IL_PAIR_FNS(1)
IL_PAIR_FNS(2)
IL_PAIR_FNS(3)

#define IL_PAIR_CASE(K, MP, MQ)                                                                \
    case K * 16 + MP * 4 + MQ:                                                                 \
        return F(pair_##K##_##MP##_##MQ)(P, lgp, sp0, sp1, Q, lgq, sq0, sq1, n, c, out, nbp,   \
                                         nbq, lmp, lmq, rows, sum);
#define IL_PAIR_Q(K, MP) IL_PAIR_CASE(K, MP, 0) IL_PAIR_CASE(K, MP, 1) IL_PAIR_CASE(K, MP, 2) IL_PAIR_CASE(K, MP, 3)
#define IL_PAIR_KIND(K) IL_PAIR_Q(K, 0) IL_PAIR_Q(K, 1) IL_PAIR_Q(K, 2) IL_PAIR_Q(K, 3)

int F(il_measure_rows)(int kind, const R *P, int mp, int lgp, int64_t sp0, int64_t sp1,
                       const R *Q, int mq, int lgq, int64_t sq0, int64_t sq1, int64_t n,
                       int64_t c, double *out, int64_t *nbp, int64_t *nbq, double *lmp,
                       double *lmq, int rows, il_arg_sum *sum) {
    if (sum) {
        il_sum_init(&sum[0]);
        if (kind != IL_ENTROPY) il_sum_init(&sum[1]);
    }
    if (n <= 0 || c <= 0) return 0;
    if (kind == IL_ENTROPY) {
        int status = F(entropy_rows)(P, mp, lgp, sp0, sp1, n, c, out, nbp, lmp);
        if (sum && status == 0) il_sum_rows(nbp, lmp, n, sum);
        return status;
    }
    switch (kind * 16 + mp * 4 + mq) {
        IL_PAIR_KIND(1)
        IL_PAIR_KIND(2)
        IL_PAIR_KIND(3)
    }
    return -2;
}

#undef IL_PAIR_FN
#undef IL_PAIR_FNS_Q
#undef IL_PAIR_FNS
#undef IL_PAIR_CASE
#undef IL_PAIR_Q
#undef IL_PAIR_KIND

/* ------------------------------------------------------------------------ tables */

/* Online sum of e^lw and of e^lw h relative to the running maximum ``big``. */
static inline void F(add_weighted)(double *big, double *w, double *hw, double lw, double h) {
    if (lw == -INFINITY) return;
    if (lw > *big) {
        double f = *big > -INFINITY ? il_exp_d(*big - lw) : 0.0;
        *w = *w * f + 1.0;
        *hw = *hw * f + h;
        *big = lw;
    } else {
        double e = il_exp_d(lw - *big);
        *w += e;
        *hw += e * h;
    }
}

/* H(Y | X) = sum_x P(x) H(Y | X = x), each H(Y | X = x) = log s - t/s relative to its
 * row's maximum (no rounded row sum inside a log), the weights P(x) prop. to m_x s_x (or
 * e^m_x s_x) combined relative to their maximum: every part >= 0. */
static void F(conditional)(const R *T, ptrdiff_t nx, ptrdiff_t ny, int form, int normalize,
                           double *out, int64_t *nbad, double *lmass) {
    double big = -INFINITY, w = 0.0, hw = 0.0;
    int64_t nb = 0;
    /* short log rows: each row's maximum from the loop over the row before (lse_short) */
    const int chain = form != IL_PROBS && ny <= IL_CHUNK;
    R cm = chain ? F(chunk_max)(T, ny) : (R)0;
    /* IL_LOG_BLOCK rows at a time: their sums, their logs together, then their terms */
    double lg[IL_LOG_BLOCK] __attribute__((aligned(64)));
    double lws[IL_LOG_BLOCK] __attribute__((aligned(64)));
    double ss[IL_LOG_BLOCK], ts[IL_LOG_BLOCK];
    for (ptrdiff_t a0 = 0; a0 < nx; a0 += IL_LOG_BLOCK) {
        const ptrdiff_t a1 = nx - a0 > IL_LOG_BLOCK ? a0 + IL_LOG_BLOCK : nx;
        int64_t nq = 0;
        for (ptrdiff_t a = a0; a < a1; a++) {
            const R *row = T + a * ny;
            R m;
            double k, rest, t, lw;
            if (form == IL_PROBS) {
                int64_t b;
                F(scaled_row)(row, ny, 1, &m, &k, &rest, &t, &b);
                nb += b;
                if (b > 0 || k == 0.0) continue;
                lw = (double)m; /* m > 0: its log with the block's (below) */
            } else {
                if (chain) {
                    m = cm;
                    cm = F(lse_short)(row, a + 1 < nx ? row + ny : row, ny, m, 1, 0, NULL, &k,
                                      &rest, &t);
                } else {
                    F(lse_row)(row, ny, 0, 1, NULL, NULL, NULL, 0, NULL, &m, &k, &rest, &t);
                }
                if (!(k > 0.0 && isfinite(rest) && isfinite(m))) {
                    nb += F(count_bad_log)(row, ny, 0);
                    continue;
                }
                lw = (double)m;
            }
            lg[nq] = (k - 1.0) + rest;
            lws[nq] = lw;
            ss[nq] = k + rest;
            ts[nq] = t;
            nq++;
        }
        il_log1p_block_d(lg, nq);
        if (form == IL_PROBS) il_log_block_d(lws, nq);
        for (int64_t q = 0; q < nq; q++)
            F(add_weighted)(&big, &w, &hw, lws[q] + lg[q], lg[q] - ts[q] / ss[q]);
    }
    if (form == IL_LOGITS && nb == 0 && big == -INFINITY) nb = 1; /* no finite logit */
    *nbad = nb;
    *lmass = nb ? NAN : (big > -INFINITY ? big + il_log_d(w) : -INFINITY);
    if (nb)
        *out = NAN;
    else if (form == IL_LOGITS || normalize)
        *out = big > -INFINITY ? hw / w : NAN;
    else
        *out = big > -INFINITY ? il_exp_d(big) * hw : 0.0;
}

/* I(X; Y) of a probability table as sum_xy r h(delta) over r = P(x, y)/max, against
 * q = R_x C_y / S (R_x, C_y the row and column sums of r, S their total), delta =
 * log(r S/R_x / C_y): r S/R_x >= r and C_y >= r, so neither underflows where r does not,
 * and il_log_ratio takes the ratio without forming it.  Every term >= 0 (an exactly
 * independent table gives 0 up to second-order rounding, never a negative value).
 * Scratch: rs (nx) and cs (ny) double, cy (4 ny) R. */
static void F(mutual_probs)(const R *T, const R *next, ptrdiff_t nx, ptrdiff_t ny,
                            int normalize, double *rs, double *cs, R *cy, double *out,
                            int64_t *nbad, double *lmass) {
    R *dl = cy + ny;
    /* the maximum and the bad entries over the packed table as one run (a +inf is bad and
     * leaves the maximum alone) */
    R big = 0;
    R cb = 0;
    IL_SIMD_FOR(VW, nx * ny, "omp simd reduction(max : big) reduction(+ : cb)", {
        R v = T[j];
        int good = (v >= (R)0) & (v < INFINITY);
        big = good & (v > big) ? v : big;
        cb += ok & !good ? (R)1 : (R)0;
    });
    *nbad = (int64_t)cb;
    if (cb > 0) {
        *out = NAN;
        *lmass = NAN;
        return;
    }
    if (big == 0) {
        *out = NAN;
        *lmass = -INFINITY;
        return;
    }
    R sc = F(pow2_scale)(big);
    R inv = (R)1 / (big * sc);
    for (ptrdiff_t j = 0; j < ny; j++) cs[j] = 0.0;
    double tot = 0.0;
    for (ptrdiff_t a = 0; a < nx; a++) {
        const R *row = T + a * ny;
        double sl[VW] = {0};
        /* the next table, a row at a time (its first loop reads it from memory) */
        if (next) il_prefetch(next + a * ny, 0, (int64_t)sizeof(R) * ny);
        IL_LANES_FOR(VW, ny, {
            double r = ok ? (double)((row[j] * sc) * inv) : 0.0;
            IL_LANE(sl) += r;
            cs[j] += r;
        });
        double s = IL_FOLD_SUM(sl, VW);
        rs[a] = s;
        tot += s;
    }
    /* the column sums split once, m 2^e (as il_log_ratio splits its divisor; an empty
     * column's split is never read) */
    R *mc = cy + 2 * ny, *ec = cy + 3 * ny;
    for (ptrdiff_t j = 0; j < ny; j++) {
        cy[j] = (R)cs[j];
        R c = cy[j] > (R)0 ? cy[j] : (R)1;
        mc[j] = F(il_split)(c, &ec[j]);
    }
    double acc = 0.0;
    for (ptrdiff_t a = 0; a < nx; a++) {
        const R *row = T + a * ny;
        R ua = rs[a] > 0.0 ? (R)(tot / rs[a]) : (R)1;
        R va = (R)(rs[a] / tot);
        R part[VW] = {0};
        /* the row's log-ratios, then its terms: two short loops overlap across iterations
         * where one long one would wait on each entry's chain */
        IL_SIMD_FOR(VW, ny, "omp simd", {
            R v = row[j];
            int pos = v > (R)0;
            R r = (v * sc) * inv;
            dl[j] = F(il_log_ratio_split)(pos ? r * ua : (R)1, pos ? mc[j] : (R)1,
                                          pos ? ec[j] : (R)0);
        });
        IL_LANES_FOR(VW, ny, {
            R v = row[j];
            int pos = v > (R)0;
            R r = (v * sc) * inv;
            R q = cy[j] * va;
            R term = pos ? F(kl_term)(r, q, dl[j]) : q;
            IL_LANE(part) += ok ? term : (R)0;
        });
        acc += (double)IL_FOLD_SUM(part, VW);
    }
    *out = normalize ? acc / tot : acc * (double)big;
    *lmass = il_log_d((double)big) + il_log_d(tot);
}

/* I(X; Y) of a log-probability or logit table: log P(x) by each row's log-sum-exp, log P(y)
 * by each column's (against the column maxima), then the terms q h(delta) against
 * q = P(x) P(y) for normalised tables (>= 0), p delta for raw log-probabilities.  Scratch:
 * lx (nx), ly, csum (ny) double; cmax, ey (ny) R. */
static void F(mutual_logs)(const R *T, ptrdiff_t nx, ptrdiff_t ny, int exact, int logits,
                           double *lx, double *ly, double *csum, R *cmax, R *ey, double *out,
                           int64_t *nbad, double *lmass) {
    int64_t nb = 0;
    double big = -INFINITY, w = 0.0, unused = 0.0;
    for (ptrdiff_t j = 0; j < ny; j++) {
        cmax[j] = -INFINITY;
        csum[j] = 0.0;
    }
    for (ptrdiff_t a = 0; a < nx; a++) {
        const R *row = T + a * ny;
        R m;
        double k, rest, t;
        F(lse_row)(row, ny, 0, 0, NULL, NULL, NULL, 0, NULL, &m, &k, &rest, &t);
        if (!(k > 0.0 && isfinite(rest) && isfinite(m))) {
            nb += F(count_bad_log)(row, ny, 0);
            lx[a] = -INFINITY;
            continue;
        }
        lx[a] = (double)m + il_log1p_d((k - 1.0) + rest);
        F(add_weighted)(&big, &w, &unused, lx[a], 0.0);
#pragma omp simd
        for (ptrdiff_t j = 0; j < ny; j++) cmax[j] = row[j] > cmax[j] ? row[j] : cmax[j];
    }
    if (logits && nb == 0 && big == -INFINITY) nb = 1;
    *nbad = nb;
    if (nb) {
        *out = NAN;
        *lmass = NAN;
        return;
    }
    if (big == -INFINITY) {
        *out = NAN;
        *lmass = -INFINITY;
        return;
    }
    double big_l = big + il_log_d(w);
    for (ptrdiff_t a = 0; a < nx; a++) {
        const R *row = T + a * ny;
#pragma omp simd
        for (ptrdiff_t j = 0; j < ny; j++) {
            R cm = cmax[j];
            R e = EXP_LOW(row[j] - (cm > -INFINITY ? cm : (R)0));
            csum[j] += cm > -INFINITY ? (double)e : 0.0;
        }
    }
    double shift = exact ? big_l : 0.0;
    for (ptrdiff_t j = 0; j < ny; j++) {
        ly[j] = cmax[j] > -INFINITY ? (double)cmax[j] + il_log_d(csum[j]) - shift : -INFINITY;
        ey[j] = (R)(ly[j] > -INFINITY ? il_exp_d(ly[j]) : 0.0);
        cmax[j] = (R)ly[j]; /* the column maxima are done with: log P(y) in R */
    }
    double acc = 0.0;
    for (ptrdiff_t a = 0; a < nx; a++) {
        const R *row = T + a * ny;
        double lxa = lx[a] - shift;
        R exa = (R)(lxa > -INFINITY ? il_exp_d(lxa) : 0.0);
        R lxr = (R)lxa, sh = (R)shift;
        R part = 0;
        /* two loops, not one with both branches: gcc computed the unused normalised terms
         * of raw log-probabilities too, on values that made subnormals (an Intel core then
         * takes a microcode assist: float64 log-probability tables ran 4x slower) */
#define IL_MI_ENTRY                                                                         \
    R v = row[j];                                                                           \
    int pos = v > -INFINITY;                                                                \
    R logp = pos ? v - sh : (R)0;                                                           \
    R delta = pos ? logp - (lxr + cmax[j]) : (R)0;                                          \
    R p = pos ? F(exp_raw)(logp) : (R)0
        if (exact) {
#pragma omp simd reduction(+ : part)
            for (ptrdiff_t j = 0; j < ny; j++) {
                IL_MI_ENTRY;
                /* P(x) P(y) as a product: one exp per entry fewer */
                R q = exa * ey[j];
                part += pos ? F(kl_term)(p, q, delta) : q;
            }
        } else {
#pragma omp simd reduction(+ : part)
            for (ptrdiff_t j = 0; j < ny; j++) {
                IL_MI_ENTRY;
                part += pos ? p * delta : (R)0;
            }
        }
#undef IL_MI_ENTRY
        acc += (double)part;
    }
    *out = acc;
    *lmass = big_l;
}

/* The floor of a measure of two arrays of probabilities read as given
 * (benchmarks/pair_rows.py): x and y read once, in blocks shared by the threads, and each
 * outcome's term of the measure summed (term(), as pair_terms decodes the entries): the
 * arithmetic the measure needs and its memory, with no rows, no sums of mass and no checks.
 * A kernel of rows cannot take less time than this on the same arrays. */
#define IL_FLOOR_BLOCK 16384
#define IL_FLOOR_LOOP(CODE)                                                                 \
    _Pragma("omp parallel for schedule(static) reduction(+ : total)")                     \
    for (int64_t b = 0; b < nb; b++) {                                                      \
        const int64_t i0 = b * IL_FLOOR_BLOCK;                                              \
        const int64_t i1 = n - i0 < IL_FLOOR_BLOCK ? n : i0 + IL_FLOOR_BLOCK;               \
        R acc = 0;                                                                          \
        _Pragma("omp simd reduction(+ : acc)") for (int64_t i = i0; i < i1; i++) {          \
            const F(stats) st = {0, 1, 1, 1, 0, 1.0, 1, 0, 0.0};                            \
            F(entry) pe = F(decode)(IL_P_RAW, x[i], (R)0, &st, (R)1);                       \
            F(entry) qe = F(decode)(IL_P_RAW, y[i], (R)0, &st, (R)1);                       \
            acc += F(term)(CODE, pe, qe).t;                                                 \
        }                                                                                   \
        total += (double)acc;                                                               \
    }
IL_WIDE double F(il_floor_pair)(int kind, const R *x, const R *y, int64_t n) {
    double total = 0.0;
    const int64_t nb = (n + IL_FLOOR_BLOCK - 1) / IL_FLOOR_BLOCK;
    if (kind == IL_CROSS_ENTROPY) {
        IL_FLOOR_LOOP(T_CE)
    } else if (kind == IL_KL) {
        IL_FLOOR_LOOP(T_KL_PROBS)
    } else {
        IL_FLOOR_LOOP(T_JS)
    }
    return total;
}
#undef IL_FLOOR_LOOP

int F(il_joint_rows)(int kind, const R *T, int form, int normalize, int64_t s0, int64_t s1,
                     int64_t s2, int64_t n, int64_t nx, int64_t ny, double *out, int64_t *nb,
                     double *lm, il_arg_sum *sum) {
    if (n <= 0 || nx <= 0 || ny <= 0) {
        if (sum) il_sum_rows(nb, lm, 0, sum);
        return 0;
    }
    const int packed = s2 == 1 && (s1 == ny || nx == 1);
    int fail = 0;
#pragma omp parallel
    {
        size_t nt = (size_t)(nx * ny);
        R *g = packed ? NULL : (R *)malloc(sizeof(R) * nt);
        double *dsc = (double *)malloc(sizeof(double) * (size_t)(nx + 3 * ny));
        R *rsc = (R *)malloc(sizeof(R) * (size_t)(4 * ny));
        int mine = (!packed && !g) || !dsc || !rsc;
        if (mine) {
#pragma omp atomic write
            fail = 1;
        }
        const int64_t ch = il_piece_rows(n, nx * ny, IL_ROW_COST, omp_get_num_threads());
#pragma omp for schedule(dynamic, ch)
        for (int64_t i = 0; i < n; i++) {
            if (mine) continue;
            const R *t = T + i * s0;
            if (!packed) {
                for (ptrdiff_t a = 0; a < nx; a++)
                    for (ptrdiff_t j = 0; j < ny; j++) g[a * ny + j] = t[a * s1 + j * s2];
                t = g;
            }
            if (kind == IL_CONDITIONAL)
                F(conditional)(t, nx, ny, form, normalize, out + i, nb + i, lm + i);
            else if (form == IL_PROBS)
                F(mutual_probs)(t, packed && i + 1 < n ? t + s0 : NULL, nx, ny, normalize, dsc,
                                dsc + nx, rsc, out + i, nb + i, lm + i);
            else
                F(mutual_logs)(t, nx, ny, form == IL_LOGITS || normalize, form == IL_LOGITS,
                               dsc, dsc + nx, dsc + nx + ny, rsc, rsc + ny, out + i, nb + i,
                               lm + i);
        }
        free(g);
        free(dsc);
        free(rsc);
    }
    if (sum && !fail) il_sum_rows(nb, lm, n, sum);
    return fail ? -1 : 0;
}

#undef EXP_LOW
#undef VW
#undef LOG
#undef LOG_RATIO
#undef IL_LSE_ENTRY

#endif
