r"""Mutual information of every column of a table with a target: feature ranking.

Each column of ``X`` (n samples by d features) is scored by its estimated mutual
information with ``y``.  Which estimator scores a column depends on which of the two is
discrete:

- discrete feature, discrete target: the joint counts of (feature value, target value),
  one ``bincount`` per column, and :math:`\hat I = \hat H(X) + \hat H(Y) - \hat H(X, Y)`
  with any estimator of :func:`~infoloss.estimators.entropy` (``method``), exactly as
  :func:`~infoloss.estimators.mutual_information` computes it;
- continuous feature, continuous target: the first Kraskov–Stögbauer–Grassberger
  estimator (:func:`~infoloss.estimators.continuous_mutual_information`, ``k`` neighbours);
- one continuous and one discrete: Ross's (2014) nearest-neighbour estimator,

  .. math:: \hat I = \psi(n) - \langle \psi(n_c) \rangle + \langle \psi(k_i) \rangle -
     \langle \psi(m_i) \rangle

  where, for sample i of discrete value c, :math:`n_c` is how many samples have value c,
  :math:`k_i = \min(k, n_c - 1)`, :math:`d_i` the distance from the continuous value of i to
  its :math:`k_i`-th nearest among the samples of value c, and :math:`m_i` how many other
  samples (of any value) lie within :math:`d_i`.  Samples whose discrete value occurs once
  carry no neighbour and are left out, as in Ross's paper.

Continuous values are centred and scaled to unit standard deviation, then ``jitter`` times
Gaussian noise is added (from a fixed generator) to break ties, as for
:func:`~infoloss.estimators.continuous_mutual_information`.  A constant column carries no
information whatever the estimator: its score is exactly 0, never a rounding artefact.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .._options import parse_base, parse_jitter, parse_k, parse_method, parse_rng
from .._xp import is_lazy
from . import _counts, _estimate
from ._continuous import _JITTER_SEED, continuous_mutual_information

__all__ = ["feature_mutual_information"]

# Joint counts go through one bincount while the table is at most this many times the
# number of samples; wider ones (features with very many values) through np.unique.
_DENSE_FACTOR = 4


# --------------------------------------------------------------------------- input


def _table(X: Any) -> np.ndarray:
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"`X` must be 2-D (samples, features); got {arr.ndim} dimension(s)")
    if arr.shape[0] < 2:
        raise ValueError(f"`X` must have at least 2 samples (rows); got {arr.shape[0]}")
    return arr


def _target(y: Any, n: int) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"`y` must be 1-D (one target per sample); got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"`y` has {arr.shape[0]} samples but `X` has {n} rows")
    return arr


def _discrete_mask(spec: Any, arr: np.ndarray) -> np.ndarray:
    """Which columns are discrete: "auto" (by dtype), a bool, a mask or column indices."""
    d = arr.shape[1]
    if isinstance(spec, str):
        if spec != "auto":
            raise ValueError(
                f'`discrete_features` must be "auto", a bool, a mask or indices; got {spec!r}'
            )
        return np.full(d, arr.dtype.kind not in "fc")
    if isinstance(spec, bool | np.bool_):
        return np.full(d, bool(spec))
    sel = np.asarray(spec)
    if sel.dtype == np.bool_:
        if sel.shape != (d,):
            raise ValueError(f"`discrete_features` as a mask must have length {d}; got {sel.shape}")
        return np.array(sel, dtype=bool)
    if sel.ndim != 1 or sel.dtype.kind not in "iu":
        raise ValueError(
            '`discrete_features` must be "auto", a bool, a bool mask or integer indices'
        )
    if sel.size and not (-d <= sel.min() and sel.max() < d):
        raise ValueError(f"`discrete_features` has an index out of range for {d} column(s)")
    mask = np.zeros(d, bool)
    mask[sel] = True
    return mask


def _continuous(values: np.ndarray, name: str) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` has continuous values that are not numbers") from None
    bad = ~np.isfinite(out)
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"`{name}` contains NaN or infinite values (first at index {at})")
    return out


def _standardised(v: np.ndarray, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """Centred, unit variance, plus ``jitter`` times Gaussian noise (a constant: noise)."""
    centred = v - v.mean(axis=0)
    sd = np.sqrt(np.mean(centred * centred, axis=0))
    z = np.where(sd > 0, centred / np.where(sd > 0, sd, 1.0), 0.0)
    return z + jitter * rng.standard_normal(z.shape) if jitter > 0 else z


# --------------------------------------------------------------------------- estimators


def _joint_counts(x: np.ndarray, kx: int, y: np.ndarray, ky: int) -> np.ndarray:
    pair = x * ky + y
    if kx * ky <= _DENSE_FACTOR * x.size:
        c = np.bincount(pair, minlength=kx * ky)
        return c[c > 0]
    return np.unique(pair, return_counts=True)[1]


def _padded(rows: list[np.ndarray]) -> np.ndarray:
    out = np.zeros((len(rows), max(r.size for r in rows)), np.int64)
    for i, r in enumerate(rows):
        out[i, : r.size] = r
    return _counts.canonical(out)


def _discrete_discrete(cols: np.ndarray, y: np.ndarray, ky: int, method: str) -> np.ndarray:
    """Ĥ(X) + Ĥ(Y) − Ĥ(X, Y) per column of ``cols``, each entropy by ``method``."""
    hx, hxy, kxs = [], [], []
    for j in range(cols.shape[1]):
        x, kx = _counts.dense_codes(cols[:, j], "X")
        hx.append(np.bincount(x, minlength=kx))
        hxy.append(_joint_counts(x, kx, y, ky))
        kxs.append(kx)
    hy = _estimate.entropy_rows(_padded([np.bincount(y, minlength=ky)]), method)[0]
    h_x = _estimate.entropy_rows(_padded(hx), method)[0]
    h_xy = _estimate.entropy_rows(_padded(hxy), method)[0]
    return _constant_zero(h_x + hy - h_xy, np.array(kxs))


def _constant_zero(scores: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """``scores`` with those of the constant columns (one distinct value) exactly 0: a
    constant carries no information, whatever a bias correction makes of one value (NSB's
    entropy of a single observed value, say, is not 0)."""
    scores[distinct == 1] = 0.0
    return scores


def _kth_within(v: np.ndarray, start: np.ndarray, end: np.ndarray, k: np.ndarray) -> np.ndarray:
    """For values ``v`` sorted within runs [start, end): each value's distance to its
    k-th nearest other value of its run (k < run length)."""
    pos = np.arange(v.size)
    best = np.full(v.size, np.inf)
    # The k nearest others and the point itself are k + 1 consecutive values: the
    # window starts between pos - k and pos; take the narrowest that fits in the run.
    for shift in range(int(k.max(initial=0)) + 1):
        lo = pos - k + shift
        hi = lo + k
        ok = (shift <= k) & (lo >= start) & (hi < end)
        reach = np.maximum(
            v[pos] - v[np.clip(lo, 0, v.size - 1)], v[np.clip(hi, 0, v.size - 1)] - v[pos]
        )
        best = np.where(ok, np.minimum(best, reach), best)
    return best


def _ross(c: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Ross's (2014) estimate of I(C; L), in nats, from continuous ``c`` and codes ``labels``."""
    from .._kernels import knn as _knn

    sizes = np.bincount(labels)[labels]
    keep = sizes > 1
    c, labels, sizes = c[keep], labels[keep], sizes[keep]
    n = c.size
    if n < 2:
        return 0.0
    order = np.lexsort((c, labels))
    lab = labels[order]
    first = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    run = np.cumsum(np.r_[True, lab[1:] != lab[:-1]]) - 1
    start = first[run]
    end = np.r_[first[1:], n][run]
    ks = np.minimum(k, end - start - 1)
    radius = np.empty(n)
    radius[order] = _kth_within(c[order], start, end, ks)
    by_value = np.argsort(c, kind="stable")
    m = _knn.count_within_sorted(c[by_value], by_value, radius, False)
    psi = _knn.digamma_mean
    value = psi(np.array([n]), 0) + psi(ks, 0) - psi(sizes, 0) - psi(m, 0)
    return float(value)


