"""Array namespace, conversion and results: step 2 of the pipeline.

Every public function takes arrays from any library that implements the array API
standard.  This module finds the one namespace of the caller's inputs, converts every
input once to one real floating dtype on one device, and puts results back in the caller's
library.  Plain Python data (lists, scalars) takes the dtype and device of the library
arrays it is mixed with.  Errors name the argument.  It imports nothing heavy:
``array_api_compat`` is light and NumPy is already loaded by it.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "Array",
    "as_float_arrays",
    "broadcast",
    "is_lazy",
    "is_numpy",
    "namespace",
    "result",
    "sum_last",
    "to_numpy",
]

Array = Any  # an array of any array-API library


def _is_plain(x: Any) -> bool:
    return isinstance(x, (list, tuple, int, float, bool, np.generic))


def _library(x: Any) -> str:
    return type(x).__module__.split(".")[0]


# NumPy 2.1 and later implement the array API standard (2023.12) in their main namespace,
# so NumPy arrays use it directly; array-api-compat's wrapper of NumPy, which earlier NumPy
# needs, costs about 0.2 s on its first import (it walks every attribute of numpy, which
# imports numpy.f2py and numpy.testing), a cost every new process paid on its first call.
_NUMPY_IS_ARRAY_API = np.lib.NumpyVersion(np.__version__) >= "2.1.0"
_NUMPY_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def namespace(arrays: tuple[Any, ...], names: tuple[str, ...]) -> Any:
    """The array namespace shared by ``arrays`` (None entries skipped); NumPy for plain
    Python data.  Arrays of different libraries are refused, naming the arguments."""
    real = [(a, n) for a, n in zip(arrays, names, strict=True) if a is not None]
    real = [(a, n) for a, n in real if not _is_plain(a)]
    if all(type(a) is np.ndarray for a, _ in real) and _NUMPY_IS_ARRAY_API:
        return np
    if not real:
        return array_api_compat.array_namespace(np.empty(0))
    try:
        return array_api_compat.array_namespace(*(a for a, _ in real))
    except TypeError:
        kinds = ", ".join(f"`{n}` is a {_library(a)} array" for a, n in real)
        raise ValueError(f"arrays must come from one array library; {kinds}") from None


def _default_float(xp: Any, device: Any) -> Any:
    try:
        return xp.__array_namespace_info__().default_dtypes(device=device)["real floating"]
    except (AttributeError, TypeError):
        return xp.float64


def _plain(xp: Any, x: Any, name: str, dtype: Any, device: Any) -> Array:
    """Plain Python data as an array of ``xp``, through NumPy so ragged data is caught."""
    try:
        a = np.asarray(x)
    except ValueError:
        raise ValueError(f"`{name}` is not a rectangular array of numbers") from None
    if a.dtype == object or a.dtype.kind not in "biufc":
        raise ValueError(f"`{name}` must be numeric; got {a.dtype} data")
    if a.dtype.kind == "c":
        raise ValueError(f"`{name}` must be real; got complex data")
    if dtype is None:
        return xp.asarray(a) if device is None else xp.asarray(a, device=device)
    return xp.asarray(a.astype(np.float64), dtype=dtype, device=device)


def as_float_arrays(xp: Any, arrays: tuple[Any, ...], names: tuple[str, ...]) -> list[Array]:
    """Convert ``arrays`` to arrays of ``xp`` with one common real floating dtype.

    Integer and boolean arrays are promoted to the library's default floating dtype;
    plain Python data takes the floating dtype and device of the library arrays beside it;
    complex and non-numeric input is refused.
    """
    first = arrays[0]
    if (
        type(first) is np.ndarray
        and first.dtype in _NUMPY_FLOATS
        and all(type(a) is np.ndarray and a.dtype == first.dtype for a in arrays)
    ):
        return list(arrays)  # NumPy floats of one dtype: nothing to convert
    real = [a for a in arrays if not _is_plain(a)]
    device = array_api_compat.device(real[0]) if real else None
    floats = [a.dtype for a in real if xp.isdtype(a.dtype, "real floating")]
    common = xp.result_type(*floats) if floats else None
    out: list[Array] = []
    for a, name in zip(arrays, names, strict=True):
        if _is_plain(a):
            a = _plain(xp, a, name, common, device)
        if xp.isdtype(a.dtype, "complex floating"):
            raise ValueError(f"`{name}` must be real; got complex dtype {a.dtype}")
        if not xp.isdtype(a.dtype, "real floating"):
            if not xp.isdtype(a.dtype, ("integral", "bool")):
                raise ValueError(f"`{name}` must be a numeric array; got dtype {a.dtype}")
            a = xp.astype(a, common if common is not None else _default_float(xp, device))
        out.append(a)
    if len(out) > 1:
        dtype = xp.result_type(*(a.dtype for a in out))
        out = [a if a.dtype == dtype else xp.astype(a, dtype) for a in out]
    return out


def broadcast(xp: Any, xs: list[Array], names: tuple[str, ...]) -> list[Array]:
    """Broadcast ``xs`` against each other, or an error naming every argument's shape."""
    if len(xs) < 2 or len({tuple(x.shape) for x in xs}) == 1:
        return xs
    try:
        return list(xp.broadcast_arrays(*xs))
    except (ValueError, RuntimeError, TypeError):
        shapes = " and ".join(f"`{n}` {tuple(x.shape)}" for n, x in zip(names, xs, strict=True))
        raise ValueError(f"shapes do not broadcast: {shapes}") from None


def is_numpy(xp: Any) -> bool:
    return bool(array_api_compat.is_numpy_namespace(xp))


def is_lazy(x: Any) -> bool:
    """True for arrays whose values are not known yet (Dask), which no check may force."""
    return bool(array_api_compat.is_dask_array(x))


def to_numpy(x: Array) -> np.ndarray:
    """A NumPy copy of ``x`` (for error messages: the first bad index)."""
    try:
        return np.asarray(x)
    except Exception:
        return np.asarray(array_api_compat.to_device(x, "cpu"))


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
        return str(x.device).startswith(("cpu", "cuda"))
    return True
