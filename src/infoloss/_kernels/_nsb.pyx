"""The NSB estimator's kernel (``src/nsb.c``): a thin typed wrapper.  Arrays are checked
and laid out by :mod:`infoloss._kernels.nsb` and arrive as data addresses, sizes and
strides in elements."""

from libc.stdint cimport int64_t

cdef extern from "nsb.h" nogil:
    int il_nsb_rows(const double *counts, int64_t b, int64_t n, int64_t s0, int64_t s1,
                    double k, int finite, double *mean, double *sd)
    double il_nsb_digamma(double x)
    double il_nsb_trigamma_tail(double x)


def digamma(double x):
    """The kernel's psi(x), x > 0."""
    return il_nsb_digamma(x)


def trigamma_tail(double x):
    """The kernel's psi_1(x) - 1/x, x > 0, without cancellation."""
    return il_nsb_trigamma_tail(x)


def nsb_rows(size_t counts, int64_t b, int64_t n, int64_t s0, int64_t s1, double k,
             bint finite, size_t mean, size_t sd):
    """``il_nsb_rows`` on the float64 (b, n) array at ``counts`` into the (b,) float64
    arrays at ``mean`` and ``sd``; its status (0, or -1 out of memory)."""
    cdef int status
    with nogil:
        status = il_nsb_rows(<const double *>counts, b, n, s0, s1, k, finite,
                             <double *>mean, <double *>sd)
    return status
