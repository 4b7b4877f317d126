"""PyTorch: the fused softmax cross-entropy kernels as autograd operators.

Importing this module imports torch (``import infoloss`` does not).  It provides

* two operators, ``torch.ops.infoloss.softmax_xent_forward`` and
  ``torch.ops.infoloss.softmax_xent_backward``, the compiled kernels' ``xent_forward`` and
  ``xent_backward`` registered with :func:`torch.library.custom_op`, a fake (meta)
  implementation and :func:`torch.library.register_autograd`, so that autograd,
  ``torch.compile(fullgraph=True)``, :func:`torch.library.opcheck` and
  :func:`torch.autograd.gradcheck` see ordinary operators;
* :func:`cross_entropy` and :class:`CrossEntropyLoss`, drop-ins for
  :func:`torch.nn.functional.cross_entropy` and :class:`torch.nn.CrossEntropyLoss`
  (class axis 1), whose differences are listed in ``docs/torch.md``;
* :func:`softmax_cross_entropy_route`, the hook through which
  :func:`infoloss.softmax_cross_entropy` sends CPU tensors to the same operators.

The operators run on CPU float32/float64 tensors viewed as NumPy arrays without a copy
(``tensor.detach().numpy()``); a copy is made only where no small set of (N, C) views
covers the memory.  They read the caller's tensors and never write into them: the
gradient is fresh memory.  The forward returns, besides the per-sample losses, what the
backward needs (each row's log-sum-exp) and the counts of bad entries that the validator
reads, so bad data costs no second pass on the good path.

Both operators, the drop-ins and the linear cross-entropy take the two options
large-vocabulary training uses beyond PyTorch's signature: the z-loss
(``lse_square_scale``) and logit soft-capping (``softcap``), with the meaning of
:func:`infoloss.softmax_cross_entropy`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

import array_api_compat
import numpy as np
import torch

from ._kernels import _layout, enabled
from ._options import LossSpec, loss_spec
from ._validate import Check, enforce
from .losses._compose import LossAndGrad, move_back
from .losses._targets import SoftmaxTargets, prepare_softmax
from .losses.softmax import _needed_checks, kernel_options

__all__ = [
    "CrossEntropyLoss",
    "cross_entropy",
    "softmax_cross_entropy_route",
    "softmax_xent_backward",
    "softmax_xent_forward",
    "softmax_xent_fused",
]

Reduction = Literal["mean", "sum", "none"]

_FLOATS = (torch.float32, torch.float64)


# ------------------------------------------------------------------ NumPy views


def _numpy(t: torch.Tensor) -> np.ndarray:
    """The tensor's memory as a NumPy array (no copy); the kernels only read it."""
    return t.detach().resolve_conj().resolve_neg().numpy()


class _Part(NamedTuple):
    args: tuple[Any, ...]  # (z, target, weight, smoothing, ignore_index) for the kernels
    rows: slice  # the part's rows among all rows, C order


def _safe_labels(y: np.ndarray, n_classes: int, ignore_index: int | None) -> tuple[np.ndarray, int]:
    """Labels the kernels may index with (bad ones become 0), and how many were bad."""
    ok = (y >= 0) & (y < n_classes)
    if ignore_index is not None:
        ok |= y == ignore_index
    nbad = int(ok.size - np.count_nonzero(ok))
    y = np.ascontiguousarray(y.reshape(-1), dtype=np.int64)
    return (np.where(ok.reshape(-1), y, 0) if nbad else y), nbad


def _check_shapes(z: np.ndarray, t: np.ndarray, w: np.ndarray | None) -> None:
    """The shape promises the kernels rely on (the pipeline words the user's errors)."""
    c = z.shape[-1] if z.ndim else 0
    want = z.shape[:-1] if t.dtype.kind in "iu" else z.shape
    if c == 0 or t.shape != want or (w is not None and w.shape != (c,)):
        raise ValueError(
            f"softmax_xent: logits (..., C) with C > 0, target {want} and weight ({c},) "
            f"expected; got logits {z.shape}, target {t.shape} and weight "
            f"{None if w is None else w.shape}"
        )