# --------------------------------------------------------------------------- public


def feature_mutual_information(
    X: Any,
    y: Any,
    /,
    *,
    discrete_features: Any = "auto",
    discrete_target: bool = True,
    method: str = "plugin",
    k: int = 3,
    base: float | str | None = None,
    jitter: float = 1e-10,
    rng: Any = None,
    n_jobs: int | None = None,
) -> np.ndarray:
    r"""The mutual information of each column of ``X`` with the target ``y``.

    Parameters
    ----------
    X : array_like, shape (n, d)
        The features, one sample per row.
    y : array_like, shape (n,)
        The target: labels (``discrete_target=True``) or numbers.
    discrete_features : "auto", bool, bool mask of length d or integer indices, default "auto"
        Which columns are discrete.  "auto": all of them if ``X`` has an integer, boolean,
        string or object dtype, none of them if it is floating.
    discrete_target : bool, default True
        Whether ``y`` holds labels (classification) or continuous values (regression).
    method : str, default "plugin"
        The entropy estimator for a discrete feature with a discrete target: any method of
        :func:`~infoloss.estimators.entropy`.  The other pairs use nearest neighbours.
    k : int, default 3
        Neighbours of the nearest-neighbour estimators, 1 <= k < n.
    base : float, "bits", "nats" or None, default None
        Base of the logarithm (None: nats).
    jitter : float, default 1e-10
        Gaussian noise, in standard deviations, added to the standardised continuous values
        to break ties; 0: none.
    rng : None, int or numpy.random.Generator, default None
        Seed or generator of the jitter; None: a fixed seed of this library's, so scores
        repeat.
    n_jobs : int or None, default None
        Threads that score the columns scored by nearest neighbours (None: 1; -1: one per
        CPU).  The scores do not depend on it.

    Returns
    -------
    numpy.ndarray, shape (d,)
        One float64 score per column.  Not clipped at 0: the bias-corrected and the
        nearest-neighbour estimates scatter around 0 for an uninformative column.  A
        constant column scores exactly 0.

    Raises
    ------
    ValueError
        Naming the argument: ``X`` not 2-D or with fewer than 2 rows, ``y`` not 1-D or of
        another length, NaN or infinite continuous values, NaN discrete values, a bad
        ``discrete_features``, an unknown ``method``, ``k`` out of range.

    Notes
    -----
    Dask arrays: when every column is discrete and the target too, the joint counts of
    all the columns with ``y`` are counted in one chunked pass (per-block counts merged
    in a tree, one ``compute``), so only the counts reach the client, and the scores
    equal the in-memory ones exactly.  Any other case (a continuous column or target:
    the nearest-neighbour estimators need every sample) reads ``X`` and ``y`` into
    memory.

    The function takes ``(X, y)`` and returns the scores, so it is a scikit-learn
    ``score_func`` as it is: ``SelectKBest(feature_mutual_information, k=5)``; for a
    continuous target pass ``functools.partial(feature_mutual_information,
    discrete_target=False)``.  The estimators for each pair are in the module docstring.

    References
    ----------
    Kraskov, A., Stögbauer, H. and Grassberger, P. (2004). Estimating mutual information.
    Physical Review E 69, 066138.
    Ross, B. C. (2014). Mutual information between discrete and continuous data sets.
    PLoS ONE 9(2), e87357.

    Examples
    --------
    >>> import numpy as np
    >>> from infoloss.estimators import feature_mutual_information
    >>> y = np.array([0, 0, 1, 1, 2, 2, 0, 1])
    >>> X = np.stack([y, y % 2, np.zeros_like(y)], axis=1)  # y itself, a part of it, a constant
    >>> np.round(feature_mutual_information(X, y, base="bits"), 4)
    array([1.5613, 0.9544, 0.    ])
    """
    name = parse_method(method, _estimate.METHODS)
    parse_base(base)
    noise = parse_jitter(jitter)
    gen = parse_rng(rng, _JITTER_SEED)
    if is_lazy(X) or is_lazy(y):
        lazy = _lazy_discrete(X, y, discrete_features, discrete_target, name)
        if lazy is not None:
            parse_k(k, X.shape[0])
            _jobs(n_jobs)
            return _estimate.scale(lazy, base)
    arr = _table(X)
    target = _target(y, arr.shape[0])
    mask = _discrete_mask(discrete_features, arr)
    kk = parse_k(k, arr.shape[0])
    jobs = _jobs(n_jobs)
    scores = np.zeros(arr.shape[1])
    if mask.any():
        scores[mask] = _discrete_columns(
            arr[:, mask], target, discrete_target, name, kk, noise, gen, jobs
        )
    if not mask.all():
        cont = _continuous(arr[:, ~mask], "X")
        scores[~mask] = _continuous_columns(cont, target, discrete_target, kk, noise, gen, jobs)
    return _estimate.scale(scores, base)


