"""The read floor every benchmark quotes beside ``x.sum()``: one parallel read of an array.

A numba ``prange`` sum over the rows in 8 blocks (so both cores of the benchmark machine
read), each row summed in the array's dtype with SIMD; the result is returned so the read
cannot be dropped.  Compiled once per process (and cached on disk).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

__all__ = ["read_floor"]


@functools.cache
def _kernel() -> Callable[[np.ndarray], float]:
    from numba import njit, prange

    @njit(parallel=True, fastmath={"reassoc", "contract"}, cache=True)
    def read(z: np.ndarray) -> float:  # pragma: no cover - numba
        n, c = z.shape
        nblk = 8
        out = np.zeros(nblk)
        for b in prange(nblk):
            total = 0.0
            for i in range(b * n // nblk, (b + 1) * n // nblk):
                row = z[i]
                acc = row[0] - row[0]
                for j in range(c):
                    acc += row[j]
                total += acc
            out[b] = total
        return out.sum()

    return read  # type: ignore[no-any-return]


def read_floor() -> Callable[[np.ndarray], float]:
    """The parallel read as a function of an array (any shape; rows along the last axis)."""
    kernel = _kernel()

    def read(x: np.ndarray) -> float:
        return float(kernel(x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x))

    return read
