/* Vector loops whose sums are kept per lane and added pairwise at the end.
 *
 * gcc vectorises an `omp simd reduction(+ : s)` over float data with one accumulator per
 * lane, then, IEEE order being kept (no -ffast-math), adds the lanes to s one after another
 * in scalar code: 16 dependent adds for a vector of float32, 8 for float64, after every such
 * loop.  A long row pays that once; a row of 31 entries, with two loops (the full vector
 * steps, then the masked last step) and four or six sums, paid it in most of its time: on
 * the 2-core AVX-512 Xeon, float32 KL of 65536 rows of 31 probabilities took 2.4 ms, of
 * which about 60% were those adds.
 *
 * Here the body adds to lane IL_LANE(s) of an array of L partial sums (a vector register
 * once gcc has vectorised the loop), the masked last step adds into the same lanes, and
 * IL_FOLD_SUM adds the lanes in halves (log2 L dependent vector adds).  The sum is then
 * taken in a fixed order that is the same for every row and every run.
 *
 * IL_LANES_FOR(L, n, BODY): BODY at j in [0, n) with ok = 1, in steps of L lanes (lane
 * il_l = j mod L); the n mod L entries left over run as one more step over the last L
 * entries with ok = 0 on those the full steps took (BODY adds ``ok ? term : 0``), so a row
 * never runs scalar code.  Rows shorter than L run as one loop of n lanes.  A step's
 * trip count is the constant L, so gcc makes each step one vector iteration. */
#ifndef INFOLOSS_LANES_H
#define INFOLOSS_LANES_H

#include <stddef.h>

#define IL_LANE(a) (a)[il_l]

#define IL_LANES_FOR(L, n, ...)                                                             \
    do {                                                                                    \
        const ptrdiff_t il_n = (n);                                                         \
        const ptrdiff_t il_m = il_n >= (L) ? il_n - il_n % (L) : 0;                         \
        for (ptrdiff_t il_b = 0; il_b < il_m; il_b += (L)) {                                \
            const int ok = 1;                                                               \
            (void)ok;                                                                       \
            _Pragma("omp simd") for (ptrdiff_t il_l = 0; il_l < (L); il_l++) {              \
                const ptrdiff_t j = il_b + il_l;                                            \
                __VA_ARGS__                                                                 \
            }                                                                               \
        }                                                                                   \
        if (il_m == 0) {                                                                    \
            const int ok = 1;                                                               \
            (void)ok;                                                                       \
            _Pragma("omp simd") for (ptrdiff_t il_l = 0; il_l < il_n; il_l++) {             \
                const ptrdiff_t j = il_l;                                                   \
                __VA_ARGS__                                                                 \
            }                                                                               \
        } else if (il_m < il_n) {                                                           \
            const ptrdiff_t il_o = il_n - (L);                                              \
            _Pragma("omp simd") for (ptrdiff_t il_l = 0; il_l < (L); il_l++) {              \
                const ptrdiff_t j = il_o + il_l;                                            \
                const int ok = j >= il_m;                                                   \
                (void)ok;                                                                   \
                __VA_ARGS__                                                                 \
            }                                                                               \
        }                                                                                   \
    } while (0)

/* L lanes a, each set to v. */
#define IL_LANES_SET(a, L, v)                                                               \
    do {                                                                                    \
        for (ptrdiff_t il_k = 0; il_k < (L); il_k++) (a)[il_k] = (v);                        \
    } while (0)

/* The lanes a[0..L) folded in halves, a[k] = OP(a[k], a[k + h]) for h = L/2, L/4, .., 1 (a is
 * overwritten): the value of a[0].  L: a power of two.  (Inline functions, not a statement
 * expression: gcc kept the latter's lanes on the stack and reloaded them one by one.) */
#define IL_OP_ADD(x, y) ((x) + (y))
#define IL_OP_MIN(x, y) ((y) < (x) ? (y) : (x))
#define IL_OP_MAX(x, y) ((y) > (x) ? (y) : (x))
#define IL_FOLD_FN(NAME, T, OP)                                                             \
    static inline __attribute__((always_inline)) T NAME(T *a, ptrdiff_t L) {                \
        _Pragma("GCC unroll 8") for (ptrdiff_t h = L / 2; h > 0; h /= 2)                    \
            _Pragma("GCC unroll 16") for (ptrdiff_t k = 0; k < h; k++)                      \
                a[k] = OP(a[k], a[k + h]);                                                  \
        return a[0];                                                                        \
    }
IL_FOLD_FN(il_fold_sum_f, float, IL_OP_ADD)
IL_FOLD_FN(il_fold_sum_d, double, IL_OP_ADD)
IL_FOLD_FN(il_fold_min_f, float, IL_OP_MIN)
IL_FOLD_FN(il_fold_min_d, double, IL_OP_MIN)
IL_FOLD_FN(il_fold_max_f, float, IL_OP_MAX)
IL_FOLD_FN(il_fold_max_d, double, IL_OP_MAX)
#define IL_FOLD_SUM(a, L) _Generic((a)[0], float: il_fold_sum_f, double: il_fold_sum_d)(a, L)
#define IL_FOLD_MIN(a, L) _Generic((a)[0], float: il_fold_min_f, double: il_fold_min_d)(a, L)
#define IL_FOLD_MAX(a, L) _Generic((a)[0], float: il_fold_max_f, double: il_fold_max_d)(a, L)

#endif
