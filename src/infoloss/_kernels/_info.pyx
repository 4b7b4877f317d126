"""The measure kernels (``src/info.c``): thin typed wrappers.  Arrays are checked and laid
out by :mod:`infoloss._kernels.info` (which owns every message) and arrive here as their
data addresses, sizes and strides in elements."""

from libc.stdint cimport int64_t

cdef extern from "info.h" nogil:
    enum: IL_CHUNK
    ctypedef struct il_arg_sum:
        int64_t nbad
        double lm_lo
        double lm_hi
    int il_measure_rows_f(int kind, const float *P, int mp, int logits_p, int64_t sp0,
                          int64_t sp1, const float *Q, int mq, int logits_q, int64_t sq0,
                          int64_t sq1, int64_t n, int64_t c, double *out, int64_t *nbp,
                          int64_t *nbq, double *lmp, double *lmq, int rows, il_arg_sum *sum)
    int il_measure_rows_d(int kind, const double *P, int mp, int logits_p, int64_t sp0,
                          int64_t sp1, const double *Q, int mq, int logits_q, int64_t sq0,
                          int64_t sq1, int64_t n, int64_t c, double *out, int64_t *nbp,
                          int64_t *nbq, double *lmp, double *lmq, int rows, il_arg_sum *sum)
    int il_joint_rows_f(int kind, const float *T, int form, int normalize, int64_t s0,
                        int64_t s1, int64_t s2, int64_t n, int64_t nx, int64_t ny,
                        double *out, int64_t *nb, double *lm, il_arg_sum *sum)
    int il_joint_rows_d(int kind, const double *T, int form, int normalize, int64_t s0,
                        int64_t s1, int64_t s2, int64_t n, int64_t nx, int64_t ny,
                        double *out, int64_t *nb, double *lm, il_arg_sum *sum)
    double il_floor_pair_f(int kind, const float *x, const float *y, int64_t n)
    double il_floor_pair_d(int kind, const double *x, const double *y, int64_t n)


# Entries per chunk of a row (rows longer than this are summed chunk by chunk, online).
CHUNK = IL_CHUNK


def measure_rows(bint f64, int kind, size_t p, int mp, bint logits_p, int64_t sp0,
                 int64_t sp1, size_t q, int mq, bint logits_q, int64_t sq0, int64_t sq1,
                 int64_t n, int64_t c, size_t out, size_t nbp, size_t nbq, size_t lmp,
                 size_t lmq, bint rows=True):
    """``il_measure_rows_{f,d}`` on the arrays at these addresses: its status, then each
    argument's totals (bad entries, least and largest row log-mass), P's then Q's."""
    cdef int status
    cdef il_arg_sum s[2]
    with nogil:
        if f64:
            status = il_measure_rows_d(
                kind, <const double *>p, mp, logits_p, sp0, sp1, <const double *>q, mq,
                logits_q, sq0, sq1, n, c, <double *>out, <int64_t *>nbp, <int64_t *>nbq,
                <double *>lmp, <double *>lmq, rows, s)
        else:
            status = il_measure_rows_f(
                kind, <const float *>p, mp, logits_p, sp0, sp1, <const float *>q, mq,
                logits_q, sq0, sq1, n, c, <double *>out, <int64_t *>nbp, <int64_t *>nbq,
                <double *>lmp, <double *>lmq, rows, s)
    if kind == 0:
        s[1] = s[0]
    return (status, s[0].nbad, s[0].lm_lo, s[0].lm_hi, s[1].nbad, s[1].lm_lo, s[1].lm_hi)


def joint_rows(bint f64, int kind, size_t t, int form, bint normalize, int64_t s0,
               int64_t s1, int64_t s2, int64_t n, int64_t nx, int64_t ny, size_t out,
               size_t nb, size_t lm):
    """``il_joint_rows_{f,d}`` on the arrays at these addresses: its status, then the
    tables' totals (bad entries, least and largest log-mass)."""
    cdef int status
    cdef il_arg_sum s
    with nogil:
        if f64:
            status = il_joint_rows_d(kind, <const double *>t, form, normalize, s0, s1, s2, n,
                                     nx, ny, <double *>out, <int64_t *>nb, <double *>lm, &s)
        else:
            status = il_joint_rows_f(kind, <const float *>t, form, normalize, s0, s1, s2, n,
                                     nx, ny, <double *>out, <int64_t *>nb, <double *>lm, &s)
    return (status, s.nbad, s.lm_lo, s.lm_hi)


def floor_pair(bint f64, int kind, size_t x, size_t y, int64_t n):
    """``il_floor_pair_{f,d}``: each entry's term of ``kind`` summed over n entries."""
    cdef double total
    with nogil:
        if f64:
            total = il_floor_pair_d(kind, <const double *>x, <const double *>y, n)
        else:
            total = il_floor_pair_f(kind, <const float *>x, <const float *>y, n)
    return total
