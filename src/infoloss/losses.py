r"""Classification losses on logits, each with its analytic gradient.

Every loss takes raw scores (logits) and targets, and can return the loss together with
its gradient with respect to the logits (``return_grad=True``), computed in closed form in
the same pass.  Softmax losses read integer class labels or probability distributions as
targets; sigmoid losses read per-element probabilities.  All of them share one set of
options with one meaning:

* ``weight`` -- class weights (softmax) or element weights (sigmoid);
* ``label_smoothing`` ε -- the target moves towards the uniform distribution;
* ``ignore_index`` -- targets to drop;
* ``reduction`` -- ``"mean"`` (weighted mean over the kept samples), ``"sum"`` or ``"none"``.

The semantics are written out in ``docs/losses.md``; in short, for a target distribution
:math:`t_i` (one-hot for a label), ignored class :math:`k` and class weights :math:`w`,

.. math::

    \mathrm{keep}_i = 1 - t_{ik}, \quad
    u_i = t_i \text{ with column } k \text{ zeroed}, \quad
    \tilde p_i = (1-ε)\,u_i + ε\,\mathrm{keep}_i / C, \quad
    s_i = \textstyle\sum_c w_c u_{ic},

and ``"mean"`` divides the summed loss by :math:`\sum_i s_i` (0 when that sum is 0).

Everything is written with array-API standard functions only, so the same code runs on
NumPy, PyTorch, array-api-strict, Dask, JAX and CuPy; the result stays on the input's
library and device.  This module is the reference implementation that the fused kernels
are tested against.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Literal, NamedTuple, overload

import array_api_compat
import numpy as np

from ._array import Array, namespace, result, sum_last
from ._backends.numba import dispatch
from ._validate import (
    array_to_numpy,
    check_logits,
    check_probs,
    check_reduction,
    sum_tolerance,
)

__all__ = [
    "logit_squared_error",
    "sigmoid_binary_cross_entropy",
    "sigmoid_squared_error",
    "softmax_cross_entropy",
    "softmax_squared_error",
]

Reduction = Literal["mean", "sum", "none"]


# --------------------------------------------------------------------------------------
# Scalar options
# --------------------------------------------------------------------------------------


def _as_number(value: Any) -> float | None:
    """``value`` as a float, or None for a bool or anything that is not a number."""
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _as_int(value: Any) -> int | None:
    """``value`` as an int, or None for a bool or anything that is not an integer."""
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _check_smoothing(label_smoothing: Any) -> float:
    eps = _as_number(label_smoothing)
    if eps is None or not 0.0 <= eps <= 1.0:
        raise ValueError(f"`label_smoothing` must be a number in [0, 1]; got {label_smoothing!r}")
    return eps


def _check_positive(value: Any, name: str) -> float:
    v = _as_number(value)
    if v is None or not (math.isfinite(v) and v > 0):
        raise ValueError(f"`{name}` must be a positive finite number; got {value!r}")
    return v


def _check_ignore_index(ignore_index: Any, *, integer: bool) -> Any:
    if ignore_index is None:
        return None
    if integer:
        k: float | None = _as_int(ignore_index)
        allowed = "an int"
    else:
        k = _as_number(ignore_index)
        allowed = "a finite number"
        if k is not None and not math.isfinite(k):
            k = None
    if k is None:
        raise ValueError(f"`ignore_index` must be {allowed} or None; got {ignore_index!r}")
    return k


def _check_return_grad(return_grad: Any) -> None:
    if return_grad is not True and return_grad is not False:
        raise ValueError(f"`return_grad` must be True or False; got {return_grad!r}")


# --------------------------------------------------------------------------------------
# Arrays
# --------------------------------------------------------------------------------------


def _is_plain(x: Any) -> bool:
    return isinstance(x, (list, tuple, int, float, bool, np.generic))


def _as_array(xp: Any, x: Any, device: Any) -> Array:
    return xp.asarray(x, device=device) if _is_plain(x) else x


def _as_float(xp: Any, x: Array, name: str, dtype: Any) -> Array:
    """``x`` as a real floating array of ``dtype``; integers and booleans are accepted."""
    if not xp.isdtype(x.dtype, ("real floating", "integral", "bool")):
        raise ValueError(f"`{name}` must be a real numeric array; got dtype {x.dtype}")
    return x if x.dtype == dtype else xp.astype(x, dtype)


def _logits(xp: Any, logits: Any) -> Array:
    z = _as_array(xp, logits, None)
    if xp.isdtype(z.dtype, "complex floating"):
        raise ValueError(f"`logits` must be real; got complex dtype {z.dtype}")
    if not xp.isdtype(z.dtype, "real floating"):
        if not xp.isdtype(z.dtype, ("integral", "bool")):
            raise ValueError(f"`logits` must be a numeric array; got dtype {z.dtype}")
        z = xp.astype(z, xp.asarray(0.0, device=array_api_compat.device(z)).dtype)
    return z


def _normalize_axis(axis: Any, ndim: int) -> int:
    ax = _as_int(axis)
    if ax is None:
        raise ValueError(f"`axis` must be an int; got {axis!r}")
    if not -ndim <= ax < ndim:
        raise ValueError(f"`axis` {ax} is out of range for `logits` with {ndim} dimensions")
    return ax % ndim


def _move_last(xp: Any, x: Array, axis: int) -> Array:
    if axis == x.ndim - 1:
        return x
    order = [i for i in range(x.ndim) if i != axis] + [axis]
    return xp.permute_dims(x, tuple(order))


def _move_back(xp: Any, x: Array, axis: int) -> Array:
    if axis == x.ndim - 1:
        return x
    order = list(range(x.ndim - 1))
    order.insert(axis, x.ndim - 1)
    return xp.permute_dims(x, tuple(order))


def _broadcast_to(xp: Any, x: Array, shape: tuple[int, ...], name: str) -> Array:
    """Broadcast ``x`` to the logits' ``shape`` (and no larger), or raise naming ``x``."""
    xs = tuple(x.shape)
    ok = len(xs) <= len(shape) and all(
        a in (1, b) for a, b in zip(reversed(xs), reversed(shape), strict=False)
    )
    if not ok:
        raise ValueError(
            f"`{name}` with shape {xs} does not broadcast to the shape of `logits` {shape}"
        )
    return x if xs == shape else xp.broadcast_to(x, shape)


