"""The one pipeline every measure goes through, once.

1. options parsed into a :class:`~infoloss._options.MeasureSpec` (by the public function);
2. arrays converted once (namespace, dtype, broadcasting, outcome axis last), metadata
   checked eagerly;
3. an implementation selected: the compiled kernels for NumPy float32/float64 data they can
   view without a copy, the array-API code otherwise; both take the parsed arguments and
   return values plus the data checks, neither raises;
4. the checks enforced by the one validator (eagerly, or lazily on Dask);
5. the result returned on the caller's library, in the caller's dtype and base.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _validate
from .._kernels import _layout
from .._options import MeasureSpec, resolve_axis
from .._validate import Check
from .._xp import Array, as_float_arrays, broadcast, namespace, result
from . import _array_api

__all__ = ["run_joint", "run_rows"]


def _convert(arrays: tuple[Any, ...], names: tuple[str, ...]) -> tuple[Any, list[Array]]:
    xp = namespace(arrays, names)
    return xp, broadcast(xp, as_float_arrays(xp, arrays, names), names)


def _finish(xp: Any, value: Array, checks: list[Check], spec: MeasureSpec) -> Array:
    if spec.validate:
        value = _validate.enforce(xp, value, checks)
    if spec.log_base is not None:
        value = value / spec.log_base
    return result(xp, value)


def _kernel_checks(
    stats: list[Any],
    xs: list[np.ndarray],
    spec: MeasureSpec,
    batch: tuple[int, ...],
    n: int,
    log_masses: Any,
) -> list[Check]:
    """The validator's checks from the kernels' totals: the data is read again (for the
    message and the first bad index) only where a count is non-zero, and the rows' masses
    (``log_masses()``, one per argument) only where the least or the largest could fail."""
    checks: list[Check] = []
    rows = None
    for i, (st, x, name, form) in enumerate(zip(stats, xs, spec.names, spec.forms, strict=True)):
        if st.nbad:
            checks += _validate.entry_checks(np, x, name, form)
        if form == "logits" or _masses_pass(st.least, st.most, x.dtype, n, spec.normalize):
            continue
        if rows is None:
            rows = log_masses()
        checks.append(
            _validate.mass_check(
                np,
                np.reshape(rows[i], batch),
                name,
                dtype=x.dtype,
                n=n,
                normalize=spec.normalize,
                hint=True,
            )
        )
    return checks


def _masses_pass(least: float, most: float, dtype: Any, n: int, normalize: bool) -> bool:
    """Whether every row passes the mass check (:func:`~infoloss._validate.mass_check`),
    from the least and the largest log-mass alone (NaN in either: not known, so the full
    check is made)."""
    if normalize:
        return least > -np.inf
    lo, hi = _validate.mass_bounds(np, dtype, n)
    return lo <= least and most <= hi


def _kernel_rows(kind: str, xs: list[Array], spec: MeasureSpec) -> tuple[Array, list[Check]] | None:
    blocks = _layout.row_blocks(*xs, min_size=_layout.MEASURES_MIN_SIZE)
    if blocks is None:
        return None
    from .._kernels import measure_rows
    from .._kernels._results import merged

    views = list(zip(*blocks, strict=True))
    parts = [measure_rows(kind, b, spec.forms, spec.normalize, rows=False) for b in views]
    value = np.concatenate([r.value for r in parts]) if len(parts) > 1 else parts[0].value
    stats = [merged([r.stats[i] for r in parts]) for i in range(len(xs))]

    def log_masses() -> list[np.ndarray]:
        again = [measure_rows(kind, b, spec.forms, spec.normalize) for b in views]
        return [np.concatenate([r.stats[i].log_mass for r in again]) for i in range(len(xs))]

    batch = tuple(xs[0].shape[:-1])
    checks = _kernel_checks(stats, xs, spec, batch, xs[0].shape[-1], log_masses)
    return value.reshape(batch).astype(xs[0].dtype, copy=False), checks


def run_rows(kind: str, arrays: tuple[Any, ...], spec: MeasureSpec) -> Array:
    """``kind`` ("entropy", "cross_entropy", "kl", "js") of distributions along an axis."""
    xp, xs = _convert(arrays, spec.names)
    assert isinstance(spec.axis, int)
    ax = resolve_axis(spec.axis, xs[0].ndim, spec.names[0])
    if ax != xs[0].ndim - 1:
        xs = [xp.moveaxis(x, ax, -1) for x in xs]
    if xs[0].shape[-1] == 0:
        raise ValueError(
            f"`{spec.names[0]}` has empty distributions: the outcome axis has length 0"
        )
    fast = _kernel_rows(kind, xs, spec)
    if fast is None:
        with np.errstate(all="ignore"):  # bad data is reported by the checks, not warnings
            fast = _array_api.measure_rows(xp, kind, xs, spec.forms, spec.names, spec.normalize)
    return _finish(xp, *fast, spec)


def run_joint(kind: str, pxy: Any, spec: MeasureSpec) -> Array:
    """``kind`` ("joint_entropy", "conditional_entropy", "mutual_information") of tables."""
    (name,) = spec.names
    xp, (x,) = _convert((pxy,), spec.names)
    if x.ndim < 2:
        raise ValueError(f"`{name}` must have at least two dimensions; got shape {tuple(x.shape)}")
    assert isinstance(spec.axis, tuple)
    ax = tuple(resolve_axis(a, x.ndim, name, "axes") for a in spec.axis)
    if ax[0] == ax[1]:
        raise ValueError(f"`axes` must name two different axes; got {spec.axis!r}")
    x = xp.moveaxis(x, ax, (-2, -1))
    if x.shape[-2] == 0 or x.shape[-1] == 0:
        raise ValueError(f"`{name}` has an empty joint table")
    (form,) = spec.forms
    view = _layout.table_view(x)
    res = None
    if view is not None:
        from .._kernels import joint_rows

        res = joint_rows(kind, view, form, spec.normalize)
    if res is not None:
        batch = tuple(x.shape[:-2])
        flat = np.reshape(x, (*batch, x.shape[-2] * x.shape[-1]))
        stats = list(res.stats)
        checks = _kernel_checks(
            stats, [flat], spec, batch, flat.shape[-1], lambda: [s.log_mass for s in stats]
        )
        value = res.value.reshape(batch).astype(x.dtype, copy=False)
        return _finish(xp, value, checks, spec)
    with np.errstate(all="ignore"):
        value, checks = _array_api.joint_rows(xp, kind, x, form, name, spec.normalize)
    return _finish(xp, value, checks, spec)
