"""The softmax losses: cross-entropy, squared error on probabilities, squared error on
logits; each a forward/backward pair (see :mod:`infoloss.losses._compose`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import numpy as np

from .. import _math
from .._kernels import _layout
from .._options import LossSpec, loss_spec, parse_bool
from .._validate import enforce
from .._xp import Array, result, sum_last
from ._compose import Forward, LossAndGrad, LossPair, check_grad_out, move_back, run
from ._routes import BadCounts, SoftmaxCall, kernel_options, library_of, needed_checks, route_for
from ._targets import SoftmaxTargets, prepare_softmax, with_onehot

__all__ = [
    "CROSS_ENTROPY",
    "LOGIT_SQUARED_ERROR",
    "SQUARED_ERROR",
    "logit_squared_error",
    "softmax_cross_entropy",
    "softmax_squared_error",
]

Reduction = Literal["mean", "sum", "none"]


def _smoothed(tg: SoftmaxTargets, eps: float) -> Array:
    """p̃ = (1 − ε) u + ε keep / C, the smoothed target mass (sums to keep)."""
    assert tg.u is not None  # built by ``with_onehot`` for labels
    if eps == 0.0:
        return tg.u
    return (1 - eps) * tg.u + (eps / tg.u.shape[-1]) * tg.keep[..., None]


def _conditional(xp: Any, tg: SoftmaxTargets, eps: float) -> Array:
    """p̂ = (1 − ε) u / keep + ε / C: the smoothed target given that it is not ignored.

    Rows with nothing kept (keep = 0) get p̂ = ε / C; their sample weight is 0.
    """
    assert tg.u is not None
    safe = xp.where(tg.keep > 0, tg.keep, xp.ones_like(tg.keep))
    cond = tg.u / safe[..., None]
    if eps == 0.0:
        return cond
    return (1 - eps) * cond + eps / tg.u.shape[-1]


# ------------------------------------------------------------------- cross-entropy


def _ce_forward(xp: Any, z: Array, tg: SoftmaxTargets, spec: LossSpec) -> Forward:
    raw = z
    if spec.softcap is not None:
        z = _math.softcap(xp, z, spec.softcap)
    a = _smoothed(tg, spec.smoothing)
    if tg.w is not None:
        a = a * tg.w
    if not spec.lse_square_scale:
        logq = _math.log_softmax(xp, z)
        zcoef = None
        # Mask before multiplying: a zero-target class may have log q = -inf.
        loss = sum_last(xp, _math.times(xp, a, -logq))
    else:
        m, log_s = _math.lse_parts(xp, z)
        with np.errstate(over="ignore"):
            logq = (z - m) - log_s
        lse = (m + log_s)[..., 0]
        # z-loss λ·s·lse², weighted like the sample (0 where it is ignored, even where
        # its lse is infinite); its gradient 2λ·s·lse·q joins the coefficient of q.
        sl = spec.lse_square_scale * tg.s
        loss = sum_last(xp, _math.times(xp, a, -logq)) + _math.times(xp, sl, lse * lse)
        zcoef = _math.times(xp, 2 * sl, lse)
    cap = None if spec.softcap is None else (raw, spec.softcap)
    return Forward(loss, tg.s, (logq, a, zcoef, cap))


def _ce_backward(xp: Any, fwd: Forward, upstream: Array) -> Array:
    logq, a, zcoef, cap = fwd.saved
    coef = sum_last(xp, a) if zcoef is None else sum_last(xp, a) + zcoef
    grad = upstream[..., None] * (xp.exp(logq) * coef[..., None] - a)
    if cap is not None:  # the chain rule through c·tanh(z/c)
        grad = grad * _math.softcap_slope(xp, *cap)
    return grad


CROSS_ENTROPY = LossPair(_ce_forward, _ce_backward)


# ----------------------------------------------------- squared error on probabilities


def _se_forward(xp: Any, z: Array, tg: SoftmaxTargets, spec: LossSpec) -> Forward:
    q = xp.exp(_math.log_softmax(xp, z))
    g = q - _conditional(xp, tg, spec.smoothing)
    return Forward(tg.s * (0.5 * sum_last(xp, g * g)), tg.s, (q, g, tg.s))


def _se_backward(xp: Any, fwd: Forward, upstream: Array) -> Array:
    q, g, s = fwd.saved
    inner = sum_last(xp, q * g)[..., None]
    return (upstream * s)[..., None] * (q * (g - inner))


SQUARED_ERROR = LossPair(_se_forward, _se_backward)


# -------------------------------------------------------- squared error on logits


def _lse_forward(xp: Any, z: Array, tg: SoftmaxTargets, spec: LossSpec) -> Forward:
    target = _conditional(xp, tg, spec.smoothing)
    coef = 1 + (spec.k - 1) * target
    # Ignored samples have s = 0 and must stay 0 (and keep a finite gradient) even where
    # a logit is -inf: mask the difference before it is squared.
    diff = xp.where(tg.s[..., None] != 0, z - spec.M * target, xp.zeros_like(z))
    n_classes = z.shape[-1]
    loss = tg.s * sum_last(xp, coef * diff * diff) / n_classes
    return Forward(loss, tg.s, (coef, diff, tg.s, n_classes))


def _lse_backward(xp: Any, fwd: Forward, upstream: Array) -> Array:
    coef, diff, s, n_classes = fwd.saved
    return (upstream * s)[..., None] * (coef * diff) * (2 / n_classes)


LOGIT_SQUARED_ERROR = LossPair(_lse_forward, _lse_backward)


# ------------------------------------------------------------------ the public losses


def _softmax_loss(
    pair: LossPair,
    logits: Any,
    targets: Any,
    weight: Any,
    spec: LossSpec,
    return_grad: Any,
    grad_out: Any = None,
) -> Any:
    return_grad = parse_bool(return_grad, "return_grad")
    if grad_out is not None and not return_grad:
        raise ValueError("`grad_out` needs return_grad=True")
    xp, z, ax, tg, checks = prepare_softmax(logits, targets, weight, spec)
    check_grad_out(grad_out, return_grad, tuple(move_back(xp, z, ax).shape), z.dtype)
    call = SoftmaxCall(z, tg, checks, spec, ax, return_grad, grad_out)
    fast = _kernel_loss(pair, call)
    if fast is None and pair is CROSS_ENTROPY:  # the routes are the cross-entropy's
        route = route_for(library_of(z))
        fast = None if route is None else route(call)
    if fast is not None:
        return fast
    tg = with_onehot(xp, tg, int(z.shape[-1]))
    return run(
        xp, pair, z, tg, checks.listed(), spec, axis=ax, return_grad=return_grad, grad_out=grad_out
    )


class _KernelArgs(NamedTuple):
    """The kernels' arguments for each block of rows (see :mod:`infoloss._kernels.softmax`)."""

    parts: list[tuple[Any, ...]]  # (z, target, weight, smoothing, ignore_index) per block
    grads: list[np.ndarray | None]  # the gradient block each part writes, if any


