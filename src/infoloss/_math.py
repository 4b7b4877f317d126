"""The numerics every array-API path shares: one place for each stable formula.

Everything takes the namespace ``xp`` and works on the last axis.  Each formula is written
so that it stays accurate where a naive one cancels or overflows, and so that automatic
differentiation (PyTorch, JAX) never meets ``0 · inf`` or ``inf − inf``: every value that
an unselected branch of a ``where`` would turn into NaN is masked *before* the operation
that would produce it.  The compiled kernels implement the same formulas (see
:mod:`infoloss._kernels`).
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

from ._xp import Array

__all__ = [
    "js_excess",
    "kl_term",
    "log_ratio",
    "log_scaled_mass",
    "log_sigmoid_pair",
    "log_softmax",
    "logsumexp",
    "lse_parts",
    "masked_log",
    "sigmoid_pair",
    "softcap",
    "softcap_slope",
    "softplus",
    "times",
]

LN2 = math.log(2.0)


def masked_log(xp: Any, p: Array) -> Array:
    """``log p`` with ``-inf`` at zeros, without evaluating ``log 0`` (no warnings, no NaN)."""
    pos = p > 0
    return xp.where(pos, xp.log(xp.where(pos, p, xp.ones_like(p))), -xp.inf)


def times(xp: Any, coef: Array, x: Array) -> Array:
    """``coef * x`` with 0 wherever ``coef`` is 0, even where ``x`` is infinite."""
    return coef * xp.where(coef != 0, x, xp.zeros_like(x))


def _first_max(xp: Any, x: Array) -> Array:
    """A boolean mask with one True per row (keepdims layout): the first row maximum.

    Found by position (``argmax``), never by comparing values with the maximum: a compiler
    (XLA under ``jax.jit``) may evaluate the expression that produced ``x`` once for the
    maximum and again for the comparison, with different roundings, so ``x == max(x)``
    can hold nowhere in a row.
    """
    idx = xp.argmax(x, axis=-1, keepdims=True)
    classes = xp.arange(x.shape[-1], dtype=idx.dtype, device=array_api_compat.device(x))
    return classes == idx


def lse_parts(xp: Any, z: Array) -> tuple[Array, Array]:
    """The row maximum ``m`` and ``log Σ exp(z − m)`` (keepdims), for logits ``z``.

    With ``j`` the first maximum, the sum is ``e^{z_j − m} + rest`` and its log is
    ``log1p(expm1(z_j − m) + rest)``: when one logit dominates, ``rest`` is tiny and keeps
    its relative accuracy, and so does every quantity built on it (``logsumexp(z) − z_max``
    is ``log1p(rest)`` exactly, as ``z_j − m`` is 0 in an eager evaluation).  Under a
    compiler that recomputes ``z`` with another rounding, ``z_j − m`` is a rounding error
    instead of 0 and the formula stays right.  A row of all ``-inf`` gives ``m = 0`` and
    ``-inf``.
    """
    m = xp.max(z, axis=-1, keepdims=True)
    some = xp.isfinite(m)
    m = xp.where(some, m, xp.zeros_like(m))
    with np.errstate(over="ignore"):  # z − m < −max only where exp gives 0 anyway
        shifted = z - m
    first = _first_max(xp, z)
    zero = xp.zeros_like(shifted)
    lead = xp.sum(xp.where(first, shifted, zero), axis=-1, keepdims=True)
    rest = xp.sum(
        xp.where(first, zero, xp.exp(xp.where(first, zero, shifted))), axis=-1, keepdims=True
    )
    zero1 = xp.zeros_like(rest)
    lead = xp.where(some, lead, zero1)
    log_s = xp.log1p(xp.where(some, xp.expm1(lead) + rest, zero1))
    return m, xp.where(some, log_s, zero1 - xp.inf)


def logsumexp(xp: Any, z: Array) -> Array:
    """``log Σ exp z`` over the last axis with keepdims; stable for ±1e308 and ``-inf``."""
    m, log_s = lse_parts(xp, z)
    return m + log_s


def log_softmax(xp: Any, z: Array) -> Array:
    """``z − logsumexp(z)`` as ``(z − m) − log s``: the shift is exact near the maximum."""
    m, log_s = lse_parts(xp, z)
    with np.errstate(over="ignore"):
        return (z - m) - log_s


def softcap(xp: Any, z: Array, cap: float) -> Array:
    """Soft-capped logits ``cap · tanh(z / cap)`` (Gemma 2's final-logit soft-capping).

    Bounded by ``cap`` in absolute value; ``±inf`` gives ``±cap`` and NaN stays NaN.
    ``tanh`` is accurate for small and large arguments alike, so no branch is needed.
    """
    return cap * xp.tanh(z / cap)


def softcap_slope(xp: Any, z: Array, cap: float) -> Array:
    """``d softcap / dz = 1 − tanh²(z / cap) = sech²(z / cap)``, to full relative accuracy.

    Written as ``4e / (1 + e)²`` with ``e = exp(−2|z| / cap) ≤ 1``: nothing overflows,
    ``±inf`` gives 0, and where ``tanh`` rounds to ±1 the slope keeps its small value
    (``1 − tanh²`` would cancel to 0 there).
    """
    e = xp.exp(-2 * xp.abs(z) / cap)
    return 4 * e / ((1 + e) * (1 + e))


def log_scaled_mass(xp: Any, p: Array) -> tuple[Array, Array]:
    """For non-negative rows ``p``: the row maximum ``m`` and ``log(Σ p / m)`` (keepdims).

    The probability analogue of :func:`lse_parts`: with ``j`` the first maximum,
    ``Σ p / m = p_j / m + rest``, so the log is ``log1p((p_j / m − 1) + rest)``, accurate
    for a dominant entry (``p_j / m − 1`` is 0 in an eager evaluation, a rounding error
    under a compiler that recomputes ``p``), and nothing overflows or underflows however
    large or subnormal the row's sum is.  A row of zeros gives ``m = 1`` and ``-inf``.
    """
    m = xp.max(p, axis=-1, keepdims=True)
    pos = m > 0
    m = xp.where(pos, m, xp.ones_like(m))
    r = p / m
    first = _first_max(xp, p)
    zero = xp.zeros_like(r)
    lead = xp.sum(xp.where(first, r, zero), axis=-1, keepdims=True)
    rest = xp.sum(xp.where(first, zero, r), axis=-1, keepdims=True)
    zero1 = xp.zeros_like(rest)
    log_s = xp.log1p(xp.where(pos, (lead - 1) + rest, zero1))
    return m, xp.where(pos, log_s, zero1 - xp.inf)


def log_ratio(xp: Any, a: Array, b: Array) -> Array:
    """``log(a / b)`` for positive arrays, to a few ulp wherever it is finite.

    ``log1p((a − b) / b)`` near a = b, where ``a − b`` is exact (Sterbenz); ``log(a / b)``
    while the ratio is a normal number; ``log a − log b`` where it would overflow or
    underflow.
    """
    one = xp.ones_like(a)
    d = xp.log(a) - xp.log(b)
    lim = 0.5 * math.log(float(xp.finfo(a.dtype).max))
    safe = xp.abs(d) < lim
    r = a / xp.where(safe, b, a)
    near = safe & (r >= 0.5) & (r <= 2.0)
    an = xp.where(near, a, one)
    bn = xp.where(near, b, one)
    return xp.where(near, xp.log1p((an - bn) / bn), xp.where(safe, xp.log(r), d))


def _series(xp: Any, x: Array, coefs: list[float]) -> Array:
    """Σ_k coefs[k] x^k by Horner's rule."""
    acc = xp.zeros_like(x) + coefs[-1]
    for c in reversed(coefs[:-1]):
        acc = acc * x + c
    return acc


# h(δ) = δ e^δ − expm1(δ) = Σ_{k≥2} (k − 1)/k! δ^k, for |δ| ≤ 1 (error < 1e-18 there).
_KL_SERIES = [0.0, 0.0] + [(k - 1) / math.factorial(k) for k in range(2, 24)]


def kl_term(xp: Any, p: Array, q: Array, delta: Array) -> Array:
    """``p δ − p + q ≥ 0`` with ``δ = log p − log q``: one term of D(P‖Q) for exactly
    normalised P and Q (the ``− p + q`` parts sum to 0).

    ``q h(δ)`` with ``h(δ) = δ e^δ − e^δ + 1`` by its series for ``|δ| ≤ 1``, where the
    direct form cancels; ``p (δ − 1) + q`` beyond, where it does not.  Every term is
    non-negative, so the divergence cannot come out negative by rounding, and it is 0
    exactly where P = Q.  ``delta`` must be finite (mask it first).
    """
    small = xp.abs(delta) <= 1
    ds = xp.where(small, delta, xp.zeros_like(delta))
    return xp.where(small, q * _series(xp, ds, _KL_SERIES), p * (delta - 1) + q)


# f(d) = (1 + d) log(1 + d) + (1 − d) log(1 − d) = Σ_{k≥1} d^{2k} / (k (2k − 1)).
def js_excess(xp: Any, d: Array) -> Array:
    """``f(d) = (1 + d) log1p(d) + (1 − d) log1p(−d) ≥ 0`` for ``d`` in [−1, 1].

    With ``d = (p − q)/(p + q)`` and ``m = (p + q)/2`` the Jensen–Shannon terms of one
    outcome are ``½ m f(d)``: non-negative, 0 exactly at p = q, and ``m ln 2`` where one
    side is 0.  For ``|d| ≤ ½`` it is ``log1p(−d²) + 2 d atanh(d)`` (no cancellation
    beyond one bit); beyond, the direct form, whose first term dominates.
    """
    small = xp.abs(d) <= 0.5
    edge = xp.abs(d) == 1
    ds = xp.where(small, d, xp.zeros_like(d))
    dl = xp.where(small | edge, xp.zeros_like(d) + 0.75, d)
    near = xp.log1p(-ds * ds) + 2 * ds * xp.atanh(ds)
    far = (1 + dl) * xp.log1p(dl) + (1 - dl) * xp.log1p(-dl)
    return xp.where(small, near, xp.where(edge, xp.zeros_like(d) + 2 * LN2, far))


def softplus(xp: Any, x: Array) -> Array:
    """``log(1 + e^x)``: ``x + log1p(e^{−x})`` for x > 0, ``log1p(e^x)`` otherwise.

    Exact for large ``|x|``, no overflow; each branch's input is masked to 0 on the other
    side, so autograd gets the true derivative σ(x) everywhere (also at 0 and at ±inf).
    """
    pos = x > 0
    zero = xp.zeros_like(x)
    xpos = xp.where(pos, x, zero)
    xneg = xp.where(pos, zero, x)
    return xp.where(pos, xpos + xp.log1p(xp.exp(-xpos)), xp.log1p(xp.exp(xneg)))


def sigmoid_pair(xp: Any, z: Array) -> tuple[Array, Array]:
    """``σ(z)`` and ``1 − σ(z) = σ(−z)``, each without cancellation or overflow.

    Each branch exponentiates only a non-positive number, and each branch's input is
    masked to 0 on the other side, so autograd sees the true derivative everywhere
    (``|z|`` would give a zero derivative at ``z = 0``).
    """
    pos = z >= 0
    zero = xp.zeros_like(z)
    e_pos = xp.exp(-xp.where(pos, z, zero))  # e^{−z} for z ≥ 0
    e_neg = xp.exp(xp.where(pos, zero, z))  # e^{z} for z < 0
    sig = xp.where(pos, 1 / (1 + e_pos), e_neg / (1 + e_neg))
    sig_neg = xp.where(pos, e_pos / (1 + e_pos), 1 / (1 + e_neg))
    return sig, sig_neg


def log_sigmoid_pair(xp: Any, z: Array) -> tuple[Array, Array]:
    """``log σ(z) = −softplus(−z)`` and ``log(1 − σ(z)) = −softplus(z)``, never clamped."""
    return -softplus(xp, -z), -softplus(xp, z)
