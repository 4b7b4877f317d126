/* The digamma function psi(x) for x > 0, shared by the estimators' kernels (NSB, the
 * neighbour counts of KSG and Kozachenko-Leonenko): the recurrence psi(x) = psi(x + 1) - 1/x
 * up to x >= 10, then the asymptotic series ln x - 1/(2x) - sum B_2j / (2j x^2j) to the
 * x^-14 term (the next is below 1e-16 relative at x = 10).  The same steps as the Python
 * ``infoloss.estimators._estimate.digamma``, so both give the same values. */
#ifndef INFOLOSS_DIGAMMA_H
#define INFOLOSS_DIGAMMA_H

#include <math.h>

static inline double il_digamma(double x)
{
    double acc = 0.0;
    while (x < 10.0) {
        acc -= 1.0 / x;
        x += 1.0;
    }
    double inv = 1.0 / x, w = inv * inv;
    double series =
        w * (1.0 / 12 -
             w * (1.0 / 120 -
                  w * (1.0 / 252 -
                       w * (1.0 / 240 - w * (1.0 / 132 - w * (691.0 / 32760 - w / 12))))));
    return acc + log(x) - 0.5 * inv - series;
}

#endif
