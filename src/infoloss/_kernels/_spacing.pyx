"""Correa's m-spacing kernel (``src/spacing.c``): a thin typed wrapper.  The array is laid
out by :mod:`infoloss._kernels.spacing` and arrives as its data address and sizes."""

from libc.stdint cimport int64_t

cdef extern from "spacing.h" nogil:
    void il_correa_logs(const double *xs, int64_t b, int64_t n, int64_t m, double *out)


def correa_logs(size_t xs, int64_t b, int64_t n, int64_t m, size_t out):
    with nogil:
        il_correa_logs(<const double *>xs, b, n, m, <double *>out)
