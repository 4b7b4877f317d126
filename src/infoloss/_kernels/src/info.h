/* info.h: the measure kernels (see info.c for why they are shaped as they are). */
#ifndef INFOLOSS_INFO_H
#define INFOLOSS_INFO_H

#include <stdint.h>

/* Entries of a row summed together in the data's type (in L1); rows are taken in chunks of
 * this many entries, and rows of at most this many in one loop a row (the maximum of the
 * next row taken in it).  2048, as the numba kernels had: with 512, rows of 1000 went in two
 * chunks, and their entropy and cross-entropy of logits took 15-20% longer. */
#define IL_CHUNK 2048

/* How an argument's entries are read. */
enum {
    IL_P_RAW,   /* probabilities as given */
    IL_P_SCL,   /* probabilities, normalised relative to the row maximum */
    IL_L_RAW,   /* log-probabilities as given */
    IL_L_EXACT  /* log-probabilities normalised, or logits */
};

/* Measures of rows, and of tables. */
enum { IL_ENTROPY, IL_CROSS_ENTROPY, IL_KL, IL_JS };
enum { IL_CONDITIONAL, IL_MUTUAL };
/* Forms of a table. */
enum { IL_PROBS, IL_LOG_PROBS, IL_LOGITS };

/* What the validator needs of one argument over all the rows of a call: its bad entries,
 * and bounds of its rows' log-masses: the least and the largest, or one ulp of the data's
 * type outside them where the kernel bounds the rows' sums before their logs (both NaN
 * where any row's is NaN; +inf and -inf where there are no rows). */
typedef struct {
    int64_t nbad;
    double lm_lo, lm_hi;
} il_arg_sum;

/* Row i of P (n, c; strides in elements sp0, sp1) and of Q: out[i] the measure ``kind``
 * in nats (NaN in a row whose argument has bad entries, +inf where P > 0 = Q), nb*[i] the
 * argument's bad entries in the row, lm*[i] the log of its row's mass.  ``logits_*``: the
 * argument is logits (a row of all -inf counts as one bad entry).  Q, sq*, nbq and lmq are
 * unused for the entropy.  ``sum`` (NULL, or two: P's, then Q's): the arguments' totals.
 * ``rows``: whether the caller reads nb* and lm*; where it does not, the kernels may leave
 * them unwritten (they stay the kernels' scratch) and only ``sum`` is the answer.  Returns
 * 0, or -1 where memory ran out. */
int il_measure_rows_f(int kind, const float *P, int mp, int logits_p, int64_t sp0, int64_t sp1,
                      const float *Q, int mq, int logits_q, int64_t sq0, int64_t sq1,
                      int64_t n, int64_t c, double *out, int64_t *nbp, int64_t *nbq,
                      double *lmp, double *lmq, int rows, il_arg_sum *sum);
int il_measure_rows_d(int kind, const double *P, int mp, int logits_p, int64_t sp0, int64_t sp1,
                      const double *Q, int mq, int logits_q, int64_t sq0, int64_t sq1,
                      int64_t n, int64_t c, double *out, int64_t *nbp, int64_t *nbq,
                      double *lmp, double *lmq, int rows, il_arg_sum *sum);

/* Tables T (n, nx, ny; strides in elements) normalised over their last two axes together:
 * out[i] = H(Y | X) or I(X; Y) in nats, nb[i] the bad entries, lm[i] the log of the
 * table's mass; ``sum`` (NULL, or one): their totals.  Returns 0, or -1 where memory ran out. */
int il_joint_rows_f(int kind, const float *T, int form, int normalize, int64_t s0, int64_t s1,
                    int64_t s2, int64_t n, int64_t nx, int64_t ny, double *out, int64_t *nb,
                    double *lm, il_arg_sum *sum);
int il_joint_rows_d(int kind, const double *T, int form, int normalize, int64_t s0, int64_t s1,
                    int64_t s2, int64_t n, int64_t nx, int64_t ny, double *out, int64_t *nb,
                    double *lm, il_arg_sum *sum);

/* The floor of ``kind`` (IL_CROSS_ENTROPY, IL_KL, IL_JS) of probabilities x, y (n entries
 * each, read as given): each entry's term summed, nothing per row (see info.c). */
double il_floor_pair_f(int kind, const float *x, const float *y, int64_t n);
double il_floor_pair_d(int kind, const double *x, const double *y, int64_t n);

#endif
