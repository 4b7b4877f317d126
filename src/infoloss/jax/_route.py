"""The route of :func:`infoloss.softmax_cross_entropy` for JAX arrays: the lean path
for small traced batches, else the kernels through the FFI targets."""

from __future__ import annotations

from typing import Any

import array_api_compat
import jax
import jax.numpy as jnp
import numpy as np

from .. import _kernels as _nb
from .._kernels import _layout
from .._validate import Check, enforce
from .._xp import Array
from ..losses._compose import LossAndGrad, move_back
from ..losses._routes import BadCounts, SoftmaxCall, needed_checks
from ..losses._targets import SoftmaxChecks
from ._calls import _Extra
from ._lean import _is_traced, _lean_applies, _lean_cross_entropy
from ._ops import _fused, _xent, _xent_total


def _applies(z: Any) -> bool:
    if not _nb.enabled() or z.dtype not in (jnp.float32, jnp.float64):
        return False
    if z.ndim == 0 or z.size < _layout.MIN_SIZE:
        return False
    if _is_traced(z):
        return bool(jax.default_backend() == "cpu")
    return all(d.platform == "cpu" for d in z.devices())


def _validated(xp: Any, loss: Array, bad: Array, checks: SoftmaxChecks, labels: bool) -> Array:
    """The validator on the kernels' counts: the same errors as NumPy on concrete arrays,
    NaN where a check fails under tracing."""
    if _is_traced(loss) or _is_traced(bad):
        entry = [Check(bad[0] > 0, checks.logits[0].message, kind="entry")]
        if not labels:
            entry.append(Check(bad[1] > 0, checks.targets[0].message, kind="entry"))
        return enforce(xp, loss, entry + [c for c in checks.listed() if c.kind != "entry"])
    counts = np.asarray(bad)
    found = BadCounts(int(counts[0]), int(counts[1]))
    return enforce(xp, loss, needed_checks(checks, found, labels=labels))


def _operator_target(call: SoftmaxCall, n_classes: int, ign: int | None) -> Array:
    """The kernels' target: labels (N,) (ignored ones carry ``ign`` again), or the
    probability targets (N, C)."""
    tg = call.targets
    if tg.u is not None:
        return jnp.reshape(tg.u, (-1, n_classes))
    assert tg.labels is not None
    y = jnp.reshape(tg.labels, (-1,))
    if ign is not None:
        y = jnp.where(jnp.reshape(tg.keep, (-1,)) > 0, y, jnp.asarray(ign, y.dtype))
    return y


def _mean_scale(s: Array, reduction: str, dtype: Any) -> Array:
    """The factor of the summed loss: 1 / Σ s for "mean" (0 when every sample is ignored)."""
    if reduction != "mean":
        return jnp.ones((), dtype)
    total = jnp.sum(s)
    return jnp.where(total > 0, 1 / jnp.where(total > 0, total, 1), 0).astype(dtype)


def softmax_cross_entropy_route(call: SoftmaxCall) -> Any:
    """Softmax cross-entropy of JAX logits through the kernels (or, for small traced
    batches, the lean path), or None where neither applies; the route of
    :mod:`infoloss.losses._routes`."""
    z, tg, spec = call.z, call.targets, call.spec
    labels = tg.u is None
    plain = call.grad_out is None and not call.return_grad
    if labels and plain and _lean_applies(z, spec):
        return _lean_cross_entropy(z, tg, call.checks, spec)
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
    t = _operator_target(call, n_classes, ign)
    w = jnp.ones((n_classes,), z.dtype) if tg.w is None else tg.w
    scale = _mean_scale(tg.s, spec.reduction, z.dtype)
    extra = _Extra(spec.softcap, spec.lse_square_scale)
    if call.return_grad:
        loss, grad, _, _, bad = _fused(z2, t, w, scale, spec.smoothing, ign, extra)
        value = jnp.reshape(loss, batch)
        if spec.reduction != "none":
            value = scale * jnp.sum(value)
    elif spec.reduction == "none":
        loss, bad = _xent(z2, t, w, spec.smoothing, ign, extra)
        value = jnp.reshape(loss, batch)
    else:
        value, bad = _xent_total(z2, t, w, scale, spec.smoothing, ign, extra)
    if spec.validate:
        value = _validated(xp, value, bad, call.checks, labels)
    if not call.return_grad:
        return value
    return LossAndGrad(value, move_back(xp, jnp.reshape(grad, z.shape), call.axis))
