"""The differentiable operations: ``jax.custom_vjp`` around the FFI targets, the
per-sample form and the reduced form (whose forward is the fused pass under
differentiation)."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from .. import _math
from .._xp import Array
from ._calls import _call, _Extra, _spec


def _forward(
    z: Array, t: Array, w: Array, eps: float, ign: int | None, extra: _Extra
) -> tuple[Array, ...]:
    n = z.shape[0]
    vec = _spec((n,), z.dtype)
    outs = [vec, vec, vec, _spec((2,), z.dtype), _spec((), z.dtype)]
    name = "infoloss_xent_forward"
    loss, hi, lo, bad, total = _call(name, outs, z, t, w, eps=eps, ign=ign, extra=extra)
    return loss, hi, lo, bad, total


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _xent(
    z: Array, t: Array, w: Array, eps: float, ign: int | None, extra: _Extra
) -> tuple[Array, Array]:
    """Per-sample losses (N,) and the kernels' counts (2,) for (N, C) logits ``z``,
    labels (N,) (ignored ones equal to ``ign``) or probabilities (N, C), weights (C,)."""
    loss, _, _, bad, _ = _forward(z, t, w, eps, ign, extra)
    return loss, bad


def _xent_fwd(
    z: Any, t: Any, w: Any, eps: float, ign: int | None, extra: _Extra
) -> tuple[tuple[Array, Array], tuple[Any, ...]]:
    loss, hi, lo, bad, _ = _forward(z.value, t.value, w.value, eps, ign, extra)
    flags = (z.perturbed, t.perturbed, w.perturbed)
    return (loss, bad), (z.value, t.value, w.value, hi, lo, flags)


def _xent_bwd(
    eps: float, ign: int | None, extra: _Extra, res: tuple[Any, ...], cts: Any
) -> tuple[Any, ...]:
    z, t, w, hi, lo, (dz, dt, dw) = res
    up = cts[0]
    if type(up).__name__ == "SymbolicZero":
        return (None, None, None)
    gz = None
    if dz:
        out = [_spec(z.shape, z.dtype)]
        name = "infoloss_xent_backward"
        (gz,) = _call(name, out, z, t, w, hi, lo, up, eps=eps, ign=ign, extra=extra)
    gt, gw = _target_weight_grads(z, t, w, hi, lo, up, eps, ign, extra, dt, dw)
    return (gz, gt, gw)


def _target_weight_grads(
    z: Array,
    t: Array,
    w: Array,
    hi: Array,
    lo: Array,
    up: Array,
    eps: float,
    ign: int | None,
    extra: _Extra,
    dt: bool,
    dw: bool,
) -> tuple[Array | None, Array | None]:
    """Cotangents of probability targets and class weights, formed only when asked for."""
    if not (dt or dw):
        return None, None
    # ℓ_i = Σ_c w_c p̃_ic (lse_i − ζ_ic) + λ lse_i² Σ_c w_c u_ic, p̃ = (1−ε)·u + ε·keep/C,
    # with ζ the (soft-capped) logits and lse theirs.
    zc = z if extra.softcap is None else _math.softcap(jnp, z, extra.softcap)
    nll = (hi[:, None] - zc) + lo[:, None]  # lse − ζ, with the float64 lse's low part
    n_classes = z.shape[-1]
    if t.ndim == 1:  # labels; ignored ones carry ``ign`` and have keep = 0
        keep = jnp.ones_like(up) if ign is None else (t != ign).astype(z.dtype)
        u = jax.nn.one_hot(t, n_classes, dtype=z.dtype) * keep[:, None]
        target = (1 - eps) * u + (eps / n_classes) * keep[:, None]
    else:
        u = t
        target = (1 - eps) * t + eps / n_classes
    zsq = None
    if extra.zloss:
        lse = hi + lo
        zsq = (extra.zloss * lse * lse)[:, None]
    gw = None
    if dw:
        per = _times(target, nll) if zsq is None else _times(target, nll) + _times(u, zsq)
        gw = jnp.sum(up[:, None] * per, axis=0)
    gt = None
    if dt and t.ndim == 2:
        per = (1 - eps) * _times(w[None, :], nll)
        gt = up[:, None] * (per if zsq is None else per + w[None, :] * zsq)
    return gt, gw


def _times(a: Array, b: Array) -> Array:
    """a·b with 0 where a = 0 (b may be +inf there: a −inf logit with no target mass)."""
    return jnp.where(a == 0, jnp.zeros_like(b), a * b)


_xent.defvjp(_xent_fwd, _xent_bwd, symbolic_zeros=True)


def _fused(
    z: Array, t: Array, w: Array, scale: Array, eps: float, ign: int | None, extra: _Extra
) -> Any:
    """Per-sample losses, ``scale · ∂ℓ_i/∂z_i``, the lse pair, the counts and the losses'
    sum, one pass."""
    n = z.shape[0]
    vec = _spec((n,), z.dtype)
    outs = [vec, _spec(z.shape, z.dtype), vec, vec, _spec((2,), z.dtype), _spec((), z.dtype)]
    name = "infoloss_xent_fused"
    return _call(name, outs, z, t, w, scale, eps=eps, ign=ign, extra=extra)


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5, 6))
def _xent_total(
    z: Array, t: Array, w: Array, scale: Array, eps: float, ign: int | None, extra: _Extra
) -> tuple[Array, Array]:
    """``scale · Σ_i ℓ_i`` (the "mean" and "sum" reductions) and the counts.  Under
    differentiation the forward is the fused pass, which writes the gradient while it
    reads the logits; the backward only multiplies it, in place, by the upstream (a
    no-op when that is 1, as for a loss)."""
    _, _, _, bad, total = _forward(z, t, w, eps, ign, extra)
    return scale * total, bad


def _xent_total_fwd(
    z: Any, t: Any, w: Any, scale: Any, eps: float, ign: int | None, extra: _Extra
) -> tuple[tuple[Array, Array], tuple[Any, ...]]:
    if z.perturbed:
        _, grad, hi, lo, bad, total = _fused(
            z.value, t.value, w.value, scale.value, eps, ign, extra
        )
    else:
        _, hi, lo, bad, total = _forward(z.value, t.value, w.value, eps, ign, extra)
        grad = None
    flags = (t.perturbed, w.perturbed, scale.perturbed)
    res = (z.value, t.value, w.value, scale.value, total, grad, hi, lo, flags)
    return (scale.value * total, bad), res


def _xent_total_bwd(
    eps: float, ign: int | None, extra: _Extra, res: tuple[Any, ...], cts: Any
) -> tuple[Any, ...]:
    z, t, w, scale, total, grad, hi, lo, (dt, dw, ds) = res
    ct = cts[0]
    if type(ct).__name__ == "SymbolicZero":
        return (None, None, None, None)
    gz = None
    if grad is not None:
        factor = jnp.asarray(ct, grad.dtype)
        out = [_spec(grad.shape, grad.dtype)]
        (gz,) = _call("infoloss_scale", out, grad, factor, aliases={0: 0})
    up = jnp.broadcast_to(ct * scale, hi.shape).astype(z.dtype)
    gt, gw = _target_weight_grads(z, t, w, hi, lo, up, eps, ign, extra, dt, dw)
    gs = ct * total if ds else None
    return (gz, gt, gw, gs)


_xent_total.defvjp(_xent_total_fwd, _xent_total_bwd, symbolic_zeros=True)
