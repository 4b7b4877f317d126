"""The route of :func:`infoloss.softmax_cross_entropy` for tensors: the operators, the
pipeline's checks on the kernels' counts, the reductions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import array_api_compat
import torch

from .._kernels import _layout, enabled
from .._validate import enforce
from ..losses._compose import LossAndGrad, move_back
from ..losses._routes import BadCounts, SoftmaxCall, needed_checks
from ..losses._targets import SoftmaxTargets
from ._ops import softmax_xent_forward, softmax_xent_fused
from ._views import _FLOATS

# ----------------------------------------------------------------------- helpers


def _enabled() -> bool:
    return enabled()


# A constant to torch.compile (switching the kernels off does not recompile a graph).
_kernels_on: Callable[[], bool] = torch.compiler.assume_constant_result(_enabled)  # type: ignore[no-untyped-call]


def _reduce(loss: torch.Tensor, weight: torch.Tensor, reduction: str, dtype: Any) -> torch.Tensor:
    """The reduced loss in ``dtype``, summed in float64; ``"mean"`` divides by Σ weight,
    and is 0 (with a zero gradient) where that is 0."""
    if reduction == "none":
        return loss.to(dtype)
    total = loss.sum()
    if reduction == "mean":
        wsum = weight.sum()
        # The division is masked in its input, so the discarded branch has no 0/0 gradient.
        nonzero = wsum > 0
        total = total * torch.where(nonzero, 1 / torch.where(nonzero, wsum, 1.0), 0.0)
    return total.to(dtype)


# ------------------------------------------------------------------ the route


def _applies(call: SoftmaxCall) -> bool:
    """Whether the operators take ``call``: a CPU float32/float64 tensor of at least
    ``MIN_SIZE`` logits, kernels on, outside ``torch.func`` transforms, targets and weights
    that need no gradient, and no ``ignore_index`` with probability targets."""
    z, tg = call.z, call.targets
    return (
        type(z) is torch.Tensor
        and z.device.type == "cpu"
        and z.dtype in _FLOATS
        and z.numel() >= _layout.MIN_SIZE
        and enabled()
        and not _transformed()
        and (tg.u is None or call.spec.ignore_index is None)
        and not any(a is not None and a.requires_grad for a in (tg.u, tg.w))
    )


def _operator_target(tg: SoftmaxTargets, ignore_index: float | None) -> torch.Tensor:
    """The operators' target: the labels (ignored samples carry ``ignore_index`` again),
    or the probability targets."""
    target = tg.u if tg.u is not None else tg.labels
    assert target is not None
    if tg.u is None and ignore_index is not None:
        target = torch.where(tg.keep > 0, target, ignore_index)
    out: torch.Tensor = target
    return out


def softmax_cross_entropy_route(call: SoftmaxCall) -> Any:
    """:func:`infoloss.softmax_cross_entropy` for a tensor through the operators, the
    pipeline's checks enforced before a value is returned, the result a tensor with
    autograd through the operators; None where the operators do not apply (see
    :func:`_applies`: CUDA and other devices, other dtypes, small tensors...), and then
    the array-API code runs.  The route of :mod:`infoloss.losses._routes`."""
    if not _applies(call):
        return None
    z, tg, spec = call.z, call.targets, call.spec
    target = _operator_target(tg, spec.ignore_index)
    weight = None if tg.w is None else tg.w.to(torch.float64)
    args = (target, weight, spec.smoothing, spec.ignore_index, False)
    extra = (spec.softcap, spec.lse_square_scale)
    fused = call.return_grad or _fused_applies(z, spec.reduction)
    if fused:
        scale = _scale_of(tg.s, spec.reduction)
        zin = z.detach() if call.return_grad else z
        loss, _, sw, bad, grad = softmax_xent_fused(zin, *args, scale, *extra)
    else:
        loss, _, sw, bad = softmax_xent_forward(z, *args, *extra)
    xp = array_api_compat.array_namespace(z)
    if spec.validate:
        counts = BadCounts(*bad.tolist())
        loss = enforce(xp, loss, needed_checks(call.checks, counts, labels=tg.u is None))
    if not fused:
        return _reduce(loss, sw, spec.reduction, z.dtype)
    value = _reduce_scaled(loss, scale, spec.reduction, z.dtype)
    if not call.return_grad:
        return value
    grad = move_back(xp, grad, call.axis)
    if call.grad_out is not None:
        call.grad_out.copy_(grad)
        grad = call.grad_out
    return LossAndGrad(value, grad)


def _fused_applies(z: torch.Tensor, reduction: str) -> bool:
    """Whether autograd will want the logits' gradient of a reduced loss, outside
    ``torch.compile`` (whose graphs keep the two operators): then one fused pass
    computes the forward and the gradient, and the backward hands the gradient over."""
    return (
        reduction != "none"
        and z.requires_grad
        and torch.is_grad_enabled()
        and not torch.compiler.is_compiling()
    )


def _scale_of(s: torch.Tensor, reduction: str) -> float:
    """The factor of every sample's gradient: 1, or 1 / Σ s for "mean" (0 when Σ s = 0)."""
    if reduction != "mean":
        return 1.0
    total = float(s.sum(dtype=torch.float64))
    return 1.0 / total if total > 0 else 0.0


def _reduce_scaled(loss: torch.Tensor, scale: float, reduction: str, dtype: Any) -> torch.Tensor:
    """The reduced loss as ``scale · Σ ℓ_i`` (summed in float64): autograd then hands
    every sample the upstream ``scale``, exactly what the fused operator's stored
    gradient was computed for."""
    if reduction == "none":
        return loss.to(dtype)
    total = loss.sum()
    return (total if reduction == "sum" else total * scale).to(dtype)


# ----------------------------------------------------------- the drop-in forms


def _transformed() -> bool:
    # torch.func transforms (grad, vmap) do not pass through register_autograd operators.
    return bool(torch._C._are_functorch_transforms_active())
