r"""JAX: the fused softmax cross-entropy kernels as a differentiable JAX operation.

``import infoloss.jax`` (it imports JAX; ``import infoloss`` does not) gives:

* :func:`softmax_cross_entropy`, a functional loss for jitted training steps (and the
  same computation ``infoloss.softmax_cross_entropy`` runs for JAX arrays);
* :func:`softmax_cross_entropy_route`, the hook through which
  :func:`infoloss.losses.softmax_cross_entropy` sends CPU JAX arrays to the kernels.

How it runs.  The compiled kernels (``xent_forward``, ``xent_backward``, ``xent_fused`` of
:mod:`infoloss._kernels`) are registered with XLA as CPU FFI targets
(``jax.ffi.ffi_call``): XLA hands the handler its input and output buffers, and the
kernels read the logits and write the gradient in place, with no copy in either direction.
(``jax.pure_callback`` copies its inputs and outputs; on (4096, 32000) float32 that costs
about a second per call, twenty times the kernel.)  The handler is a ``ctypes`` function
that speaks the XLA FFI C ABI (``xla/ffi/api/c_api.h``, shipped in ``jaxlib/include``); it
holds the GIL while the kernels run, so calls never overlap.  ``jax.custom_vjp`` gives the
pair a gradient: the forward saves the row log-sum-exp (as a float32 hi/lo pair when the
logits are float32, since JAX without x64 has no float64), the backward reads the logits
once more and writes ``upstream_i · ∂ℓ_i/∂z_i``.  Gradients with respect to probability
targets and class weights are formed in ``jax.numpy`` only where they are asked for.
Batching (``jax.vmap``) uses ``vmap_method="expand_dims"``: the handler loops over the
batch.

Validation follows :mod:`infoloss._validate`: on concrete arrays the kernels' counts of
bad entries decide which checks run, and bad data raises the same ``ValueError`` as
NumPy; under ``jax.jit`` a failing check turns the loss into NaN (``validate=False`` skips
the checks).  The route returns None (so the array-API code runs) where the kernels do
not apply: kernels switched off, a backend other than the CPU, dtypes other than
float32/float64, fewer than ``MIN_SIZE`` logits, ``grad_out`` (JAX arrays are immutable),
or probability targets with ``ignore_index``.
"""

from __future__ import annotations

import ctypes
import functools
import math
import sys
from collections.abc import Callable, Iterator
from typing import Any, Literal, NamedTuple

import array_api_compat
import jax
import jax.numpy as jnp
import numpy as np

from . import _kernels as _nb
from . import _math
from ._kernels import _layout
from ._options import LossSpec
from ._validate import Check, enforce
from ._xp import Array
from .losses._compose import LossAndGrad, move_back
from .losses._targets import SoftmaxTargets
from .losses.softmax import _needed_checks, kernel_options

__all__ = ["softmax_cross_entropy", "softmax_cross_entropy_route"]

Reduction = Literal["mean", "sum", "none"]

# ----------------------------------------------------------------- the XLA FFI C ABI
# Field for field as in ``xla/ffi/api/c_api.h``; only what the handlers read.

_EXTENSION_METADATA = 1
_STAGE_EXECUTE = 3
_API_VERSION = (0, 1)
_DTYPES = {4: np.int32, 5: np.int64, 11: np.float32, 12: np.float64}
_ERROR_INTERNAL = 13


class _ExtensionBase(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("type", ctypes.c_int),
        ("next", ctypes.c_void_p),
    ]


class _ApiVersion(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("extension_start", ctypes.c_void_p),
        ("major_version", ctypes.c_int),
        ("minor_version", ctypes.c_int),
    ]


class _Metadata(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("api_version", _ApiVersion),
        ("traits", ctypes.c_uint32),
        ("state_type_id", ctypes.c_int64),
    ]


class _MetadataExtension(ctypes.Structure):
    _fields_ = [("extension_base", _ExtensionBase), ("metadata", ctypes.POINTER(_Metadata))]


class _Buffer(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("extension_start", ctypes.c_void_p),
        ("dtype", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("rank", ctypes.c_int64),
        ("dims", ctypes.POINTER(ctypes.c_int64)),
    ]


class _List(ctypes.Structure):  # XLA_FFI_Args and XLA_FFI_Rets
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("extension_start", ctypes.c_void_p),
        ("size", ctypes.c_int64),
        ("types", ctypes.c_void_p),
        ("items", ctypes.POINTER(ctypes.c_void_p)),
    ]


