/* nsb.h: the NSB entropy estimator's kernel (see nsb.c for why it is so). */
#ifndef INFOLOSS_NSB_H
#define INFOLOSS_NSB_H

#include <stdint.h>

/* Posterior mean and standard deviation (nats) of the entropy of each row of counts
 * (b, n; strides s0, s1 in elements; non-negative whole numbers), alphabet size k, or the
 * unbounded-alphabet limit where finite is 0.  Returns 0, or -1 where memory ran out. */
int il_nsb_rows(const double *counts, int64_t b, int64_t n, int64_t s0, int64_t s1, double k,
                int finite, double *mean, double *sd);

/* The kernel's psi(x) and psi_1(x) - 1/x (x > 0), for tests against SciPy and mpmath. */
double il_nsb_digamma(double x);
double il_nsb_trigamma_tail(double x);

#endif
