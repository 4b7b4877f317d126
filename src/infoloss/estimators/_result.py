"""How the discrete estimators hand their results back: NumPy float64 (a NumPy scalar for
one set) for NumPy, Dask and plain Python input; a float64 array of the caller's library,
on the caller's device, for other array libraries (PyTorch, JAX, CuPy, ...)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._xp import is_lazy, is_numpy

__all__ = ["home", "shaped"]


def home(*arrays: Any) -> tuple[Any, Any] | None:
    """(namespace, device) of the first argument from an array library other than NumPy and
    Dask (whose estimates come back as NumPy); None if there is none."""
    import array_api_compat

    for a in arrays:
        if a is None or isinstance(a, (np.ndarray, np.generic, list, tuple)) or is_lazy(a):
            continue
        try:
            xp = array_api_compat.array_namespace(a)
        except TypeError:
            continue
        if not is_numpy(xp):
            return xp, array_api_compat.device(a)
    return None


def shaped(values: np.ndarray, batch: tuple[int, ...], home: tuple[Any, Any] | None) -> Any:
    """Estimates shaped as the batch: NumPy float64 (a NumPy scalar for one set), or a
    float64 array of the caller's library on the caller's device."""
    out = values.reshape(batch + values.shape[1:])
    if home is None:
        return out[()] if out.ndim == 0 else out
    xp, device = home
    try:
        return xp.asarray(out, device=device)
    except (TypeError, ValueError):
        return xp.asarray(out)
