"""The drop-ins for PyTorch's cross-entropy: :func:`cross_entropy` and
:class:`CrossEntropyLoss` (class axis 1)."""

from __future__ import annotations

from typing import Any, Literal

import torch

from ..losses.softmax import softmax_cross_entropy
from ._eager import DropInCall, _eager_cross_entropy, _native_loss, drop_in_spec
from ._ops import softmax_xent_forward, softmax_xent_fused
from ._route import _fused_applies, _kernels_on, _reduce, _reduce_scaled, _scale_of, _transformed
from ._views import _FLOATS

Reduction = Literal["mean", "sum", "none"]
_is_compiling = torch.compiler.is_compiling


def _operators_apply(input: Any, target: Any, weight: Any) -> bool:
    tensors = [input, target] + ([] if weight is None else [weight])
    if not all(isinstance(a, torch.Tensor) and a.device.type == "cpu" for a in tensors):
        return False
    if input.dtype not in _FLOATS or (weight is not None and weight.requires_grad):
        return False
    if target.is_floating_point() and target.requires_grad:
        return False
    return _kernels_on() and not _transformed()


def cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
    lse_square_scale: float = 0.0,
    softcap: float | None = None,
) -> torch.Tensor:
    r"""Softmax cross-entropy with :func:`torch.nn.functional.cross_entropy`'s arguments.

    ``input`` is (C,), (N, C) or (N, C, d1, ...) logits (class axis 1, or 0 for one
    sample); ``target`` class indices of ``input``'s shape without the class axis, or
    class probabilities of ``input``'s shape.  The loss of a sample is

    .. math::

        \ell = -\sum_c w_c\,\tilde p_c \log \operatorname{softmax}(z)_c,
        \qquad \tilde p = (1-ε)\,p + ε/C,

    and ``"mean"`` divides :math:`\sum_i \ell_i` by the total sample weight
    :math:`\sum_i \sum_c w_c p_{ic}` (:math:`w_{y_i}` for labels; 0 for ignored ones).

    Two keyword options go beyond PyTorch's signature (their defaults change nothing):
    ``lse_square_scale`` λ adds the z-loss :math:`λ\,s_i \operatorname{lse}(z_i)^2` to
    each sample's loss (:math:`s_i` its sample weight), and ``softcap`` c makes the loss
    read the logits :math:`c \tanh(z/c)`; see :func:`infoloss.softmax_cross_entropy`.

    On CPU float32/float64 tensors it runs the fused kernels (``softmax_xent_forward``,
    with autograd through ``softmax_xent_backward``), which ``torch.compile(fullgraph=True)``
    traces as two operators; on other devices and dtypes, for targets or weights that need
    gradients and inside ``torch.func`` transforms it runs
    :func:`infoloss.softmax_cross_entropy`'s array-API code.  Bad data raises the same
    ``ValueError`` as :func:`infoloss.softmax_cross_entropy`; inside ``torch.func``
    transforms (``vmap``, ``grad``, ``jacrev``...), where raising would be data-dependent
    control flow, a failing check makes the loss NaN instead, as under ``jax.jit``.

    Differences from PyTorch (see ``docs/torch.md``): ``"mean"`` with every sample
    ignored (or weighted 0) is 0 with a zero gradient, not NaN; probability targets with
    ``weight`` divide the ``"mean"`` by :math:`\sum_i s_i`, not by N; ``ignore_index``
    applies to class-index targets only (as in PyTorch); the arguments after ``weight``
    are keyword-only (PyTorch's deprecated ``size_average`` and ``reduce`` are not taken).

    Examples
    --------
    >>> import torch
    >>> import infoloss.torch as ilt
    >>> z = torch.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 3.0]], requires_grad=True)
    >>> y = torch.tensor([0, 2])
    >>> loss = ilt.cross_entropy(z, y, label_smoothing=0.1)
    >>> ref = torch.nn.functional.cross_entropy(z, y, label_smoothing=0.1)
    >>> bool(torch.allclose(loss, ref))
    True
    >>> loss.backward()
    >>> q = torch.softmax(z.detach(), dim=1)
    >>> p = 0.9 * torch.eye(3)[y] + 0.1 / 3
    >>> bool(torch.allclose(z.grad, (q - p) / 2))
    True
    """
    if not _is_compiling():
        native = _native_loss(
            input,
            target,
            weight,
            ignore_index,
            reduction,
            label_smoothing,
            lse_square_scale,
            softcap,
        )
        if native is not None:
            return native
        call = DropInCall(
            input,
            target,
            weight,
            ignore_index,
            reduction,
            label_smoothing,
            lse_square_scale,
            softcap,
        )
        fast = _eager_cross_entropy(call)
        if fast is not None:
            return fast
    labels = not target.is_floating_point()
    ignore = int(ignore_index) if labels else None
    if not _operators_apply(input, target, weight):
        axis = 1 if input.ndim > 1 else 0
        return softmax_cross_entropy(  # type: ignore[no-any-return]
            input,
            target,
            axis=axis,
            weight=weight,
            label_smoothing=label_smoothing,
            ignore_index=ignore,
            reduction=reduction,
            lse_square_scale=lse_square_scale,
            softcap=softcap,
        )
    # Options are parsed (and worded) as everywhere else; the data checks run in the operator.
    spec = drop_in_spec(reduction, label_smoothing, ignore, softcap, lse_square_scale)
    z = input.movedim(1, -1) if input.ndim > 2 else input
    t = target.movedim(1, -1) if not labels and target.ndim > 2 else target
    w = None if weight is None else weight.to(torch.float64)
    extra = (spec.softcap, spec.lse_square_scale)
    if labels and _fused_applies(z, spec.reduction):
        scale = _scale_of(_label_weights(t, w, ignore, z.shape[-1]), spec.reduction)
        fused = softmax_xent_fused(z, t, w, spec.smoothing, ignore, True, scale, *extra)
        return _reduce_scaled(fused[0], scale, spec.reduction, input.dtype)
    loss, _, sw, _ = softmax_xent_forward(z, t, w, spec.smoothing, ignore, True, *extra)
    return _reduce(loss, sw, spec.reduction, input.dtype)