def _any(xp: Any, mask: Array) -> bool:
    return bool(xp.any(mask))


def _first_index(xp: Any, mask: Array) -> tuple[int, ...]:
    idx = np.argwhere(np.asarray(array_to_numpy(xp, mask)))
    return tuple(int(i) for i in idx[0]) if idx.size else ()


def _log_softmax(xp: Any, z: Array) -> Array:
    # z - logsumexp(z) with the row maximum subtracted first: exp never overflows, and
    # -inf logits (probability 0) give exp(-inf) = 0 rather than NaN.
    m = xp.max(z, axis=-1, keepdims=True)
    shifted = z - m
    return shifted - xp.log(sum_last(xp, xp.exp(shifted)))[..., None]


def _sigmoid_pair(xp: Any, z: Array) -> tuple[Array, Array]:
    """σ(z) and 1 − σ(z) = σ(−z), each without cancellation or overflow."""
    e = xp.exp(-xp.abs(z))  # in [0, 1]: never overflows
    big = 1 / (1 + e)
    small = e / (1 + e)
    pos = z >= 0
    return xp.where(pos, big, small), xp.where(pos, small, big)


def _softplus(xp: Any, x: Array) -> Array:
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exact for large |x|, no overflow.
    return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))


def _times(xp: Any, coef: Array, x: Array) -> Array:
    """``coef * x`` with 0 wherever ``coef`` is 0, even where ``x`` is infinite."""
    return coef * xp.where(coef != 0, x, xp.zeros_like(x))


# --------------------------------------------------------------------------------------
# Targets and reductions shared by the softmax losses
# --------------------------------------------------------------------------------------


class _SoftmaxTargets(NamedTuple):
    u: Array  # target distribution with the ignored column zeroed, (..., C)
    keep: Array  # 1 - t_k: the target mass that is not ignored, (...)
    s: Array  # sample weight sum_c w_c u_c, (...)
    w: Array | None  # class weights (C,), or None for ones


