"""The discrete estimators, from canonical count tables (see :mod:`._counts`).

Every function here takes a canonical (B, K) int64 table (one row per sample set, each
row's non-zero counts in decreasing order, zero padded) and returns float64 nats, one per
row, vectorised over the batch.  Sums over a row go through the compensated left-to-right
kernel :func:`infoloss._kernels.counting.row_sum`, so zero padding never changes a
row's value.  Functions of a single count (digamma, Grassberger's G, the jackknife's
increments) are evaluated once per distinct count value: a table up to the largest count
when that is smaller than the batch, else on the distinct values (the count-of-counts, or
fingerprint, of the batch).

Nothing here checks the user's input; the public functions in :mod:`._discrete` do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._options import parse_base
from ._counts import Groups, regroup, table, totals

__all__ = [
    "AUTO",
    "AUTO_KNOWN_ALPHABET",
    "METHODS",
    "NEEDS_TWO",
    "digamma",
    "entropy_rows",
    "measure_rows",
    "resolve",
    "scale",
]

METHODS = (
    "auto",
    "plugin",
    "miller_madow",
    "grassberger",
    "chao_shen",
    "chao_wang_jost",
    "jackknife",
    "james_stein",
    "zhang",
    "nsb",
)
# The methods that need at least two samples in every set (the jackknife leaves one out;
# James-Stein's shrinkage intensity divides by N - 1).
NEEDS_TWO = ("jackknife", "james_stein")

# "auto": with the alphabet size unknown, the estimator whose worst root-mean-square
# error, relative to the best estimator's at the same point, was the smallest over a grid
# of Dirichlet and Zipf distributions (K from 10 to 1000, N from 10 to 10^4; see
# docs/estimators.md); with the alphabet size known, NSB over that alphabet, which had the
# best median and a similar worst case on the same grid.
AUTO = "chao_wang_jost"
AUTO_KNOWN_ALPHABET = "nsb"


def scale(values: np.ndarray, base: Any) -> np.ndarray:
    """Nats to ``base`` (already a value :func:`parse_base` accepts)."""
    log_b = parse_base(base)
    return values if log_b is None else values / log_b


# --------------------------------------------------------------------------- special


def digamma(x: np.ndarray) -> np.ndarray:
    """ψ(x) for float64 x > 0, to about 1e-15 relative.

    ψ(x) = ψ(x + k) − Σ_{j<k} 1/(x + j) moves x to at least 10, where the asymptotic series
    ln x − 1/(2x) − Σ B_{2j}/(2j x^{2j}) is summed to the x^-14 term (the next is below
    1e-16 at x = 10).
    """
    x = np.array(x, dtype=np.float64)
    acc = np.zeros_like(x)
    small = x < 10.0
    while small.any():
        acc[small] -= 1.0 / x[small]
        x[small] += 1.0
        small = x < 10.0
    inv = 1.0 / x
    w = inv * inv
    series = w * (
        1 / 12
        - w * (1 / 120 - w * (1 / 252 - w * (1 / 240 - w * (1 / 132 - w * (691 / 32760 - w / 12)))))
    )
    out: np.ndarray = acc + np.log(x) - 0.5 * inv - series
    return out


def _per_count(c: np.ndarray, f: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``f`` of every count in ``c`` (0 for a zero count), evaluated once per distinct
    count: through a table up to the largest count, or through the distinct values."""
    top = int(c.max(initial=0))
    if top < c.size:
        values = np.zeros(top + 1)
        values[1:] = f(np.arange(1, top + 1, dtype=np.float64))
        out: np.ndarray = values[c]
        return out
    uniq, inverse = np.unique(c, return_inverse=True)
    values = np.zeros(uniq.size)
    pos = uniq > 0
    values[pos] = f(uniq[pos].astype(np.float64))
    return values[inverse.reshape(c.shape)]


def _row_sum(terms: np.ndarray) -> np.ndarray:
    from .._kernels import counting

    out: np.ndarray = counting.row_sum(np.ascontiguousarray(terms, np.float64))
    return out


# --------------------------------------------------------------------------- estimators


