"""Counting: the one pass over the samples, in memory (NumPy) or chunk by chunk (Dask).

Samples come as one array per variable (one for entropy, two for mutual information,
three for conditional mutual information), all of one shape, with the samples of each
set along ``axis``.  Counting turns them into *groups*: for every sample set (a row of
the batch) and every distinct tuple of values that occurs in it, the number of times it
occurs.  The estimators then take the counts of any subset of the variables (the joint
counts, or a marginal) as a *canonical* table: one row per sample set, each row's
non-zero counts sorted in decreasing order and padded with zeros to the widest row.  The
canonical table depends only on the multiset of counts in each row, so the same samples
give the same table, bit for bit, whether they were counted in memory or by Dask, in
which order the values were seen, and how they were labelled.

Counting a block of samples:

- integers and booleans whose range in the block is small (the table of every value in
  the range, times the rows, is at most twice the block's size) are counted by the
  compiled kernel :func:`infoloss._kernels.counting.count_rows`, one pass, with tuples of
  variables encoded into one integer;
- anything else (wide-ranging integers, floats, strings) is sorted (``np.lexsort`` on the
  row and the values) and the runs of equal tuples are counted;
- NumPy object arrays of any hashable values are first mapped to dense integer codes with
  a dictionary.

Dask arrays are counted block by block (each block's groups computed where the block
lives) and the groups merged in a tree; one ``compute`` brings back only the groups, whose
size is the number of distinct (set, value) pairs, not the number of samples.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .._options import parse_axis, resolve_axis
from .._xp import is_lazy, to_numpy

__all__ = [
    "Groups",
    "as_rows",
    "block_groups",
    "canonical",
    "counts_table",
    "dense_codes",
    "entropy_table",
    "merge_groups",
    "regroup",
    "sample_groups",
    "table",
    "totals",
]

# Dask: how many groups are merged at each node of the tree.
_FAN_IN = 8


class Groups(NamedTuple):
    """Distinct (row, values...) tuples of a batch of sample sets and their counts.

    ``rows`` (G,) int64, sorted; ``values`` one (G,) array per variable; ``counts`` (G,)
    int64 > 0; ``nnan`` the NaN samples met per variable (the groups are empty if any).
    """

    rows: np.ndarray
    values: tuple[np.ndarray, ...]
    counts: np.ndarray
    nnan: tuple[int, ...]


def _counting() -> Any:
    from .. import _kernels as nb

    return nb.count_rows if nb.enabled() else None


def _count_table(x: np.ndarray, lo: int, k: int) -> np.ndarray:
    """(B, k) counts of ``lo .. lo + k - 1`` per row of the integer array ``x``."""
    kernel = _counting()
    if kernel is not None:
        return kernel(x, lo, k)  # type: ignore[no-any-return]
    b = x.shape[0]
    codes = _offset(x, lo) + (np.arange(b, dtype=np.int64) * k)[:, None]
    return np.bincount(codes.ravel(), minlength=b * k).reshape(b, k)


def _offset(x: np.ndarray, lo: int) -> np.ndarray:
    """``x - lo`` as int64, for integer ``x`` whose range above ``lo`` fits in int64."""
    out: np.ndarray
    if x.dtype.kind == "u":
        out = (x - x.dtype.type(lo)).astype(np.int64)
    else:
        out = x.astype(np.int64) - np.int64(lo)
    return out


def _restore(codes: np.ndarray, lo: int, dtype: np.dtype[Any]) -> np.ndarray:
    """The values ``codes + lo`` in ``dtype`` (the inverse of :func:`_offset`)."""
    out: np.ndarray
    if dtype.kind == "u":
        out = codes.astype(dtype) + dtype.type(lo)
    else:
        out = (codes + np.int64(lo)).astype(dtype)
    return out


def _empty(arrays: tuple[np.ndarray, ...], nnan: tuple[int, ...]) -> Groups:
    zero = np.zeros(0, np.int64)
    return Groups(zero, tuple(np.zeros(0, a.dtype) for a in arrays), zero, nnan)


def _runs(keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Order that sorts by ``keys`` (the first key primary) and the starts of the runs of
    equal key tuples in that order."""
    order = np.lexsort(tuple(reversed(keys)))
    new = np.zeros(order.size, bool)
    if order.size:
        new[0] = True
    for k in keys:
        s = k[order]
        new[1:] |= s[1:] != s[:-1]
    return order, np.flatnonzero(new)


