"""The short path of the drop-in :func:`~infoloss.torch.cross_entropy` for small batches."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch

from .._kernels import available, enabled
from .._options import LossSpec, loss_spec
from ._route import _transformed
from ._views import _numpy

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

# Small plain calls of the eager drop-in go to PyTorch's own loss (its ATen op, without
# ``F.cross_entropy``'s Python wrapper): there a call's cost is fixed (microseconds of
# Python and dispatch on either side) and the general kernel path (NumPy views, named
# results) cannot win it back, while the drop-in
# must not be slower than what it replaces.  "Small" is where PyTorch measured faster
# (``benchmarks/small_batches.py`` and docs/torch.md): up to ``NATIVE_MAX`` logits for
# rows of up to 128 classes, half that for longer rows, ``NATIVE_FORWARD`` times more
# where no gradient is wanted (PyTorch's forward alone is cheaper than its backward), and
# any number of rows shorter than ``NATIVE_SHORT`` (the kernels' vector loops need 16
# lanes).  "Plain" is where the two agree by construction: (N, C) CPU float logits, int64
# labels, no class weights, no z-loss or soft-capping, and no label equal to
# ``ignore_index`` (PyTorch skips those rows unchecked; infoloss checks their logits).
# Everything else is checked on PyTorch's answer, not on the input: an out-of-range label
# makes PyTorch raise, a NaN or +inf logit makes the loss NaN, and both then take the
# general way, which words the error; so does a loss of +inf, and an empty batch.
# ``NATIVE_MAX = 0`` turns the native path off.  These checks run in C
# (``infoloss._kernels._torch_gate``): at 64×10 PyTorch's loss takes about 6 µs, and the
# same checks in Python cost 3 µs more, the compiled ones about 1.5 µs (mostly the tensor
# attribute reads that no check can do without).
# A plain call that wants no gradient runs the forward kernel on the tensors' memory from
# the same compiled step instead (no NumPy views, no Python in between): at any size for
# rows of at most 64 classes (the kernel of rows across the vector lanes), and for rows of
# more than ``KERNEL_FORWARD_LONG`` classes at the sizes where PyTorch's own loss would
# answer.  Between them the general kernel's set-up per row costs more than PyTorch's loss
# (PyTorch's loss behind the checks: 1.03-1.17x ``F.cross_entropy`` at 100 and 128).
# On the AVX-512 Xeon, against ``F.cross_entropy`` (``benchmarks/small_batches.py`` and a
# grid in docs/torch.md): 0.12-0.35x at rows of 10, 0.7-1.0x at rows of 20 and 31,
# 256×1000 0.61-0.71x, where PyTorch's own loss with the checks came to 1.02-1.06x.
KERNEL_FORWARD_LONG = 128
# A plain call that wants the gradient, with "mean" or "sum", at a size where PyTorch's own
# loss would answer, runs the fused kernel from the same compiled step instead (the loss and
# its gradient on the tensors' memory, handed to autograd by ``_EagerFused``): PyTorch's
# fixed cost of two recorded operators and their backwards is above that of one node whose
# backward hands a gradient over (see docs/torch.md).  ``False`` leaves those calls to
# PyTorch's loss.
KERNEL_FUSED = True
NATIVE_MAX = 1 << 17
NATIVE_SHORT = 16
NATIVE_FORWARD = 4
_NATIVE_DTYPES = (torch.float32, torch.float64)
_PLAIN = (int, float, str, type(None))
# PyTorch's reduction codes (``torch.nn._reduction.get_enum``), for its ATen op.
_ENUMS = {"none": 0, "mean": 1, "sum": 2}
_REALS = (float, int)
_INT64 = torch.int64
_TENSOR = torch.Tensor
_functorch_active = torch._C._are_functorch_transforms_active
# Typed loosely: the stubs give ``reduction`` as a str, the binding takes the code.
_CROSS_ENTROPY: Callable[..., torch.Tensor] = torch._C._nn.cross_entropy_loss


class DropInCall(NamedTuple):
    """The drop-in's arguments, as its short paths take them."""

    input: Any
    target: Any
    weight: Any
    ignore_index: Any
    reduction: Any
    label_smoothing: Any
    lse_square_scale: Any
    softcap: Any


_NP_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_SPECS: dict[tuple[Any, ...], LossSpec] = {}
_KERNELS: list[Any] = []


def drop_in_spec(
    reduction: Any, smoothing: Any, ignore: Any, softcap: Any, zscale: Any
) -> LossSpec:
    """The drop-in's options parsed (and worded) as everywhere else, cached by value and
    type where they are plain numbers and strings."""
    values = (reduction, smoothing, ignore, softcap, zscale)
    key = (*values, type(smoothing), type(ignore), type(softcap), type(zscale))
    cacheable = all(type(v) in _PLAIN for v in values)
    if cacheable and key in _SPECS:
        return _SPECS[key]
    spec = loss_spec(
        axis=1,
        reduction=reduction,
        label_smoothing=smoothing,
        ignore_index=ignore,
        softcap=softcap,
        lse_square_scale=zscale,
    )
    if cacheable and len(_SPECS) < 64:
        _SPECS[key] = spec
    return spec


def _eager_spec(
    reduction: Any, smoothing: Any, ignore: Any, softcap: Any, zscale: Any
) -> LossSpec | None:
    """The parsed options where they are plain (None otherwise: the general way parses
    those on every call)."""
    if not all(type(k) in _PLAIN for k in (reduction, smoothing, ignore, softcap, zscale)):
        return None
    return drop_in_spec(reduction, smoothing, ignore, softcap, zscale)


