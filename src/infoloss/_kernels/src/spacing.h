/* spacing.h: Correa's m-spacing entropy kernel (see spacing.c). */
#ifndef INFOLOSS_SPACING_H
#define INFOLOSS_SPACING_H

#include <stdint.h>

/* out[r] = sum over i of log b_i for the sorted row r of xs (b, n, C order), b_i the
 * least-squares slope of rank on value over the window i - m .. i + m divided by n. */
void il_correa_logs(const double *xs, int64_t b, int64_t n, int64_t m, double *out);

#endif
