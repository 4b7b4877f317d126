"""The lean ``jax.numpy`` path of the softmax cross-entropy for small traced batches."""

from __future__ import annotations

from typing import Any

import array_api_compat
import jax
import jax.numpy as jnp

from .. import _kernels as _nb
from .. import _math
from .._options import LossSpec
from .._validate import Check, enforce
from .._xp import Array
from ..losses._targets import SoftmaxChecks, SoftmaxTargets

# ------------------------------------------------ the lean path for small batches
#
# Under ``jax.jit`` a kernel call costs a Python FFI handler (about 0.4 ms on the shared
# 2-core machine), and the array-API code builds one-hot targets and an (N, C) coefficient
# array; below ``LEAN_MAX`` logits (where XLA's fused loops beat that handler), traced
# labels without soft-capping take a lean ``jax.numpy`` form of the same loss instead:
# the row log-sum-exp as :func:`infoloss._math.lse_parts` forms it (the first maximum by
# position, ``log1p`` of the rest), the label's term gathered rather than summed against
# a one-hot row, the smoothing term one masked row sum, gradients by autodiff.  The checks
# are those of the kernel route: a row whose log-sum-exp is not finite stands for the
# kernels' count of bad logits (a NaN or +inf logit, or no finite logit).

LEAN_MAX = 1 << 20


def _is_traced(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def _lean_applies(z: Any, spec: LossSpec) -> bool:
    return (
        _is_traced(z)
        and spec.softcap is None
        and z.ndim >= 1
        and z.size < LEAN_MAX
        and z.dtype in (jnp.float32, jnp.float64)
        and _nb.enabled()
    )


@jax.custom_vjp
def _lean_lse(z: Array) -> tuple[Array, Array]:
    """The row maximum ``m`` (0 for a row without a finite maximum) and ``log Σ exp(z −
    m)`` (keepdims), the log as the kernels form it: ``log1p((k − 1) + rest)`` with ``k``
    the entries equal to ``m`` and ``rest`` the sum over the others, so a tiny ``rest``
    keeps its relative accuracy.  ``optimization_barrier`` makes XLA compute ``z`` once
    (a fused producer of ``z``, softcap or tanh before the loss, would otherwise be
    evaluated again for the comparison with other roundings; see ``_math._first_max``,
    which finds the maximum by position for the same reason at the cost of an ``argmax``
    pass).  The gradient treats ``m`` as a constant, as every use below does (each use
    is invariant under a shift of ``m``): ``∂ log s / ∂z = exp(z − m − log s)``."""
    return _lean_lse_fwd(z)[0]


def _lean_lse_fwd(z: Array) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    z = jax.lax.optimization_barrier(z)  # type: ignore[no-untyped-call]
    m = jnp.max(z, axis=-1, keepdims=True)
    m = jnp.where(jnp.isfinite(m), m, jnp.zeros_like(m))
    d = z - m
    hit = d == 0
    e = jnp.exp(d)  # kept for the backward: XLA's exp costs more than the memory
    zero = jnp.zeros_like(d)
    k = jnp.sum(jnp.where(hit, jnp.ones_like(d), zero), axis=-1, keepdims=True)
    rest = jnp.sum(jnp.where(hit, zero, e), axis=-1, keepdims=True)
    log_s = jnp.log1p((k - 1) + rest)
    return (m, log_s), (e, log_s)


def _lean_lse_bwd(res: tuple[Array, Array], cts: tuple[Array, Array]) -> tuple[Array]:
    e, log_s = res
    return ((cts[1] * jnp.exp(-log_s)) * e,)


_lean_lse.defvjp(_lean_lse_fwd, _lean_lse_bwd)


def _lean_cross_entropy(z: Array, tg: SoftmaxTargets, checks: SoftmaxChecks, spec: LossSpec) -> Any:
    assert tg.labels is not None
    n_classes = z.shape[-1]
    m, log_s = _lean_lse(z)
    # lse − z_c = log s − (z_c − m): exact near the maximum.
    keep = tg.keep
    y = tg.labels.astype(jnp.int32)[..., None]
    z_y = jnp.take_along_axis(z, y, axis=-1)[..., 0]
    nll_y = log_s[..., 0] - (z_y - m[..., 0])
    eps = spec.smoothing
    w = tg.w
    w_y = keep if w is None else tg.s  # s = keep · w_y
    loss = _math.times(jnp, (1 - eps) * w_y, nll_y)
    if eps:
        nll = log_s - (z - m)
        per = jnp.sum(nll if w is None else _math.times(jnp, w, nll), axis=-1)
        coef = (eps / n_classes) * keep
        loss = loss + _math.times(jnp, coef, per)
    lse = (m + log_s)[..., 0]
    if spec.lse_square_scale:
        sl = spec.lse_square_scale * tg.s
        loss = loss + _math.times(jnp, sl, lse * lse)
    bad = Check(~jnp.isfinite(lse), checks.logits[0].message, kind="entry")
    if spec.reduction == "none":
        value = loss
    else:
        value = jnp.sum(loss)
        if spec.reduction == "mean":  # as the kernel route: 1 / Σ s, 0 when that is 0
            total = jnp.sum(tg.s)
            ok = total > 0
            value = jnp.where(ok, 1 / jnp.where(ok, total, 1), 0).astype(z.dtype) * value
    if not spec.validate:
        return value
    xp = array_api_compat.array_namespace(z)
    return enforce(xp, value, [bad] + [c for c in checks.listed() if c.kind != "entry"])
