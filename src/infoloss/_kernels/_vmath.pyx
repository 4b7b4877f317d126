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
