/* vmath.h: the kernels' exp and log, one implementation for every kernel family.
 *
 * Why not libm: glibc's expf/logf are scalar calls that gcc cannot vectorise inside the
 * kernels' loops (without -ffast-math, which the kernels must not use: -inf logits, NaN
 * detection and subnormals rely on IEEE semantics).  These are range-reduced polynomials
 * built from plain arithmetic and float/int bit casts, which gcc turns into SIMD code when
 * they are inlined into a loop.  Each has a float flavour (about 1e-7 relative) and a
 * double flavour (about 2e-16 relative); tests/kernels/test_kernels_vmath.py checks them
 * against mpmath over their whole domain.
 *
 * Edges the kernels rely on:
 *   il_exp(t)        exp(t), correctly scaled into the subnormal range; exactly 0 for
 *                    t = -inf and where exp underflows; +inf where it overflows; NaN for NaN.
 *   il_exp_low(t)    the same, bit for bit, for t <= IL_LOW_MAX (about 570 in double, 43 in
 *                    float), cheaper: no overflow test and no branch on the subnormal range.
 *                    For log-sum-exp loops, whose arguments are z - max(z) <= 0.
 *   il_log(x)        log(x) for finite x > 0, subnormals included; other inputs give
 *                    meaningless finite values, so callers mask them before use.
 *   il_log_ratio(a,b) log(a/b) for finite a, b > 0 at the cost of one log: exponents are
 *                    subtracted as integers and the mantissas' ratio brought into
 *                    [1/sqrt2, sqrt2], so a/b never over- or underflows and a ~ b keeps
 *                    log1p's relative accuracy.
 *   il_log1p_unit(e) log1p(e) for e in [0, 1] (the sigmoid kernels' softplus of exp(-|z|)),
 *                    within 1 ulp of the true value in both types (worst measured 0.94
 *                    ulp, with and without FMA: every float in [0, 1], 4e6 doubles),
 *                    exact for subnormal e; NaN stays NaN; other inputs give meaningless
 *                    values.  Not il_log(1 + e): the sum would drop a small e's low bits.
 * Suffix _f: float; _d: double.
 */
#ifndef INFOLOSS_VMATH_H
#define INFOLOSS_VMATH_H

#include <stdint.h>
#include <string.h>
#include <math.h>

#define IL_INLINE static inline __attribute__((always_inline))

IL_INLINE int32_t il_bits_f(float x) { int32_t b; memcpy(&b, &x, 4); return b; }
IL_INLINE float il_float_f(int32_t b) { float x; memcpy(&x, &b, 4); return x; }
IL_INLINE int64_t il_bits_d(double x) { int64_t b; memcpy(&b, &x, 8); return b; }
IL_INLINE double il_float_d(int64_t b) { double x; memcpy(&x, &b, 8); return x; }

#define IL_LN2 0.6931471805599453
#define IL_INV_LN2 1.4426950408889634
#define IL_SQRT2 1.4142135623730951

/* Cody-Waite split of ln 2: the high parts have trailing zero bits so n*hi is exact. */
#define IL_LN2_HI_F 0.693145751953125f
#define IL_LN2_LO_F 1.428606765330187e-06f
#define IL_LN2_HI_D 0.6931471803691238
#define IL_LN2_LO_D 1.9082149292705877e-10

/* Below SUB the scaling by 2^n is done as 2^(n+K) (still normal) times 2^-K (one rounding
 * into the subnormal range); below FLUSH exp is 0 in the type, above HI it overflows. */
#define IL_SUB_F (-80.0f)
#define IL_FLUSH_F (-104.0f)
#define IL_HI_F 88.72283f
#define IL_K_F 64
#define IL_TWO_MK_F 5.421010862427522e-20f /* 2^-64 */
#define IL_SUB_D (-700.0)
#define IL_FLUSH_D (-746.0)
#define IL_HI_D 709.782712893384
#define IL_K_D 200
#define IL_TWO_MK_D 6.223015277861142e-61 /* 2^-200 */

/* il_exp_low's domain: p * 2^(n+K) stays finite for n + K <= 127 (1023). */
#define IL_LOW_MAX_F 43.66827237527655f   /* (127 - 64) ln 2 */
#define IL_LOW_MAX_D 570.5232801079950    /* (1023 - 200) ln 2 */
/* n + MAGIC is exact for integer n, and its low bits hold the biased exponent n + K + bias. */
#define IL_MAGIC_F (1.5f * 8388608.0f + 64.0f + 127.0f)
#define IL_MAGIC_D (1.5 * 4503599627370496.0 + 200.0 + 1023.0)

