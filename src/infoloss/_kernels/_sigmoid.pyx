"""The typed boundary of the sigmoid losses' kernels (``src/sigmoid.c``): checks the layout
of every array, passes pointers, sizes and strides (in elements) across and builds the
named result.  :mod:`infoloss._kernels.sigmoid` is the contract; see its docstring."""

cimport numpy as cnp
from libc.stdint cimport int64_t

import numpy as np

from ._results import SigmoidForward

cnp.import_array()

cdef extern from "sigmoid.h" nogil:
    ctypedef struct il_sig_in:
        int64_t n
        int64_t c
        const void *z
        int64_t zs0
        int64_t zs1
        const void *t
        int64_t ts0
        int64_t ts1
        const void *w
        int64_t ws0
        int64_t ws1
        const void *pw
        int64_t ps0
        int64_t ps1
        double eps
        int has_ignore
        double ignore

    ctypedef struct il_sig_out:
        void *loss
        int64_t ls0
        int64_t ls1
        void *g
        int64_t gs0
        int64_t gs1
        double scale
        double total
        double wsum
        int64_t nbad[5]

    int il_sigmoid_f(const il_sig_in *inp, int kind, il_sig_out *out)
    int il_sigmoid_d(const il_sig_in *inp, int kind, il_sig_out *out)
    enum:
        IL_SIG_BCE
        IL_SIG_SE


cdef cnp.ndarray _operand(object x, object name, cnp.ndarray z, bint output):
    """``x`` as an array of ``z``'s shape and dtype whose strides are whole elements (an
    input that is not is copied; an output must be)."""
    if not isinstance(x, np.ndarray):
        raise ValueError(f"`{name}` must be a NumPy array")
    cdef cnp.ndarray a = <cnp.ndarray>x
    if (cnp.PyArray_NDIM(a) != 2 or cnp.PyArray_TYPE(a) != cnp.PyArray_TYPE(z)
            or cnp.PyArray_DIMS(a)[0] != cnp.PyArray_DIMS(z)[0]
            or cnp.PyArray_DIMS(a)[1] != cnp.PyArray_DIMS(z)[1]):
        raise ValueError(f"`{name}` must have the shape and dtype of `z`")
    cdef Py_ssize_t isz = cnp.PyArray_ITEMSIZE(a)
    cdef bint whole = (cnp.PyArray_STRIDES(a)[0] % isz == 0
                       and cnp.PyArray_STRIDES(a)[1] % isz == 0)
    if output:
        if not cnp.PyArray_ISWRITEABLE(a) or not whole:
            raise ValueError(f"`{name}` must be writeable, with strides in whole elements")
    elif not whole:
        a = np.ascontiguousarray(a)
    return a


cdef inline const void *_point(cnp.ndarray a, int64_t *s0, int64_t *s1):
    cdef Py_ssize_t isz = cnp.PyArray_ITEMSIZE(a)
    s0[0] = cnp.PyArray_STRIDES(a)[0] // isz
    s1[0] = cnp.PyArray_STRIDES(a)[1] // isz
    return cnp.PyArray_DATA(a)


def run(str kind, z, target, weight, pos_weight, double smoothing, ignore_index, loss,
        out, double scale):
    """One pass of the loss ``kind`` ("bce" or "se"): the sums and counts, ``w·ℓ`` into
    ``loss`` and ``scale·w·∂ℓ/∂z`` into ``out`` where they are given."""
    cdef int code
    if kind == "bce":
        code = IL_SIG_BCE
    elif kind == "se":
        code = IL_SIG_SE
    else:
        raise ValueError(f"`kind` must be 'bce' or 'se'; got {kind!r}")
    if not isinstance(z, np.ndarray) or z.ndim != 2 or z.dtype not in (np.float32, np.float64):
        raise ValueError("`z` must be a 2-D float32 or float64 array (N, C)")
    cdef cnp.ndarray zz = _operand(z, "z", <cnp.ndarray>z, False)
    cdef il_sig_in p
    cdef il_sig_out o
    p.n = cnp.PyArray_DIMS(zz)[0]
    p.c = cnp.PyArray_DIMS(zz)[1]
    p.z = _point(zz, &p.zs0, &p.zs1)
    cdef cnp.ndarray tt = _operand(target, "target", zz, False)
    p.t = _point(tt, &p.ts0, &p.ts1)
    cdef cnp.ndarray ww = None, pp = None, ll = None, gg = None
    p.w = NULL
    p.pw = NULL
    p.ws0 = p.ws1 = p.ps0 = p.ps1 = 0
    if weight is not None:
        ww = _operand(weight, "weight", zz, False)
        p.w = _point(ww, &p.ws0, &p.ws1)
    if pos_weight is not None:
        pp = _operand(pos_weight, "pos_weight", zz, False)
        p.pw = _point(pp, &p.ps0, &p.ps1)
    p.eps = smoothing
    p.has_ignore = ignore_index is not None
    p.ignore = float(ignore_index) if p.has_ignore else 0.0
    o.loss = o.g = NULL
    o.ls0 = o.ls1 = o.gs0 = o.gs1 = 0
    o.scale = scale
    if loss is not None:
        ll = _operand(loss, "loss", zz, True)
        o.loss = <void *>_point(ll, &o.ls0, &o.ls1)
    if out is not None:
        gg = _operand(out, "out", zz, True)
        o.g = <void *>_point(gg, &o.gs0, &o.gs1)
    cdef bint single = cnp.PyArray_TYPE(zz) == cnp.NPY_FLOAT32
    with nogil:
        if single:
            il_sigmoid_f(&p, code, &o)
        else:
            il_sigmoid_d(&p, code, &o)
    return SigmoidForward(o.total, o.wsum, (o.nbad[0], o.nbad[1], o.nbad[2], o.nbad[3], o.nbad[4]))
