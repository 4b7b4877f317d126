"""How a loss is put together: forward, validation, reduction, backward.

Each loss is a pair of functions on arrays whose class axis is last:

* ``forward(xp, z, targets, spec) -> Forward``: the per-sample losses, the per-sample
  weights that a ``"mean"`` divides by, and what the backward needs;
* ``backward(xp, forward, upstream) -> grad``: the gradient of ``Σ_i upstream_i ℓ_i`` with
  respect to the logits, for a per-sample ``upstream``.

:func:`run` composes them for the public functions; autograd operators wrap the same
pair.  The validator's checks are enforced before any gradient is formed or written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .._options import LossSpec
from .._validate import Check, enforce
from .._xp import Array, result

__all__ = ["Forward", "LossAndGrad", "LossPair", "reduce", "run"]


class Forward(NamedTuple):
    loss: Array  # per sample (or per element), weighted; batch-shaped
    weight: Array  # per-sample weight s_i: the "mean" divides by its sum
    saved: tuple[Any, ...]  # what the backward needs


class LossPair(NamedTuple):
    forward: Callable[[Any, Array, Any, LossSpec], Forward]
    backward: Callable[[Any, Forward, Array], Array]


class LossAndGrad(NamedTuple):
    """A loss and its gradient with respect to the logits (unpacks as ``loss, grad``)."""

    loss: Array
    grad: Array


def reduce(xp: Any, loss: Array, weight: Array, reduction: str) -> tuple[Array, Array]:
    """The reduced loss and the upstream factor of each sample's gradient.

    ``"mean"`` divides by ``Σ weight``; where that is 0 (every target ignored or weighted
    0) the mean and its gradient are 0.
    """
    if reduction == "none":
        return loss, xp.ones_like(loss)
    total = xp.sum(loss)
    if reduction == "sum":
        return total, xp.ones_like(loss)
    wsum = xp.sum(weight)
    nonzero = wsum > 0
    den = xp.where(nonzero, wsum, xp.ones_like(wsum))
    scale = xp.where(nonzero, 1 / den, xp.zeros_like(den))
    return xp.where(nonzero, total / den, xp.zeros_like(total)), scale * xp.ones_like(loss)


def check_grad_out(grad_out: Any, return_grad: bool, shape: tuple[int, ...], dtype: Any) -> None:
    if grad_out is None:
        return
    if not return_grad:
        raise ValueError("`grad_out` needs return_grad=True")
    got = tuple(getattr(grad_out, "shape", ()))
    if got != shape or getattr(grad_out, "dtype", None) != dtype:
        raise ValueError(
            f"`grad_out` must be an array of shape {shape} and dtype {dtype}; got "
            f"shape {got} and dtype {getattr(grad_out, 'dtype', type(grad_out).__name__)}"
        )


def move_back(xp: Any, x: Array, axis: int | None) -> Array:
    """Undo the pipeline's move of the class axis to the end."""
    if axis is None or axis == x.ndim - 1:
        return x
    return xp.moveaxis(x, -1, axis)


def run(
    xp: Any,
    pair: LossPair,
    z: Array,
    targets: Any,
    checks: list[Check],
    spec: LossSpec,
    *,
    axis: int | None,
    return_grad: bool,
    grad_out: Any = None,
) -> Any:
    """Forward, checks, reduction and (on request) backward, on the array-API path."""
    with np.errstate(all="ignore"):  # bad data is reported by the checks, not warnings
        fwd = pair.forward(xp, z, targets, spec)
    loss = enforce(xp, fwd.loss, checks) if spec.validate else fwd.loss
    value, upstream = reduce(xp, loss, fwd.weight, spec.reduction)
    if not return_grad:
        return result(xp, value)
    with np.errstate(all="ignore"):
        grad = move_back(xp, pair.backward(xp, fwd, upstream), axis)
    if spec.validate and checks and type(grad).__module__.startswith("dask"):
        grad = enforce(xp, grad, checks)
    if grad_out is not None:
        grad_out[...] = grad
        grad = grad_out
    return LossAndGrad(result(xp, value), grad)