def _kernel_args(
    z: np.ndarray, tg: SoftmaxTargets, spec: LossSpec, grad: np.ndarray | None
) -> _KernelArgs | None:
    views = [z] if tg.raw is None else [z, tg.raw]  # the kernels zero the ignored column
    blocks = _layout.row_blocks(
        *views, *([] if grad is None else [grad]), min_size=_layout.LOSSES_MIN_SIZE
    )
    if blocks is None:  # e.g. a caller's ``grad_out`` the kernels cannot view in blocks
        return None
    w = None if tg.w is None else np.asarray(tg.w, dtype=np.float64)
    ign = None if spec.ignore_index is None else int(spec.ignore_index)
    if tg.u is None:  # labels, in range; ignored samples carry ``ignore_index`` again
        assert tg.labels is not None
        y = np.ascontiguousarray(np.reshape(tg.labels, -1), dtype=np.int64)
        if ign is not None:
            y = np.where(np.reshape(tg.keep, -1) > 0, y, ign)
        ends = np.cumsum([b.shape[0] for b in blocks[0]])
        targets = [y[e - len(b) : e] for e, b in zip(ends, blocks[0], strict=True)]
    else:
        targets = blocks[1]
    parts = [(zb, t, w, spec.smoothing, ign) for zb, t in zip(blocks[0], targets, strict=True)]
    grads: list[np.ndarray | None] = [None] * len(parts)
    if grad is not None:
        grads = list(blocks[-1])
    return _KernelArgs(parts, grads)


def _upstream_scale(s: np.ndarray, reduction: str) -> float:
    """The factor of every sample's gradient: 1, or 1 / Σ s for "mean" (0 when Σ s = 0)."""
    if reduction != "mean":
        return 1.0
    total = float(np.sum(s, dtype=np.float64))
    return 1.0 / total if total > 0 else 0.0


