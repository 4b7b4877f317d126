"""What every benchmark shares: interleaved timing rounds, median ratios, and the read
floor quoted beside ``x.sum()`` (one parallel read of an array).

The read floor: an OpenMP sum over the array on every core, in its dtype with SIMD,
compiled with the kernels at install (``infoloss._kernels._vmath.floor``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ROOT", "git_show", "machine", "ratio", "read_floor", "repeated", "rounds"]

ROOT = Path(__file__).resolve().parent.parent


def git_show(commit: str, path: str) -> str:
    """The text of ``path`` (relative to the repository root) as of ``commit``."""
    return subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def rounds(methods: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Per-method times (s) over ``repeats`` interleaved rounds, after one warm-up each:
    every round calls each method once in turn, so a slow spell hits all of them.  The
    order rotates by one each round: a call that leaves the caches or the threads in a
    state that slows the next one does not always slow the same method."""
    for f in methods.values():
        f()
    names = list(methods)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            f = methods[name]
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    return times


def repeated(f: Callable[[], Any], reps: int) -> Callable[[], None]:
    """``f`` called ``reps`` times in a row, as one timed sample (for calls too short to
    time one by one)."""

    def run() -> None:
        for _ in range(reps):
            f()

    return run


def ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    """The median over rounds of time(a) / time(b)."""
    return statistics.median(p / q for p, q in zip(times[a], times[b], strict=True))


def read_floor() -> Callable[[np.ndarray], float]:
    """The parallel read as a function of an array: a sum over it on every core, in the
    array's dtype with SIMD, compiled with the kernels (``infoloss._kernels._vmath.floor``);
    the result is returned so the read cannot be dropped."""
    from infoloss._kernels import _vmath

    def read(x: np.ndarray) -> float:
        return float(_vmath.floor(np.ascontiguousarray(x), "read"))

    return read


def machine() -> str:
    """The processor, core count and vector unit, for every table's heading."""
    model = "unknown CPU"
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    vec = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{model}, {os.cpu_count()} cores, {vec}"
