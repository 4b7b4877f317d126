"""What every benchmark shares: interleaved timing rounds, median ratios, and the read
floor quoted beside ``x.sum()`` (one parallel read of an array).

The read floor:
A numba ``prange`` sum over the rows in 8 blocks (so both cores of the benchmark machine
read), each row summed in the array's dtype with SIMD; the result is returned so the read
cannot be dropped.  Compiled once per process (:func:`block_sum`).
"""

from __future__ import annotations

import functools
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ROOT", "block_sum", "git_show", "ratio", "read_floor", "rounds"]

ROOT = Path(__file__).resolve().parent.parent


def git_show(commit: str, path: str) -> str:
    """The text of ``path`` (relative to the repository root) as of ``commit``."""
    return subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def rounds(methods: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Per-method times (s) over ``repeats`` interleaved rounds, after one warm-up each:
    every round calls each method once in turn, so a slow spell hits all of them."""
    for f in methods.values():
        f()
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeats):
        for name, f in methods.items():
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    return times


def ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    """The median over rounds of time(a) / time(b)."""
    return statistics.median(p / q for p, q in zip(times[a], times[b], strict=True))


def block_sum(op: Any, fastmath: Any) -> Callable[[np.ndarray], float]:
    """A numba ``prange`` sum of ``op(x)`` over a 2-D array's rows in 8 blocks (so both
    cores read), each row summed in the array's dtype with SIMD; ``op`` is a numba
    function of one entry.  The result is returned so the loop cannot be dropped."""
    from numba import njit, prange

    @njit(parallel=True, fastmath=fastmath, error_model="numpy")
    def run(z: np.ndarray) -> float:  # pragma: no cover - numba
        n, c = z.shape
        nblk = 8
        out = np.zeros(nblk)
        for b in prange(nblk):
            total = 0.0
            for i in range(b * n // nblk, (b + 1) * n // nblk):
                row = z[i]
                acc = row[0] - row[0]
                for j in range(c):
                    acc += op(row[j])
                total += acc
            out[b] = total
        return out.sum()

    return run  # type: ignore[no-any-return]


@functools.cache
def _kernel() -> Callable[[np.ndarray], float]:
    from numba import njit

    @njit(inline="always")
    def entry(v: Any) -> Any:  # pragma: no cover - numba
        return v

    return block_sum(entry, {"reassoc", "contract"})


def read_floor() -> Callable[[np.ndarray], float]:
    """The parallel read as a function of an array (any shape; rows along the last axis)."""
    kernel = _kernel()

    def read(x: np.ndarray) -> float:
        return float(kernel(x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x))

    return read
