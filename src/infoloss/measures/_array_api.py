"""The array-API implementation of the measures: the same contract as the compiled kernels.

``measure_rows`` and ``joint_rows`` take already-converted arrays (outcome axis last, or a
table's X and Y axes last) and the parsed forms, and return the per-row values in nats and
the data checks of every argument, without raising: the pipeline hands the checks to the
validator.  Written with array-API standard functions only, so it runs on NumPy, PyTorch,
JAX, CuPy, Dask and array-api-strict; every stable formula comes from :mod:`infoloss._math`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from .. import _math
from .._validate import Check, entry_checks, mass_check
from .._xp import Array, sum_last

__all__ = ["joint_rows", "measure_rows"]


class Dist(NamedTuple):
    """One distribution argument, outcome axis last.

    ``logp`` is ``-inf`` exactly where ``p`` is 0 (up to underflow of ``exp``);
    ``from_probs`` says ``p`` holds the user's probabilities (so ratios can avoid a round
    trip through the log); ``exact`` says the distribution is normalised by construction
    (logits, or ``normalize=True``), which lets divergences use non-negative terms.
    """

    p: Array
    logp: Array
    from_probs: bool
    exact: bool
    log_mass: Array  # log of each row's total mass in the input, batch-shaped


def to_dist(xp: Any, x: Array, form: str, normalize: bool) -> Dist:
    if form == "probs":
        m, log_s = _math.log_scaled_mass(xp, x)
        log_mass = (_math.masked_log(xp, m) + log_s)[..., 0]
        if not normalize:
            return Dist(x, _math.masked_log(xp, x), True, False, log_mass)
        r = x / m
        logp = _math.masked_log(xp, r) - log_s
        return Dist(r / xp.exp(log_s), logp, True, True, log_mass)
    m, log_s = _math.lse_parts(xp, x)
    log_mass = (m + log_s)[..., 0]
    if form == "log_probs" and not normalize:
        return Dist(xp.exp(x), x, False, False, log_mass)
    logp = (x - m) - log_s
    return Dist(xp.exp(logp), logp, False, True, log_mass)


def checks_of(xp: Any, x: Array, d: Dist, name: str, form: str, normalize: bool) -> list[Check]:
    checks = entry_checks(xp, x, name, form)
    if form != "logits":
        n = x.shape[-1]
        checks.append(
            mass_check(xp, d.log_mass, name, dtype=x.dtype, n=n, normalize=normalize, hint=True)
        )
    return checks


def _positive(xp: Any, d: Dist) -> Array:
    return d.p > 0 if d.from_probs else d.logp > -xp.inf


def _neg_xlogy(xp: Any, P: Dist, Q: Dist) -> Array:
    """Terms ``−p log q``: 0 off the support of P (even where q = 0), +inf where p > 0 = q."""
    pos, qpos = _positive(xp, P), _positive(xp, Q)
    t = -_math.times(xp, P.p, xp.where(pos & qpos, Q.logp, xp.zeros_like(Q.logp)))
    return xp.where(pos & ~qpos, xp.inf, t)


def _kl_terms(xp: Any, P: Dist, Q: Dist) -> Array:
    """Terms of D(P‖Q): 0 off the support of P, +inf where p > 0 = q.

    Both normalised by construction: ``q h(log p − log q)`` (non-negative; see
    :func:`infoloss._math.kl_term`).  Both the user's probabilities: ``p log(p/q)`` with
    the careful ratio.  Otherwise ``p (log p − log q)``.
    """
    pos, qpos = _positive(xp, P), _positive(xp, Q)
    both = pos & qpos
    zero = xp.zeros_like(P.p)
    if P.exact and Q.exact:
        delta = xp.where(both, P.logp, zero) - xp.where(both, Q.logp, zero)
        t = xp.where(both, _math.kl_term(xp, P.p, Q.p, delta), xp.where(qpos, Q.p, zero))
    elif P.from_probs and Q.from_probs:
        one = xp.ones_like(P.p)
        lr = _math.log_ratio(xp, xp.where(both, P.p, one), xp.where(both, Q.p, one))
        t = P.p * xp.where(both, lr, zero)
    else:
        t = P.p * (xp.where(both, P.logp, zero) - xp.where(both, Q.logp, zero))
    return xp.where(pos & ~qpos, xp.inf, t)


def _js_terms(xp: Any, P: Dist, Q: Dist) -> Array:
    """Terms ``½ m f(d)``, ``m = (p + q)/2``, ``d = (p − q)/(p + q)``: each non-negative,
    0 exactly where p = q, never NaN (see :func:`infoloss._math.js_excess`)."""
    pos, qpos = _positive(xp, P), _positive(xp, Q)
    both, either = pos & qpos, pos | qpos
    zero = xp.zeros_like(P.p)
    one = xp.ones_like(P.p)
    if P.from_probs and Q.from_probs:
        total = xp.where(either, P.p + Q.p, one)
        d = xp.where(either, (P.p - Q.p) / total, zero)
    else:
        delta = xp.where(both, P.logp, zero) - xp.where(both, Q.logp, zero)
        d = xp.where(both, xp.tanh(delta / 2), xp.where(pos, one, -one))
    m = (P.p + Q.p) / 2
    return xp.where(either, m * _math.js_excess(xp, d) / 2, zero)


_TERMS: dict[str, Callable[..., Array]] = {
    "entropy": lambda xp, P: _neg_xlogy(xp, P, P),
    "cross_entropy": _neg_xlogy,
    "kl": _kl_terms,
    "js": _js_terms,
}


def measure_rows(
    xp: Any,
    kind: str,
    xs: list[Array],
    forms: tuple[str, ...],
    names: tuple[str, ...],
    normalize: bool,
) -> tuple[Array, list[Check]]:
    """Per-row ``kind`` in nats (batch-shaped) and the checks of every argument."""
    dists = [to_dist(xp, x, f, normalize) for x, f in zip(xs, forms, strict=True)]
    checks = [
        c
        for x, d, n, f in zip(xs, dists, names, forms, strict=True)
        for c in checks_of(xp, x, d, n, f, normalize)
    ]
    return sum_last(xp, _TERMS[kind](xp, *dists)), checks


# ------------------------------------------------------------------------- joint tables


def _flat(xp: Any, t: Array) -> Array:
    return xp.reshape(t, (*t.shape[:-2], t.shape[-2] * t.shape[-1]))


def _conditional_terms(xp: Any, J: Dist, x: Array, form: str) -> Array:
    """``P(x, y) log(P(x)/P(x, y))`` with the ratio formed around each row's maximum."""
    pos = _positive(xp, J)
    zero = xp.zeros_like(J.p)
    if form == "probs":
        # P(x)/P(x, y) = (m/P(x, y)) (Σ P / m): only the maximal entries make a ratio
        # near 1, and log(Σ P / m) is a log1p, exact however small the other entries are.
        m, log_s = _math.log_scaled_mass(xp, x)
        one = xp.ones_like(x)
        lr = _math.log_ratio(xp, xp.broadcast_to(m, x.shape), xp.where(pos, x, one)) + log_s
    else:
        m, log_s = _math.lse_parts(xp, x)
        lr = (m - xp.where(pos, x, zero)) + log_s
    return _math.times(xp, J.p, xp.where(pos, lr, zero))


