"""The softmax cross-entropy of Dask arrays, block by block through the compiled kernels.

On Dask the array-API code builds each block's one-hot targets, reduces its rows in
several passes and runs the data checks as separate tasks that read every block again;
this route instead hands each block of rows to the NumPy loss (one fused kernel call that
reads the block once and counts its bad entries in the same pass) and reduces the blocks'
per-sample losses lazily.  A bad block raises the eager call's ``ValueError`` when the
result is computed, its first bad index counted from the top of the whole array; where
several blocks are bad, the error is that of the first one computed.

:mod:`infoloss._frameworks` imports this module the first time a Dask array reaches the
loss; it registers its route downward (:mod:`infoloss.losses._routes`).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from . import _kernels
from ._validate import moved_rows
from ._xp import result
from .losses._compose import LossAndGrad, move_back
from .losses._routes import SoftmaxCall, register_route

__all__: list[str] = []

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: The name of the tasks that compute the blocks' losses.
BLOCKS = "infoloss-softmax-blocks"


def _rows(
    z: np.ndarray,
    t: np.ndarray,
    start: np.ndarray,
    w: np.ndarray | None = None,
    *,
    options: dict[str, Any],
    grad: bool,
) -> Any:
    """One block's per-sample losses (and their gradient), as the NumPy loss gives them
    (``start``: the block's row numbers, the first of which counts its errors' rows)."""
    from .losses.softmax import softmax_cross_entropy

    # a row block arrives as the one-element list of its class blocks (no concatenation,
    # which would copy it)
    z, t, w = _whole(z), _whole(t), _whole(w)
    try:
        out = softmax_cross_entropy(
            z, t, axis=-1, weight=w, reduction="none", return_grad=grad, **options
        )
    except ValueError as exc:
        raise ValueError(moved_rows(str(exc), int(start[0]))) from None
    return (np.asarray(out.loss), out.grad) if grad else np.asarray(out)


def _whole(block: Any) -> Any:
    return block[0] if isinstance(block, list) else block


def _loss_of(pair: Any) -> np.ndarray:
    return pair[0][0] if isinstance(pair, list) else pair[0]  # type: ignore[no-any-return]


def _grad_of(pair: Any) -> np.ndarray:
    return pair[1]  # type: ignore[no-any-return]


def _applies(call: SoftmaxCall) -> bool:
    z, tg = call.z, call.targets
    return (
        _kernels.enabled()
        and call.grad_out is None
        and z.ndim == 2
        and np.dtype(z.dtype) in _FLOATS
        and (tg.given is not None if tg.labels is not None else tg.raw is not None)
    )


def _targets(call: SoftmaxCall) -> Any:
    """The targets as the NumPy loss takes them: the labels or the probability rows as
    given (each block checks its own)."""
    tg = call.targets
    return tg.given if tg.labels is not None else tg.raw


def _options(call: SoftmaxCall) -> dict[str, Any]:
    spec = call.spec
    return {
        "label_smoothing": spec.smoothing,
        "ignore_index": spec.ignore_index,
        "softcap": spec.softcap,
        "lse_square_scale": spec.lse_square_scale,
        "validate": spec.validate,
    }


def _blocks(call: SoftmaxCall) -> tuple[Any, Any]:
    """The per-sample losses and, on request, their gradient (class axis last), lazily:
    one task per block of rows."""
    import dask.array as da
    from dask.base import tokenize

    z = call.z.rechunk({1: -1})  # each row whole in one block
    labels = call.targets.labels is not None
    t = _targets(call).rechunk(z.chunks[0] if labels else z.chunks)
    # each block's row numbers (an arange block is made on the worker), for its errors
    row = da.arange(z.shape[0], chunks=z.chunks[0])
    pairs = [z, "az", t, "a" if labels else "az", row, "a"]
    if call.targets.w is not None:
        pairs += [da.asarray(call.targets.w).rechunk(-1), "z"]  # type: ignore[no-untyped-call]
    options = _options(call)
    fn = partial(_rows, options=options, grad=call.return_grad)
    name = f"{BLOCKS}-{tokenize(*pairs[::2], options, call.return_grad)}"
    dt = z.dtype
    if not call.return_grad:
        rows = da.blockwise(  # type: ignore[no-untyped-call]
            fn, "a", *pairs, dtype=dt, meta=np.empty((0,), dt), name=name
        )
        return rows, None
    # one task per block gives both (a block of this array is the pair)
    both = da.blockwise(  # type: ignore[no-untyped-call]
        fn, "az", *pairs, concatenate=True, dtype=dt, meta=np.empty((0, 0), dt), name=name
    )
    rows = da.blockwise(  # type: ignore[no-untyped-call]
        _loss_of, "a", both, "az", dtype=dt, meta=np.empty((0,), dt)
    )
    return rows, both.map_blocks(_grad_of, dtype=dt, meta=np.empty((0, 0), dt))


def softmax_route(call: SoftmaxCall) -> Any:
    """The softmax cross-entropy of Dask logits (see the module's docstring), or None
    where the route does not apply (the array-API code runs)."""
    if not _applies(call):
        return None
    import array_api_compat.dask.array as xp

    rows, grad = _blocks(call)
    value, scale = _reduced(rows, call)
    if grad is None:
        return result(xp, value)
    if scale is not None:
        grad = grad * scale.astype(grad.dtype)
    return LossAndGrad(value, move_back(xp, grad, call.axis))


def _reduced(rows: Any, call: SoftmaxCall) -> tuple[Any, Any]:
    """The reduced loss (in the logits' dtype) and, for "mean", the gradient's factor
    1 / Σ s (0 where Σ s = 0, as the eager loss)."""
    reduction = call.spec.reduction
    if reduction == "none":
        return rows, None
    total = rows.astype(np.float64).sum()
    if reduction == "sum":
        return total.astype(rows.dtype), None
    ws = call.targets.s.astype(np.float64).sum()
    scale = (ws > 0) / (ws + (ws == 0))
    return (total * scale).astype(rows.dtype), scale


register_route("dask", softmax_route)
