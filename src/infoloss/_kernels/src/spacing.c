/* spacing.c: Correa's local-regression m-spacing entropy (infoloss.estimators._spacing).
 *
 * Why it is shaped this way: for each order statistic i the least-squares slope b_i of
 * rank on value over the window i - m .. i + m (order statistics clamped at the ends) is
 * computed in two passes over the window, the mean and then the centred sums, so no
 * large windowed sums cancel: O(n m) time and O(1) memory per point, where a
 * sliding-window view would hold n (2m + 1) values.  The points of a row are shared among
 * threads (an OpenMP reduction of the row's sum of logs).  Sums are taken in the order
 * written (no fused multiply-adds) so the values match the definition term by term.
 * Scalar libm log: one per point, after O(m) arithmetic.
 */
#pragma GCC optimize("fp-contract=off")
#include <math.h>
#include <stdint.h>

#include "spacing.h"

void il_correa_logs(const double *xs, int64_t b, int64_t n, int64_t m, double *out)
{
    const double w = (double)(2 * m + 1);
    for (int64_t r = 0; r < b; r++) {
        const double *x = xs + r * n;
        double total = 0.0;
        int64_t i;
#pragma omp parallel for schedule(static) reduction(+ : total) if (n * m >= 65536)
        for (i = 0; i < n; i++) {
            double s = 0.0;
            for (int64_t j = i - m; j <= i + m; j++)
                s += x[j < 0 ? 0 : (j > n - 1 ? n - 1 : j)];
            double mean = s / w;
            double num = 0.0, den = 0.0;
            for (int64_t j = i - m; j <= i + m; j++) {
                double dv = x[j < 0 ? 0 : (j > n - 1 ? n - 1 : j)] - mean;
                num += dv * (double)(j - i);
                den += dv * dv;
            }
            total += log(num / ((double)n * den));
        }
        out[r] = total;
    }
}
