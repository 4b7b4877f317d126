"""The discrete estimators' kernels (``src/counting.c``) and their contract.

- ``count_rows(x, lo, k)``: the one pass over the samples.  ``x`` is a 2-D integer (or
  boolean) NumPy array, any strides, whose entries all lie in ``[lo, lo + k)``; the result
  is the (B, k) int64 table of how often each value occurs in each row.
- ``row_sum(terms)``: per-row sums of a 2-D float64 array, left to right with Neumaier's
  compensation.  Left to right, so trailing zeros (the padding of a batch whose rows saw
  different numbers of categories) leave a row's sum bit for bit what it is alone.
- ``cwj_tail(a, c)``: the series :math:`T(z, c) = \\sum_{m \\ge 1} z^m / (c + m)`,
  :math:`z = 1 - a`, of the Chao–Wang–Jost estimator, per row, in time that does not grow
  with ``c``.

The callers (:mod:`infoloss.estimators`) check the values; this module checks layouts.
"""

from __future__ import annotations

import numpy as np

from . import _counting

__all__ = ["count_rows", "cwj_tail", "row_sum"]

# il_count_rows' integer kinds (counting.h), by NumPy dtype.
_KIND = {
    np.dtype(np.int8): 0,
    np.dtype(np.int16): 1,
    np.dtype(np.int32): 2,
    np.dtype(np.int64): 3,
    np.dtype(np.uint8): 4,
    np.dtype(np.uint16): 5,
    np.dtype(np.uint32): 6,
    np.dtype(np.uint64): 7,
}


def _element_strides(a: np.ndarray) -> tuple[np.ndarray, int, int]:
    """``a`` (2-D) with strides that are whole elements (copied if not), and those strides."""
    item = a.dtype.itemsize
    if a.strides[0] % item or a.strides[1] % item:
        a = np.ascontiguousarray(a)
    return a, a.strides[0] // item, a.strides[1] // item


def count_rows(x: np.ndarray, lo: int, k: int) -> np.ndarray:
    """(B, k) int64 counts of the values ``lo .. lo + k - 1`` in each row of ``x``."""
    if x.dtype == np.bool_:
        x = x.view(np.uint8)
    if x.dtype.byteorder not in "=|":
        x = x.astype(x.dtype.newbyteorder("="))
    if x.ndim != 2 or x.dtype not in _KIND:
        raise TypeError(f"count_rows needs a 2-D integer array; got {x.ndim}-D {x.dtype}")
    x, s0, s1 = _element_strides(x)
    out = np.empty((x.shape[0], k), np.int64)
    status = _counting.count_rows(
        x.ctypes.data, _KIND[x.dtype], x.shape[0], x.shape[1], s0, s1, lo % 2**64, k,
        out.ctypes.data,
    )  # fmt: skip
    if status == -1:
        raise MemoryError("count_rows: no memory for the per-thread histograms")
    return out


def row_sum(terms: np.ndarray) -> np.ndarray:
    """Per-row compensated sums (left to right) of a 2-D float64 array."""
    terms = np.asarray(terms, np.float64)
    if terms.ndim != 2:
        raise TypeError(f"row_sum needs a 2-D array; got {terms.ndim}-D")
    terms, s0, s1 = _element_strides(terms)
    out = np.empty(terms.shape[0], np.float64)
    _counting.row_sum(terms.ctypes.data, terms.shape[0], terms.shape[1], s0, s1, out.ctypes.data)
    return out


def cwj_tail(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """T(1 - a, c) per row; ``a`` float64 in (0, 1], ``c`` float64 >= 0 (whole numbers)."""
    a = np.ascontiguousarray(a, np.float64)
    c = np.ascontiguousarray(c, np.float64)
    if a.shape != c.shape or a.ndim != 1:
        raise TypeError("cwj_tail needs two 1-D arrays of one shape")
    out = np.empty(a.shape[0], np.float64)
    _counting.cwj_tail(a.ctypes.data, c.ctypes.data, a.shape[0], out.ctypes.data)
    return out
