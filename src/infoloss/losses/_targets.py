"""Targets and weights of the losses: converted once, shapes checked eagerly, data checks
handed to the validator.

Softmax losses read integer labels or probability distributions; both become the pieces
every softmax loss uses (see :mod:`infoloss.losses`): the target with the ignored class
zeroed ``u``, the kept mass ``keep``, the sample weight ``s`` and the class weights ``w``.
Sigmoid losses read per-element probabilities and weights.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from .. import _validate
from .._options import LossSpec, resolve_axis
from .._validate import Check
from .._xp import Array, as_float_arrays, namespace, sum_last

__all__ = [
    "SigmoidInputs",
    "SigmoidTargets",
    "SoftmaxChecks",
    "SoftmaxTargets",
    "prepare_sigmoid",
    "prepare_softmax",
    "sigmoid_inputs",
    "sigmoid_targets",
    "with_onehot",
]


class SoftmaxTargets(NamedTuple):
    u: Array | None  # target with the ignored column zeroed, (..., C); None for labels
    # until :func:`with_onehot` builds it (the kernels never need it)
    keep: Array  # 1 - t_k: the target mass that is not ignored, (...)
    s: Array  # sample weight sum_c w_c u_c, (...)
    w: Array | None  # class weights (C,), or None for ones
    labels: Array | None  # the integer labels, when the targets are labels
    raw: Array | None = None  # probability targets as given (class axis last, the logits'
    # dtype), the ignored column not zeroed: what the kernels read
    given: Array | None = None  # the labels as given (those ignored or out of range
    # included), for a route that checks them block by block


class SoftmaxChecks(NamedTuple):
    """The data checks of a softmax loss, by argument; :meth:`listed` gives them in the
    order they are reported (logits, targets, weights)."""

    logits: list[Check]  # per-entry checks of the logits
    targets: list[Check]  # labels in range, or the distributions' entry and mass checks
    weight: list[Check]  # the class weights', if given

    def listed(self) -> list[Check]:
        return [*self.logits, *self.targets, *self.weight]


class SigmoidTargets(NamedTuple):
    y: Array  # smoothed targets (0 where ignored)
    w: Array  # element weights, 0 where ignored
    pos_weight: Array | None


def _move_last(xp: Any, x: Array, axis: int) -> Array:
    return x if axis == x.ndim - 1 else xp.moveaxis(x, axis, -1)


def _nonneg_check(xp: Any, a: Array, name: str) -> Check:
    def bad() -> Array:  # built only where it runs: the kernels count these entries
        return ~((a >= 0) & (a < xp.inf))

    def message(where: str, value: float | None) -> str:
        return f"`{name}` must be non-negative and finite; got {value}{where}"

    return Check(bad, message, _value_at(xp, a))


def _value_at(xp: Any, a: Array) -> Any:
    """A check's detail: the value at the first bad index (eager), or the smallest bad
    value (lazy)."""

    def detail(bad: Array, at: tuple[int, ...] | None) -> Any:
        if at is not None:
            return a[at]
        return xp.min(xp.where(bad, a, xp.zeros_like(a) + xp.inf))

    return detail


def _float_like(xp: Any, x: Any, name: str, z: Array) -> Array:
    """``x`` as an array of ``z``'s floating dtype (integers and booleans accepted)."""
    (a,) = as_float_arrays(xp, (x,), (name,))
    return a if a.dtype == z.dtype else xp.astype(a, z.dtype)


def _logits(xp: Any, logits: Any) -> Array:
    (z,) = as_float_arrays(xp, (logits,), ("logits",))
    if z.ndim == 0:
        raise ValueError("`logits` must have at least one dimension (the class axis)")
    return z


def _labels(xp: Any, t: Array, z: Array, spec: LossSpec) -> tuple[SoftmaxTargets, list[Check]]:
    n_classes = z.shape[-1]
    expected = tuple(z.shape[:-1])
    if tuple(t.shape) != expected:
        raise ValueError(
            f"`targets` of class labels must have the shape of `logits` without the "
            f"class axis, {expected}; got {tuple(t.shape)} (pass one-hot targets as "
            "a floating-point array)"
        )
    y = t  # already integral: its own integer dtype (JAX without x64 has no int64)
    ignore = spec.ignore_index
    bad = (y < 0) | (y >= n_classes)
    if ignore is not None:
        bad = bad & (y != ignore)
    also = "" if ignore is None else f" and not equal to `ignore_index` {int(ignore)}"

    def message(where: str, label: float | None) -> str:
        return f"`targets` contains label {label:.0f} outside [0, {n_classes}){also}{where}"

    checks = [Check(bad, message, _value_at(xp, xp.astype(y, z.dtype)))]
    # Out-of-range and ignored labels are masked here so that no implementation indexes
    # with them (``keep`` is 0 for the ignored ones).
    if ignore is not None:
        kept = y != ignore
        yy = xp.where(bad | ~kept, xp.zeros_like(y), y)
        keep = xp.astype(kept, z.dtype)
    else:
        yy = xp.where(bad, xp.zeros_like(y), y)
        keep = xp.ones(expected, dtype=z.dtype, device=_device(z))
    return SoftmaxTargets(None, keep, keep, None, yy, given=y), checks


