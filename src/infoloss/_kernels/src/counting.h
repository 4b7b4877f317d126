/* counting.h: the discrete estimators' kernels (see counting.c for why they are so). */
#ifndef INFOLOSS_COUNTING_H
#define INFOLOSS_COUNTING_H

#include <stdint.h>

/* Integer kinds of il_count_rows' samples. */
enum { IL_I8, IL_I16, IL_I32, IL_I64, IL_U8, IL_U16, IL_U32, IL_U64 };

/* out (b, k) int64, C order: how often each value lo .. lo + k - 1 occurs in each row of
 * x (b, n; strides s0, s1 in elements), every value in that range; lo modulo 2^64.
 * Returns 0, or -1 where memory ran out, -2 for an unknown kind. */
int il_count_rows(const void *x, int kind, int64_t b, int64_t n, int64_t s0, int64_t s1,
                  uint64_t lo, int64_t k, int64_t *out);

/* out[i] = the Neumaier-compensated left-to-right sum of row i of terms (b, n). */
void il_row_sum(const double *terms, int64_t b, int64_t n, int64_t s0, int64_t s1,
                double *out);

/* out[i] = sum_{m>=1} (1 - a[i])^m / (c[i] + m), for 0 < a <= 1, c >= 0. */
void il_cwj_tail(const double *a, const double *c, int64_t n, double *out);

#endif