def _label_weights(
    t: torch.Tensor, w: torch.Tensor | None, ignore: int | None, n_classes: int
) -> torch.Tensor:
    """Each sample's weight for "mean": w[y] (1 without weights), 0 where ignored (the
    kernels' sample weights; labels out of range are the operator's error to raise)."""
    s = torch.ones(t.shape, dtype=torch.float64) if w is None else w[t.clamp(0, n_classes - 1)]
    return s if ignore is None else torch.where(t == ignore, 0.0, s)


class CrossEntropyLoss(torch.nn.Module):
    """:func:`cross_entropy` as a module, a drop-in for :class:`torch.nn.CrossEntropyLoss`
    (``weight`` a buffer, the other options keyword-only attributes; ``lse_square_scale``
    and ``softcap`` are the two beyond PyTorch's, shown by ``repr`` only when set)."""

    weight: torch.Tensor | None

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        *,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        label_smoothing: float = 0.0,
        lse_square_scale: float = 0.0,
        softcap: float | None = None,
    ) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.reduction: Reduction = reduction
        self.label_smoothing = label_smoothing
        self.lse_square_scale = lse_square_scale
        self.softcap = softcap

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
            lse_square_scale=self.lse_square_scale,
            softcap=self.softcap,
        )

    def extra_repr(self) -> str:
        text = (
            f"ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
            f"label_smoothing={self.label_smoothing}"
        )
        if self.lse_square_scale:
            text += f", lse_square_scale={self.lse_square_scale}"
        if self.softcap is not None:
            text += f", softcap={self.softcap}"
        return text
