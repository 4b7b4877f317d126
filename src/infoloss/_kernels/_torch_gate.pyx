"""The first step of the PyTorch drop-in ``infoloss.torch.cross_entropy``, compiled.

A small plain call of the drop-in goes to PyTorch's own loss (``infoloss.torch._eager``
says which calls and why).  At 64×10 PyTorch's loss costs a few microseconds, so the
checks around it must cost less than the Python wrapper of ``F.cross_entropy`` that the
drop-in skips; written in Python they cost three times that.  This module makes the same
checks at C speed: type and option checks by identity, then the ATen op, then a scan of
the labels for ``ignore_index`` and a finite check of the answer read from its memory.

It imports no framework: ``infoloss.torch._eager`` hands over the tensor type, the dtypes,
the ATen op and its own module dictionary (read for ``NATIVE_MAX``, ``NATIVE_SHORT`` and
``NATIVE_FORWARD`` on each call that needs them, so that changing them there takes
effect) through :func:`configure`.  ``native_loss`` returns PyTorch's loss, or None where
the drop-in's general way must answer; it never raises.
"""

from libc.math cimport isfinite
from libc.stdint cimport int64_t, intptr_t

cdef object _TENSOR = None
cdef object _INT64 = None
cdef object _F32 = None
cdef object _F64 = None
cdef object _CROSS_ENTROPY = None
cdef object _FUNCTORCH_ACTIVE = None
cdef object _GRAD_ENABLED = None
cdef dict _SETTINGS = None
# PyTorch's reduction codes (``torch.nn._reduction.get_enum``), for its ATen op.
cdef dict _ENUMS = {"none": 0, "mean": 1, "sum": 2}


def configure(tensor, int64, float32, float64, cross_entropy, functorch_active,
              grad_enabled, dict settings):
    """Hand over the framework's objects (see the module docstring)."""
    global _TENSOR, _INT64, _F32, _F64, _CROSS_ENTROPY, _FUNCTORCH_ACTIVE, _GRAD_ENABLED
    global _SETTINGS
    _TENSOR, _INT64, _F32, _F64 = tensor, int64, float32, float64
    _CROSS_ENTROPY, _FUNCTORCH_ACTIVE, _GRAD_ENABLED = cross_entropy, functorch_active, grad_enabled
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
    if n * c >= (<int64_t>_SETTINGS["NATIVE_MAX"]) >> 1 and not _native_size(
        n, c, input.requires_grad and _GRAD_ENABLED()
    ):
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
