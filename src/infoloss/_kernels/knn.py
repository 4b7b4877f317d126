"""Nearest-neighbour search for the continuous estimators (``src/knn.c``) and its
contract.

- ``knn_sorted(xs, k)``: for rows of sorted 1-D samples, each value's distance to its k-th
  nearest other value.
- ``count_within_sorted(xs, order, radii, strict)``: for 1-D values sorted into
  ``xs = values[order]``, how many other points lie within each point's radius.
- ``build_tree(points) -> Tree``; ``knn_tree(tree, k, metric) -> (dist, nbr)``;
  ``count_within(tree, radii, strict)``; ``marginal_radii(tree, nbr, split)``: the k-d
  tree searches (max-norm for KSG, Euclidean for Kozachenko–Leonenko).
- ``knn_plane(x, y, k)``: for points of the plane (two 1-D samples), the max-norm distance
  to the k-th nearest other point, from slabs of the x-sorted points each sorted by y
  (KSG's joint search when x and y are scalars); ``count_ranked(v, order, radii, strict)``:
  the 1-D counts from one sort, by galloping outward from each point's place.
- ``digamma_mean(counts, offset)``: the mean of ψ(count + offset).

Every comparison is made on the distance computed the way the estimator defines it,
``|a - b|`` rounded once per coordinate: a point at exactly the radius is in or out by the
estimator's rule (``strict``: distance < radius, else <=), never by rounding.  The callers
(:mod:`infoloss.estimators`) check the values; this module lays the arrays out.
"""

from __future__ import annotations

import numpy as np

from . import _knn

__all__ = [
    "EUCLIDEAN",
    "MAX_NORM",
    "Tree",
    "build_tree",
    "count_ranked",
    "count_within",
    "count_within_sorted",
    "digamma_mean",
    "knn_plane",
    "knn_sorted",
    "knn_tree",
    "marginal_radii",
]

MAX_NORM = 0
EUCLIDEAN = 1
_LEAF = 16


def _f64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def _i64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int64)


def digamma_mean(counts: np.ndarray, offset: int) -> float:
    """Mean of psi(counts + offset) (``counts`` integers, ``offset`` 0 or 1), summed left
    to right."""
    c = _i64(counts).ravel()
    return float(_knn.digamma_mean(c.ctypes.data, c.size, offset))


def knn_sorted(xs: np.ndarray, k: int) -> np.ndarray:
    """Distance from each sorted value to its k-th nearest other value (rows of ``xs``,
    each sorted ascending, at least k + 1 values).  Shape of ``xs``; a duplicate value is
    at distance 0."""
    xs = _f64(xs)
    out = np.empty_like(xs)
    _knn.knn_sorted(xs.ctypes.data, xs.shape[0], xs.shape[1], k, out.ctypes.data)
    return out


def _select(a: np.ndarray, kth: int) -> float:
    """The ``kth`` smallest value of the float64 contiguous ``a`` (reordered in place): the
    tree's quickselect."""
    if a.dtype != np.float64 or not a.flags.c_contiguous or a.ndim != 1:
        raise TypeError("_select needs a 1-D C-contiguous float64 array (sorted in place)")
    return float(_knn.select(a.ctypes.data, a.size, kth))


def _sweep(
    xs: np.ndarray, radii: np.ndarray, strict: bool, side: int, queue: np.ndarray
) -> np.ndarray:
    out = np.empty(xs.size, np.int64)
    queue = _i64(queue)
    _knn.sweep(
        xs.ctypes.data, xs.size, radii.ctypes.data, strict, side, queue.ctypes.data, out.ctypes.data
    )
    return out


def count_within_sorted(
    xs: np.ndarray, order: np.ndarray, radii: np.ndarray, strict: bool
) -> np.ndarray:
    """For each point i: how many *other* points lie within ``radii[i]`` of it, for 1-D
    values sorted into ``xs = values[order]``.

    The points within r of v are the run between two bounds; the bounds of all points
    are found in two sweeps, each over the points sorted by v - r (or v + r), so every
    search gallops from the previous answer: O(n log n) for the two sorts and O(n) for
    the sweeps, with sequential memory access, however long the runs."""
    xs = _f64(xs)
    r = _f64(radii[order])
    lo = _sweep(xs, r, strict, 0, np.argsort(xs - r, kind="stable"))
    hi = _sweep(xs, r, strict, 1, np.argsort(xs + r, kind="stable"))
    self_in = r > 0 if strict else r >= 0
    counts = np.where(self_in, hi - lo - 1, 0)
    out = np.empty_like(counts)
    out[order] = counts
    return out