def _class_weight(
    xp: Any, weight: Any, n_classes: int, *, dtype: Any, device: Any, validate: bool
) -> Array | None:
    if weight is None:
        return None
    w = _as_float(xp, _as_array(xp, weight, device), "weight", dtype)
    if tuple(w.shape) != (n_classes,):
        raise ValueError(
            f"`weight` must have shape ({n_classes},), one weight per class; "
            f"got shape {tuple(w.shape)}"
        )
    if validate:
        bad = ~((w >= 0) & (w < xp.inf))
        if _any(xp, bad):
            raise ValueError(
                "`weight` must be non-negative and finite; got "
                f"{float(w[_first_index(xp, bad)])} at index {_first_index(xp, bad)}"
            )
    return w


def _prepare_softmax(
    logits: Any,
    targets: Any,
    *,
    axis: Any,
    weight: Any,
    ignore_index: Any,
    validate: bool,
) -> tuple[Any, Array, int, _SoftmaxTargets]:
    """Namespace, logits with the class axis last, that axis, and the targets' pieces."""
    xp = namespace(logits, targets, weight)
    z = _logits(xp, logits)
    if z.ndim == 0:
        raise ValueError("`logits` must have at least one dimension (the class axis)")
    ax = _normalize_axis(axis, z.ndim)
    shape = tuple(z.shape)
    z = _move_last(xp, z, ax)
    n_classes = int(z.shape[-1])
    if n_classes == 0:
        raise ValueError("`logits` has no classes: the class axis has length 0")
    if validate:
        check_logits(xp, z, "logits")
    device = array_api_compat.device(z)
    t = _as_array(xp, targets, device)
    ignore = _check_ignore_index(ignore_index, integer=True)
    w = _class_weight(xp, weight, n_classes, dtype=z.dtype, device=device, validate=validate)
    classes = xp.arange(n_classes, dtype=xp.int64, device=device)

    if xp.isdtype(t.dtype, "integral"):
        expected = tuple(z.shape[:-1])
        if tuple(t.shape) != expected:
            raise ValueError(
                f"`targets` of class labels must have the shape of `logits` without the "
                f"class axis, {expected}; got {tuple(t.shape)} (pass one-hot targets as "
                "a floating-point array)"
            )
        y = xp.astype(t, xp.int64)
        if validate:
            bad = (y < 0) | (y >= n_classes)
            if ignore is not None:
                bad = bad & (y != ignore)
            if _any(xp, bad):
                at = _first_index(xp, bad)
                label = int(y[at])
                also = "" if ignore is None else f" and not equal to `ignore_index` {ignore}"
                raise ValueError(
                    f"`targets` contains label {label} outside [0, {n_classes}){also} "
                    f"(first at index {at})"
                )
        hit = classes == y[..., None]
        if ignore is not None:
            keep_b = y != ignore
            hit = hit & keep_b[..., None]
            keep = xp.astype(keep_b, z.dtype)
        else:
            keep = xp.ones(expected, dtype=z.dtype, device=device)
        u = xp.astype(hit, z.dtype)
    else:
        t = _as_float(xp, t, "targets", t.dtype)
        if tuple(t.shape) != shape:
            raise ValueError(
                f"`targets` of probabilities must have the shape of `logits` {shape}; "
                f"got {tuple(t.shape)}"
            )
        t = _move_last(xp, t, ax)
        if validate:
            check_probs(xp, t, "targets")
            tol = sum_tolerance(xp, t.dtype, n_classes)
            dev = xp.abs(sum_last(xp, t) - 1)
            bad = dev > tol
            if _any(xp, bad):
                raise ValueError(
                    "`targets` are probabilities but have rows that do not sum to 1 "
                    f"(largest deviation {float(xp.max(dev)):.3g}, tolerance {tol:.3g} for "
                    f"{t.dtype}; first at index {_first_index(xp, bad)})"
                )
        t = _as_float(xp, t, "targets", z.dtype)
        if ignore is None:
            u = t
            keep = xp.ones(tuple(z.shape[:-1]), dtype=z.dtype, device=device)
        else:
            if not 0 <= ignore < n_classes:
                raise ValueError(
                    f"`ignore_index` must be a class index in [0, {n_classes}) when "
                    f"`targets` are probabilities; got {ignore}"
                )
            col = classes == ignore
            u = xp.where(col, xp.zeros_like(t), t)
            keep = 1 - t[..., ignore]
    s = keep if w is None else sum_last(xp, u * w)
    return xp, z, ax, _SoftmaxTargets(u, keep, s, w)


