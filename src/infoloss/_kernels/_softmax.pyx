"""The typed boundary of the softmax cross-entropy kernels (``src/softmax.c``): checks the
layout of every array, allocates the outputs, passes pointers, sizes and strides (in
elements) across and builds the named results.  :mod:`infoloss._kernels.softmax` is the
contract; see its docstring."""

cimport numpy as cnp
from libc.stdint cimport int64_t

import numpy as np

from ._results import ArgStats, XentForward

cnp.import_array()

cdef inline int _forward(const il_xent_in *p, il_xent_out *o, bint single,
                         int64_t lanes_maxc) noexcept nogil:
    """The kernel of rows across the lanes for labels without class weights, z-loss or
    soft-capping, of at most ``lanes_maxc`` classes; else the general one."""
    if (p.y != NULL and p.w == NULL and p.zl == 0.0 and not p.has_cap
            and p.c <= lanes_maxc):
        return il_xent_lanes_f(p, o) if single else il_xent_lanes_d(p, o)
    return il_xent_forward_f(p, o) if single else il_xent_forward_d(p, o)


cdef int xent_forward(const il_xent_in *p, il_xent_out *o, bint single) noexcept nogil:
    return _forward(p, o, single, IL_LANES_MAXC if o.g == NULL else IL_LANES_FUSED_MAXC)


# The NumPy path takes the kernel of rows across the lanes up to these many classes, with
# or without the gradient (one limit for both, so that a row's forward and fused results
# keep the same bits).  Against the general kernel on the AVX-512 Xeon, 65536 rows, median
# of three alternating runs: float32 forward 0.44x (10 classes), 0.64x (16), 0.79x (24),
# 0.77x (31); fused 0.50x, 0.75x, 1.00x, 1.09x; float64 at 10 classes 0.60x / 0.64x, at 20
# 0.77x / 0.87x, at 31 1.05x / 1.13x.  (The drop-ins' forward takes it up to
# IL_LANES_MAXC, their fused call up to IL_LANES_FUSED_MAXC.)
cdef enum:
    _NP_LANES_MAXC_F = 24
    _NP_LANES_MAXC_D = 20


cdef int xent_backward(const il_xent_in *p, const double *lse, const double *upstream,
                       void *g, int64_t gs0, int64_t gs1, bint single) noexcept nogil:
    if single:
        return il_xent_backward_f(p, lse, upstream, g, gs0, gs1)
    return il_xent_backward_d(p, lse, upstream, g, gs0, gs1)


cdef inline bint _strided_ok(cnp.ndarray a, int nd):
    """Every stride of ``a`` a whole number of elements."""
    cdef Py_ssize_t isz = cnp.PyArray_ITEMSIZE(a)
    cdef int k
    for k in range(nd):
        if cnp.PyArray_STRIDES(a)[k] % isz:
            return False
    return True


cdef cnp.ndarray _logits(object z):
    if not isinstance(z, np.ndarray):
        raise ValueError("`z` must be a NumPy array")
    cdef cnp.ndarray a = <cnp.ndarray>z
    cdef int tn = cnp.PyArray_TYPE(a)
    if cnp.PyArray_NDIM(a) != 2 or (tn != cnp.NPY_FLOAT32 and tn != cnp.NPY_FLOAT64):
        raise ValueError("`z` must be a 2-D float32 or float64 array (N, C)")
    if not _strided_ok(a, 2):
        a = np.ascontiguousarray(a)
    return a