def _lazy_discrete(
    X: Any, y: Any, discrete_features: Any, discrete_target: bool, method: str
) -> np.ndarray | None:
    """The discrete-discrete scores of Dask ``X`` and ``y`` from one chunked count of
    every column's joint counts with ``y``; None when a column or the target is
    continuous."""
    import dask.array as da

    X, y = da.asarray(X), da.asarray(y)  # type: ignore[no-untyped-call]
    if X.ndim != 2:
        raise ValueError(f"`X` must be 2-D (samples, features); got {X.ndim} dimension(s)")
    if X.shape[0] < 2:
        raise ValueError(f"`X` must have at least 2 samples (rows); got {X.shape[0]}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"`y` must be 1-D (one target per sample); got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"`y` has {y.shape[0]} samples but `X` has {X.shape[0]} rows")
    if not (discrete_target and _discrete_mask(discrete_features, X).all()):
        return None
    n, d = X.shape
    # Each column is one sample set of the batch, paired with the same target.
    pairs = (X.T, da.broadcast_to(y[None, :], (d, n)))  # type: ignore[no-untyped-call]
    groups, _ = _counts.sample_groups(pairs, ("X", "y"), -1)
    target = _counts.table(*_counts.regroup(groups, (1,)), d)[:1]
    _estimate.check_counts_for(target, method, "y")
    distinct = np.bincount(_counts.regroup(groups, (0,))[0], minlength=d)
    return _constant_zero(_estimate.measure_rows(groups, d, "mutual_information", method), distinct)