def _smoothed(tg: _SoftmaxTargets, eps: float) -> Array:
    """p̃ = (1 − ε) u + ε keep / C, the smoothed target mass (sums to keep)."""
    if eps == 0.0:
        return tg.u
    n_classes = tg.u.shape[-1]
    return (1 - eps) * tg.u + (eps / n_classes) * tg.keep[..., None]


def _conditional(xp: Any, tg: _SoftmaxTargets, eps: float) -> Array:
    """p̂ = (1 − ε) u / keep + ε / C: the smoothed target given that it is not ignored.

    Rows with nothing kept (keep = 0) get p̂ = ε / C; their sample weight is 0.
    """
    kept = tg.keep > 0
    safe = xp.where(kept, tg.keep, xp.ones_like(tg.keep))
    cond = tg.u / safe[..., None]
    if eps == 0.0:
        return cond
    return (1 - eps) * cond + eps / tg.u.shape[-1]


def _reduce(
    xp: Any,
    loss: Array,
    grad: Array | None,
    total_weight: Array,
    reduction: str,
) -> tuple[Array, Array | None]:
    """Apply ``reduction`` to per-sample losses and gradients.

    ``"mean"`` divides by ``total_weight`` (Σ s_i); where that is 0 (every target ignored
    or weighted 0), the mean and its gradient are 0.
    """
    if reduction == "none":
        return loss, grad
    total = xp.sum(loss)
    if reduction == "sum":
        return total, grad
    nonzero = total_weight > 0
    den = xp.where(nonzero, total_weight, xp.ones_like(total_weight))
    mean = xp.where(nonzero, total / den, xp.zeros_like(total))
    if grad is not None:
        grad = xp.where(nonzero, grad / den, xp.zeros_like(grad))
    return mean, grad


def _finish(
    xp: Any,
    loss: Array,
    grad: Array | None,
    *,
    ax: int | None,
    return_grad: bool,
    grad_out: Any = None,
) -> Array | tuple[Array, Array]:
    if not return_grad:
        return result(xp, loss)
    assert grad is not None
    if ax is not None:
        grad = _move_back(xp, grad, ax)
    if grad_out is not None:
        grad_out[...] = grad
        grad = grad_out
    return result(xp, loss), grad


def _check_grad_out(grad_out: Any, logits_shape: tuple[int, ...], dtype: Any) -> None:
    if grad_out is None:
        return
    shape = tuple(getattr(grad_out, "shape", ()))
    if shape != logits_shape or getattr(grad_out, "dtype", None) != dtype:
        raise ValueError(
            f"`grad_out` must be an array of shape {logits_shape} and dtype {dtype}; got "
            f"shape {shape} and dtype {getattr(grad_out, 'dtype', type(grad_out).__name__)}"
        )


# --------------------------------------------------------------------------------------
# Softmax cross-entropy
# --------------------------------------------------------------------------------------


