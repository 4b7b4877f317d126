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
# masked row sum, the gradient by a ``custom_vjp`` from the forward's ``exp(z − m)``
# (less the label's entry, on short rows).
# The checks are those of the kernel route: a row whose log-sum-exp is not finite stands
# for the kernels' count of bad logits (a NaN or +inf logit, or no finite logit).

LEAN_MAX = 1 << 20
# Rows of at most this many classes sum exp(z − m) less the label's entry in every call
# (``_lean_rows``): there the per-row steps outweigh the passes over the logits, and the
# masked sum costs less than a branch; longer rows take the plain sum and a branch for
# confident rows (``_lean_lse``), and the gather's own gradient (docs/jax.md "Small
# batches").
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
def _lean_rows(z: Array, y: Array) -> tuple[Array, Array, Array]:
    """For rows of at most ``FEW_CLASSES`` classes: the row maximum ``m`` (0 for a row
    without a finite maximum), ``log s = log Σ exp(z − m)`` and the label's ``z_y − m``
    (all keepdims); ``z`` must be computed once (see :func:`_lean_cross_entropy`) and
    ``y`` hold valid labels.

    ``log s`` comes from ``t``, the sum of ``exp(z − m)`` over the classes other than the
    label, as ``log1p(t + exp(z_y − m) − 1)``: where the label holds the maximum, ``t`` is
    the kernels' ``(k − 1) + rest`` itself (``k`` the entries equal to ``m``, ``rest`` the
    sum over the others), which keeps the relative accuracy of a tiny loss; elsewhere
    ``t ≥ 1`` (the maximum's entry) and the loss is at least ``log 2``, which a rounding
    of ``s`` cannot hurt.  The mask is by position, so it needs no count or branch.  The
    label's entry is masked before the exp: XLA then sums ``exp`` in its fastest
    reduction (a YNNPACK fusion, which takes no select), as optax's sum does.

    The gradient treats ``m`` as a constant, as every use below does (each is invariant
    under a shift of ``m``): ``∂ log s / ∂z = exp(z − m − log s)``, ``∂(z_y − m) / ∂z``
    the label's one-hot row.
    """
    m = _row_max(z)
    d = jnp.where(_at_label(z, y), jnp.asarray(-jnp.inf, z.dtype), z - m)
    d_y = _label_logit(z, y) - m
    return m, _log_s(jnp.sum(jnp.exp(d), axis=-1, keepdims=True), d_y), d_y


def _lean_rows_fwd(z: Array, y: Array) -> tuple[tuple[Array, Array, Array], tuple[Any, ...]]:
    """:func:`_lean_rows` with its residuals: ``exp(z − m)`` less the label's entry is
    written once, summed, and is all the backward reads (the gradient is that array over
    ``s``, the label's entry put back in the same pass: no scatter of the label's term,
    which optax's gradient runs)."""
    m = _row_max(z)
    a = jnp.where(_at_label(z, y), jnp.zeros_like(z), jnp.exp(z - m))
    d_y = _label_logit(z, y) - m
    log_s = _log_s(jnp.sum(a, axis=-1, keepdims=True), d_y)
    return (m, log_s, d_y), (a, y, log_s, d_y)


def _log_s(t: Array, d_y: Array) -> Array:
    # exp(d_y) − 1 is exact at d_y = 0 and needs no more elsewhere (t ≥ 1 there); XLA's
    # expm1 took longer than the whole row pass.
    return jnp.log1p(t + (jnp.exp(d_y) - 1))


def _lean_rows_bwd(res: tuple[Any, ...], cts: tuple[Array, Array, Array]) -> tuple[Array, None]:
    a, y, log_s, d_y = res
    scale = cts[1] * jnp.exp(-log_s)
    at = scale * jnp.exp(d_y) + cts[2]
    return jnp.where(_at_label(a, y), at, scale * a), None


_lean_rows.defvjp(_lean_rows_fwd, _lean_rows_bwd)


@jax.custom_vjp
def _lean_lse(z: Array) -> tuple[Array, Array]:
    """For longer rows: ``m`` and ``log s`` as :func:`_lean_rows` gives them, the label's
    term left to the caller; the same gradient of ``log s``."""
    return _lean_lse_fwd(z)[0]


def _lean_lse_fwd(z: Array) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    m = _row_max(z)
    e = jnp.exp(z - m)  # kept for the backward: XLA's exp costs more than the memory
    log_s = _log_s_branched(z, m, e)
    return (m, log_s), (e, log_s)


def _lean_lse_bwd(res: tuple[Array, Array], cts: tuple[Array, Array]) -> tuple[Array]:
    e, log_s = res
    return ((cts[1] * jnp.exp(-log_s)) * e,)


_lean_lse.defvjp(_lean_lse_fwd, _lean_lse_bwd)


def _row_terms(z: Array, y: Array) -> tuple[Array, Array, Array]:
    """``m``, ``log s`` and ``z_y − m`` (keepdims) in the form that suits the row length.

    Up to ``FEW_CLASSES`` classes the per-row steps outweigh the passes over the logits,
    and the label-masked sum serves every batch in one form; longer rows are read as
    optax reads them (see :func:`_log_s_branched`), and the label's gradient is left to
    the gather's own (a scatter), which measured faster there than a masked pass.
    """
    if z.shape[-1] <= FEW_CLASSES:
        return _lean_rows(z, y)
    m, log_s = _lean_lse(z)
    return m, log_s, _label_logit(z, y) - m


def _row_max(z: Array) -> Array:
    m = jnp.max(z, axis=-1, keepdims=True)
    return jnp.where(jnp.isfinite(m), m, jnp.zeros_like(m))


def _label_logit(z: Array, y: Array) -> Array:
    return jnp.take_along_axis(z, y[..., None], axis=-1, mode="promise_in_bounds")


def _at_label(z: Array, y: Array) -> Array:
    return jax.lax.broadcasted_iota(y.dtype, z.shape, z.ndim - 1) == y[..., None]


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


def _lean_cross_entropy(z: Array, tg: SoftmaxTargets, checks: SoftmaxChecks, spec: LossSpec) -> Any:
    assert tg.labels is not None
    n_classes = z.shape[-1]
    # XLA computes z once, so every pass and the label's gather read the same values: a
    # fused producer of z (a softcap or tanh before the loss) would otherwise be evaluated
    # again with other roundings, z − m == 0 could fail at the maximum, and z_y − m at
    # the maximum be a rounding error that swamps a tiny loss.
    z = jax.lax.optimization_barrier(z)  # type: ignore[no-untyped-call]
    # lse − z_c = log s − (z_c − m): exact near the maximum.
    m, log_s, d_y = _row_terms(z, _valid_labels(tg, n_classes))
    keep = tg.keep
    nll_y = log_s[..., 0] - d_y[..., 0]
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


def _valid_labels(tg: SoftmaxTargets, n_classes: int) -> Array:
    """The labels as given, clipped into ``[0, C)``: an ignored or out-of-range label
    indexes a class like any other, and its row is zeroed (``keep``) or made NaN by its
    check.  Clipping the given labels lets XLA fuse that check into the rows' last step
    instead of computing the masked labels of the targets apart."""
    y = tg.labels if tg.given is None else tg.given
    return jnp.clip(y, 0, n_classes - 1).astype(jnp.int32)


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
