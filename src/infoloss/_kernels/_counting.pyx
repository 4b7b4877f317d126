"""The discrete estimators' kernels (``src/counting.c``): thin typed wrappers.  Arrays are
checked and laid out by :mod:`infoloss._kernels.counting` (which owns every message) and
arrive here as their data addresses, sizes and strides in elements."""

from libc.stdint cimport int64_t, uint64_t

cdef extern from "counting.h" nogil:
    int il_count_rows(const void *x, int kind, int64_t b, int64_t n, int64_t s0, int64_t s1,
                      uint64_t lo, int64_t k, int64_t *out)
    void il_row_sum(const double *terms, int64_t b, int64_t n, int64_t s0, int64_t s1,
                    double *out)
    void il_cwj_tail(const double *a, const double *c, int64_t n, double *out)


def count_rows(size_t x, int kind, int64_t b, int64_t n, int64_t s0, int64_t s1,
               uint64_t lo, int64_t k, size_t out):
    """``il_count_rows`` on the array at address ``x`` into the (b, k) int64 C-contiguous
    array at ``out``; its status (0, -1 out of memory, -2 unknown kind)."""
    cdef int status
    with nogil:
        status = il_count_rows(<const void *>x, kind, b, n, s0, s1, lo, k, <int64_t *>out)
    return status


def row_sum(size_t terms, int64_t b, int64_t n, int64_t s0, int64_t s1, size_t out):
    """``il_row_sum`` of the float64 (b, n) array at ``terms`` into (b,) float64 at ``out``."""
    with nogil:
        il_row_sum(<const double *>terms, b, n, s0, s1, <double *>out)


def cwj_tail(size_t a, size_t c, int64_t n, size_t out):
    """``il_cwj_tail`` of n contiguous float64 at ``a``, ``c`` into ``out``."""
    with nogil:
        il_cwj_tail(<const double *>a, <const double *>c, n, <double *>out)