def _fused_kernel() -> Any:
    if not _KERNELS:
        from .._kernels import xent_forward, xent_fused

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
            y, *rest = box[2]  # labels as a tensor from the compiled first step
            y = y.numpy() if isinstance(y, torch.Tensor) else y
            _fused_kernel()[1](_numpy(logits), y, *rest, out, box[3], **box[4])
            grad = torch.from_numpy(out)
        box[1] = None
        if not _upstream_one(upstream):
            grad = grad.mul_(upstream)
        return grad, None


def _eager_views(
    input: Any, target: Any, weight: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """NumPy views of (N, C) float logits, (N,) int64 labels and non-negative float class
    weights (as float64), or None for anything else (the general way then runs)."""
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
    if weight is None:
        return z, y, None
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
    return z, y, w


def _label_scale(y: np.ndarray, w: np.ndarray | None, ign: int) -> float:
    """1 / Σ s of the kept labels (0 when that is 0): the factor of "mean"."""
    if w is None:
        count = float(y.shape[0] - int(np.count_nonzero(y == ign)))
    else:
        count = float(np.take(w, y, mode="clip").sum(where=y != ign))
    return 1.0 / count if count > 0 else 0.0


def _eager_cross_entropy(call: DropInCall) -> torch.Tensor | None:
    """The drop-in's short path (see above), or None where the general way must run."""
    input, target, weight, ignore_index, reduction, label_smoothing, zscale, softcap = call
    views = _eager_views(input, target, weight)
    if views is None:
        return None
    z, y, w = views
    spec = _eager_spec(reduction, label_smoothing, ignore_index, softcap, zscale)
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
        scale = _label_scale(y, w, int(ign)) if mean else 1.0
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


def _native_size(n: int, c: int, grad: bool = True) -> bool:
    """Whether PyTorch's own loss is the faster at (n, c), with or without the backward
    (see ``NATIVE_MAX``)."""
    if NATIVE_MAX <= 0:
        return False
    limit = NATIVE_MAX if c <= 128 else NATIVE_MAX // 2
    return c < NATIVE_SHORT or n * c <= (limit if grad else limit * NATIVE_FORWARD)


def _python_native_loss(
    input: Any,
    target: Any,
    weight: Any,
    ignore_index: Any,
    reduction: Any,
    label_smoothing: Any,
    zscale: Any,
    softcap: Any,
) -> torch.Tensor | None:
    """PyTorch's own loss for a small plain call (see ``NATIVE_MAX``), or None: the
    Python form of ``infoloss._kernels._torch_gate.native_loss``, which the drop-in
    calls where the extension was built (the same checks at a third of the cost)."""
    if (
        type(input) is not _TENSOR
        or type(target) is not _TENSOR
        or weight is not None
        or softcap is not None
        or type(ignore_index) is not int
        or type(label_smoothing) not in _REALS
        or not 0.0 <= label_smoothing <= 1.0  # PyTorch does not check it (NaN fails here)
        or type(zscale) not in _REALS
        or zscale
        or type(reduction) is not str
        or target.dtype is not _INT64
        or input.dtype not in _NATIVE_DTYPES
        or not input.is_cpu
        or _functorch_active()
    ):
        return None
    try:
        n, c = input.shape  # a ValueError unless (N, C)
        enum = _ENUMS[reduction]
        if n * c >= NATIVE_MAX >> 1 and not _native_size(
            n, c, input.requires_grad and torch.is_grad_enabled()
        ):
            return None
        loss = _CROSS_ENTROPY(input, target, None, enum, ignore_index, label_smoothing)
        # PyTorch skips a label equal to ignore_index unchecked, while infoloss still
        # checks that row's logits: such a batch goes the general way.
        if n and _ignores_some(loss, target, ignore_index, n, enum):
            return None
    except (IndexError, KeyError, RuntimeError, ValueError, TypeError, OverflowError):
        return None  # a label out of range, no labels, a shape PyTorch refuses...
    return loss if math.isfinite((loss.sum() if enum == 0 else loss).item()) else None


def _compiled_native_loss() -> Callable[..., torch.Tensor | None] | None:
    """The compiled form of :func:`_python_native_loss`, configured; None without the
    extension."""
    if not available():
        return None
    try:
        from .._kernels import _torch_gate
    except ImportError:  # a partial build: the Python form
        return None
    _torch_gate.configure(
        _TENSOR,
        _INT64,
        torch.float32,
        torch.float64,
        _CROSS_ENTROPY,
        _functorch_active,
        torch.is_grad_enabled,
        torch.empty,
        _EagerFused.apply,
        globals(),
    )
    gate: Callable[..., torch.Tensor | None] = _torch_gate.native_loss
    return gate


_native_loss = _compiled_native_loss() or _python_native_loss


def _python_upstream_one(upstream: torch.Tensor) -> bool:
    """Whether the backward's upstream is exactly 1 (the compiled form reads its memory)."""
    return bool(upstream.item() == 1.0)


_upstream_one: Callable[[torch.Tensor], bool] = _python_upstream_one
if _native_loss is not _python_native_loss:
    from .._kernels import _torch_gate

    _upstream_one = _torch_gate.upstream_one


def _ignores_some(loss: torch.Tensor, target: torch.Tensor, ignore: int, n: int, enum: int) -> bool:
    """Whether a label equals ``ignore``: read off the count of kept labels that PyTorch's
    backward node saved (a reduced loss without smoothing, that count exact in float32),
    else looked for (after the loss, where it measured cheaper, a bad label having raised)."""
    node = loss.grad_fn
    if node is not None and enum and n < 1 << 24:
        kept = getattr(node, "_saved_total_weight", None)
        if kept is not None:
            return bool(kept.item() != n)
    if ignore < 0:
        return bool(target.min().item() <= ignore)
    return bool((target == ignore).any().item())