def with_onehot(xp: Any, tg: SoftmaxTargets, n_classes: int) -> SoftmaxTargets:
    """``tg`` with ``u`` built: the one-hot rows of the labels (zero where ignored)."""
    if tg.u is not None:
        return tg
    assert tg.labels is not None
    classes = xp.arange(n_classes, dtype=tg.labels.dtype, device=_device(tg.labels))
    hit = (classes == tg.labels[..., None]) & (tg.keep > 0)[..., None]
    return tg._replace(u=xp.astype(hit, tg.keep.dtype))


def _device(x: Array) -> Any:
    import array_api_compat

    return array_api_compat.device(x)


def _distributions(
    xp: Any, t: Array, z: Array, ax: int, shape: tuple[int, ...], spec: LossSpec, classes: Array
) -> tuple[SoftmaxTargets, list[Check]]:
    if tuple(t.shape) != shape:
        raise ValueError(
            f"`targets` of probabilities must have the shape of `logits` {shape}; "
            f"got {tuple(t.shape)}"
        )
    t = _move_last(xp, t, ax)
    n_classes = z.shape[-1]
    checks = _validate.entry_checks(xp, t, "targets", "probs")
    log_mass = xp.log(sum_last(xp, t))
    checks.append(
        _validate.mass_check(
            xp, log_mass, "targets", dtype=t.dtype, n=n_classes, normalize=False, hint=False
        )
    )
    t = t if t.dtype == z.dtype else xp.astype(t, z.dtype)
    ignore = spec.ignore_index
    if ignore is None:
        keep = xp.ones(tuple(z.shape[:-1]), dtype=z.dtype, device=_device(z))
        return SoftmaxTargets(t, keep, keep, None, None, t), checks
    if not 0 <= ignore < n_classes:
        raise ValueError(
            f"`ignore_index` must be a class index in [0, {n_classes}) when "
            f"`targets` are probabilities; got {int(ignore)}"
        )
    u = xp.where(classes == int(ignore), xp.zeros_like(t), t)
    keep = 1 - t[..., int(ignore)]
    return SoftmaxTargets(u, keep, keep, None, None, t), checks


def _logit_checks(xp: Any, z: Array, spec: LossSpec) -> list[Check]:
    """The logits' entry checks.  A loss that reads ``c·tanh(z/c)`` sees ``±c`` for
    ``±inf``, so only NaN is bad there: the first of the validator's checks."""
    checks = _validate.entry_checks(xp, z, "logits", "logits")
    return checks if spec.softcap is None else [c for c in checks if c.what == "nan"]


def prepare_softmax(
    logits: Any, targets: Any, weight: Any, spec: LossSpec
) -> tuple[Any, Array, int, SoftmaxTargets, SoftmaxChecks]:
    """Namespace, logits with the class axis last, that axis, the targets' pieces, and the
    data checks, by argument."""
    xp = namespace((logits, targets, weight), ("logits", "targets", "weight"))
    z = _logits(xp, logits)
    assert spec.axis is not None
    ax = resolve_axis(spec.axis, z.ndim, "logits")
    shape = tuple(z.shape)
    z = _move_last(xp, z, ax)
    n_classes = int(z.shape[-1])
    if n_classes == 0:
        raise ValueError("`logits` has no classes: the class axis has length 0")
    t = targets
    if isinstance(t, (list, tuple, int, float, bool)) or type(t).__module__ == "numpy":
        t = xp.asarray(t, device=_device(z))
    classes = xp.arange(n_classes, device=_device(z))
    if xp.isdtype(t.dtype, "integral"):
        tg, target_checks = _labels(xp, t, z, spec)
    else:
        tg, target_checks = _distributions(xp, t, z, ax, shape, spec, classes)
    checks = SoftmaxChecks(_logit_checks(xp, z, spec), target_checks, [])
    if weight is not None:
        w = _float_like(xp, weight, "weight", z)
        if tuple(w.shape) != (n_classes,):
            raise ValueError(
                f"`weight` must have shape ({n_classes},), one weight per class; "
                f"got shape {tuple(w.shape)}"
            )
        checks.weight.append(_nonneg_check(xp, w, "weight"))
        if tg.u is None:
            s = tg.keep * xp.reshape(
                xp.take(w, xp.reshape(tg.labels, (-1,)), axis=0), tg.keep.shape
            )
        else:
            s = sum_last(xp, tg.u * w)
        tg = tg._replace(w=w, s=s)
    return xp, z, ax, tg, checks


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


