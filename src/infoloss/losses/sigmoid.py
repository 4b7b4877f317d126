"""The sigmoid losses, element by element: binary cross-entropy and squared error on
probabilities; each a forward/backward pair (see :mod:`infoloss.losses._compose`)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .. import _math
from .._kernels import _layout
from .._options import LossSpec, loss_spec, parse_bool
from .._validate import Check, enforce
from .._xp import result
from ._compose import Forward, LossAndGrad, LossPair, run
from ._targets import SigmoidInputs, SigmoidTargets, sigmoid_inputs, sigmoid_targets

__all__ = [
    "BINARY_CROSS_ENTROPY",
    "SQUARED_ERROR",
    "sigmoid_binary_cross_entropy",
    "sigmoid_squared_error",
]

Reduction = Literal["mean", "sum", "none"]


def _bce_forward(xp: Any, z: Any, tg: SigmoidTargets, spec: LossSpec) -> Forward:
    pos = tg.y if tg.pos_weight is None else tg.pos_weight * tg.y
    neg = 1 - tg.y
    # log σ(z) = -softplus(-z), log(1 - σ(z)) = -softplus(z); a zero coefficient masks
    # an infinite softplus (z = -inf).
    loss = _math.times(xp, pos, _math.softplus(xp, -z)) + _math.times(
        xp, neg, _math.softplus(xp, z)
    )
    # A weight-0 element contributes 0 even where its loss is infinite.
    return Forward(_math.times(xp, tg.w, loss), tg.w, (z, pos, neg, tg.w))


def _bce_backward(xp: Any, fwd: Forward, upstream: Any) -> Any:
    z, pos, neg, w = fwd.saved
    # (πy + 1 − y)σ(z) − πy written as (1 − y)σ(z) − πy σ(−z): no cancellation when σ(z)
    # rounds to 1.
    sig, one_minus = _math.sigmoid_pair(xp, z)
    return (upstream * w) * (neg * sig - pos * one_minus)


BINARY_CROSS_ENTROPY = LossPair(_bce_forward, _bce_backward)


def _se_forward(xp: Any, z: Any, tg: SigmoidTargets, spec: LossSpec) -> Forward:
    sig, one_minus = _math.sigmoid_pair(xp, z)
    # σ(z) − y as (1 − y)σ(z) − yσ(−z): exact for y in {0, 1} where σ(z) rounds to 1.
    diff = (1 - tg.y) * sig - tg.y * one_minus
    return Forward(tg.w * (0.5 * (diff * diff)), tg.w, (diff, sig, one_minus, tg.w))


def _se_backward(xp: Any, fwd: Forward, upstream: Any) -> Any:
    diff, sig, one_minus, w = fwd.saved
    return (upstream * w) * (diff * sig * one_minus)


SQUARED_ERROR = LossPair(_se_forward, _se_backward)


def _sigmoid_loss(
    pair: LossPair,
    logits: Any,
    targets: Any,
    weight: Any,
    pos_weight: Any,
    spec: LossSpec,
    return_grad: Any,
) -> Any:
    return_grad = parse_bool(return_grad, "return_grad")
    xp, z, given, checks = sigmoid_inputs(logits, targets, weight, pos_weight, spec)
    fast = _kernel_loss(pair, z, given, checks, spec, return_grad)
    if fast is not None:
        return fast
    tg = sigmoid_targets(xp, z, given, spec)
    return run(xp, pair, z, tg, checks, spec, axis=None, return_grad=return_grad)


def _flat_views(xs: list[Any]) -> list[list[np.ndarray]] | None:
    """Each array as one (1, size) row, where every one of them allows it without a copy:
    one long row vectorises best whatever the shape (short last axes included)."""
    try:
        views = [np.reshape(x, (1, -1), copy=False) for x in xs]
    except (ValueError, TypeError):  # a copy would be needed (TypeError: NumPy < 2.1)
        return None
    return [[v] for v in views]


def _kernel_loss(
    pair: LossPair,
    z: Any,
    given: SigmoidInputs,
    checks: list[Check],
    spec: LossSpec,
    return_grad: bool,
) -> Any:
    """A sigmoid loss (``pair``) of NumPy logits through the compiled kernel, or None
    where it does not apply.

    One pass computes the sums, the per-element losses (``"none"``), the gradient into
    fresh memory and the counts of bad entries; the checks that counted any then run
    (and raise, as the array-API code's would) before anything is returned.  The mean's
    factor is passed in where it is known beforehand (nothing ignored) and applied to the
    gradient afterwards otherwise.
    """
    extra = [a for a in (given.weight, given.pos_weight) if a is not None]
    if _layout.row_blocks(z, min_size=_layout.LOSSES_MIN_SIZE) is None or any(
        type(a) is not np.ndarray for a in extra
    ):
        return None
    loss = np.empty(z.shape, z.dtype) if spec.reduction == "none" else None
    grad = np.empty(z.shape, z.dtype) if return_grad else None
    ops = [z, given.t, *extra, *(a for a in (loss, grad) if a is not None)]
    blocks = _flat_views(ops) or _layout.row_blocks(*ops, min_size=_layout.LOSSES_MIN_SIZE)
    if blocks is None:
        return None
    known = spec.reduction != "mean" or spec.ignore_index is None
    scale = _scale(z, given.weight, spec.reduction) if known else 1.0
    fwds = [
        _kernel_pass(pair, spec, [b[i] for b in blocks], given, loss, grad, scale)
        for i in range(len(blocks[0]))
    ]
    total = sum(f.total for f in fwds)
    wsum = sum(f.weight_sum for f in fwds)
    value = _value(loss, total, wsum, spec.reduction, z.dtype)
    if spec.validate:
        counts = [sum(f.nbad[k] for f in fwds) for k in range(5)]
        present = [True, True, True, given.weight is not None, given.pos_weight is not None]
        counted = [n for n, p in zip(counts, present, strict=True) if p]
        enforce(np, value, [c for c, n in zip(checks, counted, strict=True) if n])
    if grad is None:
        return result(np, value)
    if not known and wsum != 1.0:
        grad *= np.asarray(1.0 / wsum if wsum > 0 else 0.0, z.dtype)
    return LossAndGrad(result(np, value), grad)


def _kernel_pass(
    pair: LossPair,
    spec: LossSpec,
    views: list[np.ndarray],
    given: SigmoidInputs,
    loss: Any,
    grad: Any,
    scale: float,
) -> Any:
    """The kernel over one block: ``views`` are the block's logits, targets, weights,
    positive-class weights, losses and gradient, those present in that order."""
    # imported here: the kernels' extension loads on the first loss call, not at import
    from .._kernels.sigmoid import SigmoidLoss, sigmoid_forward, sigmoid_fused

    it = iter(views)
    z, t = next(it), next(it)
    w = None if given.weight is None else next(it)
    pw = None if given.pos_weight is None else next(it)
    lo = None if loss is None else next(it)
    kind: SigmoidLoss = "bce" if pair is BINARY_CROSS_ENTROPY else "se"
    args = (kind, z, t, w, pw, spec.smoothing, spec.ignore_index)
    if grad is None:
        return sigmoid_forward(*args, loss=lo)
    return sigmoid_fused(*args, next(it), scale, loss=lo)


def _scale(z: np.ndarray, weight: Any, reduction: str) -> float:
    """The gradient's factor where nothing is ignored: 1, or 1 / Σ w for "mean" (0 when
    Σ w = 0)."""
    if reduction != "mean":
        return 1.0
    total = float(z.size) if weight is None else float(np.sum(weight, dtype=np.float64))
    return 1.0 / total if total > 0 else 0.0


def _value(loss: Any, total: float, wsum: float, reduction: str, dtype: Any) -> np.ndarray:
    if reduction == "none":
        return loss  # type: ignore[no-any-return]
    if reduction == "mean":
        total = total / wsum if wsum > 0 else 0.0
    return np.asarray(total, dtype=dtype)


def sigmoid_binary_cross_entropy(
    logits: Any,
    targets: Any,
    /,
    *,
    weight: Any = None,
    pos_weight: Any = None,
    label_smoothing: float = 0.0,
    ignore_index: float | None = None,
    reduction: Reduction = "mean",
    return_grad: bool = False,
    validate: bool = True,
) -> Any:
    r"""Binary cross-entropy of logits, element by element (binary or multi-label).

    With :math:`\sigma(z) = 1/(1+e^{-z})`, target probability :math:`y` (smoothed:
    :math:`(1-ε)\,y + ε/2`) and positive-class weight :math:`\pi`,

    .. math::

        \ell = -\bigl[\pi\,y \log\sigma(z) + (1-y)\log(1-\sigma(z))\bigr]
             = \pi\,y\,\operatorname{softplus}(-z) + (1-y)\operatorname{softplus}(z),

    .. math::

        \frac{\partial \ell}{\partial z} = (\pi y + 1 - y)\,\sigma(z) - \pi y,

    which is :math:`\sigma(z) - y` for :math:`\pi = 1`.  The log-probabilities are
    computed from the logits as :math:`\log\sigma(z) = -\operatorname{softplus}(-z)`,
    :math:`\log(1-\sigma(z)) = -\operatorname{softplus}(z)`, with
    :math:`\operatorname{softplus}(x) = \max(x, 0) + \operatorname{log1p}(e^{-|x|})`:
    exact for any logit, and never clamped.

    Parameters
    ----------
    logits : array
        Logits; ``-inf`` (probability 0) is allowed, NaN and ``+inf`` are not.
    targets : array
        Probabilities in [0, 1] broadcastable to ``logits`` (or equal to
        ``ignore_index``).
    weight : array, optional
        Non-negative element weights broadcastable to ``logits``.
    pos_weight : array, optional
        Non-negative weights :math:`\pi` of the positive term, broadcastable to
        ``logits`` (for instance one per label, shape ``(C,)``).
    label_smoothing : float in [0, 1]
        ε.
    ignore_index : number, optional
        Elements whose target equals it are dropped.
    reduction : {"mean", "sum", "none"}
        ``"mean"`` is :math:`\sum w\ell / \sum w` over the kept elements; ``"none"``
        returns :math:`w\ell` per element (0 where ignored).
    return_grad : bool
        Also return :math:`\partial L / \partial z`.
    validate : bool
        Check the data; ``False`` skips the data-dependent checks.

    Returns
    -------
    loss : array
        A scalar, or one value per element for ``reduction="none"``.
    grad : array
        Only with ``return_grad=True``: the gradient, of ``logits``' shape and dtype.

    Notes
    -----
    A ``-inf`` logit with target 0 costs nothing; with a positive target the loss is
    ``+inf`` and the gradient finite.  ``torch.nn.functional.binary_cross_entropy`` on
    probabilities clamps :math:`\log` at -100; this function does not clamp.  With
    ``weight``, ``"mean"`` divides by :math:`\sum w` (PyTorch divides by the number of
    elements).  All elements ignored: ``"mean"`` is 0 with a zero gradient.

    References
    ----------
    .. [1] P. Golik, P. Doetsch and H. Ney, "Cross-entropy vs. squared error training: a
       theoretical and experimental comparison", Interspeech 2013.

    Examples
    --------
    The gradient of the unweighted loss is :math:`\sigma(z) - y`, even at logits far
    beyond where :math:`\sigma` rounds to 0 or 1:

    >>> import numpy as np
    >>> from infoloss.losses import sigmoid_binary_cross_entropy
    >>> z = np.array([-1e9, -2.0, 0.0, 40.0])
    >>> y = np.array([1.0, 0.0, 0.5, 1.0])
    >>> loss, grad = sigmoid_binary_cross_entropy(z, y, reduction="none", return_grad=True)
    >>> loss.tolist() == [1e9, float(np.log1p(np.exp(-2.0))), float(np.log(2.0)),
    ...                   float(np.log1p(np.exp(-40.0)))]
    True
    >>> np.allclose(grad, (1 + np.tanh(z / 2)) / 2 - y)  # σ(z) = (1 + tanh(z/2)) / 2
    True
    """
    spec = loss_spec(
        reduction=reduction,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        validate=validate,
    )
    return _sigmoid_loss(
        BINARY_CROSS_ENTROPY, logits, targets, weight, pos_weight, spec, return_grad
    )


def sigmoid_squared_error(
    logits: Any,
    targets: Any,
    /,
    *,
    weight: Any = None,
    label_smoothing: float = 0.0,
    ignore_index: float | None = None,
    reduction: Reduction = "mean",
    return_grad: bool = False,
    validate: bool = True,
) -> Any:
    r"""Squared error between :math:`\sigma(z)` and a target probability, per element.

    .. math::

        \ell = \tfrac12\bigl(\sigma(z) - y\bigr)^2,
        \qquad
        \frac{\partial \ell}{\partial z} = \bigl(\sigma(z) - y\bigr)\,\sigma(z)\,
            \bigl(1 - \sigma(z)\bigr).

    The factor :math:`\sigma'(z) = \sigma(1-\sigma) \le 1/4` vanishes as :math:`|z|`
    grows, so a confidently wrong model (:math:`y = 1`, :math:`z \ll 0`) barely learns;
    the cross-entropy's gradient :math:`\sigma(z) - y` has no such factor (Golik et al.
    2013).  :math:`1 - \sigma(z)` is computed as :math:`\sigma(-z)`, without
    cancellation.

    Parameters
    ----------
    logits, targets, weight, label_smoothing, ignore_index, reduction, return_grad, validate
        As in :func:`sigmoid_binary_cross_entropy`.

    Returns
    -------
    loss : array
        A scalar, or one value per element for ``reduction="none"``.
    grad : array
        Only with ``return_grad=True``: the gradient, of ``logits``' shape and dtype.

    Notes
    -----
    Values and gradients are finite for every finite or ``-inf`` logit.  All elements
    ignored: ``"mean"`` is 0 with a zero gradient.

    References
    ----------
    .. [1] P. Golik, P. Doetsch and H. Ney, "Cross-entropy vs. squared error training: a
       theoretical and experimental comparison", Interspeech 2013.

    Examples
    --------
    The squared-error gradient is the cross-entropy gradient times :math:`\sigma'(z)`:

    >>> import numpy as np
    >>> from infoloss.losses import sigmoid_binary_cross_entropy, sigmoid_squared_error
    >>> z = np.array([-6.0, 0.3, 2.0])
    >>> y = np.array([1.0, 0.0, 1.0])
    >>> _, g_se = sigmoid_squared_error(z, y, reduction="sum", return_grad=True)
    >>> _, g_ce = sigmoid_binary_cross_entropy(z, y, reduction="sum", return_grad=True)
    >>> s = 1 / (1 + np.exp(-z))
    >>> np.allclose(g_se, g_ce * s * (1 - s))
    True
    """
    spec = loss_spec(
        reduction=reduction,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        validate=validate,
    )
    return _sigmoid_loss(SQUARED_ERROR, logits, targets, weight, None, spec, return_grad)