def _parts(
    z: np.ndarray,
    t: np.ndarray,
    w: np.ndarray | None,
    smoothing: float,
    ignore_index: int | None,
    grad: np.ndarray | None = None,
) -> tuple[list[_Part], list[np.ndarray | None], int]:
    """The kernels' arguments per block of rows, the gradient block each writes, and the
    number of bad labels (0 for probability targets)."""
    c = z.shape[-1]
    labels = t.dtype.kind in "iu"
    if not labels and t.dtype != z.dtype:
        t = t.astype(z.dtype)
    xs = [z] if labels else [z, t]
    if grad is not None:
        xs.append(grad)
    # ``row_blocks`` declines small arrays (a performance rule of the pipeline); the
    # operators run at every size, on one (N, C) view, a copy only where none exists.
    blocks = _layout.row_blocks(*xs) or [[np.reshape(x, (-1, c))] for x in xs]
    ends = np.cumsum([0] + [len(b) for b in blocks[0]]).tolist()
    rows = [slice(a, b) for a, b in itertools.pairwise(ends)]
    nbad = 0
    if labels:
        y, nbad = _safe_labels(t, c, ignore_index)
        targets: Sequence[np.ndarray] = [y[r] for r in rows]
    else:
        targets = blocks[1]
    weight = None if w is None else np.ascontiguousarray(w, dtype=np.float64)
    parts = [
        _Part((zb, tb, weight, float(smoothing), ignore_index), r)
        for zb, tb, r in zip(blocks[0], targets, rows, strict=True)
    ]
    grads: list[np.ndarray | None] = list(blocks[-1]) if grad is not None else [None] * len(parts)
    return parts, grads, nbad


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
    checks: list[Check] = []
    if validate:
        checks = prepare_softmax(z, t, w, spec)[4]
    _check_shapes(z, t, w)
    # NumPy's allocator asks for huge pages (a large gradient faults in 512× fewer pages).
    out = None if scale is None else np.empty(z.shape, z.dtype)
    parts, grads, nbad_labels = _parts(z, t, w, label_smoothing, ignore_index, out)
    from ._kernels import xent_forward, xent_fused

    opts = kernel_options(spec.softcap, spec.lse_square_scale)
    fwds = [
        xent_forward(*p.args, **opts) if g is None else xent_fused(*p.args, g, scale, **opts)
        for p, g in zip(parts, grads, strict=True)
    ]
    batch = z.shape[:-1]
    loss = np.concatenate([f.loss for f in fwds]).reshape(batch)
    labels = t.dtype.kind in "iu"
    if validate:
        enforce(np, loss, _needed_checks(checks, fwds, labels=labels))
    nbad_t = nbad_labels if labels else sum(f.target_stats.nbad for f in fwds)
    return (
        torch.from_numpy(loss),
        torch.from_numpy(np.concatenate([f.lse for f in fwds]).reshape(batch)),
        torch.from_numpy(np.concatenate([f.sample_weight for f in fwds]).reshape(batch)),
        torch.tensor([sum(f.nbad for f in fwds), nbad_t], dtype=torch.int64),
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
    from ._kernels import xent_backward

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


class _Counts(NamedTuple):
    """What :func:`infoloss.losses.softmax._needed_checks` reads of a kernel forward."""

    nbad: int
    target_stats: Any


class _Stats(NamedTuple):
    nbad: int


# ------------------------------------------------------------------ the route


def softmax_cross_entropy_route(
    z: Any,
    tg: SoftmaxTargets,
    checks: list[Check],
    spec: LossSpec,
    ax: int,
    return_grad: bool,
    grad_out: Any,
) -> Any:
    """:func:`infoloss.softmax_cross_entropy` for a CPU float32/float64 tensor of at least
    ``MIN_SIZE`` entries: the operators above, the pipeline's ``checks`` enforced before a
    value is returned, the result a tensor with autograd through the operators.  None
    where the operators do not apply (CUDA and other devices, other dtypes, small tensors,
    kernels switched off, targets or weights that need gradients, probability targets
    with ``ignore_index``, inside ``torch.func`` transforms); then the array-API code runs.  Arguments and result as
    :func:`infoloss.losses.softmax._kernel_cross_entropy`."""
    if not (
        type(z) is torch.Tensor
        and z.device.type == "cpu"
        and z.dtype in _FLOATS
        and z.numel() >= _layout.MIN_SIZE
        and enabled()
        and not _transformed()
    ):
        return None
    labels = tg.u is None
    if not labels and spec.ignore_index is not None:
        return None
    if any(a is not None and a.requires_grad for a in (tg.u, tg.w)):
        return None
    if labels:
        assert tg.labels is not None
        target = tg.labels
        if spec.ignore_index is not None:  # ignored samples carry ``ignore_index`` again
            target = torch.where(tg.keep > 0, target, spec.ignore_index)
    else:
        target = tg.u
    weight = None if tg.w is None else tg.w.to(torch.float64)
    eps, ign = spec.smoothing, spec.ignore_index
    extra = (spec.softcap, spec.lse_square_scale)
    fused = return_grad or _fused_applies(z, spec.reduction)
    if fused:
        scale = _scale_of(tg.s, spec.reduction)
        zin = z.detach() if return_grad else z
        loss, _, sw, bad, grad = softmax_xent_fused(
            zin, target, weight, eps, ign, False, scale, *extra
        )
    else:
        loss, _, sw, bad = softmax_xent_forward(z, target, weight, eps, ign, False, *extra)
    if spec.validate:
        nbad, tbad = bad.tolist()
        counts = _Counts(nbad, None if labels else _Stats(tbad))
        xp = array_api_compat.array_namespace(z)
        loss = enforce(xp, loss, _needed_checks(checks, [counts], labels=labels))
    if not fused:
        return _reduce(loss, sw, spec.reduction, z.dtype)
    value = _reduce_scaled(loss, scale, spec.reduction, z.dtype)
    if not return_grad:
        return value
    grad = move_back(array_api_compat.array_namespace(z), grad, ax)
    if grad_out is not None:
        grad_out.copy_(grad)
        grad = grad_out
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
    if not torch.compiler.is_compiling():
        fast = _eager_cross_entropy(
            input,
            target,
            weight,
            ignore_index,
            reduction,
            label_smoothing,
            lse_square_scale,
            softcap,
        )
        if fast is not None:
            return fast
    labels = not target.is_floating_point()
    ignore = int(ignore_index) if labels else None
    if not _operators_apply(input, target, weight):
        from .losses.softmax import softmax_cross_entropy

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
    spec = loss_spec(
        axis=1,
        reduction=reduction,
        label_smoothing=label_smoothing,
        ignore_index=ignore,
        softcap=softcap,
        lse_square_scale=lse_square_scale,
    )
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


# ------------------------------------------------- the eager path of the drop-in
#
# Outside ``torch.compile`` and ``torch.func`` transforms, (N, C) CPU float logits against
# int64 labels take a short path: the options parsed once per distinct set (cached), the
# tensors viewed as NumPy arrays, one call of the fused kernel, and a plain
# ``torch.autograd.Function`` whose backward hands the stored gradient over (no custom-op
# dispatch, no validator pass: the kernel counts bad logits, and a bad label makes its
# loss NaN).  Whatever is not clearly good -- a bad count, a loss that is not finite,
# negative or NaN weights, other shapes, dtypes or devices -- goes the general way below,
# which gives the same values and raises the same errors; the short path only ever
# returns what that way would return.  Small batches are dominated by this per-call cost
# (0.6 ms at 256×10 through the operators against 0.08 ms for F.cross_entropy).

_PLAIN = (int, float, str, type(None))
_NP_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_SPECS: dict[tuple[Any, ...], LossSpec] = {}
_KERNELS: list[Any] = []


def _eager_spec(
    reduction: Any, smoothing: Any, ignore: Any, softcap: Any, zscale: Any
) -> LossSpec | None:
    """The parsed options, cached by value and type (None where they are not plain
    numbers and strings: those are parsed by the general way on every call)."""
    key: tuple[Any, ...] = (reduction, smoothing, ignore, softcap, zscale)
    key += (type(smoothing), type(ignore), type(softcap), type(zscale))
    try:
        return _SPECS[key]
    except KeyError:
        pass
    except TypeError:  # unhashable
        return None
    if not all(type(k) in _PLAIN for k in key[:5]):
        return None
    spec = loss_spec(
        axis=1,
        reduction=reduction,
        label_smoothing=smoothing,
        ignore_index=ignore,
        softcap=softcap,
        lse_square_scale=zscale,
    )
    if len(_SPECS) < 64:
        _SPECS[key] = spec
    return spec


def _fused_kernel() -> Any:
    if not _KERNELS:
        from ._kernels import xent_forward, xent_fused

        _KERNELS.extend((xent_forward, xent_fused))
    return _KERNELS


class _EagerFused(torch.autograd.Function):
    """The reduced loss computed outside (``box[0]``) with its gradient (``box[1]``, for
    an upstream of 1); the backward hands that gradient over once, scaled by any other
    upstream, and a later backward through a retained graph reruns the fused pass."""

    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, box: list[Any]) -> torch.Tensor:
        ctx.save_for_backward(logits)
        ctx.box = box
        value: torch.Tensor = box[0]
        return value

    @staticmethod
    def backward(ctx: Any, upstream: torch.Tensor) -> tuple[Any, ...]:
        box = ctx.box
        grad = box[1]
        if grad is None:  # handed out before: the fused pass again, bit for bit
            (logits,) = ctx.saved_tensors
            out = np.empty(logits.shape, _numpy(logits).dtype)
            _fused_kernel()[1](_numpy(logits), *box[2], out, box[3], **box[4])
            grad = torch.from_numpy(out)
        box[1] = None
        if upstream.item() != 1.0:
            grad = grad.mul_(upstream)
        return grad, None