class Tree:
    """A k-d tree over ``points`` (n, d): the points in tree order (``pts``), which point
    each row is (``idx``: row r of ``pts`` is point ``idx[r]``) and its inverse
    (``where[i]`` is point i's row), and the node arrays."""

    __slots__ = ("end", "hi", "idx", "left", "lo", "pts", "right", "start", "where")

    def __init__(self, points: np.ndarray) -> None:
        points = _f64(points)
        n, d = points.shape
        cap = 4 * (n // _LEAF) + 16
        self.pts = np.empty((n, d))
        self.idx = np.empty(n, np.int64)
        start, end, left, right = (np.empty(cap, np.int64) for _ in range(4))
        lo = np.empty((cap, d))
        hi = np.empty((cap, d))
        count = _knn.tree_build(
            points.ctypes.data, n, d, _LEAF, cap, self.pts.ctypes.data, self.idx.ctypes.data,
            start.ctypes.data, end.ctypes.data, left.ctypes.data, right.ctypes.data,
            lo.ctypes.data, hi.ctypes.data,
        )  # fmt: skip
        if count < 0:
            raise MemoryError("build_tree: no memory for the partition buffers")
        self.start, self.end = start[:count].copy(), end[:count].copy()
        self.left, self.right = left[:count].copy(), right[:count].copy()
        self.lo, self.hi = lo[:count].copy(), hi[:count].copy()
        self.where = np.empty_like(self.idx)
        self.where[self.idx] = np.arange(self.idx.size)

    def _c(self) -> tuple[int, ...]:
        """The addresses and sizes the C kernels take (il_tree)."""
        return (
            self.pts.ctypes.data, self.idx.ctypes.data, self.start.ctypes.data,
            self.end.ctypes.data, self.left.ctypes.data, self.right.ctypes.data,
            self.lo.ctypes.data, self.hi.ctypes.data, self.pts.shape[0], self.pts.shape[1],
        )  # fmt: skip


def build_tree(points: np.ndarray) -> Tree:
    return Tree(points)


def knn_tree(tree: Tree, k: int, metric: int) -> tuple[np.ndarray, np.ndarray]:
    """For each original point: the distance to its k-th nearest other point, and the
    rows of ``tree.pts`` of its k nearest (nearest first), in original order."""
    n = tree.pts.shape[0]
    dist = np.empty(n)
    nbr = np.empty((n, k), np.int64)
    if _knn.knn_tree(tree._c(), k, metric, dist.ctypes.data, nbr.ctypes.data):
        raise MemoryError("knn_tree: no memory for the query buffers")
    return dist, nbr


def count_within(tree: Tree, radii: np.ndarray, strict: bool) -> np.ndarray:
    """For each original point i: how many other points lie within ``radii[i]`` of it
    (max-norm; ``strict``: distance < radius, else <=)."""
    queries = np.ascontiguousarray(tree.pts[tree.where])
    r = _f64(radii)
    out = np.empty(r.size, np.int64)
    _knn.count_tree(tree._c(), queries.ctypes.data, r.ctypes.data, r.size, strict, out.ctypes.data)
    return out


def marginal_radii(tree: Tree, nbr: np.ndarray, split: int) -> tuple[np.ndarray, np.ndarray]:
    """KSG 2's radii in each marginal: for each original point, the largest max-norm
    distance over its k joint neighbours (``nbr`` from :func:`knn_tree`) in the first
    ``split`` coordinates, and in the rest."""
    nbr = _i64(nbr)
    n = tree.pts.shape[0]
    ex = np.empty(n)
    ey = np.empty(n)
    _knn.marginal_radii(
        tree._c(), tree.where.ctypes.data, nbr.ctypes.data, nbr.shape[1], split,
        ex.ctypes.data, ey.ctypes.data,
    )  # fmt: skip
    return ex, ey


_NO_BUDGET = 1 << 40  # more than any search reads: n rows and 16 per slab visited


def _slab_width(n: int, k: int) -> int:
    """Points per slab of :func:`knn_plane`: about sqrt(k n), the number of points in the
    x-strip within the k-th distance when x and y are unrelated, so a query visits a few
    slabs (measured flat from half to twice that at n = 10^5, related or not)."""
    return max(8, int(np.sqrt(k * n)))


def _slab_spread(v: np.ndarray, order: np.ndarray, width: int) -> float:
    """The median width of the slabs of ``width`` sorted values of ``v``: small when most
    slabs lie inside runs of (nearly) equal values, where a query must visit many slabs;
    the slabs are cut along the coordinate where it is larger."""
    first = v[order[::width]]
    last = v[order[width - 1 :: width]]
    return float(np.median(last - first[: last.size])) if last.size else 0.0


def knn_plane(
    x: np.ndarray,
    y: np.ndarray,
    k: int,
    ox: np.ndarray | None = None,
    oy: np.ndarray | None = None,
    budget: int | None = None,
) -> np.ndarray | None:
    """For each point i of the plane (``x[i]``, ``y[i]``): the max-norm distance to its
    k-th nearest other point (1 <= k < n).  ``ox``, ``oy``: orders that sort ``x`` and
    ``y`` (argsort), computed when not given.  ``budget``: None, or the most rows a
    search may read per point, on average over a chunk of points; None is returned when
    the search needs more (most points in one strip of the plane, e.g. a constant plus
    noise beside a spread coordinate: then a tree is faster).  The slabs are cut along
    the coordinate whose slabs are wider (:func:`_slab_spread`)."""
    x, y = _f64(x).ravel(), _f64(y).ravel()
    ox = _i64(np.argsort(x) if ox is None else ox)
    oy = _i64(np.argsort(y) if oy is None else oy)
    width = _slab_width(x.size, k)
    if _slab_spread(x, ox, width) < _slab_spread(y, oy, width):
        x, y, ox, oy = y, x, oy, ox  # the distances are symmetric in x and y
    eps = np.empty(x.size)
    status = _knn.knn_plane(
        x.ctypes.data, y.ctypes.data, x.size, ox.ctypes.data, oy.ctypes.data, k,
        width, _NO_BUDGET if budget is None else budget, eps.ctypes.data,
    )  # fmt: skip
    if status < 0:
        raise MemoryError("knn_plane: no memory for the slabs")
    return None if status else eps


def count_ranked(v: np.ndarray, order: np.ndarray, radii: np.ndarray, strict: bool) -> np.ndarray:
    """For each point i: how many *other* values of the 1-D ``v`` lie within ``radii[i]``
    of ``v[i]`` (``order`` sorts ``v``); the same counts as :func:`count_within_sorted`."""
    v, r, order = _f64(v).ravel(), _f64(radii), _i64(order)
    out = np.empty(v.size, np.int64)
    if _knn.count_ranked(v.ctypes.data, order.ctypes.data, v.size, r.ctypes.data, strict,
                         out.ctypes.data):  # fmt: skip
        raise MemoryError("count_ranked: no memory for the sorted values")
    return out