/* exp(t) = p * 2^n with n = round(t / ln 2), p = exp(r), r = t - n ln 2. Degree 6,
 * interpolating exp at the Chebyshev nodes of |r| <= ln2/2: 2e-9 from exp.  n is taken in
 * one operation, as the low bits of nm = t / ln 2 + MAGIC (its sum rounds to an integer,
 * ties to even; n = nm - MAGIC exactly), which also hold the biased exponent of 2^(n+K)
 * (*nm_out, for il_exp_low). */
IL_INLINE float il_exp_poly_f(float t, float *n_out, float *nm_out) {
    float nm = t * (float)IL_INV_LN2 + IL_MAGIC_F;
    float n = nm - IL_MAGIC_F;
    float r = (t - n * IL_LN2_HI_F) - n * IL_LN2_LO_F;
    float p = 0.0013941108481958508f;
    p = p * r + 0.00837512593716383f;
    p = p * r + 0.04166635125875473f;
    p = p * r + 0.16666415333747864f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    *n_out = n;
    *nm_out = nm;
    return p;
}

/* Degree 11 at the Chebyshev nodes: 4e-18 from exp. */
IL_INLINE double il_exp_poly_d(double t, double *n_out, double *nm_out) {
    double nm = t * IL_INV_LN2 + IL_MAGIC_D;
    double n = nm - IL_MAGIC_D;
    double r = (t - n * IL_LN2_HI_D) - n * IL_LN2_LO_D;
    double p = 2.5110037605963777e-08;
    p = p * r + 2.763263963904103e-07;
    p = p * r + 2.755724091857897e-06;
    p = p * r + 2.4801485482328494e-05;
    p = p * r + 0.00019841269890047113;
    p = p * r + 0.0013888888952314775;
    p = p * r + 0.008333333333319601;
    p = p * r + 0.0416666666664881;
    p = p * r + 0.1666666666666668;
    p = p * r + 0.5000000000000019;
    p = p * r + 1.0;
    p = p * r + 1.0;
    *n_out = n;
    *nm_out = nm;
    return p;
}

IL_INLINE float il_exp_f(float t) {
    float nf, nm;
    float p = il_exp_poly_f(t, &nf, &nm);
    /* the clamp keeps the float-to-int conversion defined for t = +-inf and NaN; those
     * lanes are replaced below */
    nf = nf < -200.0f ? -200.0f : (nf > 200.0f ? 200.0f : nf);
    int32_t ni = (int32_t)nf;
    int sub = t < IL_SUB_F;
    float v = il_float_f(il_bits_f(p) + (int32_t)((uint32_t)(sub ? ni + IL_K_F : ni) << 23));
    v = sub ? v * IL_TWO_MK_F : v;
    v = t < IL_FLUSH_F ? 0.0f : v;
    v = t > IL_HI_F ? INFINITY : v;
    return t != t ? t : v;
}

IL_INLINE double il_exp_d(double t) {
    double nf, nm;
    double p = il_exp_poly_d(t, &nf, &nm);
    nf = nf < -2000.0 ? -2000.0 : (nf > 2000.0 ? 2000.0 : nf);
    int64_t ni = (int64_t)nf;
    int sub = t < IL_SUB_D;
    double v = il_float_d(il_bits_d(p) + (int64_t)((uint64_t)(sub ? ni + IL_K_D : ni) << 52));
    v = sub ? v * IL_TWO_MK_D : v;
    v = t < IL_FLUSH_D ? 0.0 : v;
    v = t > IL_HI_D ? INFINITY : v;
    return t != t ? t : v;
}

/* 2^(n+K) without a float-to-int conversion; the scale enters by multiplication, so a
 * NaN argument stays NaN through p with no select.  t below FLUSH is raised to FLUSH, whose
 * exp rounds to 0 (a NaN stays NaN). */
IL_INLINE float il_exp_low_f(float t) {
    float n, nm;
    t = t < IL_FLUSH_F ? IL_FLUSH_F : t;
    float p = il_exp_poly_f(t, &n, &nm);
    float scale = il_float_f((int32_t)((uint32_t)il_bits_f(nm) << 23));
    return (p * scale) * IL_TWO_MK_F;
}

