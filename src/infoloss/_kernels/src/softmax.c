/* softmax.c: softmax cross-entropy from logits, forward, backward and the fused pair.
 *
 * Per sample i with logits z_i, target t_i (one-hot for labels), class weights w,
 * smoothing eps and ignored class k (labels: the whole sample; probabilities: that column):
 *
 *     u_i = t_i with column k zeroed      keep_i = 1 - t_ik
 *     a_ic = w_c ((1 - eps) u_ic + eps keep_i / C)      A_i = Σ_c a_ic
 *     loss_i = Σ_c a_ic (lse_i - z_ic)     s_i = Σ_c w_c u_ic (the sample weight)
 *     dloss_i/dz_ic = A_i q_ic - a_ic
 *
 * with the z-loss λ·s_i·lse_i² (A_i gains 2λ·s_i·lse_i) and soft-capping (the loss reads
 * cap·tanh(z/cap); the gradient gains the factor sech²(z/cap)).  The semantics are those
 * of infoloss._kernels.softmax's docstring; this file says why the loops are shaped so.
 *
 * Why the kernels are shaped as they are:
 *
 * - One pass over the logits.  A row goes in chunks of IL_CHUNK entries: the chunk's maximum
 *   is taken as it comes from memory, then its exp sums against the running maximum are
 *   taken from L1.  A chunk that raises the running maximum re-centres the sums already
 *   taken (one scalar exp); nothing is summed twice.  A row of up to IL_CHUNK classes is one
 *   chunk.  The maximum is a max-reduction over the data; the entries equal to it are
 *   counted as they are summed (z - m == 0) and kept out of the sum, so that
 *   log Σ exp(z - m) = log1p((k - 1) + rest) keeps the relative accuracy of a tiny rest:
 *   the loss at a dominant logit, log s - (z_y - m), is then accurate to the last bits.
 * - One loop over a chunk for every kernel (chunk_sums), with the sums a loss needs beside
 *   the exps (Σ w·(z - m) for smoothing; A, B, S, T and the bad targets of probability
 *   targets) as flags that are compile-time constants in each variant: gcc vectorises each
 *   variant's loop (#pragma omp simd reduction: the reassociation is allowed there and
 *   nowhere else; no -ffast-math, so -inf, NaN and subnormals follow IEEE).  Within a chunk
 *   the exps are summed in the logits' type, across chunks in double.  The exp is vmath.h's
 *   il_exp_low (arguments z - m <= 0).
 * - The fused kernel stores exp(z - m_c) as it sums it and scales it in a second loop over
 *   the row while it is in cache, rather than computing exp twice; a chunk stored against a
 *   running maximum m_c below the row's is scaled by exp(m_c - m).
 * - The backward reads each logit row once from the forward's float64 lse: q =
 *   exp(z - hi)·exp(hi - lse) with hi the nearest float to lse (>= the row maximum, so the
 *   exp arguments stay <= 0).  The float64 lse gives q a relative error |lse|·2^-53; where
 *   that would show (|lse| >= 2^8 for double logits, >= 2^24 for float) the row's maximum
 *   and sum are recomputed from the logits instead.
 * - Bad data is counted, never raised on: a row whose sums are not finite (NaN or +inf
 *   entries, or no finite entry) counts its NaN and +inf entries, or 1.
 * - Any strides: a row whose classes are not contiguous (logits, targets or gradient) goes
 *   through a per-thread row buffer, so the loops above only ever see contiguous rows;
 *   soft-capping writes cap·tanh(z/cap) into the same buffer, a few rows at a time (as
 *   many as fit in about 256 KiB: the caller's ``cap_rows``), in one vectorised loop each.
 * - OpenMP over rows, not below IL_PARALLEL_MIN (about 15 us of work), where waking the
 *   second thread costs more than it saves.  Above it the rows go in pieces of consecutive
 *   rows, each taken by whichever thread is free (include/pieces.h).
 *
 * The squared errors (il_sqerr_forward) share the row layouts, the buffers and the exp
 * sums.  The softmax squared error needs the whole of q before its gradient (the gradient
 * of a row reads <q, q - p̂>), so q is stored as the exps are summed (into the gradient row,
 * or a row buffer) and the row is then read twice more from cache: once for the loss and
 * <q, g>, once for the gradient.  The logit squared error has no normaliser: one pass,
 * loss and gradient together.  Both form the target p̂ per entry from the label or the
 * target row, so no one-hot row is ever built; their sums are in double.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "pieces.h"
#include "softmax.h"
#include "vmath.h"

/* Entries per chunk: 8 KiB of float (16 KiB of double) stay in L1 between the chunk's
 * maximum and its sums, with the stored exps of the fused kernel beside them. */