class SigmoidInputs(NamedTuple):
    """The sigmoid losses' arguments as given, each broadcast to the logits' shape (a view)
    in their dtype: what the kernels read, and what :func:`sigmoid_targets` turns into the
    array-API code's :class:`SigmoidTargets`."""

    t: Array  # targets, neither smoothed nor masked
    weight: Array | None
    pos_weight: Array | None


def _target_check(xp: Any, t: Array, spec: LossSpec) -> Check:
    ignore = spec.ignore_index

    def bad() -> Array:  # built only where it runs: the kernels count these entries
        out = ~((t >= 0) & (t <= 1))
        return out if ignore is None else out & (t != ignore)

    also = "" if ignore is None else f" or equal to `ignore_index` {ignore:g}"

    def message(where: str, value: float | None) -> str:
        return f"`targets` must be probabilities in [0, 1]{also}; got {value}{where}"

    return Check(bad, message, _value_at(xp, t))


def sigmoid_inputs(
    logits: Any, targets: Any, weight: Any, pos_weight: Any, spec: LossSpec
) -> tuple[Any, Array, SigmoidInputs, list[Check]]:
    """Namespace, logits, the other arguments broadcast to their shape, and the data
    checks (NaN and +inf logits, targets, weight, pos_weight: in the order they are
    reported), none of them evaluated yet."""
    names = ("logits", "targets", "weight", "pos_weight")
    xp = namespace((logits, targets, weight, pos_weight), names)
    (z,) = as_float_arrays(xp, (logits,), ("logits",))
    shape = tuple(z.shape)
    entries = {c.what: c for c in _validate.entry_checks(xp, z, "logits", "log_probs")}
    nan, plus_inf = entries["nan"], entries["+inf"]
    plus_inf = dataclasses.replace(
        plus_inf, message=lambda w, _: f"`logits` contains +inf logits{w}"
    )
    t = _broadcast_to(xp, _float_like(xp, targets, "targets", z), shape, "targets")
    checks = [nan, plus_inf, _target_check(xp, t, spec)]
    extra = {}
    for a, name in ((weight, "weight"), (pos_weight, "pos_weight")):
        if a is not None:
            arr = _broadcast_to(xp, _float_like(xp, a, name, z), shape, name)
            checks.append(_nonneg_check(xp, arr, name))
            extra[name] = arr
    return xp, z, SigmoidInputs(t, extra.get("weight"), extra.get("pos_weight")), checks


def sigmoid_targets(xp: Any, z: Array, given: SigmoidInputs, spec: LossSpec) -> SigmoidTargets:
    """The smoothed targets and the weights, 0 where ignored (full arrays)."""
    t, w, ignore = given.t, given.weight, spec.ignore_index
    kept = None if ignore is None else t != ignore
    eps = spec.smoothing
    if eps:
        t = (1 - eps) * t + eps / 2
    if kept is not None:
        t = xp.where(kept, t, xp.zeros_like(t))
        kept_f = xp.astype(kept, z.dtype)
        w = kept_f if w is None else xp.where(kept, w, xp.zeros_like(w))
    elif w is None:
        w = xp.ones(tuple(z.shape), dtype=z.dtype, device=_device(z))
    return SigmoidTargets(t, w, given.pos_weight)


def prepare_sigmoid(
    logits: Any, targets: Any, weight: Any, pos_weight: Any, spec: LossSpec
) -> tuple[Any, Array, SigmoidTargets, list[Check]]:
    """:func:`sigmoid_inputs` with the targets and weights of the array-API code."""
    xp, z, given, checks = sigmoid_inputs(logits, targets, weight, pos_weight, spec)
    return xp, z, sigmoid_targets(xp, z, given, spec), checks
