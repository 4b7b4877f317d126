/* sigmoid.c: binary cross-entropy and squared error of sigmoid probabilities, per element,
 * with their sums and the fused gradient (semantics: infoloss._kernels.sigmoid).
 *
 * Why the kernels are shaped as they are:
 *
 * - One exp per element.  With e = exp(-|z|) (vmath.h's il_exp_low: its argument is never
 *   positive) both probabilities come without cancellation, σ(|z|) = 1/(1 + e) and
 *   σ(-|z|) = e/(1 + e), and so do both softplus terms: softplus(±z) = max(±z, 0) +
 *   log1p(e).  The array-API code spends two exps and two log1ps on the same.
 * - log1p(e) for e in [0, 1] without a general log: vmath.h's il_log1p_unit (its log's
 *   atanh series, with e itself as the exact leading term, so tiny e keeps its relative
 *   accuracy).
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