IL_INLINE double il_exp_low_d(double t) {
    double n, nm;
    t = t < IL_FLUSH_D ? IL_FLUSH_D : t;
    double p = il_exp_poly_d(t, &n, &nm);
    double scale = il_float_d((int64_t)((uint64_t)il_bits_d(nm) << 52));
    return (p * scale) * IL_TWO_MK_D;
}

/* x = m 2^e with m in [1, 2), for finite x > 0 (subnormals scaled into range first). */
IL_INLINE float il_split_f(float x, float *e_out) {
    int sub = x < 1.1754943508222875e-38f;
    float xs = sub ? x * 16777216.0f : x; /* 2^24 */
    int32_t b = il_bits_f(xs);
    int32_t e = (b >> 23) - 127;
    e = sub ? e - 24 : e;
    *e_out = (float)e;
    return il_float_f((b & 0x007FFFFF) | 0x3F800000);
}

IL_INLINE double il_split_d(double x, double *e_out) {
    int sub = x < 2.2250738585072014e-308;
    double xs = sub ? x * 18014398509481984.0 : x; /* 2^54 */
    int64_t b = il_bits_d(xs);
    /* the exponent as a double without an int64-to-double conversion (AVX2 has none, so
     * gcc would convert lane by lane): the bits of 2^52 + biased exponent, less
     * 2^52 + 1023 (exact) */
    double e = il_float_d((int64_t)((uint64_t)b >> 52) | 0x4330000000000000LL) - 4503599627371519.0;
    *e_out = sub ? e - 54.0 : e;
    return il_float_d((b & 0x000FFFFFFFFFFFFFLL) | 0x3FF0000000000000LL);
}

/* S(f2) = 1/3 + f2/5 + f2^2/7 + ..., so that 2 atanh(f) = 2f + 2f f2 S(f2): the one series
 * behind il_log and il_log1p_unit.  Float to f^11, double to f^23: for |f| <= 1/5 the
 * truncation is under 1e-9 (float) and 1e-18 (double) relative. */
IL_INLINE float il_atanh_series_f(float f2) {
    float s = 1.0f / 11.0f;
    s = s * f2 + 1.0f / 9.0f;
    s = s * f2 + 1.0f / 7.0f;
    s = s * f2 + 1.0f / 5.0f;
    s = s * f2 + 1.0f / 3.0f;
    return s;
}

IL_INLINE double il_atanh_series_d(double f2) {
    double s = 1.0 / 23.0;
    s = s * f2 + 1.0 / 21.0;
    s = s * f2 + 1.0 / 19.0;
    s = s * f2 + 1.0 / 17.0;
    s = s * f2 + 1.0 / 15.0;
    s = s * f2 + 1.0 / 13.0;
    s = s * f2 + 1.0 / 11.0;
    s = s * f2 + 1.0 / 9.0;
    s = s * f2 + 1.0 / 7.0;
    s = s * f2 + 1.0 / 5.0;
    s = s * f2 + 1.0 / 3.0;
    return s;
}

/* The same series by Estrin's scheme: five operations deep instead of Horner's ten, three
 * more in all (every coefficient and power is positive, so the rounding is Horner's).
 * For il_log_ratio_d, whose callers' loops wait on its latency; a loop of logs alone
 * (an entropy's) is bound by their number, and takes Horner's. */
IL_INLINE double il_atanh_series_short_d(double f2) {
    double y2 = f2 * f2, y4 = y2 * y2, y8 = y4 * y4;
    double p0 = f2 * (1.0 / 5.0) + 1.0 / 3.0;
    double p1 = f2 * (1.0 / 9.0) + 1.0 / 7.0;
    double p2 = f2 * (1.0 / 13.0) + 1.0 / 11.0;
    double p3 = f2 * (1.0 / 17.0) + 1.0 / 15.0;
    double p4 = f2 * (1.0 / 21.0) + 1.0 / 19.0;
    double q0 = p1 * y2 + p0, q1 = p3 * y2 + p2, q2 = (1.0 / 23.0) * y2 + p4;
    return q2 * y8 + (q1 * y4 + q0);
}