def block_groups(arrays: tuple[np.ndarray, ...], row0: int = 0) -> Groups:
    """The groups of a block: each array (b, n), one per variable; rows start at ``row0``."""
    nnan = tuple(int(np.count_nonzero(np.isnan(a))) if a.dtype.kind in "fc" else 0 for a in arrays)
    if any(nnan):
        return _empty(arrays, nnan)
    b, n = arrays[0].shape
    if all(a.dtype.kind in "biu" for a in arrays):
        ints = [a.view(np.uint8) if a.dtype == np.bool_ else a for a in arrays]
        los = [int(a.min()) for a in ints]
        ks = [int(a.max()) - lo + 1 for a, lo in zip(ints, los, strict=True)]
        total = math.prod(ks)
        if b * total <= max(2 * b * n, 1 << 16):
            if len(ints) == 1:
                table = _count_table(ints[0], los[0], total)
            else:
                code = _offset(ints[0], los[0])
                for a, lo, k in zip(ints[1:], los[1:], ks[1:], strict=True):
                    code = code * k + _offset(a, lo)
                table = _count_table(code, 0, total)
            rows, flat = np.nonzero(table)
            counts = table[rows, flat]
            values: list[np.ndarray] = []
            for a, lo, k in zip(reversed(arrays), reversed(los), reversed(ks), strict=True):
                flat, code_v = np.divmod(flat, k)
                values.append(_restore(code_v, lo, a.dtype))
            return Groups(rows + row0, tuple(reversed(values)), counts, nnan)
    rows = np.repeat(np.arange(row0, row0 + b, dtype=np.int64), n)
    cols = [a.reshape(-1) for a in arrays]
    order, starts = _runs([rows, *cols])
    counts = np.diff(np.append(starts, order.size)).astype(np.int64)
    first = order[starts]
    return Groups(rows[first], tuple(c[first] for c in cols), counts, nnan)


def merge_groups(*parts: Groups) -> Groups:
    """The groups of the union of the blocks whose groups are ``parts``."""
    nnan = tuple(sum(col) for col in zip(*(p.nnan for p in parts), strict=True))
    if any(nnan):
        return _empty(parts[0].values, nnan)
    rows = np.concatenate([p.rows for p in parts])
    values = [np.concatenate([p.values[i] for p in parts]) for i in range(len(parts[0].values))]
    counts = np.concatenate([p.counts for p in parts])
    order, starts = _runs([rows, *values])
    summed = np.add.reduceat(counts[order], starts) if starts.size else counts[:0]
    first = order[starts]
    return Groups(rows[first], tuple(v[first] for v in values), summed, nnan)