def _mi_terms(xp: Any, J: Dist) -> Array:
    """Terms of D(P_XY ‖ P_X P_Y), per table either ``p δ`` (δ = log p − log q, q = P(x) P(y))
    or the KL terms ``p δ − p + q ≥ 0`` (:func:`infoloss._math.kl_term`).

    Where the ``p δ`` are mostly of one sign and the information is not small (≥ 1/64 nat),
    their sum is accurate to a few ulps (a perfectly correlated table gives log n exactly).
    Near independence they cancel, or are roundings of 0 of either sign, and can sum to a
    negative value or noise; the KL terms are each ≥ 0, so they never do (an independent
    table gives 0), at the cost of adding and removing the q's.  Each table takes the direct
    terms only in the first case."""
    pos = _positive(xp, J)
    zero = xp.zeros_like(J.p)
    if J.from_probs:
        px = xp.sum(J.p, axis=-1, keepdims=True)
        py = xp.sum(J.p, axis=-2, keepdims=True)
        one = xp.ones_like(J.p)
        # P(y|x) <= 1 cannot overflow; its ratio to P(y) goes through the careful log.
        # P(y) is divided by the table's total as P(y|x) is by P(x), so rounding in a
        # total slightly off 1 cancels; q = P(x) P(y) at the table's own total, so the q
        # parts of the KL terms sum to what the p parts do.
        total = xp.sum(px, axis=-2, keepdims=True)
        cond = xp.where(pos, J.p, one) / xp.where(pos, px * one, one)
        marg = xp.where(pos, py * one, one) / xp.where(pos, total * one, one)
        delta = xp.where(pos, _math.log_ratio(xp, cond, marg), zero)
        indep = px * (py / total)
    else:
        lx = _math.logsumexp(xp, J.logp)
        ly = xp.moveaxis(_math.logsumexp(xp, xp.moveaxis(J.logp, -2, -1)), -1, -2)
        indep = xp.exp(lx + ly) * xp.ones_like(J.p)
        delta = xp.where(pos, J.logp, zero) - xp.where(pos, lx + ly, zero)
        if not J.exact:
            return J.p * delta
    direct = J.p * delta
    kl = xp.where(pos, _math.kl_term(xp, J.p, indep, delta), indep)
    gain = xp.sum(xp.sum(xp.where(direct > 0, direct, zero), axis=-1), axis=-1)
    loss = xp.sum(xp.sum(xp.where(direct < 0, -direct, zero), axis=-1), axis=-1)
    clear = ((4 * loss <= gain) & (gain >= 1 / 64))[..., None, None]
    return xp.where(clear, direct, kl)


def joint_rows(
    xp: Any, kind: str, x: Array, form: str, name: str, normalize: bool
) -> tuple[Array, list[Check]]:
    """Per-table ``kind`` in nats for tables with X on axis −2 and Y on axis −1."""
    flat = _flat(xp, x)
    F = to_dist(xp, flat, form, normalize)
    checks = checks_of(xp, flat, F, name, form, normalize)
    if kind == "joint_entropy":
        return sum_last(xp, _neg_xlogy(xp, F, F)), checks
    shape = tuple(x.shape)
    J = Dist(xp.reshape(F.p, shape), xp.reshape(F.logp, shape), F.from_probs, F.exact, F.log_mass)
    terms = (
        _conditional_terms(xp, J, x, form) if kind == "conditional_entropy" else _mi_terms(xp, J)
    )
    return sum_last(xp, _flat(xp, terms)), checks
