# mypy: ignore-errors
# (numba kernels: their types come from numba, not from annotations)
"""Counting kernels for the discrete estimators (:mod:`infoloss.estimators`).

- ``count_rows(x, lo, k)``: the one pass over the samples.  ``x`` is a 2-D integer (or
  boolean) array, any strides, whose entries lie in ``[lo, lo + k)``; the result is the
  (B, k) int64 table of how often each value occurs in each row.  Rows are counted in
  parallel; a batch with fewer rows than threads splits each row into pieces with private
  histograms, summed at the end, so one long column uses every core.
- ``row_sum(terms)``: per-row sums of a 2-D float64 array, left to right with Neumaier's
  compensation.  Left to right, so trailing zeros (the padding of a batch whose rows saw
  different numbers of categories) leave a row's sum bit for bit what it is alone.
- ``cwj_tail(a, c)``: the series :math:`T(z, c) = \\sum_{m \\ge 1} z^m / (c + m)`,
  :math:`z = 1 - a`, of the Chao–Wang–Jost estimator, per row.

This module imports numba; it is imported on first use only.
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads, njit, prange

__all__ = ["count_rows", "cwj_tail", "row_sum"]

# A row shorter than this is never split across threads: the private histograms would
# cost more than they save.
_SPLIT_MIN = 1 << 16
# Below this many entries a kernel runs on one thread.
_PARALLEL_MIN = 1 << 16


@njit(parallel=True, cache=True)
def _count_whole(x, lo, out):
    b, n = x.shape
    for i in prange(b):
        for j in range(n):
            out[i, np.int64(x[i, j]) - lo] += 1


# Small inputs run serially: waking the thread pool costs more than they take.  (A
# separate function, not a second dispatcher of the same one: numba's cache is keyed on
# the function, not on ``parallel``.)
@njit(cache=True)
def _count_whole_serial(x, lo, out):
    b, n = x.shape
    for i in range(b):
        for j in range(n):
            out[i, np.int64(x[i, j]) - lo] += 1


@njit(parallel=True, cache=True)
def _count_split(x, lo, pieces, out):
    b, n = x.shape
    k = out.shape[1]
    step = (n + pieces - 1) // pieces
    part = np.zeros((b * pieces, k), np.int64)
    for t in prange(b * pieces):
        i = t // pieces
        start = (t % pieces) * step
        stop = min(n, start + step)
        for j in range(start, stop):
            part[t, np.int64(x[i, j]) - lo] += 1
    for i in prange(b):
        for t in range(i * pieces, (i + 1) * pieces):
            for v in range(k):
                out[i, v] += part[t, v]


def count_rows(x: np.ndarray, lo: int, k: int) -> np.ndarray:
    """(B, k) int64 counts of the values ``lo .. lo + k - 1`` in each row of ``x``."""
    if x.dtype == np.bool_:
        x = x.view(np.uint8)
    out = np.zeros((x.shape[0], k), np.int64)
    threads = get_num_threads()
    pieces = 1
    if x.shape[0] < threads and x.shape[1] >= 2 * _SPLIT_MIN:
        pieces = min(threads, x.shape[1] // _SPLIT_MIN)
        # Private histograms must stay small next to the data they count.
        if pieces * k > x.shape[1]:
            pieces = 1
    # uint64 values above 2**63 wrap to negative int64 in the kernels, and so does lo: the
    # differences, which are small, come out right.
    lo64 = np.int64(lo - 2**64 if lo >= 2**63 else lo)
    if pieces > 1:
        _count_split(x, lo64, pieces, out)
    elif x.size < _PARALLEL_MIN:
        _count_whole_serial(x, lo64, out)
    else:
        _count_whole(x, lo64, out)
    return out


@njit(cache=True, inline="always")
def _neumaier(row):
    s = 0.0
    c = 0.0
    for j in range(row.shape[0]):
        v = row[j]
        t = s + v
        if abs(s) >= abs(v):
            c += (s - t) + v
        else:
            c += (v - t) + s
        s = t
    return s + c


@njit(parallel=True, cache=True)
def _row_sum(terms, out):
    for i in prange(terms.shape[0]):
        out[i] = _neumaier(terms[i])


@njit(cache=True)
def _row_sum_serial(terms, out):
    for i in range(terms.shape[0]):
        out[i] = _neumaier(terms[i])


def row_sum(terms: np.ndarray) -> np.ndarray:
    """Per-row compensated sums (left to right) of a 2-D float64 array."""
    out = np.empty(terms.shape[0], np.float64)
    (_row_sum_serial if terms.size < _PARALLEL_MIN else _row_sum)(terms, out)
    return out


# Re-anchor the running power z^m with an exact exp every so many steps, so the rounding
# of the repeated products never grows past this many ulps.
_ANCHOR = 64


@njit(cache=True)
def _tail_one(a, c):
    """T(1 - a, c) = Σ_{m>=1} (1 - a)^m / (c + m) for 0 < a <= 1, c >= 0."""
    if a >= 1.0:
        return 0.0
    la = math.log1p(-a)  # log z, exactly enough even for tiny a
    if c * a <= 3.0:
        # z^{-c} (-log a - Σ_{r=1}^{c} z^r / r): the subtraction loses at most a factor
        # e^{ca} <= e^3 of relative accuracy, and the loop has c terms.
        s = 0.0
        comp = 0.0
        p = 1.0
        for r in range(1, int(c) + 1):
            if r % _ANCHOR == 1:
                p = math.exp(r * la)
            else:
                p *= 1.0 - a
            v = p / r
            t = s + v
            comp += (s - t) + v
            s = t
        return (-math.log(a) - (s + comp)) * math.exp(-c * la)
    # ca > 3: the terms fall geometrically; what is left after a term v is at most
    # v (1 - a)/a, so the loop stops once that is below 1e-17 of the sum (about
    # (39 + log(1/a))/a terms, fewer than (39 + log c) c/3).
    s = 0.0
    comp = 0.0
    p = 1.0
    m = 0
    while True:
        m += 1
        if m % _ANCHOR == 1:
            p = math.exp(m * la)
        else:
            p *= 1.0 - a
        v = p / (c + m)
        t = s + v
        comp += (s - t) + v
        s = t
        if v * (1.0 - a) <= 1e-17 * a * s:
            break
    return s + comp


@njit(parallel=True, cache=True)
def _tail(a, c, out):
    for i in prange(a.shape[0]):
        out[i] = _tail_one(a[i], c[i])


@njit(cache=True)
def _tail_serial(a, c, out):
    for i in range(a.shape[0]):
        out[i] = _tail_one(a[i], c[i])


def cwj_tail(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """T(1 - a, c) per row; ``a`` float64 in (0, 1], ``c`` float64 >= 0 (integers).  A
    few rows run on the calling thread: waking the thread pool costs more than they do."""
    out = np.empty(a.shape[0], np.float64)
    kernel = _tail_serial if a.shape[0] < 4 else _tail
    kernel(np.ascontiguousarray(a, np.float64), np.ascontiguousarray(c, np.float64), out)
    return out