cdef object _setup(il_xent_in *p, cnp.ndarray z, object target, object weight,
                   double smoothing, object ignore_index, object softcap, int64_t cap_rows,
                   double zl):
    """Fill ``p``; returns the arrays whose memory ``p`` points into (kept alive)."""
    cdef int64_t n = cnp.PyArray_DIMS(z)[0]
    cdef int64_t c = cnp.PyArray_DIMS(z)[1]
    cdef Py_ssize_t isz = cnp.PyArray_ITEMSIZE(z)
    cdef cnp.ndarray t, w
    p.n = n
    p.c = c
    p.z = cnp.PyArray_DATA(z)
    p.zs0 = cnp.PyArray_STRIDES(z)[0] // isz
    p.zs1 = cnp.PyArray_STRIDES(z)[1] // isz
    p.eps = smoothing
    p.zl = zl
    p.has_cap = softcap is not None
    p.cap = float(softcap) if p.has_cap else 0.0
    p.cap_rows = cap_rows
    if not isinstance(target, np.ndarray):
        target = np.asarray(target)
    t = <cnp.ndarray>target
    if cnp.PyArray_NDIM(t) == 1:
        if cnp.PyArray_TYPE(t) != cnp.NPY_INT64 or not _strided_ok(t, 1):
            t = np.ascontiguousarray(t, dtype=np.int64)
        if cnp.PyArray_DIMS(t)[0] != n:
            raise ValueError("`target` labels must have one entry per row of `z`")
        p.y = <const int64_t *>cnp.PyArray_DATA(t)
        p.ys = cnp.PyArray_STRIDES(t)[0] // 8
        p.t = NULL
        p.ts0 = p.ts1 = 0
        p.has_ignore = ignore_index is not None
        p.ignore = int(ignore_index) if p.has_ignore else 0
    elif cnp.PyArray_NDIM(t) == 2:
        if cnp.PyArray_DIMS(t)[0] != n or cnp.PyArray_DIMS(t)[1] != c:
            raise ValueError("`target` probabilities must have the shape of `z`")
        if cnp.PyArray_TYPE(t) != cnp.PyArray_TYPE(z) or not _strided_ok(t, 2):
            t = np.ascontiguousarray(t, dtype=z.dtype)
        p.y = NULL
        p.ys = 0
        p.t = cnp.PyArray_DATA(t)
        p.ts0 = cnp.PyArray_STRIDES(t)[0] // isz
        p.ts1 = cnp.PyArray_STRIDES(t)[1] // isz
        p.has_ignore = 0
        p.ignore = -1
        if ignore_index is not None and 0 <= ignore_index < c:
            p.ignore = int(ignore_index)
    else:
        raise ValueError("`target` must be labels (N,) or probabilities (N, C)")
    if weight is None:
        p.w = NULL
        return (z, t)
    w = np.ascontiguousarray(weight, dtype=np.float64)
    if cnp.PyArray_NDIM(w) != 1 or cnp.PyArray_DIMS(w)[0] != c:
        raise ValueError("`weight` must have one entry per class (C,)")
    p.w = <const double *>cnp.PyArray_DATA(w)
    return (z, t, w)


cdef cnp.ndarray _rows_out(object out, cnp.ndarray z):
    if not isinstance(out, np.ndarray):
        raise ValueError("`out` must be a NumPy array")
    cdef cnp.ndarray g = <cnp.ndarray>out
    if (cnp.PyArray_NDIM(g) != 2 or cnp.PyArray_TYPE(g) != cnp.PyArray_TYPE(z)
            or cnp.PyArray_DIMS(g)[0] != cnp.PyArray_DIMS(z)[0]
            or cnp.PyArray_DIMS(g)[1] != cnp.PyArray_DIMS(z)[1]):
        raise ValueError("`out` must have the shape and dtype of `z`")
    if not cnp.PyArray_ISWRITEABLE(g) or not _strided_ok(g, 2):
        raise ValueError("`out` must be writeable, with strides in whole elements")
    return g


cdef inline cnp.ndarray _vector(cnp.npy_intp n):
    return cnp.PyArray_EMPTY(1, &n, cnp.NPY_FLOAT64, 0)


def forward(z, target, weight, double smoothing, ignore_index, out, double scale,
            softcap, int64_t cap_rows, double lse_square_scale):
    """Forward (and with ``out``, the fused gradient ``scale · ∂ℓ_i/∂z_i`` into it)."""
    cdef il_xent_in p
    cdef cnp.ndarray zz = _logits(z)
    keep = _setup(&p, zz, target, weight, smoothing, ignore_index, softcap, cap_rows,
                  lse_square_scale)
    return _run(&p, zz, out, scale, 0, 0.0, 0.0)


def sqerr_forward(str kind, z, target, weight, double smoothing, ignore_index, out,
                  double scale, double k, double big_m):
    """The squared error ``kind`` ("softmax" or "logit"), as :func:`forward`."""
    cdef il_xent_in p
    cdef int code
    if kind == "softmax":
        code = IL_SQ_SOFTMAX
    elif kind == "logit":
        code = IL_SQ_LOGIT
    else:
        raise ValueError(f"`kind` must be 'softmax' or 'logit'; got {kind!r}")
    cdef cnp.ndarray zz = _logits(z)
    keep = _setup(&p, zz, target, weight, smoothing, ignore_index, None, 0, 0.0)
    return _run(&p, zz, out, scale, code, k, big_m)