@overload
def softmax_cross_entropy(
    logits: Any,
    targets: Any,
    /,
    *,
    axis: int = ...,
    weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: int | None = ...,
    reduction: Reduction = ...,
    return_grad: Literal[False] = ...,
    grad_out: Any = ...,
    validate: bool = ...,
) -> Array: ...
@overload
def softmax_cross_entropy(
    logits: Any,
    targets: Any,
    /,
    *,
    axis: int = ...,
    weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: int | None = ...,
    reduction: Reduction = ...,
    return_grad: Literal[True],
    grad_out: Any = ...,
    validate: bool = ...,
) -> tuple[Array, Array]: ...
@overload
def softmax_cross_entropy(
    logits: Any,
    targets: Any,
    /,
    *,
    axis: int = ...,
    weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: int | None = ...,
    reduction: Reduction = ...,
    return_grad: bool,
    grad_out: Any = ...,
    validate: bool = ...,
) -> Array | tuple[Array, Array]: ...
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
    return_grad: bool = False,
    grad_out: Any = None,
    validate: bool = True,
) -> Array | tuple[Array, Array]:
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
    """
    check_reduction(reduction)
    eps = _check_smoothing(label_smoothing)
    _check_return_grad(return_grad)
    if grad_out is not None and not return_grad:
        raise ValueError("`grad_out` needs return_grad=True")
    if type(logits) is np.ndarray and logits.dtype in (np.float32, np.float64):
        _check_grad_out(grad_out, tuple(logits.shape), logits.dtype)
        fast = dispatch.softmax_cross_entropy(
            logits,
            targets,
            axis=axis,
            weight=weight,
            label_smoothing=eps,
            ignore_index=ignore_index,
            reduction=reduction,
            return_grad=return_grad,
            grad_out=grad_out,
            validate=validate,
        )
        if fast is not None:
            if return_grad:
                return result(np, fast[0]), fast[1]
            return result(np, fast)
    xp, z, ax, tg = _prepare_softmax(
        logits, targets, axis=axis, weight=weight, ignore_index=ignore_index, validate=validate
    )
    _check_grad_out(grad_out, tuple(_move_back(xp, z, ax).shape), z.dtype)

    a = _smoothed(tg, eps)
    if tg.w is not None:
        a = a * tg.w
    logq = _log_softmax(xp, z)
    # Mask before multiplying: a zero-target class may have log q = -inf.
    loss = sum_last(xp, _times(xp, a, -logq))
    grad = None
    if return_grad:
        grad = xp.exp(logq) * sum_last(xp, a)[..., None] - a
    loss, grad = _reduce(xp, loss, grad, xp.sum(tg.s), reduction)
    return _finish(xp, loss, grad, ax=ax, return_grad=return_grad, grad_out=grad_out)


# --------------------------------------------------------------------------------------
# Squared error on softmax probabilities
# --------------------------------------------------------------------------------------


@overload
def softmax_squared_error(
    logits: Any,
    targets: Any,
    /,
    *,
    axis: int = ...,
    weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: int | None = ...,
    reduction: Reduction = ...,
    return_grad: Literal[False] = ...,
    validate: bool = ...,
) -> Array: ...
@overload
def softmax_squared_error(
    logits: Any,
    targets: Any,
    /,
    *,
    axis: int = ...,
    weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: int | None = ...,
    reduction: Reduction = ...,
    return_grad: Literal[True],
    validate: bool = ...,
) -> tuple[Array, Array]: ...
@overload
def softmax_squared_error(
    logits: Any,
    targets: Any,
    /,
    *,
    axis: int = ...,
    weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: int | None = ...,
    reduction: Reduction = ...,
    return_grad: bool,
    validate: bool = ...,
) -> Array | tuple[Array, Array]: ...
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
) -> Array | tuple[Array, Array]:
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
    check_reduction(reduction)
    eps = _check_smoothing(label_smoothing)
    _check_return_grad(return_grad)
    xp, z, ax, tg = _prepare_softmax(
        logits, targets, axis=axis, weight=weight, ignore_index=ignore_index, validate=validate
    )

    target = _conditional(xp, tg, eps)
    q = xp.exp(_log_softmax(xp, z))
    g = q - target
    loss = tg.s * (0.5 * sum_last(xp, g * g))
    grad = None
    if return_grad:
        inner = sum_last(xp, q * g)[..., None]
        grad = tg.s[..., None] * (q * (g - inner))
    loss, grad = _reduce(xp, loss, grad, xp.sum(tg.s), reduction)
    return _finish(xp, loss, grad, ax=ax, return_grad=return_grad)


# --------------------------------------------------------------------------------------
# Squared error on logits (Hui & Belkin 2021)
# --------------------------------------------------------------------------------------


@overload
def logit_squared_error(
    logits: Any,
    targets: Any,
    /,
    *,
    axis: int = ...,
    k: float = ...,
    M: float = ...,
    weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: int | None = ...,
    reduction: Reduction = ...,
    return_grad: Literal[False] = ...,
    validate: bool = ...,
) -> Array: ...
@overload
def logit_squared_error(
    logits: Any,
    targets: Any,
    /,
    *,
    axis: int = ...,
    k: float = ...,
    M: float = ...,
    weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: int | None = ...,
    reduction: Reduction = ...,
    return_grad: Literal[True],
    validate: bool = ...,
) -> tuple[Array, Array]: ...
@overload
def logit_squared_error(
    logits: Any,
    targets: Any,
    /,
    *,
    axis: int = ...,
    k: float = ...,
    M: float = ...,
    weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: int | None = ...,
    reduction: Reduction = ...,
    return_grad: bool,
    validate: bool = ...,
) -> Array | tuple[Array, Array]: ...
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
) -> Array | tuple[Array, Array]:
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
    check_reduction(reduction)
    eps = _check_smoothing(label_smoothing)
    _check_return_grad(return_grad)
    kk = _check_positive(k, "k")
    mm = _check_positive(M, "M")
    xp, z, ax, tg = _prepare_softmax(
        logits, targets, axis=axis, weight=weight, ignore_index=ignore_index, validate=validate
    )

    n_classes = z.shape[-1]
    target = _conditional(xp, tg, eps)
    coef = 1 + (kk - 1) * target
    diff = z - mm * target
    # Ignored samples have s = 0 and must stay 0 even where a logit is -inf.
    s = tg.s[..., None]
    loss = sum_last(xp, _times(xp, s * coef, diff * diff)) / n_classes
    grad = None
    if return_grad:
        grad = _times(xp, s * coef, diff) * (2 / n_classes)
    loss, grad = _reduce(xp, loss, grad, xp.sum(tg.s), reduction)
    return _finish(xp, loss, grad, ax=ax, return_grad=return_grad)


# --------------------------------------------------------------------------------------
# Sigmoid (binary, multi-label) losses
# --------------------------------------------------------------------------------------


class _SigmoidTargets(NamedTuple):
    y: Array  # smoothed targets (0 where ignored)
    w: Array  # element weights, 0 where ignored


def _prepare_sigmoid(
    logits: Any,
    targets: Any,
    *,
    weight: Any,
    pos_weight: Any,
    eps: float,
    ignore_index: Any,
    validate: bool,
) -> tuple[Any, Array, _SigmoidTargets, Array | None]:
    xp = namespace(logits, targets, weight, pos_weight)
    z = _logits(xp, logits)
    shape = tuple(z.shape)
    if validate:
        nan = xp.isnan(z)
        if _any(xp, nan):
            raise ValueError(f"`logits` contains NaN (first at index {_first_index(xp, nan)})")
        pinf = z == xp.inf
        if _any(xp, pinf):
            raise ValueError(
                f"`logits` contains +inf logits (first at index {_first_index(xp, pinf)})"
            )
    device = array_api_compat.device(z)
    ignore = _check_ignore_index(ignore_index, integer=False)
    t = _as_array(xp, targets, device)
    t = _broadcast_to(xp, _as_float(xp, t, "targets", z.dtype), shape, "targets")
    kept = None if ignore is None else t != ignore
    if validate:
        bad = ~((t >= 0) & (t <= 1))
        if kept is not None:
            bad = bad & kept
        if _any(xp, bad):
            at = _first_index(xp, bad)
            also = "" if ignore is None else f" or equal to `ignore_index` {ignore:g}"
            raise ValueError(
                f"`targets` must be probabilities in [0, 1]{also}; got {float(t[at])} at index {at}"
            )

    def elementwise(x: Any, name: str) -> Array | None:
        if x is None:
            return None
        a = _as_float(xp, _as_array(xp, x, device), name, z.dtype)
        a = _broadcast_to(xp, a, shape, name)
        if validate:
            bad = ~((a >= 0) & (a < xp.inf))
            if _any(xp, bad):
                at = _first_index(xp, bad)
                raise ValueError(
                    f"`{name}` must be non-negative and finite; got {float(a[at])} at index {at}"
                )
        return a

    w = elementwise(weight, "weight")
    pw = elementwise(pos_weight, "pos_weight")
    if eps:
        t = (1 - eps) * t + eps / 2
    if kept is not None:
        t = xp.where(kept, t, xp.zeros_like(t))
        kept_f = xp.astype(kept, z.dtype)
        w = kept_f if w is None else xp.where(kept, w, xp.zeros_like(w))
    elif w is None:
        w = xp.ones(shape, dtype=z.dtype, device=device)
    return xp, z, _SigmoidTargets(t, w), pw


def _reduce_elementwise(
    xp: Any,
    loss: Array,
    grad: Array | None,
    *,
    w: Array,
    reduction: str,
    return_grad: bool,
) -> Array | tuple[Array, Array]:
    # A weight-0 element contributes 0 even where its loss is infinite.
    loss = _times(xp, w, loss)
    if grad is not None:
        grad = _times(xp, w, grad)
    loss, grad = _reduce(xp, loss, grad, xp.sum(w), reduction)
    return _finish(xp, loss, grad, ax=None, return_grad=return_grad)


@overload
def sigmoid_binary_cross_entropy(
    logits: Any,
    targets: Any,
    /,
    *,
    weight: Any = ...,
    pos_weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: float | None = ...,
    reduction: Reduction = ...,
    return_grad: Literal[False] = ...,
    validate: bool = ...,
) -> Array: ...
@overload
def sigmoid_binary_cross_entropy(
    logits: Any,
    targets: Any,
    /,
    *,
    weight: Any = ...,
    pos_weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: float | None = ...,
    reduction: Reduction = ...,
    return_grad: Literal[True],
    validate: bool = ...,
) -> tuple[Array, Array]: ...
@overload
def sigmoid_binary_cross_entropy(
    logits: Any,
    targets: Any,
    /,
    *,
    weight: Any = ...,
    pos_weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: float | None = ...,
    reduction: Reduction = ...,
    return_grad: bool,
    validate: bool = ...,
) -> Array | tuple[Array, Array]: ...
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
) -> Array | tuple[Array, Array]:
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
    check_reduction(reduction)
    eps = _check_smoothing(label_smoothing)
    _check_return_grad(return_grad)
    xp, z, tg, pw = _prepare_sigmoid(
        logits,
        targets,
        weight=weight,
        pos_weight=pos_weight,
        eps=eps,
        ignore_index=ignore_index,
        validate=validate,
    )
    pos = tg.y if pw is None else pw * tg.y
    neg = 1 - tg.y
    # log σ(z) = -softplus(-z), log(1 - σ(z)) = -softplus(z); a zero coefficient masks
    # an infinite softplus (z = -inf).
    loss = _times(xp, pos, _softplus(xp, -z)) + _times(xp, neg, _softplus(xp, z))
    grad = None
    if return_grad:
        # (πy + 1 − y)σ(z) − πy written as (1 − y)σ(z) − πy σ(−z): no cancellation
        # when σ(z) rounds to 1.
        sig, one_minus = _sigmoid_pair(xp, z)
        grad = neg * sig - pos * one_minus
    return _reduce_elementwise(xp, loss, grad, w=tg.w, reduction=reduction, return_grad=return_grad)


@overload
def sigmoid_squared_error(
    logits: Any,
    targets: Any,
    /,
    *,
    weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: float | None = ...,
    reduction: Reduction = ...,
    return_grad: Literal[False] = ...,
    validate: bool = ...,
) -> Array: ...
@overload
def sigmoid_squared_error(
    logits: Any,
    targets: Any,
    /,
    *,
    weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: float | None = ...,
    reduction: Reduction = ...,
    return_grad: Literal[True],
    validate: bool = ...,
) -> tuple[Array, Array]: ...
@overload
def sigmoid_squared_error(
    logits: Any,
    targets: Any,
    /,
    *,
    weight: Any = ...,
    label_smoothing: float = ...,
    ignore_index: float | None = ...,
    reduction: Reduction = ...,
    return_grad: bool,
    validate: bool = ...,
) -> Array | tuple[Array, Array]: ...
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
) -> Array | tuple[Array, Array]:
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
    check_reduction(reduction)
    eps = _check_smoothing(label_smoothing)
    _check_return_grad(return_grad)
    xp, z, tg, _ = _prepare_sigmoid(
        logits,
        targets,
        weight=weight,
        pos_weight=None,
        eps=eps,
        ignore_index=ignore_index,
        validate=validate,
    )
    sig, one_minus = _sigmoid_pair(xp, z)
    # σ(z) − y as (1 − y)σ(z) − yσ(−z): exact for y in {0, 1} where σ(z) rounds to 1.
    diff = (1 - tg.y) * sig - tg.y * one_minus
    loss = 0.5 * (diff * diff)
    grad = diff * sig * one_minus if return_grad else None
    return _reduce_elementwise(xp, loss, grad, w=tg.w, reduction=reduction, return_grad=return_grad)