class _KernelPasses(NamedTuple):
    """A loss's kernels over one block of rows (its arguments ``a``, see
    :class:`_KernelArgs`): the forward, the forward with ``scale``·gradient into fresh
    memory ``g``, and ``scale``·gradient into a caller's buffer once the checks passed."""

    forward: Callable[[tuple[Any, ...]], Any]
    fused: Callable[[tuple[Any, ...], Any, float], Any]
    backward: Callable[[tuple[Any, ...], Any, Any, float], Any]


def _kernel_passes(pair: LossPair, spec: LossSpec) -> _KernelPasses:
    # imported here: the kernels' extension loads on the first loss call, not at import
    from .._kernels import sqerr_forward, sqerr_fused, xent_backward, xent_forward, xent_fused

    if pair is CROSS_ENTROPY:
        opts = kernel_options(spec.softcap, spec.lse_square_scale)
        return _KernelPasses(
            lambda a: xent_forward(*a, **opts),
            lambda a, g, sc: xent_fused(*a, g, sc, **opts),
            lambda a, f, g, sc: xent_backward(*a, f.lse, np.full(len(a[0]), sc), g, **opts),
        )
    kind = "softmax" if pair is SQUARED_ERROR else "logit"
    kw = {"k": spec.k, "M": spec.M}
    # no backward kernel: the gradient needs the softmax again, which a second fused pass
    # recomputes for what a backward would cost
    return _KernelPasses(
        lambda a: sqerr_forward(kind, *a, **kw),
        lambda a, g, sc: sqerr_fused(kind, *a, g, sc, **kw),
        lambda a, f, g, sc: sqerr_fused(kind, *a, g, sc, **kw),
    )


def _kernel_loss(pair: LossPair, call: SoftmaxCall) -> Any:
    """A softmax loss (``pair``) of NumPy logits through the compiled kernels, or None
    where they do not apply.

    The kernels count bad data; the validator raises before any gradient reaches memory
    the caller owns: into a caller's ``grad_out`` the gradient pass runs only after the
    forward's checks pass; a fresh gradient buffer is filled in the fused pass (already
    scaled by the reduction's factor, which the sample weights give in advance) and
    dropped if they fail.
    """
    z, tg, spec, grad_out = call.z, call.targets, call.spec, call.grad_out
    if _layout.row_blocks(z, min_size=_layout.LOSSES_MIN_SIZE) is None:
        return None
    # Into a caller's ``grad_out`` the gradient pass runs after the checks, from the
    # forward's lse, and can differ from the fused pass in the last bit.  A small batch
    # (below MIN_SIZE entries) takes the fused pass into fresh memory and is copied there
    # once the checks pass: the same bits either way, for the cost of a small copy.
    staged = grad_out is not None and z.size < _layout.MIN_SIZE
    grad = None
    if call.return_grad:
        fresh = grad_out is None or staged
        grad = np.empty(z.shape, z.dtype) if fresh else _moved_view(grad_out, call.axis)
    args = _kernel_args(z, tg, spec, grad)
    if args is None:
        return None
    passes = _kernel_passes(pair, spec)
    fused = call.return_grad and (grad_out is None or staged)
    scale = _upstream_scale(np.asarray(tg.s), spec.reduction)
    fwds = [
        passes.fused(a, g, scale) if fused else passes.forward(a)
        for a, g in zip(args.parts, args.grads, strict=True)
    ]
    loss = np.concatenate([f.loss for f in fwds]).reshape(tuple(z.shape[:-1]))
    if spec.validate:
        counts = BadCounts.of(fwds)
        loss = enforce(np, loss, needed_checks(call.checks, counts, labels=tg.u is None))
    value = _reduced(loss, spec.reduction, scale)
    if not call.return_grad:
        return result(np, value.astype(z.dtype))
    if not fused:
        for f, a, g in zip(fwds, args.parts, args.grads, strict=True):
            passes.backward(a, f, g, scale)
    if staged:
        assert grad is not None
        np.copyto(_moved_view(grad_out, call.axis), grad)
    out = move_back(np, grad, call.axis) if grad_out is None else grad_out
    return LossAndGrad(result(np, value.astype(z.dtype)), out)


def _reduced(loss: np.ndarray, reduction: str, scale: float) -> np.ndarray:
    if reduction == "none":
        return loss
    total = loss.sum()
    return np.asarray(total if reduction == "sum" else total * scale)


def _moved_view(grad_out: np.ndarray, ax: int) -> np.ndarray:
    """The caller's gradient buffer with the class axis last (a view, written through)."""
    return grad_out if ax == grad_out.ndim - 1 else np.moveaxis(grad_out, ax, -1)