class _ByteSpan(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Scalar(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("value", ctypes.c_void_p)]


class _Attrs(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("extension_start", ctypes.c_void_p),
        ("size", ctypes.c_int64),
        ("types", ctypes.POINTER(ctypes.c_int)),
        ("names", ctypes.POINTER(ctypes.POINTER(_ByteSpan))),
        ("attrs", ctypes.POINTER(ctypes.c_void_p)),
    ]


class _CallFrame(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("extension_start", ctypes.POINTER(_ExtensionBase)),
        ("api", ctypes.c_void_p),
        ("ctx", ctypes.c_void_p),
        ("stage", ctypes.c_int),
        ("args", _List),
        ("rets", _List),
        ("attrs", _Attrs),
        ("future", ctypes.c_void_p),
    ]


class _ErrorCreateArgs(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("extension_start", ctypes.c_void_p),
        ("message", ctypes.c_char_p),
        ("errc", ctypes.c_int),
    ]


_ERROR_CREATE = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.POINTER(_ErrorCreateArgs))
_HANDLER = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.POINTER(_CallFrame))


def _array(address: int) -> np.ndarray:
    """The XLA buffer at ``address`` as a NumPy array over the same memory."""
    b = _Buffer.from_address(address)
    dtype = np.dtype(_DTYPES[b.dtype])
    shape = tuple(b.dims[i] for i in range(b.rank))
    size = math.prod(shape) * dtype.itemsize
    if size == 0:
        return np.empty(shape, dtype)
    raw = (ctypes.c_char * size).from_address(b.data)
    return np.frombuffer(raw, dtype).reshape(shape)


def _attributes(attrs: _Attrs) -> dict[str, float]:
    out = {}
    for i in range(attrs.size):
        span = attrs.names[i].contents
        name = ctypes.string_at(span.ptr, span.len).decode()
        scalar = _Scalar.from_address(attrs.attrs[i])
        kind = ctypes.c_double if scalar.dtype == 12 else ctypes.c_int64
        out[name] = kind.from_address(scalar.value).value
    return out


def _error(api: int, text: str) -> int | None:
    # XLA_FFI_Api: struct_size, extension_start, api_version (24 bytes), internal_api,
    # then the function pointers, XLA_FFI_Error_Create first.
    create = ctypes.c_void_p.from_address(api + 8 + 8 + ctypes.sizeof(_ApiVersion) + 8)
    args = _ErrorCreateArgs(ctypes.sizeof(_ErrorCreateArgs), None, text.encode(), _ERROR_INTERNAL)
    result: int | None = _ERROR_CREATE(create.value or 0)(ctypes.byref(args))
    return result


def _handler(body: Callable[[list[np.ndarray], list[np.ndarray], dict[str, float]], None]) -> Any:
    """An XLA FFI handler (execute stage) that runs ``body(inputs, outputs, attributes)``
    on NumPy views of XLA's buffers."""

    def call(frame_p: Any) -> int | None:
        frame = frame_p.contents
        ext = frame.extension_start
        if ext and ext.contents.type == _EXTENSION_METADATA:  # asked at registration
            meta = ctypes.cast(ext, ctypes.POINTER(_MetadataExtension)).contents.metadata
            major, minor = _API_VERSION
            meta.contents.api_version = _ApiVersion(ctypes.sizeof(_ApiVersion), None, major, minor)
            meta.contents.traits = 0
            return None
        if frame.stage != _STAGE_EXECUTE:
            return None
        try:
            ins = [_array(frame.args.items[i]) for i in range(frame.args.size)]
            outs = [_array(frame.rets.items[i]) for i in range(frame.rets.size)]
            body(ins, outs, _attributes(frame.attrs))
        except BaseException as exc:  # an error for XLA to raise, never a crash
            return _error(frame.api, f"infoloss.jax: {type(exc).__name__}: {exc}")
        return None

    return _HANDLER(call)


# ---------------------------------------------------------------- the kernel bodies


