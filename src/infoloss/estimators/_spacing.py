"""The m-spacing estimators of differential entropy for 1-D samples.

Each takes rows of sorted samples ``xs`` (B, n) and a window length ``m`` with
``1 <= m < n / 2`` and returns one estimate per row, in nats.  Order statistics beyond the
ends are the extremes (``X_(j) = X_(1)`` for ``j < 1``, ``X_(n)`` for ``j > n``), as in
Noughabi (2015), whose definitions (and SciPy's) these follow.  The callers check that no
spacing used is zero before calling (:func:`zero_spacings`).

Vasicek, van Es and Ebrahimi are O(n) NumPy; Correa's local regression is the compiled
loop :func:`infoloss._kernels.spacing.correa_logs`, O(n m) time and O(n) memory (a
sliding-window view would hold n (2m + 1) values).
"""

from __future__ import annotations

import math

import numpy as np

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
    """Correa (1995): minus the mean over i of log b_i, b_i the least-squares slope of rank
    on value over the window i - m .. i + m divided by n,

        b_i = sum_j (X_(j) - mean_i)(j - i) / (n sum_j (X_(j) - mean_i)^2),

    each window in two passes (the mean, then the centred sums)."""
    from .._kernels.spacing import correa_logs

    n = xs.shape[-1]
    out: np.ndarray = -correa_logs(xs, m) / n
    return out


_ESTIMATORS = {"vasicek": _vasicek, "van es": _van_es, "ebrahimi": _ebrahimi, "correa": _correa}


def entropy(xs: np.ndarray, m: int, method: str) -> np.ndarray:
    """The ``method`` estimate for each row of sorted samples ``xs`` (B, n), in nats."""
    return _ESTIMATORS[method](xs, m)
