"""Softmax cross-entropy from logits: forward, backward, and the fused pair (compiled).

Per sample i with logits z_i, target t_i (one-hot for labels), class weights w,
smoothing ε and ignored class k (labels: the whole sample; probabilities: that column)::

    keep_i = 1 − t_ik            u_i = t_i with column k zeroed
    p̃_i   = (1−ε)·u_i + ε·keep_i/C
    a_ic   = w_c p̃_ic           A_i = Σ_c a_ic
    ℓ_i    = −Σ_c a_ic log q_ic = Σ_c a_ic (lse_i − z_ic)
    s_i    = Σ_c w_c u_ic        (the sample weight of a "mean" reduction)
    ∂ℓ_i/∂z_ic = A_i q_ic − a_ic

With the z-loss λ (``lse_square_scale``) the loss gains λ·s_i·lse_i² and A_i gains
2λ·s_i·lse_i.  With soft-capping (``softcap`` c) the kernels read ζ = c·tanh(z/c) (±inf
logits give ±c) and the gradient is multiplied by sech²(z/c); ``lse`` is then that of ζ,
as the backward expects.

A term with a_ic = 0 is 0 even where z_ic = −inf; a_ic > 0 at z_ic = −inf gives ℓ_i = +inf
with a finite gradient.  ``lse − z`` is formed as ``log s − (z − m)`` with m the row maximum
and ``log s = log1p(s − 1)``, so the loss at a dominant logit keeps its relative accuracy.
Labels out of range (and not ignored) give a NaN loss and gradient and sample weight 0.

Arguments: ``z`` (N, C) float32 or float64, any strides; ``target`` int64 labels (N,) or
probabilities (N, C) of z's dtype (others are converted); ``weight`` (C,) or None;
``smoothing`` ε; ``ignore_index`` or None; ``out`` (N, C) of z's dtype, any strides.  Every
returned array is float64.  ``nbad`` counts NaN and +inf logits, and one per row with no
finite logit; probability targets' :class:`ArgStats` counts NaN, +inf and negative entries
and gives log Σ_c t_ic per row.  How the loops are shaped, and why: ``src/softmax.c``.

The squared errors (``kind`` "softmax" or "logit") take the same arguments and give the same
named result, with p̂_i = (1−ε)·u_i/keep_i + ε/C (the target given that it is not ignored;
keep_i = 1 where nothing is ignored) and s_i = Σ_c w_c u_ic (keep_i for probability
targets without class weights)::

    "softmax":  ℓ_i = ½·s_i·‖q_i − p̂_i‖²,
                ∂ℓ_i/∂z_i = s_i·q_i ⊙ (g_i − ⟨q_i, g_i⟩),  g_i = q_i − p̂_i
    "logit":    ℓ_i = s_i/C·Σ_c (1 + (k−1)·p̂_ic)·(z_ic − M·p̂_ic)²,
                ∂ℓ_i/∂z_ic = 2·s_i/C·(1 + (k−1)·p̂_ic)·(z_ic − M·p̂_ic)

A sample with s_i = 0 (ignored, or of weight 0) has loss and gradient 0 whatever its
logits; ``nbad`` counts as for the cross-entropy; ``lse`` is NaN (no backward reads it).
They have no backward: a gradient into a caller's buffer is a second fused pass (which
costs what a backward would, the softmax being needed again).
"""

from __future__ import annotations

from typing import Any, Literal

from . import _softmax
from ._results import XentForward

__all__ = ["sqerr_forward", "sqerr_fused", "xent_backward", "xent_forward", "xent_fused"]

_forward = _softmax.forward
_backward = _softmax.backward
_sqerr = _softmax.sqerr_forward

SquaredError = Literal["softmax", "logit"]

# Soft-capped logits are written, a few rows at a time, into a per-thread buffer of about
# this size (it stays in cache between the capping and the loss loops).
_CAP_BYTES = 256 << 10


def _cap_rows_per_buffer(c: int, itemsize: int) -> int:
    return max(1, _CAP_BYTES // max(1, c * itemsize))


def xent_forward(
    z: Any,
    target: Any,
    weight: Any,
    smoothing: float,
    ignore_index: int | None,
    *,
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> XentForward:
    """Per-sample losses and what the backward needs: ``XentForward(loss, lse,
    sample_weight, nbad, target_stats)`` (``target_stats`` None for labels)."""
    rows = 0 if softcap is None else _cap_rows_per_buffer(z.shape[-1], z.itemsize)
    return _forward(  # type: ignore[no-any-return]
        z, target, weight, smoothing, ignore_index, None, 1.0, softcap, rows, lse_square_scale
    )


def xent_fused(
    z: Any,
    target: Any,
    weight: Any,
    smoothing: float,
    ignore_index: int | None,
    out: Any,
    scale: float,
    *,
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> XentForward:
    """:func:`xent_forward` plus ``scale·∂ℓ_i/∂z_i`` into ``out`` in the same pass."""
    rows = 0 if softcap is None else _cap_rows_per_buffer(z.shape[-1], z.itemsize)
    return _forward(  # type: ignore[no-any-return]
        z, target, weight, smoothing, ignore_index, out, scale, softcap, rows, lse_square_scale
    )


def xent_backward(
    z: Any,
    target: Any,
    weight: Any,
    smoothing: float,
    ignore_index: int | None,
    lse: Any,
    upstream: Any,
    out: Any,
    *,
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> None:
    """``upstream_i·∂ℓ_i/∂z_i`` into ``out`` from the forward's ``lse`` (the same
    options)."""
    rows = 0 if softcap is None else _cap_rows_per_buffer(z.shape[-1], z.itemsize)
    args = (z, target, weight, smoothing, ignore_index, lse, upstream, out)
    _backward(*args, softcap, rows, lse_square_scale)


def sqerr_forward(
    kind: SquaredError,
    z: Any,
    target: Any,
    weight: Any,
    smoothing: float,
    ignore_index: int | None,
    *,
    k: float = 1.0,
    M: float = 1.0,
) -> XentForward:
    """Per-sample squared errors (``kind`` "softmax" or "logit"; ``k`` and ``M`` of the
    logit one) as ``XentForward(loss, lse, sample_weight, nbad, target_stats)``."""
    args = (kind, z, target, weight, smoothing, ignore_index)
    return _sqerr(*args, None, 1.0, k, M)  # type: ignore[no-any-return]


def sqerr_fused(
    kind: SquaredError,
    z: Any,
    target: Any,
    weight: Any,
    smoothing: float,
    ignore_index: int | None,
    out: Any,
    scale: float,
    *,
    k: float = 1.0,
    M: float = 1.0,
) -> XentForward:
    """:func:`sqerr_forward` plus ``scale·∂ℓ_i/∂z_i`` into ``out`` in the same pass."""
    args = (kind, z, target, weight, smoothing, ignore_index)
    return _sqerr(*args, out, scale, k, M)  # type: ignore[no-any-return]
