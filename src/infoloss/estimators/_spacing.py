"""The m-spacing estimators of differential entropy for 1-D samples.

Each takes rows of sorted samples ``xs`` (B, n) and a window length ``m`` with
``1 <= m < n / 2`` and returns one estimate per row, in nats.  Order statistics beyond the
ends are the extremes (``X_(j) = X_(1)`` for ``j < 1``, ``X_(n)`` for ``j > n``), as in
Noughabi (2015), whose definitions (and SciPy's) these follow.  The callers check that no
spacing used is zero before calling (:func:`zero_spacings`).

Vasicek, van Es and Ebrahimi are O(n) NumPy; Correa's local regression is a numba loop,
O(n m) time and O(n) memory (a sliding-window view would hold n (2m + 1) values).  This
module imports numba; the estimators import it on first use.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["METHODS", "entropy", "zero_spacings"]

METHODS = ("vasicek", "van es", "ebrahimi", "correa")


def _padded_spacings(xs: np.ndarray, m: int) -> np.ndarray:
    """X_(i+m) - X_(i-m) for i = 1..n, the order statistics clamped at the ends."""
    n = xs.shape[-1]
    hi = xs[:, np.minimum(np.arange(n) + m, n - 1)]
    lo = xs[:, np.maximum(np.arange(n) - m, 0)]
    out: np.ndarray = hi - lo
    return out


def zero_spacings(xs: np.ndarray, m: int, method: str) -> np.ndarray:
    """Per row: does the estimator take the log of a zero spacing (a run of equal
    values as long as its window)?  Correa's slope is 0/0 exactly where Vasicek's padded
    spacing is 0: the covariance of sorted values with their ranks over a window is
    positive unless the window's values are all equal."""
    gaps = xs[:, m:] - xs[:, :-m] if method == "van es" else _padded_spacings(xs, m)
    out: np.ndarray = np.any(gaps <= 0, axis=-1)
    return out


def _vasicek(xs: np.ndarray, m: int) -> np.ndarray:
    n = xs.shape[-1]
    out: np.ndarray = np.mean(np.log(n / (2 * m) * _padded_spacings(xs, m)), axis=-1)
    return out


def _van_es(xs: np.ndarray, m: int) -> np.ndarray:
    n = xs.shape[-1]
    logs = np.log((n + 1) / m * (xs[:, m:] - xs[:, :-m]))
    tail = float(np.sum(1.0 / np.arange(m, n + 1))) + math.log(m / (n + 1))
    out: np.ndarray = np.sum(logs, axis=-1) / (n - m) + tail
    return out


def _ebrahimi(xs: np.ndarray, m: int) -> np.ndarray:
    n = xs.shape[-1]
    i = np.arange(1, n + 1, dtype=np.float64)
    c = np.full(n, 2.0)
    c[i <= m] = 1 + (i[i <= m] - 1) / m
    c[i >= n - m + 1] = 1 + (n - i[i >= n - m + 1]) / m
    out: np.ndarray = np.mean(np.log(n * _padded_spacings(xs, m) / (c * m)), axis=-1)
    return out


def _correa(xs: np.ndarray, m: int) -> np.ndarray:
    n = xs.shape[-1]
    out: np.ndarray = -_correa_logs(np.ascontiguousarray(xs), m) / n
    return out


@njit(parallel=True, cache=True)
def _correa_logs(xs, m):  # type: ignore[no-untyped-def]
    """Per row of sorted ``xs`` (B, n): the sum over i of log b_i, where b_i is the
    least-squares slope of rank on value over the window i - m .. i + m (order statistics
    clamped at the ends), divided by n:

        b_i = sum_j (X_(j) - mean_i)(j - i) / (n sum_j (X_(j) - mean_i)^2).

    Two passes per window (the mean, then the centred sums), so no cancellation between
    large windowed sums."""
    rows, n = xs.shape
    out = np.empty(rows)
    w = 2 * m + 1
    for r in range(rows):
        x = xs[r]
        total = 0.0
        for ii in prange(n):
            i = np.int64(ii)  # prange indices may be unsigned
            s = 0.0
            for j in range(i - m, i + m + 1):
                s += x[min(max(j, 0), n - 1)]
            mean = s / w
            num = 0.0
            den = 0.0
            for j in range(i - m, i + m + 1):
                dv = x[min(max(j, 0), n - 1)] - mean
                num += dv * (j - i)
                den += dv * dv
            total += math.log(num / (n * den))
        out[r] = total
    return out


_ESTIMATORS = {"vasicek": _vasicek, "van es": _van_es, "ebrahimi": _ebrahimi, "correa": _correa}


def entropy(xs: np.ndarray, m: int, method: str) -> np.ndarray:
    """The ``method`` estimate for each row of sorted samples ``xs`` (B, n), in nats."""
    return _ESTIMATORS[method](xs, m)
