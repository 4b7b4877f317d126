"""The first step of the PyTorch drop-in ``infoloss.torch.cross_entropy``, compiled.

A small plain call of the drop-in must cost no more than ``F.cross_entropy``, whose own
loss takes a few microseconds at 64×10; written in Python, the checks around any answer
cost three times the Python wrapper of ``F.cross_entropy`` that the drop-in skips.  This
module makes them at C speed: type and option checks by identity, then

* for a call that wants no gradient, of rows of at most ``IL_LANES_MAXC`` classes and at
  most ``KERNEL_FORWARD_ROWS`` rows, the forward kernel of rows across the vector lanes
  (``softmax.h``) on the tensors' memory, with no NumPy conversion or Python call in
  between, its answer written into a fresh tensor;
* for the other small calls, PyTorch's own loss, then a scan of the labels for
  ``ignore_index`` and a finite check of the answer read from its memory.

It imports no framework: ``infoloss.torch._eager`` hands over the tensor type, the dtypes,
the ATen op, ``torch.empty`` and its own module dictionary (read for ``NATIVE_MAX``,
``NATIVE_SHORT``, ``NATIVE_FORWARD`` and ``KERNEL_FORWARD_ROWS`` on each call that needs
them, so that changing them there takes effect) through :func:`configure`.
``native_loss`` returns the loss, or None where the drop-in's general way must answer; it
never raises.
"""

from libc.math cimport isfinite
from libc.stdint cimport int64_t, intptr_t
from libc.stdlib cimport free, malloc

from ._softmax cimport IL_LANES_MAXC, il_xent_in, il_xent_out, xent_forward

cdef object _TENSOR = None
cdef object _INT64 = None
cdef object _F32 = None
cdef object _F64 = None
cdef object _CROSS_ENTROPY = None
cdef object _FUNCTORCH_ACTIVE = None
cdef object _GRAD_ENABLED = None
cdef object _EMPTY = None
cdef dict _SETTINGS = None
# PyTorch's reduction codes (``torch.nn._reduction.get_enum``), for its ATen op.
cdef dict _ENUMS = {"none": 0, "mean": 1, "sum": 2}


def configure(tensor, int64, float32, float64, cross_entropy, functorch_active,
              grad_enabled, empty, dict settings):
    """Hand over the framework's objects (see the module docstring)."""
    global _TENSOR, _INT64, _F32, _F64, _CROSS_ENTROPY, _FUNCTORCH_ACTIVE, _GRAD_ENABLED
    global _EMPTY, _SETTINGS
    _TENSOR, _INT64, _F32, _F64 = tensor, int64, float32, float64
    _CROSS_ENTROPY, _FUNCTORCH_ACTIVE, _GRAD_ENABLED = cross_entropy, functorch_active, grad_enabled
    _EMPTY = empty
    _SETTINGS = settings


cdef inline bint _real(object x):
    t = type(x)
    return t is float or t is int


cdef bint _native_size(int64_t n, int64_t c, bint grad) except -1:
    """``infoloss.torch._eager._native_size`` (the same settings, read on each call)."""
    cdef int64_t top = _SETTINGS["NATIVE_MAX"]
    if top <= 0:
        return False
    limit = top if c <= 128 else top // 2
    if c < <int64_t>_SETTINGS["NATIVE_SHORT"]:
        return True
    if not grad:
        limit *= <int64_t>_SETTINGS["NATIVE_FORWARD"]
    return n * c <= limit


cdef bint _holds(const int64_t *y, int64_t n, int64_t stride, int64_t value) noexcept nogil:
    """Whether ``value`` is among the n labels."""
    cdef int64_t i
    cdef bint hit = False
    if stride == 1:
        for i in range(n):
            hit |= y[i] == value
    else:
        for i in range(n):
            hit |= y[i * stride] == value
    return hit


cdef bint _finite(object loss, object dtype, int64_t n) except -1:
    """Whether every value of ``loss`` (0-d, or (n,) when n >= 0) is finite, read from its
    memory."""
    cdef intptr_t p = loss.data_ptr()
    cdef int64_t i, s = 0
    cdef bint f32 = dtype is _F32
    if not p:
        return n == 0
    if n < 0:
        return isfinite((<float *>p)[0]) if f32 else isfinite((<double *>p)[0])
    if n:
        s = loss.stride()[0]
    for i in range(n):
        if not (isfinite((<float *>p)[i * s]) if f32 else isfinite((<double *>p)[i * s])):
            return False
    return True


