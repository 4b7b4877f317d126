"""The first step of the PyTorch drop-in ``infoloss.torch.cross_entropy``, compiled.

A small plain call of the drop-in must cost no more than ``F.cross_entropy``, whose own
loss takes a few microseconds at 64×10; written in Python, the checks around any answer
cost three times the Python wrapper of ``F.cross_entropy`` that the drop-in skips.  This
module makes them at C speed: type and option checks by identity, then

* for a call that wants no gradient, of rows of at most ``IL_LANES_MAXC`` classes (any
  number of rows), or of more than ``KERNEL_FORWARD_LONG`` classes at a size where
  PyTorch's own loss would otherwise answer, the forward kernel (of rows across the vector lanes
  where they are short, ``softmax.h``) on the tensors' memory, with no NumPy conversion or
  Python call in between, its answer written into a fresh tensor;
* for a call that wants the gradient, with ``"mean"`` or ``"sum"`` (``KERNEL_FUSED``),
  the fused kernel on the tensors' memory, the loss and its gradient written into fresh
  tensors and handed to autograd as one node (``_EagerFused``), whose backward hands the
  gradient over: PyTorch's own loss records two operators and runs two backwards;
* for the other small calls, PyTorch's own loss, then a scan of the labels for
  ``ignore_index`` and a finite check of the answer read from its memory.

It imports no framework: ``infoloss.torch._eager`` hands over the tensor type, the dtypes,
the ATen op, ``torch.empty``, ``_EagerFused.apply`` and its own module dictionary (read for
``NATIVE_MAX``, ``NATIVE_SHORT``, ``NATIVE_FORWARD``, ``KERNEL_FORWARD_LONG`` and
``KERNEL_FUSED`` on each call that needs them, so that changing them there takes effect)
through :func:`configure`.
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
cdef object _APPLY = None
cdef dict _SETTINGS = None
# PyTorch's reduction codes (``torch.nn._reduction.get_enum``), for its ATen op.
cdef dict _ENUMS = {"none": 0, "mean": 1, "sum": 2}


def configure(tensor, int64, float32, float64, cross_entropy, functorch_active,
              grad_enabled, empty, apply, dict settings):
    """Hand over the framework's objects (see the module docstring)."""
    global _TENSOR, _INT64, _F32, _F64, _CROSS_ENTROPY, _FUNCTORCH_ACTIVE, _GRAD_ENABLED
    global _EMPTY, _APPLY, _SETTINGS
    _TENSOR, _INT64, _F32, _F64 = tensor, int64, float32, float64
    _CROSS_ENTROPY, _FUNCTORCH_ACTIVE, _GRAD_ENABLED = cross_entropy, functorch_active, grad_enabled
    _EMPTY = empty
    _APPLY = apply
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
    if n and c and not grad and (
        c <= IL_LANES_MAXC
        or (c > <int64_t>_SETTINGS["KERNEL_FORWARD_LONG"] and _native_size(n, c, False))
    ):
        return _kernel_forward(input, target, dtype, n, c, ignore_index, smoothing, enum)
    if n * c >= (<int64_t>_SETTINGS["NATIVE_MAX"]) >> 1 and not _native_size(n, c, grad):
        return None
    if grad and enum and n and c and _SETTINGS["KERNEL_FUSED"]:
        return _kernel_fused(input, target, dtype, n, c, ignore_index, smoothing, enum)
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


def upstream_one(upstream):
    """Whether ``upstream`` is a 0-d float32 or float64 CPU tensor holding exactly 1, read
    from its memory (``Tensor.item`` costs about a microsecond)."""
    if type(upstream) is not _TENSOR or upstream.dim() != 0 or not upstream.is_cpu:
        return False
    dtype = upstream.dtype
    cdef intptr_t p = upstream.data_ptr()
    if not p:
        return False
    if dtype is _F32:
        return (<float *>p)[0] == 1.0
    if dtype is _F64:
        return (<double *>p)[0] == 1.0
    return False


