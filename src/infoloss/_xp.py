"""Array-namespace and dtype helpers.

Every public function takes arrays from any library that implements the array API
standard.  This module turns the caller's inputs into arrays of one namespace and one
floating dtype, moves the outcome axis to the end, and puts results back in the caller's
shape.  It imports nothing heavy: ``array_api_compat`` is light, and NumPy is already
loaded by it.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "Array",
    "as_float_arrays",
    "is_numpy",
    "namespace",
    "result",
    "sum_last",
]

Array = Any  # an array of any array-API library


def namespace(*arrays: Any) -> Any:
    """The array namespace shared by ``arrays``; NumPy for lists, tuples and scalars."""
    real = [a for a in arrays if a is not None and not _is_plain(a)]
    if not real:
        return array_api_compat.array_namespace(np.empty(0))
    return array_api_compat.array_namespace(*real)


def _is_plain(x: Any) -> bool:
    return isinstance(x, (list, tuple, int, float, bool, np.generic))


def is_numpy(xp: Any) -> bool:
    return bool(array_api_compat.is_numpy_namespace(xp))


def _default_float(xp: Any, device: Any) -> Any:
    try:
        dtypes = xp.__array_namespace_info__().default_dtypes(device=device)
        return dtypes["real floating"]
    except (AttributeError, TypeError):
        return xp.float64


def as_float_arrays(xp: Any, *arrays: Any, names: tuple[str, ...]) -> list[Array]:
    """Convert ``arrays`` to arrays of ``xp`` with one common real floating dtype.

    Lists and Python scalars become arrays; integer and boolean arrays are promoted to the
    library's default floating dtype; complex input is refused.
    """
    out: list[Array] = []
    device = None
    for a in arrays:
        if a is not None and not _is_plain(a):
            device = array_api_compat.device(a)
            break
    for a, name in zip(arrays, names, strict=False):
        if _is_plain(a):
            a = xp.asarray(a) if device is None else xp.asarray(a, device=device)
        if xp.isdtype(a.dtype, "complex floating"):
            raise ValueError(f"`{name}` must be real; got complex dtype {a.dtype}")
        if not xp.isdtype(a.dtype, "real floating"):
            if not xp.isdtype(a.dtype, ("integral", "bool")):
                raise ValueError(f"`{name}` must be a numeric array; got dtype {a.dtype}")
            a = xp.astype(a, _default_float(xp, device))
        out.append(a)
    if len(out) > 1:
        dtype = xp.result_type(*(a.dtype for a in out))
        out = [a if a.dtype == dtype else xp.astype(a, dtype) for a in out]
    return out


def result(xp: Any, value: Array) -> Array:
    """Return NumPy 0-d results as NumPy scalars (as SciPy does); other arrays unchanged."""
    if is_numpy(xp) and getattr(value, "ndim", 1) == 0:
        return value[()]
    return value


def sum_last(xp: Any, terms: Array) -> Array:
    """Sum over the last axis; float32 and float16 accumulate in float64 where cheap.

    The accumulation dtype only widens on CPU libraries that have float64; the result
    keeps the input dtype.
    """
    dtype = terms.dtype
    if dtype != xp.float64 and _can_widen(xp, terms):
        return xp.astype(xp.sum(terms, axis=-1, dtype=xp.float64), dtype)
    return xp.sum(terms, axis=-1)


def _can_widen(xp: Any, x: Array) -> bool:
    if array_api_compat.is_jax_namespace(xp):
        return False
    if array_api_compat.is_torch_namespace(xp):
        return str(x.device).startswith("cpu") or str(x.device).startswith("cuda")
    return True