def _slabs(arrays: list[np.ndarray], cores: list[int]) -> Iterator[list[np.ndarray]]:
    """Under ``jax.vmap`` (``expand_dims``) each array has leading batch axes in front of
    its ``core`` axes, of size 1 where it is not batched: one list of core slabs per
    batch index."""
    leads = [a.shape[: a.ndim - c] for a, c in zip(arrays, cores, strict=True)]
    lead = np.broadcast_shapes(*leads)
    for idx in np.ndindex(*lead):
        yield [
            a[tuple(i if n > 1 else 0 for i, n in zip(idx, shape, strict=True))]
            for a, shape in zip(arrays, leads, strict=True)
        ]


_HUGE = 1 << 21


@functools.cache
def _madvise() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


def _advise_huge(a: np.ndarray) -> None:
    """Ask Linux for transparent huge pages on the 2 MiB-aligned middle of a large fresh
    output buffer (as NumPy does for its own large arrays): XLA allocates every call's
    gradient afresh, and faulting it in 4 KiB pages costs more than the kernel's pass."""
    fn = _madvise()
    if fn is None or a.nbytes < 4 * _HUGE:
        return
    start = (a.ctypes.data + _HUGE - 1) & ~(_HUGE - 1)
    end = (a.ctypes.data + a.nbytes) & ~(_HUGE - 1)
    if end > start:
        fn(start, end - start, 14)  # MADV_HUGEPAGE; a failure only costs speed


