"""When the compiled kernels apply, and the 2-D views of the caller's memory it runs on.

The pipeline asks :func:`row_blocks` for (N_b, C) views of its (outcome-axis-last) NumPy
arrays; the answer is None where the backend does not apply: kernels switched off, not
float32/float64 NumPy arrays of one dtype, fewer than ``min_size`` entries (``MIN_SIZE``, the
operators of ``infoloss.torch`` and the CLI's blocks; the NumPy losses and measures take any
size), or a layout that no small set of views covers
without a copy.  Nothing here imports an extension.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import enabled

__all__ = ["LOSSES_MIN_SIZE", "MEASURES_MIN_SIZE", "MIN_SIZE", "row_blocks", "table_view"]

MIN_SIZE = 1 << 14
# The fewest entries of NumPy arrays with which the measures take the kernels: any.  The
# compiled measure kernels beat the array-API code at every size measured, from one row of
# two entries up (0.08-0.69x its time; docs/performance.md).
MEASURES_MIN_SIZE = 1
# The same for the NumPy losses (softmax and sigmoid, cross-entropy and squared errors): the
# kernel path took 0.07-0.64x the array-API code's time at every size below the old 16384
# entries, from one row of 2 classes up (benchmarks/small_inputs.py --losses).
LOSSES_MIN_SIZE = 1
_MAX_BLOCKS = 4096
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _usable(xs: tuple[Any, ...], min_size: int) -> bool:
    if not enabled():
        return False
    first = xs[0]
    for a in xs:
        if type(a) is not np.ndarray or a.dtype not in _FLOATS or a.dtype != first.dtype:
            return False
        if a.ndim == 0 or a.shape[-1] == 0:
            return False
    return bool(first.size >= min_size)


def _rows(x: np.ndarray) -> np.ndarray | None:
    """``x`` (outcome axis last) as an (N, C) view, or None where that needs a copy."""
    c = x.shape[-1]
    try:
        return np.reshape(x, (-1, c), copy=False)
    except ValueError:
        return None
    except TypeError:  # NumPy < 2.1 has no ``copy=``
        y = x.reshape(-1, c)
        return y if np.shares_memory(x, y) else None


def row_blocks(*xs: Any, min_size: int | None = None) -> list[list[np.ndarray]] | None:
    """Each ``x`` (outcome axis last, equal shapes) as (N_b, C) views covering its rows in C
    order: one block when the leading axes merge into one, else one per index of as few
    leading axes as needed (a ``moveaxis`` view of a 3-D array gives one per batch); None
    where the backend does not apply; ``min_size``: MIN_SIZE unless given."""
    if not _usable(xs, MIN_SIZE if min_size is None else min_size):
        return None
    nd = xs[0].ndim
    if nd == 2:
        return [[x] for x in xs]  # (N, C) already, any strides
    for k in range(max(nd - 1, 1)):
        lead = xs[0].shape[:k]
        if math.prod(lead) > _MAX_BLOCKS:
            return None
        out: list[list[np.ndarray]] = [[] for _ in xs]
        for idx in np.ndindex(*lead):
            views = [_rows(x[idx]) for x in xs]
            if any(v is None for v in views):
                break
            for o, v in zip(out, views, strict=True):
                o.append(v)  # type: ignore[arg-type]
        else:
            return out
    return None


def table_view(x: Any) -> np.ndarray | None:
    """A (..., X, Y) table as an (N, X, Y) view, or None where the backend does not apply
    (any size: MEASURES_MIN_SIZE)."""
    if not _usable((x,), MEASURES_MIN_SIZE) or x.ndim < 2:
        return None
    shape = (-1, x.shape[-2], x.shape[-1])
    try:
        return np.reshape(x, shape, copy=False)
    except ValueError:
        return None
    except TypeError:  # NumPy < 2.1 has no ``copy=``
        y = x.reshape(shape)
        return y if np.shares_memory(x, y) else None