cdef object _run(il_xent_in *pp, cnp.ndarray zz, object out, double scale, int kind,
                 double k, double big_m):
    """The outputs, the kernel (the cross-entropy's for kind 0) and the named result."""
    cdef il_xent_in p = pp[0]
    cdef il_xent_out o
    cdef cnp.ndarray g
    cdef cnp.npy_intp n = p.n
    cdef bint labels = p.y != NULL
    cdef cnp.ndarray loss = _vector(n)
    cdef cnp.ndarray lse = _vector(n)
    cdef cnp.ndarray sw = _vector(n)
    cdef cnp.ndarray log_mass = None
    o.loss = <double *>cnp.PyArray_DATA(loss)
    o.lse = <double *>cnp.PyArray_DATA(lse)
    o.sw = <double *>cnp.PyArray_DATA(sw)
    o.log_mass = NULL
    if not labels:
        log_mass = _vector(n)
        o.log_mass = <double *>cnp.PyArray_DATA(log_mass)
    o.g = NULL
    o.gs0 = o.gs1 = 0
    o.scale = scale
    if out is not None:
        g = _rows_out(out, zz)
        o.g = cnp.PyArray_DATA(g)
        o.gs0 = cnp.PyArray_STRIDES(g)[0] // cnp.PyArray_ITEMSIZE(g)
        o.gs1 = cnp.PyArray_STRIDES(g)[1] // cnp.PyArray_ITEMSIZE(g)
    cdef int rc
    cdef bint single = cnp.PyArray_TYPE(zz) == cnp.NPY_FLOAT32
    with nogil:
        if kind == 0:
            rc = _forward(&p, &o, single, _NP_LANES_MAXC_F if single else _NP_LANES_MAXC_D)
        elif single:
            rc = il_sqerr_forward_f(&p, kind, k, big_m, &o)
        else:
            rc = il_sqerr_forward_d(&p, kind, k, big_m, &o)
    if rc != 0:
        raise MemoryError("softmax loss kernel: no memory for its row buffers")
    stats = None if labels else ArgStats(o.tbad, log_mass)
    return XentForward(loss, lse, sw, o.nbad, stats)


def backward(z, target, weight, double smoothing, ignore_index, lse, upstream, out,
             softcap, int64_t cap_rows, double lse_square_scale):
    """``upstream_i · ∂ℓ_i/∂z_i`` into ``out`` from the forward's ``lse``."""
    cdef il_xent_in p
    cdef cnp.ndarray zz = _logits(z)
    keep = _setup(&p, zz, target, weight, smoothing, ignore_index, softcap, cap_rows,
                  lse_square_scale)
    cdef cnp.ndarray g = _rows_out(out, zz)
    cdef cnp.ndarray ls = np.ascontiguousarray(lse, dtype=np.float64)
    cdef cnp.ndarray up = np.ascontiguousarray(upstream, dtype=np.float64)
    if (cnp.PyArray_NDIM(ls) != 1 or cnp.PyArray_DIMS(ls)[0] != p.n
            or cnp.PyArray_NDIM(up) != 1 or cnp.PyArray_DIMS(up)[0] != p.n):
        raise ValueError("`lse` and `upstream` must have one entry per row of `z`")
    cdef Py_ssize_t isz = cnp.PyArray_ITEMSIZE(g)
    cdef void *gp = cnp.PyArray_DATA(g)
    cdef int64_t gs0 = cnp.PyArray_STRIDES(g)[0] // isz
    cdef int64_t gs1 = cnp.PyArray_STRIDES(g)[1] // isz
    cdef const double *lp = <const double *>cnp.PyArray_DATA(ls)
    cdef const double *uq = <const double *>cnp.PyArray_DATA(up)
    cdef int rc
    cdef bint single = cnp.PyArray_TYPE(zz) == cnp.NPY_FLOAT32
    with nogil:
        rc = xent_backward(&p, lp, uq, gp, gs0, gs1, single)
    if rc != 0:
        raise MemoryError("softmax cross-entropy kernel: no memory for its row buffers")