cdef bint _labels_in(il_xent_in *p, object input, object target, int64_t n, int64_t c,
                     object ignore_index, double smoothing) except -1:
    """The kernels' input for (n, c) logits against (n,) labels with no other option, or
    False where the general way must answer (another label shape, a tensor without memory,
    an ignore_index past int64)."""
    tshape = target.shape
    if len(tshape) != 1 or tshape[0] != n:
        return False
    cdef intptr_t zp = input.data_ptr()
    cdef intptr_t yp = target.data_ptr()
    if not zp or not yp:
        return False
    zst = input.stride()
    try:
        p.ignore = ignore_index
    except OverflowError:
        return False
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
    return True


cdef bint _run_kernel(const il_xent_in *p, il_xent_out *o, double *buf, void *g,
                     double scale, bint single):
    """The forward kernel into buf (3 n doubles: losses, log-sum-exps, sample weights),
    fused into g (rows of c) where g is not NULL; False where the general way must answer:
    no memory for the kernel's buffers, bad logits (worded there), a loss that is not
    finite (a label out of range gives NaN, or a loss of +inf)."""
    cdef int64_t i, rc, n = p.n
    o.loss = buf
    o.lse = buf + n
    o.sw = buf + 2 * n
    o.log_mass = NULL
    o.g = g
    o.gs0 = p.c if g != NULL else 0
    o.gs1 = 1 if g != NULL else 0
    o.scale = scale
    o.nbad = o.tbad = 0
    if n * p.c >= 65536:
        with nogil:
            rc = xent_forward(p, o, single)
    else:
        rc = xent_forward(p, o, single)
    if rc != 0 or o.nbad:
        return False
    for i in range(n):
        if not isfinite(o.loss[i]):
            return False
    return True


cdef object _kernel_fused(object input, object target, object dtype, int64_t n, int64_t c,
                          object ignore_index, double smoothing, object enum):
    """The "mean" or "sum" loss and its gradient from the fused kernel, called on the
    tensors' memory, handed to autograd by ``_EagerFused`` (``infoloss.torch._eager``) for
    a call that wants the gradient; None where the general way must answer (bad data, a
    loss of +inf, a label equal to ``ignore_index``, a layout it does not take).  Below
    PyTorch's own fixed cost: one node whose backward hands the gradient over, where
    PyTorch's loss records two (log-softmax, then the negative log-likelihood)."""
    cdef il_xent_in p
    cdef il_xent_out o
    cdef bint single = dtype is _F32
    cdef double total, scale
    if not _labels_in(&p, input, target, n, c, ignore_index, smoothing):
        return None
    # a label equal to ignore_index: its count sets "mean"'s scale, the general way's
    if _holds(p.y, n, p.ys, p.ignore):
        return None
    scale = 1.0 / n if enum == 1 else 1.0
    grad = _EMPTY((n, c), dtype=dtype)
    cdef double *buf = <double *>malloc(3 * n * sizeof(double))
    if buf == NULL:
        return None
    try:
        if not _run_kernel(&p, &o, buf, <void *><intptr_t>grad.data_ptr(), scale, single):
            return None
        total = _pairwise(o.loss, n) * scale
    finally:
        free(buf)
    value = _EMPTY((), dtype=dtype)
    cdef intptr_t vp = value.data_ptr()
    if single:
        (<float *>vp)[0] = <float>total
    else:
        (<double *>vp)[0] = total
    ign = int(ignore_index)
    opts = {"softcap": None, "lse_square_scale": 0.0}
    return _APPLY(input, [value, grad, (target, None, smoothing, ign), scale, opts])


cdef object _kernel_forward(object input, object target, object dtype, int64_t n, int64_t c,
                            object ignore_index, double smoothing, object enum):
    """The loss from the fused forward kernel, called on the tensors' memory, for a call that
    wants no gradient; None where the general way must answer (bad data, a loss of +inf,
    a layout or label it does not take)."""
    cdef il_xent_in p
    cdef il_xent_out o
    cdef bint single = dtype is _F32
    cdef int64_t i
    cdef double total, count
    if not _labels_in(&p, input, target, n, c, ignore_index, smoothing):
        return None
    cdef intptr_t zp
    cdef double *buf = <double *>malloc(3 * n * sizeof(double))
    if buf == NULL:
        return None
    try:
        if not _run_kernel(&p, &o, buf, NULL, 1.0, single):
            return None
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