/* e ln 2 + log(num/den) for num/den in [1/sqrt2, sqrt2]: 2 atanh(f), f = (num - den) /
 * (num + den), |f| <= 0.172, by its odd series (num - den is exact: Sterbenz). */
IL_INLINE float il_log_parts_f(float e, float num, float den) {
    float f = (num - den) / (num + den);
    float f2 = f * f;
    float s = il_atanh_series_f(f2);
    float lm = 2.0f * f + 2.0f * f * f2 * s;
    return e * (float)IL_LN2 + lm;
}

/* The series to f^23 (truncation about 2e-20 here); ln 2 split so e*hi is exact.  The
 * _short form takes il_atanh_series_short_d (the same value, less latency). */
IL_INLINE double il_log_sum_d(double e, double f, double f2, double s) {
    return e * IL_LN2_HI_D + (2.0 * f + (2.0 * f * f2 * s + e * IL_LN2_LO_D));
}

IL_INLINE double il_log_parts_d(double e, double num, double den) {
    double f = (num - den) / (num + den);
    double f2 = f * f;
    return il_log_sum_d(e, f, f2, il_atanh_series_d(f2));
}

IL_INLINE double il_log_parts_short_d(double e, double num, double den) {
    double f = (num - den) / (num + den);
    double f2 = f * f;
    return il_log_sum_d(e, f, f2, il_atanh_series_short_d(f2));
}

/* log x = e ln 2 + log1p(t), x = 2^e (1 + t) with 1 + t in [1/sqrt2, sqrt2] (t exact), and
 * log1p(t) = t - t^2/2 + t^3 P(t), P of degree 7 on [1/sqrt2 - 1, sqrt2 - 1] (least squares in
 * the relative error of log1p at Chebyshev nodes; its own error 6.5e-9 of that): no
 * division, unlike the double's atanh series.  Every positive float against log in double:
 * within 0.70 eps of the value, relative, and 0.94 ulp. */
IL_INLINE float il_log_f(float x) {
    float e;
    float m = il_split_f(x, &e);
    int big = m > (float)IL_SQRT2;
    float t = big ? 0.5f * m - 1.0f : m - 1.0f;
    e = big ? e + 1.0f : e;
    float t2 = t * t, t4 = t2 * t2;
    float p01 = 0.33333346247673035f + -0.2500084340572357f * t;
    float p23 = 0.20000360906124115f + -0.16622018814086914f * t;
    float p45 = 0.14217618107795715f + -0.13187409937381744f * t;
    float p67 = 0.12672697007656097f + -0.07460644841194153f * t;
    float p = (p01 + p23 * t2) + (p45 + p67 * t2) * t4;
    float lm = t + t2 * (t * p - 0.5f);
    return e * IL_LN2_HI_F + (lm + e * IL_LN2_LO_F);
}

IL_INLINE double il_log_d(double x) {
    double e;
    double m = il_split_d(x, &e);
    int big = m > IL_SQRT2;
    return il_log_parts_d(big ? e + 1.0 : e, m, big ? 2.0 : 1.0);
}


/* a/b = 2^e num/den with num/den in [1/sqrt2, sqrt2]: the mantissa ratio is in (1/2, 2)
 * and one factor of 2 moves it into range, so num - den stays exact.  The _split forms take
 * b split already (mb 2^eb, from il_split), for a divisor shared by many entries. */
IL_INLINE float il_log_ratio_split_f(float a, float mb, float eb) {
    float ea;
    float ma = il_split_f(a, &ea);
    int up = ma > (float)IL_SQRT2 * mb;
    int dn = ma * (float)IL_SQRT2 < mb;
    float e = (ea - eb) + (up ? 1.0f : (dn ? -1.0f : 0.0f));
    return il_log_parts_f(e, dn ? ma + ma : ma, up ? mb + mb : mb);
}

IL_INLINE double il_log_ratio_split_d(double a, double mb, double eb) {
    double ea;
    double ma = il_split_d(a, &ea);
    int up = ma > IL_SQRT2 * mb;
    int dn = ma * IL_SQRT2 < mb;
    double e = (ea - eb) + (up ? 1.0 : (dn ? -1.0 : 0.0));
    return il_log_parts_short_d(e, dn ? ma + ma : ma, up ? mb + mb : mb);
}

