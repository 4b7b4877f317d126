# mypy: ignore-errors
# (numba kernels: their types come from numba, not from annotations)
"""Nearest-neighbour search for the continuous estimators: numba kernels.

Two searches serve every kNN estimator:

- **1-D samples** are sorted once; the k-th neighbour of a point is found by walking left
  and right from its place (O(k) per point), and the number of points within a radius by
  a galloping search from its place (O(log count), cache-local).
- **d-dimensional samples** go into a k-d tree (median splits on the widest coordinate,
  bounding boxes per node, leaves of at most ``_LEAF`` points), queried with the max-norm
  (KSG) or the Euclidean norm (Kozachenko–Leonenko).  Range counts add whole nodes whose
  box lies inside the radius without visiting their points.

Every comparison is made on the distance computed the way the estimator defines it,
``|a - b|`` rounded once per coordinate, so the counts of the marginals agree exactly with
the radii of the joint search: a point at exactly the radius is in or out by the
estimator's rule (strict for KSG 1, inclusive for KSG 2), never by rounding.  (Rounded
subtraction is monotone, so the box bounds below are exact bounds of the rounded
distances.)

This module imports numba; the estimators import it on first use.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = [
    "EUCLIDEAN",
    "MAX_NORM",
    "Tree",
    "build_tree",
    "count_within",
    "count_within_sorted",
    "digamma_mean",
    "knn_sorted",
    "knn_tree",
    "marginal_radii",
]

MAX_NORM = 0
EUCLIDEAN = 1
_LEAF = 16
_STACK = 256  # a query stack holds at most 2 x the depth, log2(n / _LEAF) + 1
_CHUNK = 2048  # queries per parallel task (per-task buffers, not per-query allocations)


@njit(cache=True)
def _digamma(x):
    """psi(x) for x > 0: the recurrence up to 10, then the asymptotic series to the
    x^-14 term (truncation error below 1e-16 there)."""
    r = 0.0
    while x < 10.0:
        r -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    t = f * (1.0 / 240 - f * (1.0 / 132 - f * (691.0 / 32760 - f / 12)))
    t = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - t)))
    return r + math.log(x) - 0.5 / x - t


@njit(cache=True)
def digamma_mean(counts, offset):
    """Mean of psi(counts + offset) (``counts`` int64, ``offset`` 0 or 1)."""
    s = 0.0
    for c in counts:
        s += _digamma(c + offset)
    return s / counts.size


# ------------------------------------------------------------------------------ 1-D


@njit(cache=True)
def knn_sorted(xs, k):
    """Distance from each sorted value to its k-th nearest other value (rows of ``xs``,
    each sorted ascending).  Shape of ``xs``; a duplicate value is at distance 0."""
    b, n = xs.shape
    out = np.empty((b, n))
    for r in range(b):
        row = xs[r]
        for p in range(n):
            lo = p - 1
            hi = p + 1
            d = 0.0
            for _ in range(k):
                dl = row[p] - row[lo] if lo >= 0 else np.inf
                dh = row[hi] - row[p] if hi < n else np.inf
                if dl <= dh:
                    d = dl
                    lo -= 1
                else:
                    d = dh
                    hi += 1
            out[r, p] = d
    return out


@njit
def _inside(d, radius, strict):
    return d < radius if strict else d <= radius


@njit
def _past(xs, j, v, radius, strict, side):
    """The monotone predicates whose first true index bounds the points within
    ``radius`` of ``v``: side 0, the first ``j`` at or right of ``v`` or inside; side 1,
    the first right of ``v`` and outside.  True at ``j = n``."""
    if j >= xs.size:
        return True
    x = xs[j]
    if side == 0:
        return x >= v or _inside(v - x, radius, strict)
    return x > v and not _inside(x - v, radius, strict)


@njit(cache=True)
def _first_past(xs, v, radius, strict, side, guess):
    """The first index in [0, n] where :func:`_past` holds: gallop from ``guess`` (the
    previous query's answer, which is near), then bisect."""
    n = xs.size
    step = 1
    if _past(xs, guess, v, radius, strict, side):
        hi = guess
        lo = -1
        while hi - step >= 0:
            if not _past(xs, hi - step, v, radius, strict, side):
                lo = hi - step
                break
            hi -= step
            step *= 2
    else:
        lo = guess
        hi = n
        while lo + step < n:
            if _past(xs, lo + step, v, radius, strict, side):
                hi = lo + step
                break
            lo += step
            step *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _past(xs, mid, v, radius, strict, side):
            hi = mid
        else:
            lo = mid
    return hi


@njit(cache=True)
def _sweep(xs, radii, strict, side, queue):
    """Each position's bound, visiting positions in ``queue`` order (sorted by the bound's
    approximate value, so each search starts next to its answer)."""
    out = np.empty(xs.size, np.int64)
    guess = 0
    for p in queue:
        guess = _first_past(xs, xs[p], radii[p], strict, side, guess)
        out[p] = guess
    return out


def count_within_sorted(
    xs: np.ndarray, order: np.ndarray, radii: np.ndarray, strict: bool
) -> np.ndarray:
    """For each point i: how many *other* points lie within ``radii[i]`` of it, for 1-D
    values sorted into ``xs = values[order]``.

    The points within r of v are the run between two bounds; the bounds of all points
    are found in two sweeps, each over the points sorted by v - r (or v + r), so every
    search gallops from the previous answer: O(n log n) for the two sorts and O(n) for
    the sweeps, with sequential memory access, however long the runs (a constant
    feature makes every run the whole sample)."""
    r = np.ascontiguousarray(radii[order], dtype=np.float64)
    lo = _sweep(xs, r, strict, 0, np.argsort(xs - r, kind="stable"))
    hi = _sweep(xs, r, strict, 1, np.argsort(xs + r, kind="stable"))
    self_in = r > 0 if strict else r >= 0
    counts = np.where(self_in, hi - lo - 1, 0)
    out = np.empty_like(counts)
    out[order] = counts
    return out


# ------------------------------------------------------------------------------ k-d tree


@njit(cache=True)
def _select(a, kth):
    """The ``kth`` smallest value of ``a`` (reordered in place): quickselect with Hoare's
    partition (which splits runs of equal values evenly) around the median of three
    pseudo-random entries, so no input order makes it quadratic, as the ends and the
    middle can (a run of decreasing values after one small one, which the tree's
    three-way partition produces from reversed data).  NumPy's ``partition`` under numba
    would do, but takes seconds to compile."""
    lo = 0
    hi = a.size - 1
    state = np.uint64(0x9E3779B97F4A7C15)
    while hi > lo:
        span = hi - lo + 1
        picks = np.empty(3)
        for t in range(3):
            state ^= state << np.uint64(13)
            state ^= state >> np.uint64(7)
            state ^= state << np.uint64(17)
            picks[t] = a[lo + np.int64(state % np.uint64(span))]
        x, y, z = picks[0], picks[1], picks[2]
        pivot = max(min(x, y), min(max(x, y), z))
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if kth <= j:
            hi = j
        elif kth >= i:
            lo = i
        else:
            break  # j < kth < i: a[kth] equals the pivot
    return a[kth]


@njit(cache=True)
def _split(pts, idx, tmp, tmp_idx, s, e, lo, hi, leaf):
    """Bound the node [s, e) (into ``lo``, ``hi``) and, unless it is a leaf, partition
    it at the median of its widest coordinate; the split index, or -1 for a leaf."""
    d = pts.shape[1]
    for j in range(d):
        lo[j] = np.inf
        hi[j] = -np.inf
    for t in range(s, e):
        for j in range(d):
            v = pts[t, j]
            lo[j] = min(lo[j], v)
            hi[j] = max(hi[j], v)
    if e - s <= leaf:
        return -1
    dim = 0
    spread = -1.0
    for j in range(d):
        if hi[j] - lo[j] > spread:
            spread = hi[j] - lo[j]
            dim = j
    if spread <= 0.0:
        return -1  # all points of this node coincide: a leaf of any size
    m = e - s
    keys = np.empty(m)
    for t in range(m):
        keys[t] = pts[s + t, dim]
    med = _select(keys, m // 2)
    # a three-way partition around the median value (<, ==, >) keeps ties together and
    # puts the median's rank, m // 2, inside the run of equal values
    n_less = 0
    n_equal = 0
    for t in range(s, e):
        v = pts[t, dim]
        if v < med:
            n_less += 1
        elif v == med:
            n_equal += 1
    w_less = s
    w_equal = s + n_less
    w_more = s + n_less + n_equal
    for t in range(s, e):
        v = pts[t, dim]
        if v < med:
            w = w_less
            w_less += 1
        elif v == med:
            w = w_equal
            w_equal += 1
        else:
            w = w_more
            w_more += 1
        for j in range(d):
            tmp[w, j] = pts[t, j]
        tmp_idx[w] = idx[t]
    for t in range(s, e):
        for j in range(d):
            pts[t, j] = tmp[t, j]
        idx[t] = tmp_idx[t]
    return s + m // 2


@njit(parallel=True, cache=True)
def _build(points, leaf):
    """Median splits on the widest coordinate, one level of the tree at a time (the nodes
    of a level in parallel: they own disjoint rows).  The points move with their indices
    (``pts``, ``idx`` in tree order), so every pass over a node reads memory in order."""
    n, d = points.shape
    pts = points.copy()
    idx = np.arange(n)
    cap = 4 * (n // leaf) + 16
    start = np.empty(cap, np.int64)
    end = np.empty(cap, np.int64)
    left = np.full(cap, -1, np.int64)
    right = np.full(cap, -1, np.int64)
    lo = np.empty((cap, d))
    hi = np.empty((cap, d))
    tmp = np.empty((n, d))
    tmp_idx = np.empty(n, np.int64)
    start[0] = 0
    end[0] = n
    count = 1
    first = 0  # the current level is nodes [first, count)
    while first < count:
        level = count - first
        mids = np.empty(level, np.int64)
        for t in prange(level):
            nd = first + t
            mids[t] = _split(pts, idx, tmp, tmp_idx, start[nd], end[nd], lo[nd], hi[nd], leaf)
        nxt = count
        for t in range(level):
            if mids[t] < 0:
                continue
            nd = first + t
            left[nd] = nxt
            right[nd] = nxt + 1
            start[nxt] = start[nd]
            end[nxt] = mids[t]
            start[nxt + 1] = mids[t]
            end[nxt + 1] = end[nd]
            nxt += 2
        first = count
        count = nxt
    return (
        pts,
        idx,
        start[:count],
        end[:count],
        left[:count],
        right[:count],
        lo[:count],
        hi[:count],
    )


class Tree:
    """A k-d tree over ``points`` (n, d): the points in tree order (``pts``), which point
    each row is (``idx``: row r of ``pts`` is point ``idx[r]``) and its inverse
    (``where[i]`` is point i's row), and the node arrays."""

    __slots__ = ("end", "hi", "idx", "left", "lo", "pts", "right", "start", "where")

    def __init__(self, points: np.ndarray) -> None:
        points = np.ascontiguousarray(points, dtype=np.float64)
        built = _build(points, _LEAF)
        self.pts, self.idx, self.start, self.end, self.left, self.right, self.lo, self.hi = built
        self.where = np.empty_like(self.idx)
        self.where[self.idx] = np.arange(self.idx.size)


def build_tree(points: np.ndarray) -> Tree:
    return Tree(points)


@njit(inline="always")
def _dist(a, b, metric):
    """Max-norm, or the *squared* Euclidean norm."""
    s = 0.0
    for j in range(a.size):
        t = abs(a[j] - b[j])
        if metric == MAX_NORM:
            s = max(s, t)
        else:
            s += t * t
    return s


@njit(inline="always")
def _box_near(q, lo, hi, metric):
    s = 0.0
    for j in range(q.size):
        t = 0.0
        if q[j] < lo[j]:
            t = lo[j] - q[j]
        elif q[j] > hi[j]:
            t = q[j] - hi[j]
        if metric == MAX_NORM:
            s = max(s, t)
        else:
            s += t * t
    return s


@njit
def _box_far(q, lo, hi):
    s = 0.0
    for j in range(q.size):
        s = max(s, abs(q[j] - lo[j]), abs(hi[j] - q[j]))
    return s


@njit(parallel=True, cache=True)
def _knn_tree(pts, idx, start, end, left, right, lo, hi, k, metric):
    n = pts.shape[0]
    dist = np.empty(n)
    nbr = np.empty((n, k), np.int64)
    tasks = (n + _CHUNK - 1) // _CHUNK
    for task in prange(tasks):
        best = np.empty(k)
        who = np.empty(k, np.int64)
        stack = np.empty(_STACK, np.int64)
        for q in range(task * _CHUNK, min(n, (task + 1) * _CHUNK)):
            p = pts[q]
            for t in range(k):
                best[t] = np.inf
                who[t] = -1
            stack[0] = 0
            sp = 1
            while sp > 0:
                sp -= 1
                nd = stack[sp]
                if _box_near(p, lo[nd], hi[nd], metric) >= best[k - 1]:
                    continue
                a = left[nd]
                if a < 0:
                    for j in range(start[nd], end[nd]):
                        if j == q:
                            continue
                        d = _dist(p, pts[j], metric)
                        if d < best[k - 1]:
                            t = k - 1
                            while t > 0 and best[t - 1] > d:
                                best[t] = best[t - 1]
                                who[t] = who[t - 1]
                                t -= 1
                            best[t] = d
                            who[t] = j
                            if best[k - 1] == 0.0:
                                break  # nothing is nearer: a leaf of coincident points ends here
                    continue
                c = right[nd]
                da = _box_near(p, lo[a], hi[a], metric)
                dc = _box_near(p, lo[c], hi[c], metric)
                if da <= dc:  # the nearer child is popped first
                    stack[sp] = c
                    stack[sp + 1] = a
                else:
                    stack[sp] = a
                    stack[sp + 1] = c
                sp += 2
            i = idx[q]  # results in the caller's order
            dist[i] = best[k - 1] if metric == MAX_NORM else math.sqrt(best[k - 1])
            for t in range(k):
                nbr[i, t] = who[t]
    return dist, nbr


def knn_tree(tree: Tree, k: int, metric: int) -> tuple[np.ndarray, np.ndarray]:
    """For each original point: the distance to its k-th nearest other point, and the
    rows of ``tree.pts`` of its k nearest (nearest first), in original order."""
    return _knn_tree(
        tree.pts, tree.idx, tree.start, tree.end, tree.left, tree.right, tree.lo, tree.hi, k, metric
    )


@njit(parallel=True, cache=True)
def _count_tree(pts, start, end, left, right, lo, hi, queries, radii, strict):
    n = queries.shape[0]
    out = np.empty(n, np.int64)
    tasks = (n + _CHUNK - 1) // _CHUNK
    for task in prange(tasks):
        stack = np.empty(_STACK, np.int64)
        for i in range(task * _CHUNK, min(n, (task + 1) * _CHUNK)):
            p = queries[i]
            r = radii[i]
            c = 0
            stack[0] = 0
            sp = 1
            while sp > 0:
                sp -= 1
                nd = stack[sp]
                if not _inside(_box_near(p, lo[nd], hi[nd], MAX_NORM), r, strict):
                    continue
                if _inside(_box_far(p, lo[nd], hi[nd]), r, strict):
                    c += end[nd] - start[nd]
                    continue
                if left[nd] < 0:
                    for j in range(start[nd], end[nd]):
                        if _inside(_dist(p, pts[j], MAX_NORM), r, strict):
                            c += 1
                    continue
                stack[sp] = left[nd]
                stack[sp + 1] = right[nd]
                sp += 2
            out[i] = c - 1 if _inside(0.0, r, strict) else c
    return out


def count_within(tree: Tree, radii: np.ndarray, strict: bool) -> np.ndarray:
    """For each original point i: how many other points lie within ``radii[i]`` of it
    (max-norm; ``strict``: distance < radius, else <=)."""
    queries = tree.pts[tree.where]
    return _count_tree(
        tree.pts,
        tree.start,
        tree.end,
        tree.left,
        tree.right,
        tree.lo,
        tree.hi,
        queries,
        np.ascontiguousarray(radii, dtype=np.float64),
        strict,
    )


@njit(cache=True)
def _marginal_radii(pts, where, nbr, split):
    n, k = nbr.shape
    d = pts.shape[1]
    ex = np.zeros(n)
    ey = np.zeros(n)
    for q in range(n):
        p = pts[where[q]]
        for t in range(k):
            o = pts[nbr[q, t]]
            for j in range(d):
                v = abs(p[j] - o[j])
                if j < split:
                    ex[q] = max(ex[q], v)
                else:
                    ey[q] = max(ey[q], v)
    return ex, ey


def marginal_radii(tree: Tree, nbr: np.ndarray, split: int) -> tuple[np.ndarray, np.ndarray]:
    """KSG 2's radii in each marginal: for each original point, the largest max-norm
    distance over its k joint neighbours (``nbr`` from :func:`knn_tree`) in the first
    ``split`` coordinates, and in the rest."""
    return _marginal_radii(tree.pts, tree.where, nbr, split)
