"""The lean ``jax.numpy`` path of the softmax cross-entropy for small traced batches."""

from __future__ import annotations

import functools
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
# the row log-sum-exp to a few ulps of the kernels' ``log1p((k − 1) + rest)``, the
# label's term gathered rather than summed against a one-hot row, the smoothing term one
# masked row sum, the gradient by a ``custom_vjp`` from the forward's ``exp(z − m)``.
# The checks are those of the kernel route: a row whose log-sum-exp is not finite stands
# for the kernels' count of bad logits (a NaN or +inf logit, or no finite logit).

LEAN_MAX = 1 << 20
# Rows of at most this many classes count the entries at the maximum in every call: XLA
# runs such short rows in plain loops, where the count costs less than a branch (measured
# crossover, docs/jax.md "Small batches").
FEW_CLASSES = 128


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
    m)`` (keepdims), to a few ulps of the kernels' ``log1p((k − 1) + rest)`` (``k`` the
    entries equal to ``m``, ``rest`` the sum over the others), which keeps the relative
    accuracy of a tiny ``rest``; ``z`` must be computed once (see
    :func:`_lean_cross_entropy`).  The gradient treats ``m`` as a constant,
    as every use below does (each use is invariant under a shift of ``m``):
    ``∂ log s / ∂z = exp(z − m − log s)``."""
    return _lean_lse_fwd(z)[0]


def _lean_lse_fwd(z: Array) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    m = jnp.max(z, axis=-1, keepdims=True)
    m = jnp.where(jnp.isfinite(m), m, jnp.zeros_like(m))
    e = jnp.exp(z - m)  # kept for the backward: XLA's exp costs more than the memory
    few = z.shape[-1] <= FEW_CLASSES
    log_s = _log_s_counted(z, m, e) if few else _log_s_branched(z, m, e)
    return (m, log_s), (e, log_s)


def _log_s_counted(z: Array, m: Array, e: Array) -> Array:
    """``log1p((k − 1) + rest)`` from the count ``k`` of the entries at the maximum."""
    hit = z - m == 0
    zero = jnp.zeros_like(e)
    k = jnp.sum(jnp.where(hit, jnp.ones_like(e), zero), axis=-1, keepdims=True)
    rest = jnp.sum(jnp.where(hit, zero, e), axis=-1, keepdims=True)
    return jnp.log1p((k - 1) + rest)


def _log_s_branched(z: Array, m: Array, e: Array) -> Array:
    """``log s`` from the plain sum ``s``, and ``log1p(rest)`` where ``rest`` is small.

    On the CPU, XLA sums ``exp(z − m)`` straight from ``z`` in its fastest reduction (a
    YNNPACK fusion), which takes no comparison: a count of the entries at the maximum, or
    a sum that leaves them out, costs a pass that writes an (N, C) array first.  The plain
    sum needs neither, and ``s ≥ 3/2`` keeps ``log s`` within a few ulps of the kernels'
    value (one more rounding, of ``s``).  ``1/2 ≤ s < 3/2`` means one entry at the maximum
    (each contributes ``exp(0) = 1``; a row without a finite logit gives 0) and ``rest =
    s − 1 < 1/2``: only a batch holding such a row runs the branch that sums ``rest``
    apart, which keeps the relative accuracy of a tiny loss.
    """
    s = jnp.sum(e, axis=-1, keepdims=True)
    one = (s >= 0.5) & (s < 1.5)

    def split(z: Array, m: Array, s: Array, one: Array) -> Array:
        d = z - m
        rest = jnp.where(d == 0, jnp.zeros_like(d), jnp.exp(d))
        rest = jnp.sum(rest, axis=-1, keepdims=True)
        return jnp.where(one, jnp.log1p(rest), jnp.log(s))

    def plain(z: Array, m: Array, s: Array, one: Array) -> Array:
        return jnp.log(s)

    return jax.lax.cond(jnp.any(one), split, plain, z, m, s, one)


def _lean_lse_bwd(res: tuple[Array, Array], cts: tuple[Array, Array]) -> tuple[Array]:
    e, log_s = res
    return ((cts[1] * jnp.exp(-log_s)) * e,)


_lean_lse.defvjp(_lean_lse_fwd, _lean_lse_bwd)


def _lean_cross_entropy(z: Array, tg: SoftmaxTargets, checks: SoftmaxChecks, spec: LossSpec) -> Any:
    assert tg.labels is not None
    n_classes = z.shape[-1]
    # XLA computes z once, so every pass and the label's gather read the same values: a
    # fused producer of z (a softcap or tanh before the loss) would otherwise be evaluated
    # again with other roundings, z − m == 0 could fail at the maximum, and z_y − m at
    # the maximum be a rounding error that swamps a tiny loss.
    z = jax.lax.optimization_barrier(z)  # type: ignore[no-untyped-call]
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
    if not spec.validate:
        return _reduced(loss, tg.s, spec.reduction)
    bad = Check(~jnp.isfinite(lse), checks.logits[0].message, kind="entry")
    listed = [bad] + [c for c in checks.listed() if c.kind != "entry"]
    xp = array_api_compat.array_namespace(z)
    if spec.reduction == "none":
        return enforce(xp, loss, listed)
    # A failing row makes its loss NaN, and so the sum: one reduction instead of a
    # reduction of every check beside that of the loss.
    per_row = [c for c in listed if c.mask().shape == loss.shape]
    failed = functools.reduce(jnp.logical_or, [c.mask() for c in per_row])
    loss = jnp.where(failed, jnp.asarray(jnp.nan, loss.dtype), loss)
    rest = [c for c in listed if c.mask().shape != loss.shape]
    return enforce(xp, _reduced(loss, tg.s, spec.reduction), rest)


def _reduced(loss: Array, s: Array, reduction: str) -> Array:
    """The loss reduced as the kernel route does: "mean" divides by ``Σ s``, giving 0
    where that is 0."""
    if reduction == "none":
        return loss
    value = jnp.sum(loss)
    if reduction == "mean":
        total = jnp.sum(s)
        ok = total > 0
        value = jnp.where(ok, 1 / jnp.where(ok, total, 1), 0).astype(loss.dtype) * value
    return value