def softmax_cross_entropy(
    logits: Any,
    targets: Any,
    /,
    *,
    axis: int = -1,
    weight: Any = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    lse_square_scale: float = 0.0,
    softcap: float | None = None,
    return_grad: bool = False,
    grad_out: Any = None,
    validate: bool = True,
) -> Any:
    r"""Softmax cross-entropy of logits against class labels or target distributions.

    With :math:`q = \operatorname{softmax}(z)` along ``axis`` and the smoothed, weighted
    target :math:`\tilde p` (see the module notes), the loss of one sample is

    .. math::

        \ell = -\sum_c w_c\,\tilde p_c \log q_c,
        \qquad
        \frac{\partial \ell}{\partial z_j} = q_j \sum_c w_c \tilde p_c - w_j \tilde p_j,

    which for unit weights and a distribution :math:`p` is the familiar
    :math:`\ell = \operatorname{logsumexp}(z) - \langle p, z\rangle`,
    :math:`\nabla\ell = q - p`.  ``"mean"`` divides :math:`\sum_i \ell_i` by the total
    sample weight :math:`\sum_i s_i`, :math:`s_i = \sum_c w_c u_{ic}` (for labels,
    :math:`s_i = w_{y_i}`, or 0 when ignored).

    Parameters
    ----------
    logits : array
        Unnormalised log-probabilities; ``-inf`` is probability 0 and is allowed, NaN and
        ``+inf`` are not.
    targets : array
        Integer class labels of shape ``logits.shape`` without ``axis``, or floating
        target distributions of ``logits.shape`` (non-negative, summing to 1 along
        ``axis`` within a dtype-aware tolerance).
    axis : int
        The class axis of ``logits``.
    weight : array of shape (C,), optional
        Non-negative class weights; None means ones.
    label_smoothing : float in [0, 1]
        ε: the target becomes :math:`(1-ε)\,t + ε/C` (Szegedy et al. 2016).
    ignore_index : int, optional
        A label whose samples are dropped (any int, such as -100, for labels; a class
        index in ``[0, C)`` for probability targets, whose mass on that class is dropped).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one loss per sample.
    lse_square_scale : float >= 0
        λ of the z-loss (PaLM): :math:`λ\,s_i \operatorname{lse}(z_i)^2` is added to
        each sample's loss, weighted by the sample weight :math:`s_i` like the rest of
        it (so ignored samples add 0 and ``"mean"`` stays a weighted mean); its
        gradient is :math:`2λ\,s_i \operatorname{lse}(z_i)\,q_i`.
    softcap : float > 0, optional
        Soft-capping (Gemma 2): the loss reads the logits
        :math:`c \tanh(z / c)` instead of :math:`z` (the z-loss too); the gradient
        carries the factor :math:`1 - \tanh^2(z/c)`.  The logits' checks then apply to
        the capped logits: ``±inf`` become ``±c`` (zero gradient), a row of ``-inf`` is
        uniform, NaN is still an error.
    return_grad : bool
        Also return :math:`\partial L / \partial z` of the returned loss (for
        ``"none"``, the per-sample gradients, i.e. the gradient of the sum).
    grad_out : array, optional
        Preallocated array of ``logits``' shape and dtype to write the gradient into
        (needs ``return_grad=True``).
    validate : bool
        Check the data (logits finite or -inf, labels in range, targets distributions,
        weights non-negative).  ``False`` skips the data-dependent checks, for use under
        ``jax.jit``; invalid data then gives undefined results.

    Returns
    -------
    loss : array
        A scalar, or one value per sample for ``reduction="none"``.
    grad : array
        Only with ``return_grad=True``: the gradient, of ``logits``' shape and dtype.

    Notes
    -----
    Edge cases:

    * a sample whose target class has logit ``-inf`` has loss ``+inf``; its gradient is
      finite.  A ``-inf`` logit on a class with zero target mass contributes nothing;
    * with labels, every combination of ``weight``, ``label_smoothing`` and
      ``ignore_index`` equals ``torch.nn.functional.cross_entropy``; a one-hot
      probability target equals its label under every option;
    * when every target is ignored (or has weight 0), ``"mean"`` returns 0 with a zero
      gradient (PyTorch returns NaN);
    * with probability targets and ``weight``, ``"mean"`` divides by :math:`\sum_i s_i`
      (PyTorch divides by the number of samples).

    The loss is the cross-entropy :math:`H(\tilde p, q)`; with unit weights and no
    ignored class it equals ``infoloss.measures.cross_entropy`` of the target and the
    logits, and exceeds their KL divergence by the target's entropy.

    References
    ----------
    .. [1] P. Golik, P. Doetsch and H. Ney, "Cross-entropy vs. squared error training: a
       theoretical and experimental comparison", Interspeech 2013.
    .. [2] C. Szegedy, V. Vanhoucke, S. Ioffe, J. Shlens and Z. Wojna, "Rethinking the
       Inception architecture for computer vision", CVPR 2016 (label smoothing).

    Examples
    --------
    The gradient of the mean loss is :math:`(q - \operatorname{onehot}(y)) / N`, and a
    label equals its one-hot distribution:

    >>> import numpy as np
    >>> from infoloss.losses import softmax_cross_entropy
    >>> z = np.array([[2.0, 0.5, -1.0], [0.0, 0.0, 3.0]])
    >>> y = np.array([0, 2])
    >>> loss, grad = softmax_cross_entropy(z, y, return_grad=True)
    >>> q = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    >>> np.allclose(grad, (q - np.eye(3)[y]) / 2)
    True
    >>> bool(np.isclose(loss, softmax_cross_entropy(z, np.eye(3)[y])))
    True

    The z-loss adds :math:`λ \operatorname{lse}^2` per (unit-weight) sample, and
    soft-capping replaces the logits by :math:`c \tanh(z/c)`:

    >>> plain = softmax_cross_entropy(z, y, reduction="none")
    >>> lse = np.log(np.exp(z).sum(axis=-1))
    >>> zloss = softmax_cross_entropy(z, y, reduction="none", lse_square_scale=0.01)
    >>> np.allclose(zloss, plain + 0.01 * lse**2)
    True
    >>> capped = softmax_cross_entropy(z, y, softcap=2.0)
    >>> bool(np.isclose(capped, softmax_cross_entropy(2.0 * np.tanh(z / 2.0), y)))
    True
    """
    spec = loss_spec(
        axis=axis,
        reduction=reduction,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        validate=validate,
        softcap=softcap,
        lse_square_scale=lse_square_scale,
    )
    return _softmax_loss(CROSS_ENTROPY, logits, targets, weight, spec, return_grad, grad_out)


