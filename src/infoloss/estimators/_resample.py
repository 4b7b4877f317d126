r"""Resampling: a bootstrap interval for any discrete estimator, and a permutation test of
independence with the mutual information as its statistic.

The bootstrap resamples N samples with replacement from the empirical distribution,
which for counts is a multinomial draw: the resamples are drawn as count vectors (for
mutual information, as joint count tables whose marginals follow), never as samples, so
the cost does not grow with N.  The permutation test shuffles ``y`` against ``x`` and
recounts the joint table of each shuffle in one batched pass.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .._options import (
    parse_alphabet_size,
    parse_axis,
    parse_base,
    parse_confidence_level,
    parse_method,
    parse_positive_int,
    parse_rng,
)
from .._xp import is_lazy
from . import _counts, _estimate
from ._result import home, shaped

__all__ = [
    "BootstrapResult",
    "PermutationTestResult",
    "bootstrap_interval",
    "permutation_test",
]

# Resamples are drawn in blocks of at most this many counts (or samples) at a time.
_BLOCK = 1 << 22
# NumPy's hypergeometric draws take populations below this size.
_HYPERGEOMETRIC_MAX = 10**9
_INTERVALS = ("basic", "percentile")
_MEASURES = ("entropy", "mutual_information")


class BootstrapResult(NamedTuple):
    """``estimate`` (the estimator on the data) and the interval [``low``, ``high``], one
    per sample set, in the requested base."""

    estimate: Any
    low: Any
    high: Any


class PermutationTestResult(NamedTuple):
    """``statistic`` (the mutual information estimate), ``pvalue`` = (b + 1)/(m + 1), and
    ``null_distribution``: the statistic of each of the m shuffles (last axis)."""

    statistic: Any
    pvalue: Any
    null_distribution: Any


def _entropy_replicates(
    counts: np.ndarray, method: str, alphabet_size: int | None, m: int, rng: np.random.Generator
) -> np.ndarray:
    """The estimator on m multinomial resamples of one set's non-zero ``counts``."""
    n = int(counts.sum())
    p = counts / n
    out = np.empty(m)
    step = max(1, _BLOCK // counts.size)
    for start in range(0, m, step):
        draws = rng.multinomial(n, p, size=min(step, m - start))
        out[start : start + draws.shape[0]] = _estimate.entropy_rows(
            _counts.canonical(draws), method, alphabet_size
        )[0]
    return out


def _marginal(draws: np.ndarray, index: np.ndarray, k: int) -> np.ndarray:
    """Counts per marginal category: ``draws`` (s, J) joint counts, ``index`` (J,) the
    marginal category of each joint cell."""
    s = draws.shape[0]
    flat = (np.arange(s)[:, None] * k + index[None, :]).ravel()
    summed = np.bincount(flat, weights=draws.ravel(), minlength=s * k)
    return _counts.canonical(summed.reshape(s, k).astype(np.int64))


def _mi_replicates(
    cells: tuple[np.ndarray, np.ndarray, np.ndarray],
    method: str,
    m: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Mutual information on m multinomial resamples of one set's joint cells (x value,
    y value, count)."""
    vx, vy, joint = cells
    n = int(joint.sum())
    p = joint / n
    _, ix = np.unique(vx, return_inverse=True)
    _, iy = np.unique(vy, return_inverse=True)
    kx, ky = int(ix.max()) + 1, int(iy.max()) + 1
    out = np.empty(m)
    step = max(1, _BLOCK // max(joint.size, kx, ky))
    for start in range(0, m, step):
        draws = rng.multinomial(n, p, size=min(step, m - start))
        hx = _estimate.entropy_rows(_marginal(draws, ix.ravel(), kx), method)[0]
        hy = _estimate.entropy_rows(_marginal(draws, iy.ravel(), ky), method)[0]
        hxy = _estimate.entropy_rows(_counts.canonical(draws), method)[0]
        out[start : start + draws.shape[0]] = hx + hy - hxy
    return out


def _entropy_bootstrap(
    samples: Any, counts: Any, ax: int, method: str, k: int | None, m: int, gen: Any
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """The entropy estimate of every set, its ``m`` replicates and the batch shape."""
    c, batch, name = _counts.entropy_table(samples, counts, ax)
    _estimate.check_counts_for(c, method, name)
    _estimate.check_alphabet(c, k)
    if (_counts.totals(c) >= 2.0**63).any():
        raise ValueError(
            f"`{name}` has a set of 2**63 or more samples; the multinomial resampling "
            "draws at most 2**63 - 1"
        )
    estimate = _estimate.entropy_rows(c, method, k)[0]
    reps = np.empty((len(c), m))
    for b, row in enumerate(c):
        reps[b] = _entropy_replicates(row[row > 0], method, k, m, gen)
    return estimate, reps, batch


def _mi_bootstrap(
    samples: Any, y: Any, ax: int, method: str, m: int, gen: Any
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """The mutual-information estimate of every pair of sets, its ``m`` replicates and
    the batch shape."""
    groups, batch = _counts.sample_groups((samples, y), ("samples", "y"), ax)
    n_rows = math.prod(batch)
    if method in _estimate.NEEDS_TWO:
        joint = _counts.table(groups.rows, groups.counts, n_rows)
        _estimate.check_counts_for(joint, method, "samples")
    estimate = _estimate.measure_rows(groups, n_rows, "mutual_information", method)
    bounds = np.searchsorted(groups.rows, np.arange(n_rows + 1))
    reps = np.empty((n_rows, m))
    for b in range(n_rows):
        cut = slice(bounds[b], bounds[b + 1])
        cells = (groups.values[0][cut], groups.values[1][cut], groups.counts[cut])
        reps[b] = _mi_replicates(cells, method, m, gen)
    return estimate, reps, batch


def bootstrap_interval(
    samples: Any = None,
    /,
    *,
    y: Any = None,
    counts: Any = None,
    measure: str | None = None,
    method: str | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 1000,
    interval: str = "basic",
    rng: Any = None,
    axis: int = -1,
    base: float | str | None = None,
    alphabet_size: int | None = None,
) -> BootstrapResult:
    r"""A bootstrap confidence interval for any discrete estimator of entropy or mutual
    information.

    Each resample draws N samples with replacement from each set (a multinomial draw of
    its counts; for mutual information, of its joint counts), and the estimator is applied
    to it.  With :math:`q_a` the a-quantile of the m resampled estimates, :math:`\alpha =
    1 -` ``confidence_level`` and :math:`\hat\theta` the estimate on the data:

    - ``interval="basic"`` (default): :math:`[2\hat\theta - q_{1-\alpha/2},\; 2\hat\theta
      - q_{\alpha/2}]`.  Entropy estimates move down under resampling (a resample sees
      fewer categories), by about as much as the estimate lies below the truth; the basic
      interval reflects that shift back, so it corrects the first-order bias, which the
      percentile interval doubles.
    - ``interval="percentile"``: :math:`[q_{\alpha/2},\; q_{1-\alpha/2}]`.

    Both contain the estimate exactly when it lies between the two quantiles, which
    fails in strongly undersampled sets (almost every resample of the plug-in is below
    the estimate): read the interval then as a sign that N is too small.

    Parameters
    ----------
    samples : array_like, optional
        Samples of X (as for :func:`entropy`); with ``y``, paired samples of X and Y.
    y : array_like, optional
        Paired samples of Y: the measure is then the mutual information.
    counts : array_like, optional
        Counts instead of samples (entropy only).
    measure : {"entropy", "mutual_information"}, optional
        Defaults to "mutual_information" when ``y`` is given, else "entropy".
    method : str, optional
        The estimator (any method of :func:`entropy`); defaults to that of
        :func:`entropy` ("auto") or :func:`mutual_information` ("plugin").
    confidence_level : float, default 0.95
        In (0, 1).
    n_resamples : int, default 1000
        The number m of bootstrap resamples.
    interval : {"basic", "percentile"}, default "basic"
    rng : None, int or numpy.random.Generator
        The source of randomness (a seed is passed to :func:`numpy.random.default_rng`;
        a bool is refused).
    axis, base, alphabet_size
        As for :func:`entropy` (``alphabet_size`` for entropy only).

    Returns
    -------
    BootstrapResult
        ``estimate``, ``low``, ``high``, one of each per sample set.

    Examples
    --------
    >>> import numpy as np
    >>> from infoloss.estimators import bootstrap_interval
    >>> x = np.random.default_rng(0).integers(0, 4, size=2000)
    >>> r = bootstrap_interval(x, method="miller_madow", rng=1)
    >>> bool(r.low < r.estimate < r.high), bool(r.low < np.log(4) < r.high)
    (True, True)
    """
    if measure is None:
        measure = "entropy" if y is None else "mutual_information"
    if not isinstance(measure, str) or measure not in _MEASURES:
        raise ValueError(f"`measure` must be one of {_MEASURES} or None; got {measure!r}")
    if measure == "entropy" and y is not None:
        raise ValueError('`y` is only for measure="mutual_information"')
    if measure == "mutual_information" and (y is None or samples is None):
        raise ValueError('measure="mutual_information" needs paired `samples` and `y`')
    if measure == "mutual_information" and (counts is not None or alphabet_size is not None):
        raise ValueError(
            'measure="mutual_information" takes samples only, not `counts` or `alphabet_size`'
        )
    if method is None:
        method = "auto" if measure == "entropy" else "plugin"
    method = parse_method(method, _estimate.METHODS)
    level = parse_confidence_level(confidence_level)
    m = parse_positive_int(n_resamples, "n_resamples")
    if not isinstance(interval, str) or interval not in _INTERVALS:
        raise ValueError(f"`interval` must be one of {_INTERVALS}; got {interval!r}")
    gen = parse_rng(rng)
    parse_base(base)
    k = parse_alphabet_size(alphabet_size)
    method = _estimate.resolve(method, k)
    ax = parse_axis(axis)
    where = home(samples, y, counts)

    if measure == "entropy":
        estimate, reps, batch = _entropy_bootstrap(samples, counts, ax, method, k, m, gen)
    else:
        estimate, reps, batch = _mi_bootstrap(samples, y, ax, method, m, gen)

    alpha = 1.0 - level
    q_lo, q_hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2], axis=1)
    if interval == "basic":
        low, high = 2 * estimate - q_hi, 2 * estimate - q_lo
    else:
        low, high = q_lo, q_hi
    return BootstrapResult(
        *(shaped(_estimate.scale(v, base), batch, where) for v in (estimate, low, high))
    )


def permutation_test(
    x: Any,
    y: Any,
    /,
    *,
    n_resamples: int = 999,
    method: str = "plugin",
    rng: Any = None,
    axis: int = -1,
    base: float | str | None = None,
) -> PermutationTestResult:
    r"""Permutation test of the independence of paired discrete samples, with the mutual
    information as the statistic.

    The statistic is :func:`mutual_information` (``method``) of the data; the null
    distribution is that statistic on m random shuffles of ``y`` against ``x`` (each
    shuffle keeps both marginals, so only the joint counts are recounted).  With b the
    number of shuffles whose statistic is at least the data's (within a relative
    1e-12, so ties count), the p-value is

    .. math:: p = \frac{b + 1}{m + 1},

    which is never 0 and makes the test exact (its size is at most the level) for the
    random shuffles actually drawn.  Larger mutual information means dependence, so the
    test is one-sided.

    Parameters
    ----------
    x, y : array_like
        Paired samples of one shape, batched as for :func:`mutual_information` (each set
        is tested on its own).  NumPy data is shuffled in memory.  Dask arrays are read
        once, by the chunked counting of the statistic, and never gathered: see Notes.
    n_resamples : int, default 999
        The number m of shuffles.
    method : str, default "plugin"
        The estimator of the statistic (any method of :func:`entropy`).
    rng : None, int or numpy.random.Generator
        The source of randomness.
    axis, base
        As for :func:`mutual_information`.

    Returns
    -------
    PermutationTestResult
        ``statistic`` and ``pvalue`` per sample set, ``null_distribution`` with a last
        axis of length m.

    Notes
    -----
    A shuffle of ``y`` against ``x`` changes only the joint counts, and the joint counts
    of a uniformly random shuffle of the whole set are a random table with the data's
    two marginal counts fixed: the count of the cell (x value i, y value j), given the
    cells drawn before it, is hypergeometric.  On Dask the shuffles are drawn that way,
    from the marginal counts of the one counting pass: each is a global permutation of
    ``y`` over all partitions (not a shuffle within each partition, which would test
    only exchangeability within blocks), the data is not read again, and the cost
    grows with the number of cells, not with N.  The null distribution is then that of
    the NumPy path, though not its draws for the same ``rng``.  NumPy's hypergeometric
    draws need a set of fewer than 10**9 samples.

    Examples
    --------
    >>> import numpy as np
    >>> from infoloss.estimators import permutation_test
    >>> x = np.arange(40) % 4
    >>> r = permutation_test(x, x, n_resamples=99, rng=0)
    >>> float(r.pvalue)  # no shuffle reaches the data's dependence
    0.01
    """
    method = _estimate.resolve(parse_method(method, _estimate.METHODS))
    m = parse_positive_int(n_resamples, "n_resamples")
    gen = parse_rng(rng)
    parse_base(base)
    ax = parse_axis(axis)
    where = home(x, y)
    groups, batch = _counts.sample_groups((x, y), ("x", "y"), ax)
    n_rows = math.prod(batch)
    joint_table = _counts.table(groups.rows, groups.counts, n_rows)
    if method in _estimate.NEEDS_TWO:
        _estimate.check_counts_for(joint_table, method, "x")
    statistic = _estimate.measure_rows(groups, n_rows, "mutual_information", method)
    if is_lazy(x) or is_lazy(y):
        null = _null_of_groups(groups, n_rows, method, m, gen)
    else:
        null = _null_of_samples(x, y, ax, method, m, gen)
    tol = 1e-12 * np.maximum(1.0, np.abs(statistic))
    exceed = np.count_nonzero(null >= (statistic - tol)[:, None], axis=1)
    pvalue = (exceed + 1.0) / (m + 1.0)
    return PermutationTestResult(
        shaped(_estimate.scale(statistic, base), batch, where),
        shaped(pvalue, batch, where),
        shaped(_estimate.scale(null, base), batch, where),
    )


def _null(
    cx: np.ndarray, cy: np.ndarray, ky: int, method: str, m: int, rng: np.random.Generator
) -> np.ndarray:
    """The mutual information of m shuffles of ``cy`` against ``cx`` (codes of one set)."""
    n = cx.size
    hx = _estimate.entropy_rows(_counts.canonical(np.bincount(cx)[None, :]), method)[0]
    hy = _estimate.entropy_rows(_counts.canonical(np.bincount(cy)[None, :]), method)[0]
    out = np.empty(m)
    step = max(1, _BLOCK // n)
    for start in range(0, m, step):
        s = min(step, m - start)
        shuffled = rng.permuted(np.broadcast_to(cy, (s, n)), axis=1)
        joint = _counts.block_groups((cx[None, :] * ky + shuffled,))
        hxy = _estimate.entropy_rows(_counts.table(joint.rows, joint.counts, s), method)[0]
        out[start : start + s] = hx + hy - hxy
    return out


def _null_of_samples(
    x: Any, y: Any, ax: int, method: str, m: int, gen: np.random.Generator
) -> np.ndarray:
    """The null distribution of every set of in-memory samples, by shuffling ``y``."""
    xs, ys = (_counts.as_rows(a, name, ax) for a, name in ((x, "x"), (y, "y")))
    cx, _ = _counts.dense_codes(xs, "x")
    cy, ky = _counts.dense_codes(ys, "y")
    null = np.empty((cx.shape[0], m))
    for b in range(cx.shape[0]):
        null[b] = _null(cx[b], cy[b], ky, method, m, gen)
    return null


def _margin(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The counts per distinct value of one set's cells."""
    _, index = np.unique(values, return_inverse=True)
    return np.bincount(index.ravel(), weights=counts).astype(np.int64)


