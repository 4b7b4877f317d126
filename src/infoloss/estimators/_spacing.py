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
from typing import Any

import numpy as np

__all__ = ["METHODS", "dask_row", "entropy", "finish", "zero_spacings"]

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


# --------------------------------------------------------------------------- Dask
#
# A sample too large for one machine is sorted where it lies: each chunk is sorted, a
# regular sample of each sorted chunk chooses splitters (parallel sorting by regular
# sampling), every chunk is cut at the splitters and bucket j gathers piece j of every
# chunk, so the buckets hold consecutive runs of the order statistics.  A bucket's
# spacings reach m order statistics into its neighbours: those halos are passed along a
# chain of buckets (each link holds at most m values, so a bucket shorter than m is
# crossed), and each bucket returns the sum of its log terms and whether any spacing is
# zero.  Only those two scalars per bucket reach the caller.  Cutting p chunks into q
# buckets makes p q pieces, so a bucket holds at least BUCKET values, or as many as the
# largest chunk: tiny chunks share a bucket rather than multiply the tasks.

BUCKET = 1 << 20


def _regular_sample(xs: np.ndarray, p: int) -> np.ndarray:
    """p order statistics of the sorted chunk ``xs``, evenly spaced in rank."""
    if xs.size == 0:
        return xs
    return xs[(np.arange(p) * xs.size) // p]


def _splitters(samples: list[np.ndarray], p: int) -> np.ndarray:
    """p - 1 cut values from the chunks' regular samples."""
    pooled = np.sort(np.concatenate(samples))
    if pooled.size == 0:
        return np.full(p - 1, np.inf)
    return pooled[(np.arange(1, p) * pooled.size) // p]


def _cut(xs: np.ndarray, splitters: np.ndarray) -> tuple[np.ndarray, ...]:
    """The sorted chunk ``xs`` in p pieces: piece j holds the values in
    [splitter j - 1, splitter j), so equal values always land in one bucket."""
    return tuple(np.split(xs, np.searchsorted(xs, splitters, side="left")))


def _merge(*pieces: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.sort(np.concatenate(pieces), kind="stable")
    return out


def _advance(state: tuple[int, np.ndarray], bucket: np.ndarray, m: int) -> tuple[int, np.ndarray]:
    """(rank of the bucket's first value, the m order statistics before it) for the
    bucket after ``bucket``."""
    start, tail = state
    return start + bucket.size, np.concatenate([tail, bucket])[-m:]


def _head(bucket: np.ndarray, after: np.ndarray, m: int) -> np.ndarray:
    """The m order statistics after the bucket before ``bucket``."""
    out: np.ndarray = np.concatenate([bucket, after])[:m]
    return out


def _correa_terms(pad: np.ndarray, m: int, n: int) -> np.ndarray:
    """log b_i for the centre of every full window of ``pad``, in the compiled kernel's
    order of operations (each window's sum, its mean, then the centred sums)."""
    size = pad.size - 2 * m
    w = float(2 * m + 1)
    s = np.zeros(size)
    for j in range(2 * m + 1):
        s += pad[j : j + size]
    mean = s / w
    num, den = np.zeros(size), np.zeros(size)
    for j in range(2 * m + 1):
        dv = pad[j : j + size] - mean
        num += dv * float(j - m)
        den += dv * dv
    out: np.ndarray = np.log(num / (float(n) * den))
    return out


def _bucket_terms(pad: np.ndarray, start: int, n: int, m: int, method: str) -> np.ndarray:
    """The log terms of the order statistics ``start`` .. of one bucket; ``pad`` holds
    them with m order statistics (clamped at the ends) on either side."""
    size = pad.size - 2 * m
    gaps = pad[2 * m :] - pad[:size]
    if method == "vasicek":
        out: np.ndarray = np.log(n / (2 * m) * gaps)
    elif method == "ebrahimi":
        i = np.arange(start + 1, start + size + 1, dtype=np.float64)
        c = np.full(size, 2.0)
        c[i <= m] = 1 + (i[i <= m] - 1) / m
        c[i >= n - m + 1] = 1 + (n - i[i >= n - m + 1]) / m
        out = np.log(n * gaps / (c * m))
    elif method == "van es":
        used = max(0, min(size, n - m - start))
        out = np.log((n + 1) / m * (pad[2 * m : 2 * m + used] - pad[m : m + used]))
    else:
        out = _correa_terms(pad, m, n)
    return out


def _bucket_sum(
    state: tuple[int, np.ndarray],
    bucket: np.ndarray,
    after: np.ndarray,
    n: int,
    m: int,
    method: str,
) -> tuple[float, bool]:
    """(sum of the bucket's log terms, whether a spacing it uses is zero); NaN for a
    bucket that has or borders on NaN or infinite values, which the caller reports."""
    start, before = state
    if bucket.size == 0:
        return 0.0, False
    ext = np.concatenate([before, bucket, after])
    if not np.all(np.isfinite(ext)):
        return math.nan, False
    pad = np.concatenate([np.full(m - before.size, ext[0]), ext, np.full(m - after.size, ext[-1])])
    if method == "van es":
        used = max(0, min(bucket.size, n - m - start))
        zero = bool(np.any(pad[2 * m : 2 * m + used] - pad[m : m + used] <= 0))
    else:
        zero = bool(np.any(pad[2 * m :] - pad[: bucket.size] <= 0))
    if zero:
        return math.nan, True
    return float(np.sum(_bucket_terms(pad, start, n, m, method))), False


def _combine(parts: list[tuple[float, bool]]) -> tuple[float, bool]:
    if any(zero for _, zero in parts):
        return math.nan, True
    return math.fsum(total for total, _ in parts), False


def dask_row(column: Any, m: int, method: str) -> Any:
    """A delayed (sum of log terms, any zero spacing) for the 1-D Dask array ``column``
    of n values; :func:`finish` turns the sum into the estimate."""
    from dask.delayed import delayed

    blocks = list(column.to_delayed().ravel())
    n = int(column.shape[0])
    p = max(1, min(len(blocks), -(-n // max(BUCKET, *column.chunks[0]))))
    ordered = [delayed(np.sort)(b) for b in blocks]
    if p == 1:
        buckets = [delayed(_merge)(*ordered)]
    else:
        splitters = delayed(_splitters)([delayed(_regular_sample)(b, p) for b in ordered], p)
        pieces = [delayed(_cut, nout=p)(b, splitters) for b in ordered]
        buckets = [delayed(_merge)(*(piece[j] for piece in pieces)) for j in range(p)]
    states = [delayed((0, np.empty(0)))]
    for bucket in buckets[:-1]:
        states.append(delayed(_advance)(states[-1], bucket, m))
    afters = [delayed(np.empty(0))]
    for bucket in buckets[:0:-1]:
        afters.insert(0, delayed(_head)(bucket, afters[0], m))
    parts = [
        delayed(_bucket_sum)(st, b, af, n, m, method)
        for st, b, af in zip(states, buckets, afters, strict=True)
    ]
    return delayed(_combine)(parts)


def finish(total: float, n: int, m: int, method: str) -> float:
    """The estimate from the sum of a row's log terms, as :func:`entropy` forms it."""
    if method == "van es":
        tail = float(np.sum(1.0 / np.arange(m, n + 1))) + math.log(m / (n + 1))
        return total / (n - m) + tail
    if method == "correa":
        return -total / n
    return total / n