def softmax_squared_error(
    logits: Any,
    targets: Any,
    /,
    *,
    axis: int = -1,
    weight: Any = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    return_grad: bool = False,
    validate: bool = True,
) -> Any:
    r"""Squared error between softmax probabilities and the target distribution.

    With :math:`q = \operatorname{softmax}(z)`, the smoothed target given that it is not
    ignored, :math:`\hat p = (1-ε)\,u/\mathrm{keep} + ε/C`, and the sample weight
    :math:`s = \sum_c w_c u_c`,

    .. math::

        \ell = \frac{s}{2} \sum_c (q_c - \hat p_c)^2,
        \qquad
        \frac{\partial \ell}{\partial z} = s\; q \odot \bigl(g - \langle q, g\rangle\bigr),
        \quad g = q - \hat p.

    ``"mean"`` divides :math:`\sum_i \ell_i` by :math:`\sum_i s_i`.  For a label
    :math:`y` this is :math:`\tfrac{w_y}{2}\lVert q - \tilde e_y\rVert^2`; class weights
    weigh samples (they cannot sit inside the sum as in the cross-entropy, which is
    linear in the target and this is not).  For a probability target with mass on the
    ignored class, :math:`\hat p` is the distribution of the remaining mass and the
    sample counts with weight equal to that mass (times the class weights).

    The factor :math:`q_c(\cdot)` in the gradient is why this loss trains slowly: when
    the model is confidently wrong (:math:`q_y \to 0`) the gradient vanishes with
    :math:`q`, while the cross-entropy's :math:`q - p` does not (Golik et al. 2013).

    Parameters
    ----------
    logits, targets, axis, weight, label_smoothing, ignore_index, reduction, return_grad,
    validate
        As in :func:`softmax_cross_entropy`.

    Returns
    -------
    loss : array
        A scalar, or one value per sample for ``reduction="none"``.
    grad : array
        Only with ``return_grad=True``: the gradient, of ``logits``' shape and dtype.

    Notes
    -----
    ``torch.nn.functional.mse_loss(softmax(z), onehot)`` averages :math:`(q_c - p_c)^2`
    over all N·C entries; it equals this loss's ``"mean"`` times :math:`2/C`.  Values
    and gradients are finite for every finite or ``-inf`` logit.  All targets ignored:
    ``"mean"`` is 0 with a zero gradient.

    References
    ----------
    .. [1] P. Golik, P. Doetsch and H. Ney, "Cross-entropy vs. squared error training: a
       theoretical and experimental comparison", Interspeech 2013.
    .. [2] C. Szegedy et al., "Rethinking the Inception architecture for computer
       vision", CVPR 2016 (label smoothing).

    Examples
    --------
    The gradient is the softmax Jacobian applied to :math:`q - p`:

    >>> import numpy as np
    >>> from infoloss.losses import softmax_squared_error
    >>> z = np.array([1.0, -2.0, 0.5])
    >>> loss, grad = softmax_squared_error(z, np.asarray(2), return_grad=True)
    >>> q = np.exp(z) / np.exp(z).sum()
    >>> jac = np.diag(q) - np.outer(q, q)
    >>> np.allclose(grad, jac @ (q - np.eye(3)[2]))
    True
    >>> bool(np.isclose(loss, 0.5 * np.sum((q - np.eye(3)[2]) ** 2)))
    True
    """
    spec = loss_spec(
        axis=axis,
        reduction=reduction,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        validate=validate,
    )
    return _softmax_loss(SQUARED_ERROR, logits, targets, weight, spec, return_grad)