def _null_of_groups(
    groups: _counts.Groups, n_rows: int, method: str, m: int, gen: np.random.Generator
) -> np.ndarray:
    """The null distribution of every set from its joint counts alone (see
    :func:`permutation_test`, Notes)."""
    bounds = np.searchsorted(groups.rows, np.arange(n_rows + 1))
    null = np.empty((n_rows, m))
    for b in range(n_rows):
        cut = slice(bounds[b], bounds[b + 1])
        a = _margin(groups.values[0][cut], groups.counts[cut])
        c = _margin(groups.values[1][cut], groups.counts[cut])
        if a.sum() >= _HYPERGEOMETRIC_MAX:
            raise ValueError(
                f"`x` has a set of {a.sum()} samples; the permutation test of Dask arrays "
                "draws shuffles by NumPy's hypergeometric draws, which take fewer than 10**9"
            )
        null[b] = _null_tables(a, c, method, m, gen)
    return null


def _null_tables(
    a: np.ndarray, c: np.ndarray, method: str, m: int, rng: np.random.Generator
) -> np.ndarray:
    """The mutual information of m random joint tables with row counts ``a`` and column
    counts ``c``: the tables of m uniformly random shuffles of y against x."""
    hx = _estimate.entropy_rows(_counts.canonical(a[None, :]), method)[0]
    hy = _estimate.entropy_rows(_counts.canonical(c[None, :]), method)[0]
    out = np.empty(m)
    step = max(1, _BLOCK // (a.size * c.size))
    for start in range(0, m, step):
        s = min(step, m - start)
        tables = np.zeros((s, a.size, c.size), np.int64)
        left_y = np.tile(c, (s, 1))
        for i in range(a.size - 1):
            left = np.full(s, a[i])
            rest = left_y.sum(axis=1)
            for j in range(c.size - 1):
                rest -= left_y[:, j]
                draw = rng.hypergeometric(left_y[:, j], rest, left)
                tables[:, i, j] = draw
                left -= draw
                left_y[:, j] -= draw
            tables[:, i, -1] = left
            left_y[:, -1] -= left
        tables[:, -1, :] = left_y
        flat = _counts.canonical(tables.reshape(s, -1))
        out[start : start + s] = hx + hy - _estimate.entropy_rows(flat, method)[0]
    return out
