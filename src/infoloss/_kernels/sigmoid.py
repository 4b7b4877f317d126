"""The sigmoid losses, element by element: binary cross-entropy and squared error of
σ(z) (compiled).

Per element, with target t, weight w (1 when None), positive-class weight π (1 when None),
smoothing ε and an ignored target value::

    kept = t ≠ ignore_index (always, without one)
    y    = (1 − ε)·t + ε/2 where kept, else 0;  w is 0 where not kept
    "bce":  ℓ = π·y·softplus(−z) + (1 − y)·softplus(z)
            ∂ℓ/∂z = (1 − y)·σ(z) − π·y·σ(−z)
    "se":   ℓ = ½·(σ(z) − y)²,  σ(z) − y formed as (1 − y)·σ(z) − y·σ(−z)
            ∂ℓ/∂z = (σ(z) − y)·σ(z)·σ(−z)

A term whose coefficient (π·y, 1 − y, or w) is 0 is 0, even where its softplus is
infinite (z = −inf); ``w·ℓ`` is what the loss sums.

Arguments: ``z`` (N, C) float32 or float64; ``target``, ``weight``, ``pos_weight`` (N, C)
of ``z``'s dtype, any strides (a broadcast view, stride 0, is read as such; ``weight`` and
``pos_weight`` may be None); ``loss`` and ``out`` (N, C) of ``z``'s dtype, or None: where
given, ``w·ℓ`` and ``scale·w·∂ℓ/∂z`` are written into them in the same pass.  The result
is a :class:`~infoloss._kernels._results.SigmoidForward`: Σ w·ℓ and Σ w (float64) and the
counts of entries that fail each data check, in the validator's order.  Why the loop is
shaped as it is: ``src/sigmoid.c``.
"""

from __future__ import annotations

from typing import Any, Literal

from . import _sigmoid
from ._results import SigmoidForward

__all__ = ["sigmoid_forward", "sigmoid_fused"]

SigmoidLoss = Literal["bce", "se"]


def sigmoid_forward(
    kind: SigmoidLoss,
    z: Any,
    target: Any,
    weight: Any,
    pos_weight: Any,
    smoothing: float,
    ignore_index: float | None,
    *,
    loss: Any = None,
) -> SigmoidForward:
    """The sums and counts of ``kind`` over ``z``; ``w·ℓ`` per element into ``loss`` if
    given."""
    args = (kind, z, target, weight, pos_weight, smoothing, ignore_index)
    return _sigmoid.run(*args, loss, None, 1.0)  # type: ignore[no-any-return]


def sigmoid_fused(
    kind: SigmoidLoss,
    z: Any,
    target: Any,
    weight: Any,
    pos_weight: Any,
    smoothing: float,
    ignore_index: float | None,
    out: Any,
    scale: float,
    *,
    loss: Any = None,
) -> SigmoidForward:
    """:func:`sigmoid_forward` plus ``scale·w·∂ℓ/∂z`` into ``out`` in the same pass."""
    args = (kind, z, target, weight, pos_weight, smoothing, ignore_index)
    return _sigmoid.run(*args, loss, out, scale)  # type: ignore[no-any-return]
