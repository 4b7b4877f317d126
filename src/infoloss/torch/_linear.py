"""The linear cross-entropy for tensors: ``torch.ops.infoloss.linear_xent`` and
``linear_xent_backward``, and :func:`linear_cross_entropy`."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch

from .._validate import enforce
from ..losses import linear as _linear
from ..losses.softmax import softmax_cross_entropy
from ._route import _kernels_on, _transformed
from ._views import _FLOATS, _numpy

Reduction = Literal["mean", "sum", "none"]

# ========================================================== linear cross-entropy
#
# :func:`infoloss.losses.linear_cross_entropy` for tensors: the same chunk loop
# (:mod:`infoloss.losses.linear`) on views of the tensors' memory, with PyTorch's matrix
# products.  One operator, ``infoloss::linear_xent``, returns the reduced loss, each row's
# log-sum-exp and, for "mean"/"sum" when an input needs a gradient, the gradients
# themselves, computed in the forward's pass (the kernel's dlogits of a chunk are used at
# once and dropped); the backward scales them by the upstream scalar.  For "none" the
# upstream is per sample: the backward operator ``infoloss::linear_xent_backward``
# recomputes each chunk's logits from hidden and weight and the saved log-sum-exps.
# Nothing of size N×V is kept between forward and backward.

__all__ = ["linear_cross_entropy", "linear_xent", "linear_xent_backward"]


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a)


def _t_logits(h: np.ndarray, w: np.ndarray, b: np.ndarray | None, out: np.ndarray) -> None:
    if b is None:
        torch.mm(_t(h), _t(w).T, out=_t(out))
    else:
        torch.addmm(_t(b), _t(h), _t(w).T, out=_t(out))


def _t_grad_hidden(g: np.ndarray, w: np.ndarray, out: np.ndarray) -> None:
    torch.mm(_t(g), _t(w), out=_t(out))


def _t_grad_weight(g: np.ndarray, h: np.ndarray, acc: np.ndarray, first: bool) -> None:
    if first:
        torch.mm(_t(g).T, _t(h), out=_t(acc))
    else:
        _t(acc).addmm_(_t(g).T, _t(h))


TORCH_OPS = _linear.MatmulOps(_t_logits, _t_grad_hidden, _t_grad_weight)


def _maybe(t: torch.Tensor | None) -> np.ndarray | None:
    return None if t is None else _numpy(t)


def _empty_or(a: np.ndarray | None, like: torch.Tensor) -> torch.Tensor:
    return like.new_empty((0,)) if a is None else torch.from_numpy(a)


@torch.library.custom_op("infoloss::linear_xent", mutates_args=())
def linear_xent(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    targets: torch.Tensor,
    class_weight: torch.Tensor | None,
    label_smoothing: float,
    ignore_index: int | None,
    reduction: str,
    chunk_size: int | None,
    grad_mask: list[bool],
    validate: bool,
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Softmax cross-entropy of ``hidden @ weight.T + bias`` (CPU float32/float64, one
    dtype) against int labels, in chunks of rows.

    Returns ``(loss, lse, grad_hidden, grad_weight, grad_bias)``: the reduced loss (a
    scalar, or (N,) for "none") in the inputs' dtype, each row's log-sum-exp (float64),
    and for "mean"/"sum" the gradients of the loss for the inputs ``grad_mask`` (hidden,
    weight, bias) selects, computed in the same pass (empty tensors otherwise).  With
    ``validate``, bad data raises the NumPy path's ValueError.  ``softcap`` and
    ``lse_square_scale`` as in :func:`infoloss.softmax_cross_entropy`.
    """
    spec = _linear.linear_spec(
        label_smoothing, ignore_index, reduction, validate, softcap, lse_square_scale
    )
    p = _linear.prepare_linear(
        _numpy(hidden),
        _numpy(weight),
        _numpy(targets),
        _maybe(bias),
        _maybe(class_weight),
        spec,
        chunk_size,
    )
    if p.checks:
        enforce(np, np.zeros(()), p.checks)
    scale = _linear.reduction_scale(p.s, reduction)
    mask = [bool(m) for m in grad_mask] if reduction != "none" else [False] * 3
    want = (mask[0], mask[1], mask[2] and p.b is not None)
    fwd = _linear.linear_xent_forward(
        p.h, p.w, p.b, p.args, p.chunk, TORCH_OPS, scale=scale, want=want
    )
    if validate and fwd.bad_rows is not None:
        raise _linear.logits_error(p.h, p.w, p.b, fwd.bad_rows, capped=softcap is not None)
    value = np.asarray(_linear.reduced(fwd.loss, reduction, scale), dtype=p.h.dtype)
    return (
        torch.from_numpy(value.copy()),
        torch.from_numpy(fwd.lse),
        _empty_or(fwd.grad_hidden, hidden),
        _empty_or(fwd.grad_weight, hidden),
        _empty_or(fwd.grad_bias, hidden),
    )