#define IL_CHUNK 2048
/* Work below IL_PARALLEL_MIN (in entries, a row costing IL_ROW_COST more: its log1p and
 * loop set-up), about 15 us on one core, runs on the calling thread alone.  Measured on the
 * AVX-512 Xeon through the PyTorch drop-in (benchmarks/small_batches.py; docs/torch.md),
 * against 2^19 (set on the AMD machine with earlier kernels, where a second thread's
 * wake-up had cost more than it saved up to about 250 us of work): 256x1000 forward 1.02
 * -> 0.61x F.cross_entropy, forward+backward 0.66 -> 0.34-0.42x; 1797x31 forward 1.7 ->
 * 1.0x; 2^13 gave the same within noise. */
#define IL_PARALLEL_MIN (1 << 15)
#define IL_ROW_COST 64
/* Rows of up to IL_BLK_MAXC classes go IL_BLK at a time: their sums, then their logs in
 * one vector loop (block_logs), then their losses and gradients (a row of IL_BLK_MAXC
 * floats is 4 KiB: a block's rows stay in L2 for their gradients). */
#define IL_BLK IL_LOG_BLOCK
#define IL_BLK_MAXC 1024

enum { IL_PLAIN = 0, IL_SMOOTH = 1, IL_PROB = 2 };

/* tanh x = x·P(x²) by its Taylor series through x^15 for |x| < 1/8 (the next term is below
 * 2e-18 relative there); beyond, (1 - e)/(1 + e) with e = exp(-2|x|), where 1 - e >= 0.22
 * keeps the exp's relative error to a few ulp.  Plain arithmetic and il_exp_d, so the
 * loops that call it vectorise; ±inf give ±1, NaN stays NaN. */
IL_INLINE double il_tanh_d(double x) {
    double ax = fabs(x);
    double e = il_exp_d(-2.0 * ax);
    double far = (1.0 - e) / (1.0 + e);
    double x2 = ax * ax;
    double p = -929569.0 / 638512875;
    p = p * x2 + 21844.0 / 6081075;
    p = p * x2 + -1382.0 / 155925;
    p = p * x2 + 62.0 / 2835;
    p = p * x2 + -17.0 / 315;
    p = p * x2 + 2.0 / 15;
    p = p * x2 + -1.0 / 3;
    double near = ax * (p * x2 + 1.0);
    double t = ax < 0.125 ? near : far;
    return x < 0.0 ? -t : t;
}

/* IL_SIMDLEN: the loops' lanes, two 256-bit vectors (their sums interleave); IL_VW: one
 * vector, the lanes of a chunk shorter than IL_SIMDLEN (see IL_SUMS_FOR). */
#define IL_STR2(...) #__VA_ARGS__
#define IL_STR(...) IL_STR2(__VA_ARGS__)

#define REAL float
#define IL_SIMDLEN 16
#define IL_VW 8
#define SFX _f
#define EXP_LOW il_exp_low_f
#define LSE_EXACT 16777216.0 /* 2^24 */
#include "softmax_rows.h"
#undef REAL
#undef IL_SIMDLEN
#undef IL_VW
#undef SFX
#undef EXP_LOW
#undef LSE_EXACT

#define REAL double
#define IL_SIMDLEN 8
#define IL_VW 4
#define SFX _d
#define EXP_LOW il_exp_low_d
#define LSE_EXACT 256.0 /* 2^8 */
#include "softmax_rows.h"
#undef REAL
#undef IL_SIMDLEN
#undef IL_VW
#undef SFX
#undef EXP_LOW
#undef LSE_EXACT