def _kernel_target(t: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(t, dtype=np.int64) if t.ndim == 1 else t


def _options(attrs: dict[str, float]) -> tuple[float, int | None]:
    return float(attrs["smoothing"]), int(attrs["ignore"]) if attrs["has_ignore"] else None


def _extra(attrs: dict[str, float]) -> dict[str, Any]:
    """The kernels' keyword options: soft-capping (0 for none) and the z-loss."""
    cap = float(attrs["softcap"])
    return kernel_options(cap if cap > 0 else None, float(attrs["zloss"]))


def _record(fwd: Any, loss: np.ndarray, hi: np.ndarray, lo: np.ndarray, bad: np.ndarray) -> None:
    loss[...] = fwd.loss
    hi[...] = fwd.lse
    lo[...] = fwd.lse - hi.astype(np.float64)
    bad[0] = fwd.nbad
    bad[1] = 0 if fwd.target_stats is None else fwd.target_stats.nbad


def _forward_body(ins: list[np.ndarray], outs: list[np.ndarray], attrs: dict[str, float]) -> None:
    z, t, w = ins
    eps, ign = _options(attrs)
    core_t = 1 if t.ndim == z.ndim - 1 else 2
    extra = _extra(attrs)
    for zb, tb, wb, loss, hi, lo, bad in _slabs([z, t, w, *outs], [2, core_t, 1, 1, 1, 1, 1]):
        fwd = _nb.xent_forward(zb, _kernel_target(tb), wb, eps, ign, **extra)
        _record(fwd, loss, hi, lo, bad)


def _backward_body(ins: list[np.ndarray], outs: list[np.ndarray], attrs: dict[str, float]) -> None:
    z, t, w, hi, lo, up = ins
    _advise_huge(outs[0])
    eps, ign = _options(attrs)
    core_t = 1 if t.ndim == z.ndim - 1 else 2
    for zb, tb, wb, hb, lb, ub, g in _slabs(
        [z, t, w, hi, lo, up, *outs], [2, core_t, 1, 1, 1, 1, 2]
    ):
        lse = hb.astype(np.float64) + lb
        _nb.xent_backward(zb, _kernel_target(tb), wb, eps, ign, lse, ub, g, **_extra(attrs))


def _fused_body(ins: list[np.ndarray], outs: list[np.ndarray], attrs: dict[str, float]) -> None:
    z, t, w, scale = ins
    _advise_huge(outs[1])
    eps, ign = _options(attrs)
    core_t = 1 if t.ndim == z.ndim - 1 else 2
    grids = [z, t, w, scale, *outs]
    for zb, tb, wb, sb, loss, g, hi, lo, bad in _slabs(grids, [2, core_t, 1, 0, 1, 2, 1, 1, 1]):
        fwd = _nb.xent_fused(zb, _kernel_target(tb), wb, eps, ign, g, float(sb), **_extra(attrs))
        _record(fwd, loss, hi, lo, bad)


def _scale_body(ins: list[np.ndarray], outs: list[np.ndarray], attrs: dict[str, float]) -> None:
    _, factor = ins  # ``outs[0]`` is the first input's own buffer (aliased)
    for gb, fb in _slabs([outs[0], factor], [2, 0]):
        if fb != 1:  # the usual upstream of a loss is exactly 1: nothing to do
            np.multiply(gb, fb, out=gb)


_BODIES = {
    "infoloss_xent_forward": _forward_body,
    "infoloss_xent_backward": _backward_body,
    "infoloss_xent_fused": _fused_body,
    "infoloss_scale": _scale_body,
}


@functools.cache
def _registered() -> dict[str, Any]:
    """Register the FFI targets once per process; the handlers must outlive every call."""
    handlers = {name: _handler(body) for name, body in _BODIES.items()}
    for name, fn in handlers.items():
        capsule = jax.ffi.pycapsule(ctypes.cast(fn, ctypes.c_void_p).value)  # type: ignore[no-untyped-call]
        jax.ffi.register_ffi_target(name, capsule, platform="cpu")
    return handlers


def _spec(shape: tuple[int, ...], dtype: Any) -> Any:
    return jax.ShapeDtypeStruct(shape, dtype)  # type: ignore[no-untyped-call]


class _Extra(NamedTuple):
    """Soft-capping (None for none) and the z-loss scale: static options of the ops."""

    softcap: float | None = None
    zloss: float = 0.0


_NO_EXTRA = _Extra()


def _call(
    name: str,
    outs: list[Any],
    *args: Array,
    eps: float = 0.0,
    ign: int | None = None,
    extra: _Extra = _NO_EXTRA,
    aliases: dict[int, int] | None = None,
) -> Any:
    _registered()
    call = jax.ffi.ffi_call(name, outs, vmap_method="expand_dims", input_output_aliases=aliases)
    return call(
        *args,
        smoothing=np.float64(eps),
        ignore=np.int64(0 if ign is None else ign),
        has_ignore=np.int64(ign is not None),
        softcap=np.float64(0.0 if extra.softcap is None else extra.softcap),
        zloss=np.float64(extra.zloss),
    )


# --------------------------------------------------- the differentiable operation


class _Stats(NamedTuple):
    """Per-call counts from the kernels: bad logits, bad target entries."""

    nbad: Array
    target_nbad: Array


def _forward(
    z: Array, t: Array, w: Array, eps: float, ign: int | None, extra: _Extra
) -> tuple[Array, ...]:
    n = z.shape[0]
    vec = _spec((n,), z.dtype)
    outs = [vec, vec, vec, _spec((2,), z.dtype)]
    name = "infoloss_xent_forward"
    loss, hi, lo, bad = _call(name, outs, z, t, w, eps=eps, ign=ign, extra=extra)
    return loss, hi, lo, bad


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _xent(
    z: Array, t: Array, w: Array, eps: float, ign: int | None, extra: _Extra
) -> tuple[Array, Array]:
    """Per-sample losses (N,) and the kernels' counts (2,) for (N, C) logits ``z``,
    labels (N,) (ignored ones equal to ``ign``) or probabilities (N, C), weights (C,)."""
    loss, _, _, bad = _forward(z, t, w, eps, ign, extra)
    return loss, bad


def _xent_fwd(
    z: Any, t: Any, w: Any, eps: float, ign: int | None, extra: _Extra
) -> tuple[tuple[Array, Array], tuple[Any, ...]]:
    loss, hi, lo, bad = _forward(z.value, t.value, w.value, eps, ign, extra)
    flags = (z.perturbed, t.perturbed, w.perturbed)
    return (loss, bad), (z.value, t.value, w.value, hi, lo, flags)


def _xent_bwd(
    eps: float, ign: int | None, extra: _Extra, res: tuple[Any, ...], cts: Any
) -> tuple[Any, ...]:
    z, t, w, hi, lo, (dz, dt, dw) = res
    up = cts[0]
    if type(up).__name__ == "SymbolicZero":
        return (None, None, None)
    gz = None
    if dz:
        out = [_spec(z.shape, z.dtype)]
        name = "infoloss_xent_backward"
        (gz,) = _call(name, out, z, t, w, hi, lo, up, eps=eps, ign=ign, extra=extra)
    gt, gw = _target_weight_grads(z, t, w, hi, lo, up, eps, ign, extra, dt, dw)
    return (gz, gt, gw)


def _target_weight_grads(
    z: Array,
    t: Array,
    w: Array,
    hi: Array,
    lo: Array,
    up: Array,
    eps: float,
    ign: int | None,
    extra: _Extra,
    dt: bool,
    dw: bool,
) -> tuple[Array | None, Array | None]:
    """Cotangents of probability targets and class weights, formed only when asked for."""
    if not (dt or dw):
        return None, None
    # ℓ_i = Σ_c w_c p̃_ic (lse_i − ζ_ic) + λ lse_i² Σ_c w_c u_ic, p̃ = (1−ε)·u + ε·keep/C,
    # with ζ the (soft-capped) logits and lse theirs.
    zc = z if extra.softcap is None else _math.softcap(jnp, z, extra.softcap)
    nll = (hi[:, None] - zc) + lo[:, None]  # lse − ζ, with the float64 lse's low part
    n_classes = z.shape[-1]
    if t.ndim == 1:  # labels; ignored ones carry ``ign`` and have keep = 0
        keep = jnp.ones_like(up) if ign is None else (t != ign).astype(z.dtype)
        u = jax.nn.one_hot(t, n_classes, dtype=z.dtype) * keep[:, None]
        target = (1 - eps) * u + (eps / n_classes) * keep[:, None]
    else:
        u = t
        target = (1 - eps) * t + eps / n_classes
    zsq = None
    if extra.zloss:
        lse = hi + lo
        zsq = (extra.zloss * lse * lse)[:, None]
    gw = None
    if dw:
        per = _times(target, nll) if zsq is None else _times(target, nll) + _times(u, zsq)
        gw = jnp.sum(up[:, None] * per, axis=0)
    gt = None
    if dt and t.ndim == 2:
        per = (1 - eps) * _times(w[None, :], nll)
        gt = up[:, None] * (per if zsq is None else per + w[None, :] * zsq)
    return gt, gw


def _times(a: Array, b: Array) -> Array:
    """a·b with 0 where a = 0 (b may be +inf there: a −inf logit with no target mass)."""
    return jnp.where(a == 0, jnp.zeros_like(b), a * b)


_xent.defvjp(_xent_fwd, _xent_bwd, symbolic_zeros=True)


def _fused(
    z: Array, t: Array, w: Array, scale: Array, eps: float, ign: int | None, extra: _Extra
) -> Any:
    """Per-sample losses, ``scale · ∂ℓ_i/∂z_i``, the lse pair and the counts, one pass."""
    n = z.shape[0]
    vec = _spec((n,), z.dtype)
    outs = [vec, _spec(z.shape, z.dtype), vec, vec]
    outs.append(_spec((2,), z.dtype))
    name = "infoloss_xent_fused"
    return _call(name, outs, z, t, w, scale, eps=eps, ign=ign, extra=extra)


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5, 6))
def _xent_total(
    z: Array, t: Array, w: Array, scale: Array, eps: float, ign: int | None, extra: _Extra
) -> tuple[Array, Array]:
    """``scale · Σ_i ℓ_i`` (the "mean" and "sum" reductions) and the counts.  Under
    differentiation the forward is the fused pass, which writes the gradient while it
    reads the logits; the backward only multiplies it, in place, by the upstream (a
    no-op when that is 1, as for a loss)."""
    loss, _, _, bad = _forward(z, t, w, eps, ign, extra)
    return scale * jnp.sum(loss), bad


