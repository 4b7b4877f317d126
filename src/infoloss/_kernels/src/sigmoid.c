/* sigmoid.c: binary cross-entropy and squared error of sigmoid probabilities, per element,
 * with their sums and the fused gradient (semantics: infoloss._kernels.sigmoid).
 *
 * Why the kernels are shaped as they are:
 *
 * - One exp per element.  With e = exp(-|z|) (vmath.h's il_exp_low: its argument is never
 *   positive) both probabilities come without cancellation, σ(|z|) = 1/(1 + e) and
 *   σ(-|z|) = e/(1 + e), and so do both softplus terms: softplus(±z) = max(±z, 0) +
 *   log1p(e).  The array-API code spends two exps and two log1ps on the same.
 * - log1p(e) for e in [0, 1] without a general log: 2·atanh(f) with f = e/(2 + e), exact
 *   in relative terms for tiny e, or above sqrt2 - 1 ln 2 + 2·atanh((e - 1)/(e + 3)); both
 *   keep |f| <= 0.172, the range of vmath.h's log series, whose coefficients are reused.
 * - A coefficient that is 0 (a target 0 or 1, a weight 0, an ignored element) masks its
 *   term before the product, so an infinite softplus at z = -inf costs nothing where it
 *   is not wanted; the gradient is finite there.
 * - Every check the validator needs is counted in the same loop (NaN and +inf logits,
 *   targets outside [0, 1] that are not ignored, bad weights), so good data is read once.
 * - Rows are cut into chunks of IL_SIG_CHUNK entries; a chunk of an operand whose entries
 *   are not contiguous (a broadcast weight, a transposed view) is gathered into a
 *   per-thread stack buffer first, so the one loop only sees contiguous memory and gcc
 *   vectorises it (#pragma omp simd; no -ffast-math: NaN, -inf and subnormals follow
 *   IEEE).  The sums are in the logits' type within a chunk (at most IL_SIG_CHUNK terms
 *   over the vector lanes) and in double across chunks: summing in double inside the loop
 *   made the float kernels up to twice as slow (a conversion per lane).
 * - OpenMP over a fixed number of blocks of chunks: each block's sums are added in order
 *   afterwards, so a result does not depend on the number of threads.  Below
 *   IL_SIG_PARALLEL_MIN entries the calling thread works alone (see softmax.c for why).
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "sigmoid.h"
#include "vmath.h"

#define IL_SIG_CHUNK 1024
#define IL_SIG_BLOCKS 256
#define IL_SIG_PARALLEL_MIN (1 << 17)

/* The sum 2f + 2f·f²·s(f²) of the atanh series; float to f^11, double to f^23, the
 * truncations of vmath.h's log. */
IL_INLINE float il_atanh2_f(float f) {
    float f2 = f * f;
    float s = 1.0f / 11.0f;
    s = s * f2 + 1.0f / 9.0f;
    s = s * f2 + 1.0f / 7.0f;
    s = s * f2 + 1.0f / 5.0f;
    s = s * f2 + 1.0f / 3.0f;
    return 2.0f * f + 2.0f * f * f2 * s;
}

IL_INLINE double il_atanh2_d(double f) {
    double f2 = f * f;
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
    return 2.0 * f + 2.0 * f * f2 * s;
}

/* log1p(e) for e in [0, 1] (NaN stays NaN). */
IL_INLINE float il_log1p_unit_f(float e) {
    int big = e > 0.41421356f;
    float f = big ? (e - 1.0f) / (e + 3.0f) : e / (e + 2.0f);
    return (big ? (float)IL_LN2 : 0.0f) + il_atanh2_f(f);
}

IL_INLINE double il_log1p_unit_d(double e) {
    int big = e > 0.41421356237309503;
    double f = big ? (e - 1.0) / (e + 3.0) : e / (e + 2.0);
    return (big ? IL_LN2_HI_D : 0.0) + (il_atanh2_d(f) + (big ? IL_LN2_LO_D : 0.0));
}

#define REAL float
#define IL_SIMDLEN 16
#define SFX _f
#define EXP_LOW il_exp_low_f
#define LOG1P il_log1p_unit_f
#include "sigmoid_elems.h"
#undef REAL
#undef IL_SIMDLEN
#undef SFX
#undef EXP_LOW
#undef LOG1P

#define REAL double
#define IL_SIMDLEN 8
#define SFX _d
#define EXP_LOW il_exp_low_d
#define LOG1P il_log1p_unit_d
#include "sigmoid_elems.h"
#undef REAL
#undef IL_SIMDLEN
#undef SFX
#undef EXP_LOW
#undef LOG1P