def _discrete_columns(
    cols: np.ndarray,
    y: np.ndarray,
    discrete_target: bool,
    method: str,
    k: int,
    noise: float,
    gen: Any,
    jobs: int,
) -> np.ndarray:
    if discrete_target:
        codes, ky = _counts.dense_codes(y, "y")
        _estimate.check_counts_for(_padded([np.bincount(codes, minlength=ky)]), method, "y")
        return _discrete_discrete(cols, codes, ky, method)
    target = _standardised(_continuous(y, "y"), noise, gen)

    def ross(j: int) -> float:
        labels, kx = _counts.dense_codes(cols[:, j], "X")
        return _ross(target, labels, k) if kx > 1 else 0.0

    return np.array(_map(ross, cols.shape[1], jobs))


def _continuous_columns(
    cols: np.ndarray,
    y: np.ndarray,
    discrete_target: bool,
    k: int,
    noise: float,
    gen: Any,
    jobs: int,
) -> np.ndarray:
    constant = np.all(cols == cols[:1], axis=0)
    out = np.zeros(cols.shape[1])
    live = np.flatnonzero(~constant)
    if live.size == 0:
        return out
    z = _standardised(cols[:, live], noise, gen)
    if discrete_target:
        labels, _ = _counts.dense_codes(y, "y")
        out[live] = _map(lambda j: _ross(z[:, j], labels, k), live.size, jobs)
        return out
    target = _standardised(_continuous(y, "y"), noise, gen)

    def ksg(j: int) -> float:
        return float(continuous_mutual_information(z[:, j], target, k=k, jitter=0.0))

    out[live] = _map(ksg, live.size, jobs)
    return out


def _map(fn: Callable[[int], float], count: int, jobs: int) -> list[float]:
    """``fn`` of 0 .. count - 1, on ``jobs`` threads (the kernels release the GIL)."""
    if jobs == 1 or count == 1:
        return [fn(j) for j in range(count)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(jobs, count)) as pool:
        return list(pool.map(fn, range(count)))


def _jobs(value: Any) -> int:
    if value is None:
        return 1
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or value == 0
        or value < -1
    ):
        raise ValueError(f"`n_jobs` must be None, -1 or a positive integer; got {value!r}")
    return (os.cpu_count() or 1) if value == -1 else int(value)