def regroup(groups: Groups, keep: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(rows, counts) of the variables ``keep`` (a marginal of the groups), rows sorted."""
    if keep == tuple(range(len(groups.values))):
        return groups.rows, groups.counts
    order, starts = _runs([groups.rows, *(groups.values[i] for i in keep)])
    summed = np.add.reduceat(groups.counts[order], starts)
    return groups.rows[order[starts]], summed


def canonical(counts: np.ndarray) -> np.ndarray:
    """Each row's counts in decreasing order, trailing all-zero columns dropped."""
    c = np.sort(counts, axis=1)[:, ::-1]
    width = int(np.count_nonzero(c, axis=1).max(initial=0))
    return np.ascontiguousarray(c[:, :width])


def totals(c: np.ndarray) -> np.ndarray:
    """Each row's total N of the non-negative int64 table ``c``, as float64 (correctly
    rounded).  A total of 2**63 or more overflows int64 (and the float64 sum is not exact
    above 2**53): those rows are summed as Python integers."""
    out: np.ndarray = c.sum(axis=1).astype(np.float64)
    # The int64 sum wrapped iff the true total is >= 2**63; the float64 sum is within a
    # relative 1e-12 of the true total, so this catches every such row.
    big = np.flatnonzero(c.sum(axis=1, dtype=np.float64) >= 2.0**62)
    for i in big:
        out[i] = float(sum(int(v) for v in c[i]))
    return out


def table(rows: np.ndarray, counts: np.ndarray, n_rows: int) -> np.ndarray:
    """The canonical (n_rows, K) table from sorted ``rows`` and their ``counts``."""
    per_row = np.bincount(rows, minlength=n_rows)
    starts = np.concatenate(([0], np.cumsum(per_row)[:-1]))
    out = np.zeros((n_rows, int(per_row.max(initial=0))), np.int64)
    out[rows, np.arange(rows.size) - starts[rows]] = counts
    return canonical(out)


def _object_codes(a: np.ndarray, name: str) -> np.ndarray:
    """Dense integer codes of an object array's hashable values, in order of appearance."""
    seen: dict[Any, int] = {}
    flat = a.reshape(-1)
    try:
        codes = np.fromiter((seen.setdefault(v, len(seen)) for v in flat), np.int64, flat.size)
    except TypeError:
        raise ValueError(f"`{name}` contains values that are not hashable") from None
    if any(isinstance(v, float) and v != v for v in seen):
        raise ValueError(f"`{name}` contains NaN")
    return codes.reshape(a.shape)


def dense_codes(a: np.ndarray, name: str) -> tuple[np.ndarray, int]:
    """Codes 0 .. k-1 of the values of the NumPy array ``a`` (one code per distinct value)
    and k.  ``a`` is checked for NaN."""
    if a.dtype == object:
        codes = _object_codes(a, name)
        return codes, int(codes.max(initial=-1)) + 1
    if a.dtype.kind in "fc" and np.isnan(a).any():
        raise ValueError(f"`{name}` contains NaN")
    if a.dtype.kind in "biu" and a.size:
        ints = a.view(np.uint8) if a.dtype == np.bool_ else a
        lo, hi = int(ints.min()), int(ints.max())
        if hi - lo < 2 * a.size:
            return _offset(ints, lo), hi - lo + 1
    uniq, inverse = np.unique(a.reshape(-1), return_inverse=True)
    return inverse.reshape(a.shape).astype(np.int64), int(uniq.size)


def _check_shape(shape: tuple[int, ...], axis: int, name: str) -> int:
    """The sample axis of an array of ``shape``; errors for no axis and empty input."""
    if shape == ():
        raise ValueError(f"`{name}` must have at least one dimension (the sample axis)")
    ax = resolve_axis(axis, len(shape), name)
    if math.prod(shape) == 0:
        raise ValueError(f"`{name}` is empty: every sample set needs at least one sample")
    return ax


def _as_2d(x: Any, ax: int, lazy: bool) -> Any:
    if lazy:
        import dask.array as da

        moved = da.moveaxis(x, ax, -1)
    else:
        moved = np.moveaxis(x, ax, -1)
    n = moved.shape[-1]
    return moved.reshape(math.prod(moved.shape[:-1]), n)


def _as_numpy(x: Any, name: str) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple)):
        try:
            a = np.asarray(x)
        except ValueError:
            raise ValueError(f"`{name}` is not a rectangular array") from None
        return a
    return to_numpy(x)


def sample_groups(
    arrays: tuple[Any, ...], names: tuple[str, ...], axis: int
) -> tuple[Groups, tuple[int, ...]]:
    """Count paired samples: the groups of all variables together and the batch shape.

    Raises ValueError (naming the argument) on NaN samples, empty input and mismatched
    shapes.  Dask arrays are counted by a chunked reduction with one ``compute``.
    """
    lazy = any(is_lazy(a) for a in arrays)
    if lazy:
        import dask.array as da

        arrays = tuple(da.asarray(a) for a in arrays)  # type: ignore[no-untyped-call]
        for a, name in zip(arrays, names, strict=True):
            if a.dtype == object:
                raise ValueError(
                    f"`{name}`: Dask arrays of Python objects are not supported; "
                    "use numbers, booleans or strings"
                )
    else:
        arrays = tuple(_as_numpy(a, n) for a, n in zip(arrays, names, strict=True))
    shape = tuple(arrays[0].shape)
    for a, name in zip(arrays[1:], names[1:], strict=True):
        if tuple(a.shape) != shape:
            raise ValueError(
                f"`{name}` must have the shape of `{names[0]}` (paired samples); "
                f"got {tuple(a.shape)} and {shape}"
            )
    if any(isinstance(d, float) and math.isnan(d) for d in shape):
        raise ValueError(f"`{names[0]}` has unknown chunk sizes; call compute_chunk_sizes()")
    ax = _check_shape(shape, axis, names[0])
    batch = shape[:ax] + shape[ax + 1 :]
    flat = tuple(_as_2d(a, ax, lazy) for a in arrays)
    if lazy:
        groups = _dask_groups(flat)
    else:
        flat = tuple(
            _object_codes(a, n) if a.dtype == object else a
            for a, n in zip(flat, names, strict=True)
        )
        groups = block_groups(flat)
    for count, name in zip(groups.nnan, names, strict=True):
        if count:
            raise ValueError(f"`{name}` contains NaN ({count} sample(s))")
    return groups, batch