def native_loss(input, target, weight, ignore_index, reduction, label_smoothing, zscale,
                softcap):
    """PyTorch's loss for a small plain call of the drop-in, or None (see the module
    docstring and ``infoloss.torch._eager``)."""
    cdef int64_t n, c, ignore
    cdef double smoothing
    if (
        _SETTINGS is None
        or type(input) is not _TENSOR
        or type(target) is not _TENSOR
        or weight is not None
        or softcap is not None
        or type(ignore_index) is not int
        or not _real(label_smoothing)
        or not _real(zscale)
        or type(reduction) is not str
    ):
        return None
    try:
        smoothing = label_smoothing
        if zscale:
            return None
    except OverflowError:
        return None
    # PyTorch does not check label_smoothing (NaN fails here)
    if not 0.0 <= smoothing <= 1.0:
        return None
    enum = _ENUMS.get(reduction)
    if enum is None:
        return None
    dtype = input.dtype
    if (
        target.dtype is not _INT64
        or (dtype is not _F32 and dtype is not _F64)
        or not input.is_cpu
        or _FUNCTORCH_ACTIVE()
    ):
        return None
    shape = input.shape
    if len(shape) != 2:
        return None
    n = shape[0]
    c = shape[1]
    cdef bint grad = input.requires_grad and _GRAD_ENABLED()
    if (n and c and not grad and c <= IL_LANES_MAXC
            and n <= <int64_t>_SETTINGS["KERNEL_FORWARD_ROWS"]):
        return _kernel_forward(input, target, dtype, n, c, ignore_index, smoothing, enum)
    if n * c >= (<int64_t>_SETTINGS["NATIVE_MAX"]) >> 1 and not _native_size(n, c, grad):
        return None
    try:
        loss = _CROSS_ENTROPY(input, target, None, enum, ignore_index, label_smoothing)
    except (IndexError, KeyError, RuntimeError, ValueError, TypeError, OverflowError):
        return None  # a label out of range, an ignore_index past int64...
    # The op took them, so the labels are (n,) int64 on the logits' device, the CPU; a
    # null address (no memory behind them) goes the general way too.
    # PyTorch skips a label equal to ignore_index unchecked, while infoloss still checks
    # that row's logits: such a batch goes the general way.
    cdef intptr_t labels = target.data_ptr()
    ignore = ignore_index
    if (n and not labels) or _holds(<const int64_t *>labels, n, target.stride()[0], ignore):
        return None
    return loss if _finite(loss, dtype, -1 if enum else n) else None


cdef double _pairwise(const double *a, int64_t n) noexcept nogil:
    """Σ a[0..n) summed pairwise (eight running sums in blocks of up to 128), as NumPy
    sums: an error of O(log n) roundings, not O(n)."""
    cdef double r[8]
    cdef double res
    cdef int64_t i, j, h
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    if n <= 128:
        for j in range(8):
            r[j] = a[j]
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] += a[i + j]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            res += a[i]
            i += 1
        return res
    h = n // 2
    h -= h % 8
    return _pairwise(a, h) + _pairwise(a + h, n - h)


cdef object _kernel_forward(object input, object target, object dtype, int64_t n, int64_t c,
                            object ignore_index, double smoothing, object enum):
    """The loss from the fused forward kernel, called on the tensors' memory, for a call that
    wants no gradient; None where the general way must answer (bad data, a loss of +inf,
    a layout or label it does not take)."""
    cdef il_xent_in p
    cdef il_xent_out o
    cdef bint single = dtype is _F32
    cdef int64_t isz = 4 if single else 8
    cdef int64_t i, rc
    cdef double total, count, v
    tshape = target.shape
    if len(tshape) != 1 or tshape[0] != n:
        return None
    cdef intptr_t zp = input.data_ptr()
    cdef intptr_t yp = target.data_ptr()
    if not zp or not yp:
        return None
    zst = input.stride()
    try:
        p.ignore = ignore_index
    except OverflowError:
        return None  # an ignore_index past int64: the general way answers
    p.n = n
    p.c = c
    p.z = <const void *>zp
    p.zs0 = zst[0]
    p.zs1 = zst[1]
    p.y = <const int64_t *>yp
    p.ys = target.stride()[0]
    p.t = NULL
    p.ts0 = p.ts1 = 0
    p.w = NULL
    p.eps = smoothing
    p.has_ignore = 1
    p.zl = 0.0
    p.has_cap = 0
    p.cap = 0.0
    p.cap_rows = 0
    cdef double *buf = <double *>malloc(3 * n * sizeof(double))
    if buf == NULL:
        return None
    o.loss = buf
    o.lse = buf + n
    o.sw = buf + 2 * n
    o.log_mass = NULL
    o.g = NULL
    o.gs0 = o.gs1 = 0
    o.scale = 1.0
    o.nbad = o.tbad = 0
    try:
        if n * c >= 65536:
            with nogil:
                rc = xent_forward(&p, &o, single)
        else:
            rc = xent_forward(&p, &o, single)
        if rc != 0 or o.nbad:
            return None  # no memory for the kernel's buffers, or bad logits: worded there
        for i in range(n):
            if not isfinite(o.loss[i]):
                return None  # a label out of range (NaN), or a loss of +inf
        if enum == 0:
            out = _EMPTY((n,), dtype=dtype)
            zp = out.data_ptr()
            for i in range(n):
                if single:
                    (<float *>zp)[i] = <float>o.loss[i]
                else:
                    (<double *>zp)[i] = o.loss[i]
            return out
        total = _pairwise(o.loss, n)
        if enum == 1:
            count = _pairwise(o.sw, n)
            total = total * (1.0 / count) if count > 0 else 0.0
        out = _EMPTY((), dtype=dtype)
        zp = out.data_ptr()
        if single:
            (<float *>zp)[0] = <float>total
        else:
            (<double *>zp)[0] = total
        return out
    finally:
        free(buf)