def _xent_total_fwd(
    z: Any, t: Any, w: Any, scale: Any, eps: float, ign: int | None, extra: _Extra
) -> tuple[tuple[Array, Array], tuple[Any, ...]]:
    if z.perturbed:
        loss, grad, hi, lo, bad = _fused(z.value, t.value, w.value, scale.value, eps, ign, extra)
    else:
        loss, hi, lo, bad = _forward(z.value, t.value, w.value, eps, ign, extra)
        grad = None
    total = jnp.sum(loss)
    flags = (t.perturbed, w.perturbed, scale.perturbed)
    res = (z.value, t.value, w.value, scale.value, total, grad, hi, lo, flags)
    return (scale.value * total, bad), res


def _xent_total_bwd(
    eps: float, ign: int | None, extra: _Extra, res: tuple[Any, ...], cts: Any
) -> tuple[Any, ...]:
    z, t, w, scale, total, grad, hi, lo, (dt, dw, ds) = res
    ct = cts[0]
    if type(ct).__name__ == "SymbolicZero":
        return (None, None, None, None)
    gz = None
    if grad is not None:
        factor = jnp.asarray(ct, grad.dtype)
        out = [_spec(grad.shape, grad.dtype)]
        (gz,) = _call("infoloss_scale", out, grad, factor, aliases={0: 0})
    up = jnp.broadcast_to(ct * scale, hi.shape).astype(z.dtype)
    gt, gw = _target_weight_grads(z, t, w, hi, lo, up, eps, ign, extra, dt, dw)
    gs = ct * total if ds else None
    return (gz, gt, gw, gs)


