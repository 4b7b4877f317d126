/* The floors the benchmarks quote (benchmarks/compute_floor.py): a 2-thread read of an
 * array, and the same read plus one il_exp_low or one il_log per entry, summed.  Nothing
 * else happens in these loops, so a kernel that needs one exp (log) per entry cannot be
 * faster than the second (third) on the same machine.  Sums are in the array's type, in
 * blocks per thread, vectorised with an OpenMP simd reduction. */
#include <stddef.h>
#include <stdint.h>
#include "pieces.h"
#include "vmath.h"

#define IL_BLOCK 16384
/* Within a block, pieces of IL_SUB_BYTES, each prefetching the memory IL_SUB_AHEAD bytes
 * ahead to L2 as the kernels' long rows do (il_prefetch, pieces.h). */
#define IL_PF ((ptrdiff_t)IL_SUB_BYTES)

#define FLOOR(NAME, T, EXPR)                                                         \
    IL_WIDE double NAME(const T *x, ptrdiff_t n) {                                   \
        double total = 0.0;                                                          \
        ptrdiff_t nblocks = (n + IL_BLOCK - 1) / IL_BLOCK;                           \
        _Pragma("omp parallel for schedule(static) reduction(+:total)")            \
        for (ptrdiff_t b = 0; b < nblocks; b++) {                                    \
            ptrdiff_t lo = b * IL_BLOCK, hi = lo + IL_BLOCK < n ? lo + IL_BLOCK : n; \
            const ptrdiff_t step = IL_PF / (ptrdiff_t)sizeof(T);                      \
            for (ptrdiff_t c0 = lo; c0 < hi; c0 += step) {                           \
                ptrdiff_t c1 = c0 + step < hi ? c0 + step : hi;                      \
                il_prefetch(x + c0, IL_SUB_AHEAD, IL_PF);                            \
                T acc = 0;                                                           \
                _Pragma("omp simd reduction(+:acc)")                                 \
                for (ptrdiff_t i = c0; i < c1; i++) {                                \
                    T v = x[i];                                                      \
                    acc += EXPR;                                                     \
                }                                                                    \
                total += (double)acc;                                                \
            }                                                                        \
        }                                                                            \
        return total;                                                                \
    }

FLOOR(il_floor_read_f, float, v)
FLOOR(il_floor_read_d, double, v)
FLOOR(il_floor_exp_f, float, il_exp_low_f(-v * v))
FLOOR(il_floor_exp_d, double, il_exp_low_d(-v * v))
FLOOR(il_floor_log_f, float, il_log_f(v * v + 1.0f))
FLOOR(il_floor_log_d, double, il_log_d(v * v + 1.0))