def _plugin(c: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Σ (c/N) log(N/c), with log(N/c) as log1p of an exact small fraction where c > N/2."""
    cf = c.astype(np.float64)
    nn = n[:, None]
    safe = np.where(c > 0, cf, nn)  # zero counts contribute 0; keep their logs finite
    # (safe - N)/N rounds to -1 for a small count beside N > 2**53, in the branch not taken
    with np.errstate(divide="ignore"):
        log_ratio = np.where(safe <= nn / 2, np.log(nn) - np.log(safe), -np.log1p((safe - nn) / nn))
    return _row_sum(np.where(c > 0, cf / nn * log_ratio, 0.0))


def _grassberger_g(x: np.ndarray) -> np.ndarray:
    """Grassberger's (2003) G(n) = ψ(n) + ½ (−1)^n (ψ((n+1)/2) − ψ(n/2))."""
    sign = np.where(np.mod(x, 2.0) == 0.0, 1.0, -1.0)
    out: np.ndarray = digamma(x) + 0.5 * sign * (digamma((x + 1.0) / 2.0) - digamma(x / 2.0))
    return out


def _jackknife_d(x: np.ndarray) -> np.ndarray:
    """n log n − (n − 1) log(n − 1) = log n + (n − 1) log1p(1/(n − 1)); 0 at n = 1."""
    m = np.maximum(x - 1.0, 1.0)
    return np.where(x > 1.0, np.log(x) + (x - 1.0) * np.log1p(1.0 / m), 0.0)


def _zhang(c: np.ndarray, n: np.ndarray) -> np.ndarray:
    # Σ (n_i/N)(ψ(N) − ψ(n_i)): every term >= 0, and exactly 0 for a category with n_i = N.
    gap = np.where(c > 0, digamma(n)[:, None] - _per_count(c, digamma), 0.0)
    out: np.ndarray = _row_sum(c * gap) / n
    return out


def _chao_wang_jost(c: np.ndarray, n: np.ndarray) -> np.ndarray:
    from .._kernels import counting

    f1 = np.count_nonzero(c == 1, axis=1).astype(np.float64)
    f2 = np.count_nonzero(c == 2, axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(
            f2 > 0,
            2.0 * f2 / ((n - 1.0) * f1 + 2.0 * f2),
            2.0 / ((n - 1.0) * (f1 - 1.0) + 2.0),
        )
    a = np.where(f1 > 0, a, 1.0)
    tail = counting.cwj_tail(a, n - 1.0)
    return _zhang(c, n) + f1 / n * tail  # type: ignore[no-any-return]


def _chao_shen(c: np.ndarray, n: np.ndarray) -> np.ndarray:
    f1 = np.count_nonzero(c == 1, axis=1).astype(np.float64)
    # All singletons would give coverage 0; the standard fix counts one fewer.
    f1 = np.where(f1 == n, n - 1.0, f1)
    coverage = 1.0 - f1 / n
    pa = coverage[:, None] * c / n[:, None]
    safe = np.where(c > 0, pa, 0.5)
    # 1 − (1 − pa)^N without rounding 1 − pa first; pa = 1 (one category) gives 1.
    with np.errstate(divide="ignore"):
        seen = -np.expm1(n[:, None] * np.log1p(-safe))
    return _row_sum(np.where(c > 0, -safe * np.log(safe) / seen, 0.0))


def _james_stein(c: np.ndarray, n: np.ndarray, alphabet_size: int | None) -> np.ndarray:
    observed = np.count_nonzero(c, axis=1).astype(np.float64)
    k = observed if alphabet_size is None else np.full_like(n, float(alphabet_size))
    t = (1.0 / k)[:, None]
    p = c / n[:, None]
    nz = c > 0
    unseen = k - observed
    sum_p2 = _row_sum(p * p)
    spread = _row_sum(np.where(nz, (t - p) ** 2, 0.0)) + unseen * t[:, 0] ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = (1.0 - sum_p2) / ((n - 1.0) * spread)
    lam = np.where(spread > 0, np.clip(lam, 0.0, 1.0), 1.0)
    q = lam[:, None] * t + (1.0 - lam[:, None]) * p
    q_safe = np.where(nz, q, 1.0)
    seen = _row_sum(np.where(nz, -q_safe * np.log(q_safe), 0.0))
    u = lam / k
    u_safe = np.where(u > 0, u, 1.0)
    out: np.ndarray = seen + np.where(unseen > 0, -unseen * u_safe * np.log(u_safe), 0.0)
    return out


def _nsb(c: np.ndarray, alphabet_size: int | None) -> tuple[np.ndarray, np.ndarray]:
    from . import _nsb

    est, std = _nsb.nsb_entropy(c, alphabet_size)
    return np.asarray(est, np.float64), np.asarray(std, np.float64)


def resolve(method: str, alphabet_size: int | None = None) -> str:
    """The estimator a (parsed) ``method`` names: "auto" is :data:`AUTO`, or
    :data:`AUTO_KNOWN_ALPHABET` when ``alphabet_size`` is given."""
    if method != "auto":
        return method
    return AUTO if alphabet_size is None else AUTO_KNOWN_ALPHABET


def entropy_rows(
    c: np.ndarray, method: str, alphabet_size: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(estimate, posterior std or None) per row of the canonical table ``c``, in nats."""
    method = resolve(method, alphabet_size)
    if method == "nsb":
        return _nsb(c, alphabet_size)
    n = totals(c)
    if method == "plugin":
        return _plugin(c, n), None
    if method == "miller_madow":
        observed = np.count_nonzero(c, axis=1)
        return _plugin(c, n) + (observed - 1.0) / (2.0 * n), None
    if method == "grassberger":
        return np.log(n) - _row_sum(c * _per_count(c, _grassberger_g)) / n, None
    if method == "zhang":
        return _zhang(c, n), None
    if method == "chao_wang_jost":
        return _chao_wang_jost(c, n), None
    if method == "chao_shen":
        return _chao_shen(c, n), None
    if method == "jackknife":
        body = _row_sum(c * _per_count(c, _jackknife_d)) / n
        return np.log(n) - (n - 1.0) * np.log1p(-1.0 / n) - body, None
    if method == "james_stein":
        return _james_stein(c, n, alphabet_size), None
    raise AssertionError(method)


# --------------------------------------------------------------------------- measures

# Each measure as a signed sum of entropies of subsets of its variables.
DECOMPOSITIONS: dict[str, tuple[tuple[float, tuple[int, ...]], ...]] = {
    "entropy": ((1.0, (0,)),),
    "mutual_information": ((1.0, (0,)), (1.0, (1,)), (-1.0, (0, 1))),
    "conditional_entropy": ((1.0, (0, 1)), (-1.0, (1,))),
    "conditional_mutual_information": (
        (1.0, (0, 2)),
        (1.0, (1, 2)),
        (-1.0, (0, 1, 2)),
        (-1.0, (2,)),
    ),
}


def measure_rows(groups: Groups, n_rows: int, measure: str, method: str) -> np.ndarray:
    """A measure (a key of DECOMPOSITIONS) per row, every entropy by ``method``."""
    terms = DECOMPOSITIONS[measure]
    tables = [table(*regroup(groups, keep), n_rows) for _, keep in terms]
    return _combine(terms, tables, resolve(method))


def _combine(
    terms: tuple[tuple[float, tuple[int, ...]], ...], tables: list[np.ndarray], method: str
) -> np.ndarray:
    total: np.ndarray | None = None
    for (sign, _), t in zip(terms, tables, strict=True):
        h = sign * entropy_rows(t, method)[0]
        total = h if total is None else total + h
    assert total is not None
    return total


def check_counts_for(c: np.ndarray, method: str, name: str) -> None:
    """The per-method sample-size requirement."""
    if method in NEEDS_TWO:
        n = totals(c)
        if (n < 2).any():
            raise ValueError(
                f"method {method!r} needs at least 2 samples in every set; "
                f"`{name}` has a set with {int(n.min())}"
            )


def check_alphabet(c: np.ndarray, alphabet_size: int | None) -> None:
    if alphabet_size is None:
        return
    observed = int(np.count_nonzero(c, axis=1).max(initial=0))
    if alphabet_size < observed:
        raise ValueError(
            f"`alphabet_size` ({alphabet_size}) is smaller than the number of distinct "
            f"values observed in a set ({observed})"
        )
