"""The softmax cross-entropy operators: ``torch.ops.infoloss.softmax_xent_forward``,
``softmax_xent_backward`` and ``softmax_xent_fused``, each with its fake implementation and
autograd formula."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._options import loss_spec
from .._validate import enforce
from ..losses._routes import BadCounts, kernel_options, needed_checks
from ..losses._targets import prepare_softmax
from ._views import _check_shapes, _numpy, _parts

# --------------------------------------------------------------------- operators


def _run(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    label_smoothing: float,
    ignore_index: int | None,
    validate: bool,
    softcap: float | None,
    lse_square_scale: float,
    scale: float | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The forward operators' body: (loss, lse, sample weight, bad counts, gradient), the
    gradient ``scale · ∂ℓ_i/∂z_i`` written in the same pass when ``scale`` is given (None
    otherwise); the pipeline's checks enforced when ``validate``."""
    z, t = _numpy(logits), _numpy(target)
    w = None if weight is None else _numpy(weight)
    spec = loss_spec(
        axis=-1,
        reduction="none",
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        softcap=softcap,
        lse_square_scale=lse_square_scale,
    )
    checks = prepare_softmax(z, t, w, spec)[4] if validate else None
    _check_shapes(z, t, w)
    # NumPy's allocator asks for huge pages (a large gradient faults in 512× fewer pages).
    out = None if scale is None else np.empty(z.shape, z.dtype)
    parts, grads, nbad_labels = _parts(z, t, w, label_smoothing, ignore_index, out)
    from .._kernels import xent_forward, xent_fused

    opts = kernel_options(spec.softcap, spec.lse_square_scale)
    fwds = [
        xent_forward(*p.args, **opts) if g is None else xent_fused(*p.args, g, scale, **opts)
        for p, g in zip(parts, grads, strict=True)
    ]
    batch = z.shape[:-1]
    loss = np.concatenate([f.loss for f in fwds]).reshape(batch)
    labels = t.dtype.kind in "iu"
    counts = BadCounts.of(fwds)
    if checks is not None:
        enforce(np, loss, needed_checks(checks, counts, labels=labels))
    nbad_t = nbad_labels if labels else counts.targets
    return (
        torch.from_numpy(loss),
        torch.from_numpy(np.concatenate([f.lse for f in fwds]).reshape(batch)),
        torch.from_numpy(np.concatenate([f.sample_weight for f in fwds]).reshape(batch)),
        torch.tensor([counts.logits, nbad_t], dtype=torch.int64),
        None if out is None else torch.from_numpy(out),
    )