_xent_total.defvjp(_xent_total_fwd, _xent_total_bwd, symbolic_zeros=True)


# ------------------------------------------------------------------------ the route


def _is_traced(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def _applies(z: Any) -> bool:
    if not _nb.enabled() or z.dtype not in (jnp.float32, jnp.float64):
        return False
    if z.ndim == 0 or z.size < _layout.MIN_SIZE:
        return False
    if _is_traced(z):
        return bool(jax.default_backend() == "cpu")
    return all(d.platform == "cpu" for d in z.devices())


class _Counts(NamedTuple):  # what ``_needed_checks`` reads of a kernel forward
    nbad: int
    target_stats: Any


class _TargetCounts(NamedTuple):
    nbad: int


def _validated(xp: Any, loss: Array, bad: Array, checks: list[Check], labels: bool) -> Array:
    """The validator on the kernels' counts: the same errors as NumPy on concrete arrays,
    NaN where a check fails under tracing."""
    if _is_traced(loss) or _is_traced(bad):
        entry = [Check(bad[0] > 0, checks[0].message, kind="entry")]
        if not labels:
            entry.append(Check(bad[1] > 0, checks[3].message, kind="entry"))
        return enforce(xp, loss, entry + [c for c in checks if c.kind != "entry"])
    counts = np.asarray(bad)
    fwd = _Counts(int(counts[0]), _TargetCounts(int(counts[1])))
    return enforce(xp, loss, _needed_checks(checks, [fwd], labels=labels))


def softmax_cross_entropy_route(
    z: Array,
    tg: SoftmaxTargets,
    checks: list[Check],
    spec: LossSpec,
    ax: int,
    return_grad: bool,
    grad_out: Any,
) -> Any:
    """Softmax cross-entropy of JAX logits ``z`` (class axis last, moved from ``ax``)
    through the kernels, or None where they do not apply; the arguments and result of
    ``infoloss.losses.softmax._kernel_cross_entropy``."""
    labels = tg.u is None
    if labels and grad_out is None and not return_grad and _lean_applies(z, spec):
        return _lean_cross_entropy(z, tg, checks, spec)
    if grad_out is not None or not _applies(z) or (not labels and spec.ignore_index is not None):
        return None
    xp = array_api_compat.array_namespace(z)
    n_classes = z.shape[-1]
    batch = tuple(z.shape[:-1])
    z2 = jnp.reshape(z, (-1, n_classes))
    ign = None if spec.ignore_index is None else int(spec.ignore_index)
    if labels:
        assert tg.labels is not None
        y = jnp.reshape(tg.labels, (-1,))
        if ign is not None:  # ignored samples carry ``ignore_index`` again
            y = jnp.where(jnp.reshape(tg.keep, (-1,)) > 0, y, jnp.asarray(ign, y.dtype))
        t = y
    else:
        assert tg.u is not None
        t = jnp.reshape(tg.u, (-1, n_classes))
    w = jnp.ones((n_classes,), z.dtype) if tg.w is None else tg.w
    scale = jnp.ones((), z.dtype)
    if spec.reduction == "mean":  # 1 / Σ s, and 0 when every sample is ignored
        total = jnp.sum(tg.s)
        scale = jnp.where(total > 0, 1 / jnp.where(total > 0, total, 1), 0).astype(z.dtype)
    extra = _Extra(spec.softcap, spec.lse_square_scale)
    if return_grad:
        loss, grad, _, _, bad = _fused(z2, t, w, scale, spec.smoothing, ign, extra)
        value = jnp.reshape(loss, batch)
        if spec.reduction != "none":
            value = scale * jnp.sum(value)
    elif spec.reduction == "none":
        loss, bad = _xent(z2, t, w, spec.smoothing, ign, extra)
        value = jnp.reshape(loss, batch)
    else:
        value, bad = _xent_total(z2, t, w, scale, spec.smoothing, ign, extra)
    if spec.validate:
        value = _validated(xp, value, bad, checks, labels)
    if not return_grad:
        return value
    return LossAndGrad(value, move_back(xp, jnp.reshape(grad, z.shape), ax))


# ------------------------------------------------ the lean path for small batches
#
# Under ``jax.jit`` a kernel call costs a Python FFI handler (about 0.4 ms on the shared
# 2-core machine), and the array-API code builds one-hot targets and an (N, C) coefficient
# array; below ``LEAN_MAX`` logits (where XLA's fused loops beat that handler), traced
# labels without soft-capping take a lean ``jax.numpy`` form of the same loss instead:
# the row log-sum-exp as :func:`infoloss._math.lse_parts` forms it (the first maximum by
# position, ``log1p`` of the rest), the label's term gathered rather than summed against
# a one-hot row, the smoothing term one masked row sum, gradients by autodiff.  The checks
# are those of the kernel route: a row whose log-sum-exp is not finite stands for the
# kernels' count of bad logits (a NaN or +inf logit, or no finite logit).

LEAN_MAX = 1 << 20


def _lean_applies(z: Any, spec: LossSpec) -> bool:
    return (
        _is_traced(z)
        and spec.softcap is None
        and z.ndim >= 1
        and z.size < LEAN_MAX
        and z.dtype in (jnp.float32, jnp.float64)
        and _nb.enabled()
    )


@jax.custom_vjp
def _lean_lse(z: Array) -> tuple[Array, Array]:
    """The row maximum ``m`` (0 for a row without a finite maximum) and ``log Σ exp(z −
    m)`` (keepdims), the log as the kernels form it: ``log1p((k − 1) + rest)`` with ``k``
    the entries equal to ``m`` and ``rest`` the sum over the others, so a tiny ``rest``
    keeps its relative accuracy.  ``optimization_barrier`` makes XLA compute ``z`` once
    (a fused producer of ``z``, softcap or tanh before the loss, would otherwise be
    evaluated again for the comparison with other roundings; see ``_math._first_max``,
    which finds the maximum by position for the same reason at the cost of an ``argmax``
    pass).  The gradient treats ``m`` as a constant, as every use below does (each use
    is invariant under a shift of ``m``): ``∂ log s / ∂z = exp(z − m − log s)``."""
    return _lean_lse_fwd(z)[0]


def _lean_lse_fwd(z: Array) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    z = jax.lax.optimization_barrier(z)  # type: ignore[no-untyped-call]
    m = jnp.max(z, axis=-1, keepdims=True)
    m = jnp.where(jnp.isfinite(m), m, jnp.zeros_like(m))
    d = z - m
    hit = d == 0
    e = jnp.exp(d)  # kept for the backward: XLA's exp costs more than the memory
    zero = jnp.zeros_like(d)
    k = jnp.sum(jnp.where(hit, jnp.ones_like(d), zero), axis=-1, keepdims=True)
    rest = jnp.sum(jnp.where(hit, zero, e), axis=-1, keepdims=True)
    log_s = jnp.log1p((k - 1) + rest)
    return (m, log_s), (e, log_s)


def _lean_lse_bwd(res: tuple[Array, Array], cts: tuple[Array, Array]) -> tuple[Array]:
    e, log_s = res
    return ((cts[1] * jnp.exp(-log_s)) * e,)


_lean_lse.defvjp(_lean_lse_fwd, _lean_lse_bwd)


def _lean_cross_entropy(z: Array, tg: SoftmaxTargets, checks: list[Check], spec: LossSpec) -> Any:
    assert tg.labels is not None
    n_classes = z.shape[-1]
    m, log_s = _lean_lse(z)
    # lse − z_c = log s − (z_c − m): exact near the maximum.
    keep = tg.keep
    y = tg.labels.astype(jnp.int32)[..., None]
    z_y = jnp.take_along_axis(z, y, axis=-1)[..., 0]
    nll_y = log_s[..., 0] - (z_y - m[..., 0])
    eps = spec.smoothing
    w = tg.w
    w_y = keep if w is None else tg.s  # s = keep · w_y
    loss = _math.times(jnp, (1 - eps) * w_y, nll_y)
    if eps:
        nll = log_s - (z - m)
        per = jnp.sum(nll if w is None else _math.times(jnp, w, nll), axis=-1)
        coef = (eps / n_classes) * keep
        loss = loss + _math.times(jnp, coef, per)
    lse = (m + log_s)[..., 0]
    if spec.lse_square_scale:
        sl = spec.lse_square_scale * tg.s
        loss = loss + _math.times(jnp, sl, lse * lse)
    bad = Check(~jnp.isfinite(lse), checks[0].message, kind="entry")
    if spec.reduction == "none":
        value = loss
    else:
        value = jnp.sum(loss)
        if spec.reduction == "mean":  # as the kernel route: 1 / Σ s, 0 when that is 0
            total = jnp.sum(tg.s)
            ok = total > 0
            value = jnp.where(ok, 1 / jnp.where(ok, total, 1), 0).astype(z.dtype) * value
    if not spec.validate:
        return value
    xp = array_api_compat.array_namespace(z)
    return enforce(xp, value, [bad] + [c for c in checks if c.kind != "entry"])


# ------------------------------------------------------------------ the functional


def softmax_cross_entropy(
    logits: Array,
    labels_or_probs: Array,
    /,
    *,
    axis: int = -1,
    weight: Array | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    lse_square_scale: float = 0.0,
    softcap: float | None = None,
    validate: bool = True,
) -> Array:
    r"""Softmax cross-entropy of JAX logits, for jitted training steps.

    :func:`infoloss.losses.softmax_cross_entropy` with JAX in mind: the same loss,
    options and edge cases, differentiable with ``jax.grad`` (through the fused kernels on
    the CPU; through ``jax.numpy`` elsewhere), usable under ``jax.jit`` and ``jax.vmap``.

    Parameters
    ----------
    logits : jax.Array
        Unnormalised log-probabilities, classes along ``axis``.
    labels_or_probs : jax.Array
        Integer labels (``logits.shape`` without ``axis``) or target distributions
        (``logits.shape``).
    axis, weight, label_smoothing, ignore_index, reduction, lse_square_scale, softcap
        As in :func:`infoloss.losses.softmax_cross_entropy` (z-loss and soft-capping are
        static options: changing them retraces a jitted function).
    validate : bool
        Check the data: on concrete arrays bad data raises ``ValueError``; under
        ``jax.jit`` the loss becomes NaN where a check fails.  ``False`` skips the checks.

    Returns
    -------
    jax.Array
        A scalar, or one loss per sample for ``reduction="none"``.

    Notes
    -----
    Beside optax (``optax.softmax_cross_entropy(logits, labels)`` for distributions,
    ``optax.softmax_cross_entropy_with_integer_labels(logits, labels)`` for labels): the
    per-sample values equal optax's (``reduction="none"``); optax never reduces (this
    defaults to ``"mean"``), takes no class weights, smoothing (``optax.smooth_labels``
    is separate) or ``ignore_index`` (optax has ``where=``), does not validate, and
    its distribution form gives NaN for a ``-inf`` logit on a class with zero target
    probability, where this gives the exact value.  See ``docs/jax.md``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from infoloss.jax import softmax_cross_entropy
    >>> z = jnp.array([[2.0, 0.5, -1.0], [0.0, 0.0, 3.0]])
    >>> y = jnp.array([0, 2])
    >>> g = jax.grad(softmax_cross_entropy)(z, y)
    >>> bool(jnp.allclose(g, (jax.nn.softmax(z) - jax.nn.one_hot(y, 3)) / 2))
    True
    """
    from .losses import softmax_cross_entropy as _loss

    result: Array = _loss(
        logits,
        labels_or_probs,
        axis=axis,
        weight=weight,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        reduction=reduction,
        lse_square_scale=lse_square_scale,
        softcap=softcap,
        validate=validate,
    )
    return result