IL_INLINE float il_log_ratio_f(float a, float b) {
    float eb;
    float mb = il_split_f(b, &eb);
    return il_log_ratio_split_f(a, mb, eb);
}

IL_INLINE double il_log_ratio_d(double a, double b) {
    double eb;
    double mb = il_split_d(b, &eb);
    return il_log_ratio_split_d(a, mb, eb);
}

/* a*b + c: one rounding where the target has an FMA instruction (gcc then emits it
 * inline), else two.  Written out where the result must not depend on whether gcc
 * contracts a product into a sum, which can differ between loops that inline the same
 * function. */
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define IL_FMA_F(a, b, c) __builtin_fmaf(a, b, c)
#define IL_FMA_D(a, b, c) __builtin_fma(a, b, c)
#else
#define IL_FMA_F(a, b, c) ((a) * (b) + (c))
#define IL_FMA_D(a, b, c) ((a) * (b) + (c))
#endif

/* log1p(e) for e in [0, 1].  With s = g/(2 + g), log1p(g) = 2 atanh(s) and 2s = g - s g,
 * so log1p(g) = g - s (g - 2 s^2 S(s^2)), |s| <= 1/5.  For e <= 1/2, g = e: exact, so
 * the division's rounding only reaches the correction, at most a quarter of the result.
 * Above, log1p(e) = ln 2 + log1p(g) with g = e/2 - 1/2 in (-1/4, 0], exact by Sterbenz's
 * lemma (from a cut at sqrt2 - 1, where |s| would stay under 0.172, it would round). */
IL_INLINE float il_log1p_unit_f(float e) {
    int big = e > 0.5f;
    float g = big ? 0.5f * e - 0.5f : e;
    float s = g / (g + 2.0f);
    float s2 = s * s;
    float inner = IL_FMA_F(-2.0f * s2, il_atanh_series_f(s2), g);
    float low = IL_FMA_F(-s, inner, big ? IL_LN2_LO_F : 0.0f);
    return (big ? IL_LN2_HI_F : 0.0f) + (g + low);
}

IL_INLINE double il_log1p_unit_d(double e) {
    int big = e > 0.5;
    double g = big ? 0.5 * e - 0.5 : e;
    double s = g / (g + 2.0);
    double s2 = s * s;
    double inner = IL_FMA_D(-2.0 * s2, il_atanh_series_d(s2), g);
    double low = IL_FMA_D(-s, inner, big ? IL_LN2_LO_D : 0.0);
    return (big ? IL_LN2_HI_D : 0.0) + (g + low);
}

/* log1p(u) for u >= 0: il_log1p_unit up to 1; above, log(w) u/(w - 1) with w = 1 + u
 * (w - 1 exact), which corrects w's rounding.  Selects only, so it vectorises; other
 * inputs give meaningless values. */
IL_INLINE double il_log1p_d(double u) {
    double w = 1.0 + u;
    double above = il_log_d(w) * (u / (w - 1.0));
    return u <= 1.0 ? il_log1p_unit_d(u) : above;
}

/* The most values il_log1p_block_d takes at once (the kernels' blocks of short rows). */
#define IL_LOG_BLOCK 32

/* v[q] = FN(v[q]) for q < n <= IL_LOG_BLOCK, in one vector loop over n rounded up to 8
 * lanes (the lanes past n set to PAD first, a value in FN's domain), so that no scalar
 * remainder runs and a value's bits do not depend on its place in v or on n.  v:
 * IL_LOG_BLOCK doubles, 64-byte aligned.  For kernels of short rows, whose one log per row
 * would otherwise be a chain of dependent operations that the rows' loops wait on. */
#define IL_BLOCK_FN(NAME, FN, PAD)                                                          \
    IL_INLINE void NAME(double *v, int64_t n) {                                             \
        double *a = (double *)__builtin_assume_aligned(v, 64);                              \
        const int64_t n8 = (n + 7) & ~(int64_t)7;                                           \
        for (int64_t q = n; q < n8; q++) a[q] = (PAD);                                      \
        _Pragma("omp simd") for (int64_t q = 0; q < n8; q++) a[q] = FN(a[q]);               \
    }
IL_BLOCK_FN(il_log1p_block_d, il_log1p_d, 0.0)
IL_BLOCK_FN(il_log_block_d, il_log_d, 1.0)
#undef IL_BLOCK_FN

#endif
