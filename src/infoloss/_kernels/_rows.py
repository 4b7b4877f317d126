# mypy: ignore-errors
# (numba kernels: their types come from numba, not from annotations)
"""Row reductions shared by the kernel families: a chunked, online log-sum-exp.

A row is processed in chunks small enough to stay in L1 cache: the chunk maximum (in
``LANES`` independent lanes, a form LLVM vectorises, unlike a scalar running max) and
then Σ exp(z − m) over the same chunk, which is re-read from L1 rather than memory.  When
a chunk raises the running maximum the float64 running sum is rescaled.  So each element
is read from memory once whatever the row length, and float32 exp terms are summed in
float32 only within a chunk (≤ ``CHUNK`` terms spread over many SIMD accumulators), then
in float64.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._exp import FASTMATH, cast_like, fexp

__all__ = ["CHUNK", "LANES", "row_lse"]

CHUNK = 2048
LANES = 32


@njit(fastmath=FASTMATH, inline="always")
def _chunk_max(x, acc):
    # Indices run from 0 so that LLVM sees them non-negative (no wraparound selects).
    for k in range(LANES):
        acc[k] = -np.inf
    n = x.shape[0]
    full = n // LANES
    for b in range(full):
        for k in range(LANES):
            v = x[b * LANES + k]
            acc[k] = v if v > acc[k] else acc[k]
    m = acc[0]
    for k in range(1, LANES):
        m = acc[k] if acc[k] > m else m
    for j in range(full * LANES, n):
        v = x[j]
        m = v if v > m else m
    return m


@njit(fastmath=FASTMATH, inline="always")
def row_lse(row):
    """(m, s) with logsumexp(row) = m + log(s), m = max(row) in the row's dtype.

    ``m + log(s)`` is NaN or ±inf exactly when the row holds NaN or +inf, or is all −inf
    (NaN never wins a comparison but reaches the sum through exp; +inf gives inf − inf).
    """
    n = row.shape[0]
    m = cast_like(-np.inf, row[0])
    s = 0.0
    acc = np.empty(LANES, row.dtype)
    for c0 in range(0, n, CHUNK):
        x = row[c0 : min(c0 + CHUNK, n)]
        cm = _chunk_max(x, acc)
        if cm > m:
            s = s * math.exp(float(m) - float(cm))
            m = cm
        cs = cast_like(0.0, m)
        for j in range(x.shape[0]):
            cs += fexp(x[j] - m)
        s += cs
    return m, s
