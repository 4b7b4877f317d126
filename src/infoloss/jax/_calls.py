"""The kernels as XLA FFI targets: their registration (the handlers are compiled, in
``infoloss._kernels._xla_gate``) and :func:`_call`, the one place that calls them."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import numpy as np

from .._xp import Array


@functools.cache
def _registered() -> None:
    """Register the compiled FFI targets (``infoloss._kernels._xla_gate``) once per
    process."""
    from .._kernels import _xla_gate

    for name, capsule in _xla_gate.targets().items():
        jax.ffi.register_ffi_target(name, capsule, platform="cpu")


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