def _fake_grads(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    mask: list[bool],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    shapes = (hidden.shape, weight.shape, None if bias is None else bias.shape)
    return tuple(  # type: ignore[return-value]
        hidden.new_empty(s if (m and s is not None) else (0,))
        for s, m in zip(shapes, mask, strict=True)
    )


@linear_xent.register_fake
def _(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    targets: torch.Tensor,
    class_weight: torch.Tensor | None,
    label_smoothing: float,
    ignore_index: int | None,
    reduction: str,
    chunk_size: int | None,
    grad_mask: list[bool],
    validate: bool,
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    n = hidden.shape[0]
    loss = hidden.new_empty((n,) if reduction == "none" else ())
    mask = list(grad_mask) if reduction != "none" else [False] * 3
    return (
        loss,
        hidden.new_empty((n,), dtype=torch.float64),
        *_fake_grads(hidden, weight, bias, mask),
    )


@torch.library.custom_op("infoloss::linear_xent_backward", mutates_args=())
def linear_xent_backward(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    targets: torch.Tensor,
    class_weight: torch.Tensor | None,
    label_smoothing: float,
    ignore_index: int | None,
    chunk_size: int | None,
    lse: torch.Tensor,
    upstream: torch.Tensor,
    reduction: str,
    grad_mask: list[bool],
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The gradients of ``upstream`` times the loss of :func:`linear_xent` (``upstream``
    per sample, (N,), for "none", else a scalar) for the inputs ``grad_mask`` selects
    (empty tensors for the others), each chunk's logits recomputed; ``lse`` from
    :func:`linear_xent`, the options as there."""
    spec = _linear.linear_spec(
        label_smoothing, ignore_index, "none", False, softcap, lse_square_scale
    )
    p = _linear.prepare_linear(
        _numpy(hidden),
        _numpy(weight),
        _numpy(targets),
        _maybe(bias),
        _maybe(class_weight),
        spec,
        chunk_size,
    )
    want = (grad_mask[0], grad_mask[1], grad_mask[2] and p.b is not None)
    up = _numpy(upstream.to(torch.float64))
    if reduction != "none":
        up = np.full(p.h.shape[0], float(up) * _linear.reduction_scale(p.s, reduction))
    gh, gw, gb = _linear.linear_xent_backward(
        p.h, p.w, p.b, p.args, p.chunk, _numpy(lse), up, TORCH_OPS, want=want
    )
    return _empty_or(gh, hidden), _empty_or(gw, hidden), _empty_or(gb, hidden)


@linear_xent_backward.register_fake
def _(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    targets: torch.Tensor,
    class_weight: torch.Tensor | None,
    label_smoothing: float,
    ignore_index: int | None,
    chunk_size: int | None,
    lse: torch.Tensor,
    upstream: torch.Tensor,
    reduction: str,
    grad_mask: list[bool],
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return _fake_grads(hidden, weight, bias, list(grad_mask))


def _linear_setup(ctx: Any, inputs: tuple[Any, ...], output: tuple[Any, ...]) -> None:
    hidden, weight, bias, targets, cw, eps, ign, reduction, chunk, mask, _, cap, zscale = inputs
    _, lse, gh, gw, gb = output
    ctx.options = (eps, ign, reduction, chunk, list(mask))
    ctx.extra = (cap, zscale)
    ctx.mark_non_differentiable(lse, gh, gw, gb)
    # The other outputs get no upstream gradient: without this autograd would pass
    # zeros of their shapes (a grad_weight-sized allocation) to the backward.
    ctx.set_materialize_grads(False)
    ctx.compiled = bool(torch.compiler.is_compiling())
    if ctx.compiled:  # traced graphs keep tensors through save_for_backward only
        ctx.save_for_backward(hidden, weight, bias, targets, cw, lse, gh, gw, gb)
        ctx.grads = None
    else:
        # The forward's gradients are handed to the first backward, which scales them in
        # place (no second copy of grad_weight); a later backward through a retained
        # graph finds them gone and recomputes them from the chunks.
        ctx.save_for_backward(hidden, weight, bias, targets, cw, lse)
        ctx.grads = [gh, gw, gb]


def _linear_backward(ctx: Any, upstream: torch.Tensor | None, *_: Any) -> tuple[Any, ...]:
    if upstream is None:
        return (None,) * 13
    hidden, weight, bias, targets, cw, lse, *saved = ctx.saved_tensors
    eps, ign, reduction, chunk, mask = ctx.options
    factor = upstream.to(hidden.dtype)
    if reduction != "none" and ctx.compiled:
        gh, gw, gb = (g * factor for g in saved)
    elif reduction != "none" and ctx.grads is not None:
        grads, ctx.grads = ctx.grads, None
        gh, gw, gb = (g.mul_(factor) if m else g for g, m in zip(grads, mask, strict=True))
    else:
        gh, gw, gb = linear_xent_backward(
            hidden,
            weight,
            bias,
            targets,
            cw,
            eps,
            ign,
            chunk,
            lse,
            upstream,
            reduction,
            mask,
            *ctx.extra,
        )
    needs = ctx.needs_input_grad
    grads = [g if (needs[i] and mask[i]) else None for i, g in enumerate((gh, gw, gb))]
    if bias is None:
        grads[2] = None
    return (*grads, *(None,) * 10)


linear_xent.register_autograd(_linear_backward, setup_context=_linear_setup)


def _linear_operators_apply(tensors: list[torch.Tensor | None]) -> bool:
    real = [t for t in tensors if t is not None]
    if not all(isinstance(t, torch.Tensor) and t.device.type == "cpu" for t in real):
        return False
    return _kernels_on() and not _transformed()


def linear_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    targets: torch.Tensor,
    /,
    *,
    bias: torch.Tensor | None = None,
    class_weight: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    lse_square_scale: float = 0.0,
    softcap: float | None = None,
    chunk_size: int | None = None,
    validate: bool = True,
) -> torch.Tensor:
    r"""Softmax cross-entropy of ``hidden @ weight.T + bias`` against labels, in chunks of
    rows without the N×V logits, differentiable in ``hidden``, ``weight`` and ``bias``.

    The tensor form of :func:`infoloss.losses.linear_cross_entropy` (same arguments and
    meaning; ``ignore_index`` None by default, as there): equal to
    ``infoloss.softmax_cross_entropy(F.linear(hidden, weight, bias), targets,
    weight=class_weight, ...)``, and to ``F.cross_entropy`` on the same logits except
    that ``"mean"`` with every sample ignored is 0 (not NaN).

    On CPU float32/float64 tensors it runs the operator ``torch.ops.infoloss.linear_xent``
    (a :func:`torch.library.custom_op` with a fake implementation and
    ``register_autograd``).  For ``"mean"`` and ``"sum"``, when an input needs a
    gradient, the forward computes the gradients in the same pass over the chunks (three
    matrix products in all, as the unfused forward and backward; PyTorch's chunked
    ``F.linear_cross_entropy`` does the same), and the backward scales them by the
    upstream gradient; for ``"none"`` the forward keeps each row's log-sum-exp and the
    backward (``torch.ops.infoloss.linear_xent_backward``) recomputes each chunk's logits
    for the per-sample upstream gradient.  Neither keeps anything of size N×V.  The first
    backward scales the forward's gradients in place; a second one through a retained
    graph recomputes them from the chunks.  Higher-order gradients are not provided.  Elsewhere (other devices, kernels switched
    off, ``torch.func`` transforms) it materialises the logits and runs
    :func:`infoloss.softmax_cross_entropy`.

    Examples
    --------
    >>> import torch
    >>> import infoloss.torch as ilt
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <...>
    >>> h = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    >>> w = torch.randn(9, 4, dtype=torch.float64, requires_grad=True)
    >>> y = torch.tensor([0, 3, 8, 2, 2, 1])
    >>> loss = ilt.linear_cross_entropy(h, w, y, label_smoothing=0.1, chunk_size=4)
    >>> loss.backward()
    >>> h2, w2 = h.detach().requires_grad_(), w.detach().requires_grad_()
    >>> ref = torch.nn.functional.cross_entropy(h2 @ w2.T, y, label_smoothing=0.1)
    >>> ref.backward()
    >>> bool(torch.allclose(loss, ref)), bool(torch.allclose(w.grad, w2.grad))
    (True, True)
    """
    spec = _linear.linear_spec(
        label_smoothing, ignore_index, reduction, validate, softcap, lse_square_scale
    )
    tensors = [hidden, weight, targets, bias, class_weight]
    if not _linear_operators_apply(tensors) or hidden.dtype not in _FLOATS:
        logits = torch.nn.functional.linear(hidden, weight, bias)
        return softmax_cross_entropy(  # type: ignore[no-any-return]
            logits,
            targets,
            weight=class_weight,
            label_smoothing=label_smoothing,
            ignore_index=ignore_index,
            reduction=reduction,
            lse_square_scale=lse_square_scale,
            softcap=softcap,
            validate=validate,
        )
    if weight.dtype != hidden.dtype or (bias is not None and bias.dtype != hidden.dtype):
        raise ValueError(
            f"`hidden`, `weight` and `bias` must share a dtype; got {hidden.dtype}, "
            f"{weight.dtype} and {None if bias is None else bias.dtype}"
        )
    if class_weight is not None and class_weight.requires_grad:
        raise ValueError("`class_weight` cannot require a gradient")
    if chunk_size is not None:
        _linear._parse_chunk(chunk_size, 1, 1, 1)
    grad_on = torch.is_grad_enabled()
    mask = [grad_on and t is not None and t.requires_grad for t in (hidden, weight, bias)]
    cw = None if class_weight is None else class_weight.to(torch.float64)
    ign = spec.ignore_index
    out = linear_xent(
        hidden,
        weight,
        bias,
        targets,
        cw,
        spec.smoothing,
        None if ign is None else int(ign),
        spec.reduction,
        None if chunk_size is None else int(chunk_size),
        mask,
        spec.validate,
        spec.softcap,
        spec.lse_square_scale,
    )
    loss: torch.Tensor = out[0]
    return loss