def counts_table(counts: Any, axis: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """The canonical table of user-given counts along ``axis``, and the batch shape."""
    try:
        c = np.asarray(counts) if isinstance(counts, (list, tuple)) else to_numpy(counts)
    except ValueError:
        raise ValueError("`counts` is not a rectangular array of numbers") from None
    if c.dtype.kind not in "biuf":
        raise ValueError(f"`counts` must be non-negative integers; got {c.dtype} data")
    shape = tuple(c.shape)
    ax = _check_shape(shape, axis, "counts")
    if c.dtype.kind == "f":
        if np.isnan(c).any():
            raise ValueError("`counts` contains NaN")
        if not np.isfinite(c).all():
            raise ValueError("`counts` contains infinite values")
        if (c != np.round(c)).any():
            raise ValueError("`counts` must be integers; it has a non-integer value")
        if (np.abs(c) > 2.0**53).any():
            raise ValueError("`counts` has a value above 2**53, not exactly representable")
    if (c < 0).any():
        raise ValueError("`counts` must be non-negative; it has a negative value")
    if c.dtype.kind == "u" and c.dtype.itemsize == 8 and (c > np.iinfo(np.int64).max).any():
        raise ValueError("`counts` has a value too large for int64")
    flat = np.moveaxis(c, ax, -1).astype(np.int64)
    batch = flat.shape[:-1]
    flat = flat.reshape(math.prod(batch), flat.shape[-1])
    if not flat.any(axis=1).all():
        raise ValueError("`counts` has a set with no samples (all its counts are zero)")
    return canonical(flat), batch


def entropy_table(samples: Any, counts: Any, axis: Any) -> tuple[np.ndarray, tuple[int, ...], str]:
    ax = parse_axis(axis)
    if (samples is None) == (counts is None):
        raise ValueError("pass exactly one of `samples` (positional) and `counts` (keyword)")
    if counts is not None:
        return (*counts_table(counts, ax), "counts")
    groups, batch = sample_groups((samples,), ("samples",), ax)
    return table(groups.rows, groups.counts, math.prod(batch)), batch, "samples"


def as_rows(x: Any, name: str, axis: int) -> np.ndarray:
    """The samples ``x`` in memory as a (B, N) NumPy array (a Dask array is computed)."""
    a = _as_numpy(x, name)
    return _as_2d(a, _check_shape(tuple(a.shape), axis, name), lazy=False)  # type: ignore[no-any-return]


def _dask_groups(arrays: tuple[Any, ...]) -> Groups:
    from dask.base import compute
    from dask.delayed import delayed

    chunks = arrays[0].chunks
    arrays = tuple(a.rechunk(chunks) for a in arrays)
    blocks = [a.to_delayed() for a in arrays]
    row_starts = np.concatenate(([0], np.cumsum(chunks[0])[:-1]))
    task = delayed(block_groups, pure=True)
    merge = delayed(merge_groups, pure=True)
    parts = [
        task(tuple(bl[i, j] for bl in blocks), int(row_starts[i]))
        for i in range(len(chunks[0]))
        for j in range(len(chunks[1]))
    ]
    while len(parts) > 1:
        parts = [merge(*parts[k : k + _FAN_IN]) for k in range(0, len(parts), _FAN_IN)]
    (groups,) = compute(parts[0])  # type: ignore[no-untyped-call]
    return groups  # type: ignore[no-any-return]