@torch.library.custom_op("infoloss::softmax_xent_forward", mutates_args=())
def softmax_xent_forward(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    label_smoothing: float,
    ignore_index: int | None,
    validate: bool,
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-sample softmax cross-entropy of ``logits`` (..., C), class axis last.

    ``target``: integer labels (...) or probabilities (..., C); ``weight``: (C,) or None.
    Returns ``(loss, lse, sample_weight, bad)``: the per-sample losses, log-sum-exps and
    sample weights (float64, shape (...)), and ``bad`` = [bad logits, bad target entries
    or out-of-range labels] (int64).  With ``validate`` the pipeline's checks raise a
    ValueError on bad data before anything is returned; without, the caller enforces
    them (from ``bad``).  Differentiable in ``logits`` through ``loss`` only.
    ``softcap`` and ``lse_square_scale``: soft-capping and the z-loss, as in
    :func:`infoloss.softmax_cross_entropy` (``lse`` is then that of the capped logits).
    """
    args = (label_smoothing, ignore_index, validate, softcap, lse_square_scale)
    loss, lse, sw, bad, _ = _run(logits, target, weight, *args, None)
    return loss, lse, sw, bad


@softmax_xent_forward.register_fake
def _(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    label_smoothing: float,
    ignore_index: int | None,
    validate: bool,
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    batch = logits.shape[:-1]
    f64 = torch.float64
    return (
        logits.new_empty(batch, dtype=f64),
        logits.new_empty(batch, dtype=f64),
        logits.new_empty(batch, dtype=f64),
        logits.new_empty((2,), dtype=torch.int64),
    )


@torch.library.custom_op("infoloss::softmax_xent_backward", mutates_args=())
def softmax_xent_backward(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    label_smoothing: float,
    ignore_index: int | None,
    lse: torch.Tensor,
    upstream: torch.Tensor,
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> torch.Tensor:
    """``upstream_i · ∂ℓ_i/∂logits_i`` (fresh memory, ``logits``' shape and dtype) from
    the forward's ``lse``; ``upstream`` has the batch shape (one factor per sample);
    the options as in the forward."""
    z, t = _numpy(logits), _numpy(target)
    w = None if weight is None else _numpy(weight)
    _check_shapes(z, t, w)
    # NumPy's allocator asks for huge pages (a large gradient faults in 512× fewer pages).
    out = np.empty(z.shape, z.dtype)
    parts, grads, _ = _parts(z, t, w, label_smoothing, ignore_index, out)
    lse_rows = np.reshape(_numpy(lse), -1)
    up_rows = np.reshape(_numpy(upstream.to(torch.float64)), -1)
    from .._kernels import xent_backward

    opts = kernel_options(softcap, lse_square_scale)
    for p, g in zip(parts, grads, strict=True):
        xent_backward(*p.args, lse_rows[p.rows], up_rows[p.rows], g, **opts)
    return torch.from_numpy(out)


@softmax_xent_backward.register_fake
def _(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    label_smoothing: float,
    ignore_index: int | None,
    lse: torch.Tensor,
    upstream: torch.Tensor,
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> torch.Tensor:
    return logits.new_empty(logits.shape)


def _setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Any, ...]) -> None:
    logits, target, weight, smoothing, ignore_index, _, softcap, zscale = inputs
    ctx.save_for_backward(logits, target, weight, output[1])
    ctx.options = (smoothing, ignore_index)
    ctx.extra = (softcap, zscale)
    ctx.mark_non_differentiable(output[1], output[2], output[3])


def _backward(ctx: Any, upstream: torch.Tensor, *_: Any) -> tuple[Any, ...]:
    logits, target, weight, lse = ctx.saved_tensors
    grad = None
    if ctx.needs_input_grad[0]:
        grad = softmax_xent_backward(
            logits, target, weight, *ctx.options, lse, upstream, *ctx.extra
        )
    return grad, None, None, None, None, None, None, None


softmax_xent_forward.register_autograd(_backward, setup_context=_setup_context)


@torch.library.custom_op("infoloss::softmax_xent_fused", mutates_args=())
def softmax_xent_fused(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    label_smoothing: float,
    ignore_index: int | None,
    validate: bool,
    scale: float,
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`softmax_xent_forward` and, in the same pass over the logits,
    ``scale · ∂ℓ_i/∂logits_i`` (fresh memory, ``logits``' shape and dtype) as a fifth
    output: the forward and backward of ``scale · Σ_i ℓ_i`` ("mean" and "sum") in one read.

    Differentiable in ``logits`` through ``loss``: the backward hands back the stored
    gradient when the upstream of every sample equals ``scale`` exactly (as it does under
    the reductions the library forms), once; a later backward through a retained graph
    gets a fresh copy from the same fused pass, and any other upstream the gradient
    computed afresh from ``lse``.
    """
    args = (label_smoothing, ignore_index, validate, softcap, lse_square_scale)
    loss, lse, sw, bad, grad = _run(logits, target, weight, *args, float(scale))
    assert grad is not None
    return loss, lse, sw, bad, grad


@softmax_xent_fused.register_fake
def _(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    label_smoothing: float,
    ignore_index: int | None,
    validate: bool,
    scale: float,
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    batch = logits.shape[:-1]
    f64 = torch.float64
    return (
        logits.new_empty(batch, dtype=f64),
        logits.new_empty(batch, dtype=f64),
        logits.new_empty(batch, dtype=f64),
        logits.new_empty((2,), dtype=torch.int64),
        logits.new_empty(logits.shape),
    )


def _fused_setup(ctx: Any, inputs: tuple[Any, ...], output: tuple[Any, ...]) -> None:
    logits, target, weight, smoothing, ignore_index, _, scale, softcap, zscale = inputs
    # The stored gradient is handed out at most once (the first backward that can use
    # it): it then belongs to the caller, who may change it in place, so it is neither
    # handed out again (two results sharing memory) nor a saved tensor (whose version
    # check would fail a later backward through a retained graph).  A later backward
    # with the same upstream runs the same fused pass again, so it gets the same bits.
    ctx.save_for_backward(logits, target, weight, output[1])
    ctx.stored = output[4]
    ctx.options = (smoothing, ignore_index)
    ctx.extra = (softcap, zscale)
    ctx.scale = scale
    ctx.mark_non_differentiable(*output[1:])
    # Else autograd hands the backward zeros for the unused outputs, the gradient's
    # among them: an (N, C) fill that cost more than the fused pass.
    ctx.set_materialize_grads(False)


def _fused_backward(ctx: Any, upstream: torch.Tensor | None, *_: Any) -> tuple[Any, ...]:
    logits, target, weight, lse = ctx.saved_tensors
    grad = None
    if ctx.needs_input_grad[0] and upstream is not None:
        # The reductions (``_reduce_scaled``) give every sample the upstream ``scale``
        # exactly; any other upstream gets the gradient computed afresh for it, as does
        # a traced backward (a graph cannot branch on the data).
        if _concrete(upstream) and bool(torch.all(upstream == ctx.scale)):
            grad, ctx.stored = ctx.stored, None
            if grad is None:  # handed out before: the fused pass again, bit for bit
                args = (*ctx.options, False, ctx.scale, *ctx.extra)
                grad = softmax_xent_fused(logits.detach(), target, weight, *args)[4]
        else:
            grad = softmax_xent_backward(
                logits, target, weight, *ctx.options, lse, upstream, *ctx.extra
            )
    return grad, None, None, None, None, None, None, None, None


softmax_xent_fused.register_autograd(_fused_backward, setup_context=_fused_setup)


def _concrete(t: torch.Tensor) -> bool:
    """Whether ``t`` holds data (not a tensor traced by ``torch.compile`` or ``opcheck``)."""
    from torch._subclasses.fake_tensor import is_fake

    return not (torch.compiler.is_compiling() or is_fake(t))
