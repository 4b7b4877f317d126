"""The kernels' exp and log (``include/vmath.h``) over 1-D arrays, for testing them
directly (tests/kernels/test_kernels_vmath.py) and for benchmarks; the kernels inline
the C."""

import numpy as np

cdef extern from "vmath.h" nogil:
    float il_exp_f(float)
    double il_exp_d(double)
    float il_exp_low_f(float)
    double il_exp_low_d(double)
    float il_log_f(float)
    double il_log_d(double)
    float il_log_ratio_f(float, float)
    double il_log_ratio_d(double, double)
    float il_log1p_unit_f(float)
    double il_log1p_unit_d(double)
    double il_log1p_d(double)
    int IL_LOG_BLOCK

ctypedef fused real:
    float
    double


def _out(x):
    return np.empty_like(x)


def _exp(const real[::1] x, real[::1] out):
    cdef Py_ssize_t i, n = x.shape[0]
    with nogil:
        for i in range(n):
            if real is float:
                out[i] = il_exp_f(x[i])
            else:
                out[i] = il_exp_d(x[i])


def _exp_low(const real[::1] x, real[::1] out):
    cdef Py_ssize_t i, n = x.shape[0]
    with nogil:
        for i in range(n):
            if real is float:
                out[i] = il_exp_low_f(x[i])
            else:
                out[i] = il_exp_low_d(x[i])


def _log(const real[::1] x, real[::1] out):
    cdef Py_ssize_t i, n = x.shape[0]
    with nogil:
        for i in range(n):
            if real is float:
                out[i] = il_log_f(x[i])
            else:
                out[i] = il_log_d(x[i])


def _log_ratio(const real[::1] a, const real[::1] b, real[::1] out):
    cdef Py_ssize_t i, n = a.shape[0]
    with nogil:
        for i in range(n):
            if real is float:
                out[i] = il_log_ratio_f(a[i], b[i])
            else:
                out[i] = il_log_ratio_d(a[i], b[i])


def _log1p_unit(const real[::1] x, real[::1] out):
    cdef Py_ssize_t i, n = x.shape[0]
    with nogil:
        for i in range(n):
            if real is float:
                out[i] = il_log1p_unit_f(x[i])
            else:
                out[i] = il_log1p_unit_d(x[i])


def _log1p(const double[::1] x, double[::1] out):
    cdef Py_ssize_t i, n = x.shape[0]
    with nogil:
        for i in range(n):
            out[i] = il_log1p_d(x[i])


cdef extern from *:
    """
    /* x[0..n) through il_log1p_block_d (which = 0) or il_log_block_d (1), ``size`` values
     * at a time (at most IL_LOG_BLOCK), through an aligned buffer as the kernels call them */
    static void il_test_blocks(const double *x, double *out, ptrdiff_t n, ptrdiff_t size,
                               int which) {
        double buf[IL_LOG_BLOCK] __attribute__((aligned(64)));
        for (ptrdiff_t i0 = 0; i0 < n; i0 += size) {
            ptrdiff_t m = n - i0 < size ? n - i0 : size;
            for (ptrdiff_t q = 0; q < m; q++) buf[q] = x[i0 + q];
            if (which) il_log_block_d(buf, m);
            else il_log1p_block_d(buf, m);
            for (ptrdiff_t q = 0; q < m; q++) out[i0 + q] = buf[q];
        }
    }
    """
    void il_test_blocks(const double *x, double *out, Py_ssize_t n, Py_ssize_t size,
                        int which) nogil


def _blocks(const double[::1] x, double[::1] out, Py_ssize_t size, int which):
    if not 1 <= size <= IL_LOG_BLOCK:
        raise ValueError(f"size must be in [1, {IL_LOG_BLOCK}], got {size}")
    if x.shape[0]:
        with nogil:
            il_test_blocks(&x[0], &out[0], x.shape[0], size, which)


def exp(x):
    """exp of a 1-D contiguous float32/float64 array, elementwise (``il_exp``)."""
    out = _out(x)
    _exp(x, out)
    return out


def exp_low(x):
    """``il_exp_low`` elementwise: exp(t) for t up to about 570 (float64) / 43 (float32)."""
    out = _out(x)
    _exp_low(x, out)
    return out


def log(x):
    """``il_log`` elementwise: log(x) for finite x > 0."""
    out = _out(x)
    _log(x, out)
    return out


def log_ratio(a, b):
    """``il_log_ratio`` elementwise: log(a/b) for finite a, b > 0."""
    out = _out(a)
    _log_ratio(a, b, out)
    return out


def log1p_unit(x):
    """``il_log1p_unit`` elementwise: log1p(x) for x in [0, 1]."""
    out = _out(x)
    _log1p_unit(x, out)
    return out


def log1p(x):
    """``il_log1p_d`` elementwise on a float64 array: log1p(x) for x >= 0."""
    out = _out(x)
    _log1p(x, out)
    return out


LOG_BLOCK = IL_LOG_BLOCK


def log1p_block(x, size=IL_LOG_BLOCK):
    """``il_log1p_block_d`` over a float64 array, ``size`` values at a time."""
    out = _out(x)
    _blocks(x, out, size, 0)
    return out


def log_block(x, size=IL_LOG_BLOCK):
    """``il_log_block_d`` over a float64 array, ``size`` values at a time."""
    out = _out(x)
    _blocks(x, out, size, 1)
    return out


cdef extern from *:
    """
    double il_floor_read_f(const float *x, ptrdiff_t n);
    double il_floor_read_d(const double *x, ptrdiff_t n);
    double il_floor_exp_f(const float *x, ptrdiff_t n);
    double il_floor_exp_d(const double *x, ptrdiff_t n);
    double il_floor_log_f(const float *x, ptrdiff_t n);
    double il_floor_log_d(const double *x, ptrdiff_t n);
    """
    double il_floor_read_f(const float *x, Py_ssize_t n) nogil
    double il_floor_read_d(const double *x, Py_ssize_t n) nogil
    double il_floor_exp_f(const float *x, Py_ssize_t n) nogil
    double il_floor_exp_d(const double *x, Py_ssize_t n) nogil
    double il_floor_log_f(const float *x, Py_ssize_t n) nogil
    double il_floor_log_d(const double *x, Py_ssize_t n) nogil


def _floor(const real[::1] x, int which):
    cdef Py_ssize_t n = x.shape[0]
    cdef double s
    with nogil:
        if real is float:
            if which == 0:
                s = il_floor_read_f(&x[0], n)
            elif which == 1:
                s = il_floor_exp_f(&x[0], n)
            else:
                s = il_floor_log_f(&x[0], n)
        else:
            if which == 0:
                s = il_floor_read_d(&x[0], n)
            elif which == 1:
                s = il_floor_exp_d(&x[0], n)
            else:
                s = il_floor_log_d(&x[0], n)
    return s


def floor(x, kind="read"):
    """Sum over a C-contiguous float32/float64 array on every core, of its entries
    (``kind="read"``, the read floor), of one ``il_exp_low`` per entry (``"exp"``) or one
    ``il_log`` per entry (``"log"``): the compute floors of benchmarks/compute_floor.py."""
    flat = x.reshape(-1)
    return _floor(flat, {"read": 0, "exp": 1, "log": 2}[kind])
