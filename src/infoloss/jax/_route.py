"""The route of :func:`infoloss.softmax_cross_entropy` for JAX arrays: the kernels
through the FFI targets."""

from __future__ import annotations

from typing import Any

import array_api_compat
import jax
import jax.numpy as jnp
import numpy as np

from .. import _kernels as _nb
from .._validate import Check, enforce
from .._xp import Array
from ..losses._compose import LossAndGrad, move_back
from ..losses._routes import BadCounts, SoftmaxCall, needed_checks
from ..losses._targets import SoftmaxChecks
from ._calls import _Extra
from ._ops import _fused, _xent, _xent_total


def _is_traced(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def _applies(z: Any) -> bool:
    """The kernels take float logits on the CPU at any size: a call of the compiled FFI
    targets costs XLA a few microseconds, and at 64×10 the jitted loss runs in less than
    half the time of optax's (docs/jax.md)."""
    if not _nb.enabled() or z.dtype not in (jnp.float32, jnp.float64):
        return False
    if z.ndim == 0 or z.size == 0:
        return False
    if _is_traced(z):
        return bool(jax.default_backend() == "cpu")
    return all(d.platform == "cpu" for d in z.devices())


def _validated(
    xp: Any, loss: Array, bad: Array, checks: SoftmaxChecks, labels: bool, summed: bool
) -> Array:
    """The validator on the kernels' counts: the same errors as NumPy on concrete arrays,
    NaN where a check fails under tracing.  There, a loss ``summed`` by the kernels from
    labels without class weights is already NaN where a kept label is out of range (its
    row's loss is), so the labels need no pass of their own."""
    if _is_traced(loss) or _is_traced(bad):
        entry = [Check(bad[0] > 0, checks.logits[0].message, kind="entry")]
        if not labels:
            entry.append(Check(bad[1] > 0, checks.targets[0].message, kind="entry"))
        rest = [c for c in checks.listed() if c.kind != "entry"]
        if labels and summed:
            rest = checks.weight
        return enforce(xp, loss, entry + rest)
    counts = np.asarray(bad)
    found = BadCounts(int(counts[0]), int(counts[1]))
    return enforce(xp, loss, needed_checks(checks, found, labels=labels))


def _operator_target(call: SoftmaxCall, n_classes: int) -> Array:
    """The kernels' target: the labels (N,) as given (the kernels zero the loss of those
    equal to the ignored label and make a kept one out of range NaN, which the checks
    report), or the probability targets (N, C)."""
    tg = call.targets
    if tg.u is not None:
        return jnp.reshape(tg.u, (-1, n_classes))
    assert tg.given is not None
    return jnp.reshape(tg.given, (-1,))


def _mean_scale(s: Array, reduction: str, dtype: Any) -> Array:
    """The factor of the summed loss: 1 / Σ s for "mean" (0 when every sample is ignored)."""
    if reduction != "mean":
        return jnp.ones((), dtype)
    total = jnp.sum(s)
    return jnp.where(total > 0, 1 / jnp.where(total > 0, total, 1), 0).astype(dtype)


def softmax_cross_entropy_route(call: SoftmaxCall) -> Any:
    """Softmax cross-entropy of JAX logits through the kernels, or None where they do
    not apply; the route of :mod:`infoloss.losses._routes`."""
    z, tg, spec = call.z, call.targets, call.spec
    labels = tg.u is None
    if (
        call.grad_out is not None
        or not _applies(z)
        or (not labels and spec.ignore_index is not None)
    ):
        return None
    xp = array_api_compat.array_namespace(z)
    n_classes = z.shape[-1]
    batch = tuple(z.shape[:-1])
    z2 = jnp.reshape(z, (-1, n_classes))
    ign = None if spec.ignore_index is None else int(spec.ignore_index)
    t = _operator_target(call, n_classes)
    # a NumPy constant: XLA embeds it, where jnp.ones is a broadcast run on each call
    w = np.ones((n_classes,), z.dtype) if tg.w is None else tg.w
    scale = _mean_scale(tg.s, spec.reduction, z.dtype)
    extra = _Extra(spec.softcap, spec.lse_square_scale)
    if call.return_grad:
        loss, grad, _, _, bad, total = _fused(z2, t, w, scale, spec.smoothing, ign, extra)
        value = jnp.reshape(loss, batch) if spec.reduction == "none" else scale * total
    elif spec.reduction == "none":
        loss, bad = _xent(z2, t, w, spec.smoothing, ign, extra)
        value = jnp.reshape(loss, batch)
    else:
        value, bad = _xent_total(z2, t, w, scale, spec.smoothing, ign, extra)
    if spec.validate:
        summed = spec.reduction != "none" and tg.w is None
        value = _validated(xp, value, bad, call.checks, labels, summed)
    if not call.return_grad:
        return value
    return LossAndGrad(value, move_back(xp, jnp.reshape(grad, z.shape), call.axis))