def logit_squared_error(
    logits: Any,
    targets: Any,
    /,
    *,
    axis: int = -1,
    k: float = 1.0,
    M: float = 1.0,
    weight: Any = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    return_grad: bool = False,
    validate: bool = True,
) -> Any:
    r"""Squared error on the logits themselves, without a softmax (Hui & Belkin 2021).

    For a label :math:`y` among :math:`C` classes the loss pulls the true logit to
    :math:`M` and the others to 0, with the true class weighted :math:`k`:

    .. math::

        \ell = \frac{1}{C}\Bigl[k\,(z_y - M)^2 + \sum_{j \ne y} z_j^2\Bigr].

    For a (smoothed, conditional) target distribution :math:`\hat p` it is

    .. math::

        \ell = \frac{s}{C} \sum_c \bigl(1 + (k-1)\hat p_c\bigr)\,(z_c - M\hat p_c)^2,
        \qquad
        \frac{\partial \ell}{\partial z_c}
          = \frac{2s}{C}\bigl(1 + (k-1)\hat p_c\bigr)(z_c - M\hat p_c),

    which is the labelled form for one-hot :math:`\hat p`.  :math:`s` and
    :math:`\hat p` are as in :func:`softmax_squared_error`, and ``"mean"`` divides by
    :math:`\sum_i s_i`.  Unlike squared error on probabilities, the gradient does not
    vanish for a confidently wrong model, which is why this loss trains competitively
    with the cross-entropy.

    Parameters
    ----------
    logits, targets, axis, weight, label_smoothing, ignore_index, reduction, return_grad,
    validate
        As in :func:`softmax_cross_entropy`.
    k : float > 0
        Weight of the true class's term (the paper uses 1 for few classes, larger for
        many).
    M : float > 0
        Target value of the true class's logit.

    Returns
    -------
    loss : array
        A scalar, or one value per sample for ``reduction="none"``.
    grad : array
        Only with ``return_grad=True``: the gradient, of ``logits``' shape and dtype.

    Notes
    -----
    A ``-inf`` logit gives an infinite loss and gradient, as the formula does; ignored
    samples contribute 0 even then.  All targets ignored: ``"mean"`` is 0 with a zero
    gradient.

    References
    ----------
    .. [1] L. Hui and M. Belkin, "Evaluation of neural architectures trained with square
       loss vs cross-entropy in classification tasks", ICLR 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from infoloss.losses import logit_squared_error
    >>> z = np.array([3.0, -1.0, 0.5])
    >>> loss, grad = logit_squared_error(z, np.asarray(0), k=2.0, M=5.0, return_grad=True)
    >>> bool(np.isclose(loss, (2.0 * (3.0 - 5.0) ** 2 + 1.0 + 0.25) / 3))
    True
    >>> np.allclose(grad, 2 / 3 * np.array([2.0 * (3.0 - 5.0), -1.0, 0.5]))
    True
    """
    spec = loss_spec(
        axis=axis,
        reduction=reduction,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        validate=validate,
        k=k,
        M=M,
    )
    return _softmax_loss(LOGIT_SQUARED_ERROR, logits, targets, weight, spec, return_grad)