def _eager_cross_entropy(
    input: Any,
    target: Any,
    weight: Any,
    ignore_index: Any,
    reduction: Any,
    label_smoothing: Any,
    lse_square_scale: Any,
    softcap: Any,
) -> torch.Tensor | None:
    """The drop-in's short path (see above), or None where the general way must run."""
    if type(input) is not torch.Tensor or type(target) is not torch.Tensor or _transformed():
        return None
    try:  # other devices, dtypes and layouts have no NumPy view: the general way
        z = input.detach().numpy()
        y = target.numpy()
    except (TypeError, RuntimeError):
        return None
    if (
        z.ndim != 2
        or y.ndim != 1
        or y.dtype != np.int64
        or z.dtype not in _NP_FLOATS
        or y.shape[0] != z.shape[0]
        or not z.size
    ):
        return None
    w = None
    if weight is not None:
        if type(weight) is not torch.Tensor or weight.requires_grad:
            return None
        try:
            w = weight.numpy()
        except (TypeError, RuntimeError):
            return None
        if w.shape != z.shape[1:] or w.dtype.kind != "f":
            return None
        w = w.astype(np.float64)
        if not w.min() >= 0:  # negative or NaN weights: the validator's message
            return None
    spec = _eager_spec(reduction, label_smoothing, ignore_index, softcap, lse_square_scale)
    if spec is None or not enabled():
        return None
    ign = spec.ignore_index
    assert ign is not None
    forward, fused = _KERNELS or _fused_kernel()
    opts = {"softcap": spec.softcap, "lse_square_scale": spec.lse_square_scale}
    args = (y, w, spec.smoothing, int(ign))
    grad_wanted = input.requires_grad and torch.is_grad_enabled()
    mean = spec.reduction == "mean"
    if grad_wanted:
        if spec.reduction == "none":
            return None  # per-sample upstreams: the operator pair
        scale = 1.0
        if mean:
            if w is None:
                count = float(y.shape[0] - int(np.count_nonzero(y == ign)))
            else:
                count = float(np.take(w, y, mode="clip").sum(where=y != ign))
            scale = 1.0 / count if count > 0 else 0.0
        out = np.empty(z.shape, z.dtype)
        f = fused(z, *args, out, scale, **opts)
    else:
        f = forward(z, *args, **opts)
    total = float(f.loss.sum())
    if f.nbad or not math.isfinite(total):
        return None  # bad data, or a loss of +inf: the general way words or returns it
    if spec.reduction == "none":
        return torch.from_numpy(f.loss).to(input.dtype)
    if mean and not grad_wanted:
        count = float(f.sample_weight.sum())
        scale = 1.0 / count if count > 0 else 0.0
    value = torch.from_numpy(np.array(total * scale if mean else total, dtype=z.dtype))
    if not grad_wanted:
        return value
    box = [value, torch.from_numpy(out), args, scale, opts]
    result: torch.Tensor = _EagerFused.apply(input, box)  # type: ignore[no-untyped-call]
    return result


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

from .losses import linear as _linear  # noqa: E402

__all__ += ["linear_cross_entropy", "linear_xent", "linear_xent_backward"]


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


def _linear_spec(
    label_smoothing: float,
    ignore_index: int | None,
    reduction: str,
    validate: bool,
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> LossSpec:
    return loss_spec(
        axis=-1,
        reduction=reduction,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        validate=validate,
        softcap=softcap,
        lse_square_scale=lse_square_scale,
    )


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
    spec = _linear_spec(
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
    spec = _linear_spec(label_smoothing, ignore_index, "none", False, softcap, lse_square_scale)
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
    spec = _linear_spec(
        label_smoothing, ignore_index, reduction, validate, softcap, lse_square_scale
    )
    tensors = [hidden, weight, targets, bias, class_weight]
    if not _linear_operators_apply(tensors) or hidden.dtype not in _FLOATS:
        from .losses.softmax import softmax_cross_entropy

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
