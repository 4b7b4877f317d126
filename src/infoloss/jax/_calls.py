"""The kernels as XLA FFI targets: the bodies the handlers run, their registration, and
:func:`_call`, the one place that calls them."""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Iterator
from typing import Any, NamedTuple

import jax
import numpy as np

from .. import _kernels as _nb
from .._xp import Array
from ..losses._routes import kernel_options
from ._ffi import _handler


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
