# mypy: ignore-errors
# (numba kernels: their types come from numba, not from annotations)
"""The numba kernels of the NSB estimator (see :mod:`._nsb` for the mathematics).

Imported by :func:`._nsb.nsb_entropy` on first use, so that importing
:mod:`infoloss.estimators` does not import numba.

Everything is written in the Dirichlet concentration ``κ = K α`` and integrated over
``u = log κ``; ``K = inf`` is the limit of an unknown (unbounded) alphabet, in which the
symmetric Dirichlet prior becomes a Dirichlet process of concentration κ.  Each row is
reduced to its count fingerprint (the distinct non-zero counts ``v`` and how many
categories have each), so one evaluation costs O(distinct counts), whatever K is.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["digamma", "nsb_rows", "nsb_rows_serial", "trigamma", "trigamma_tail"]

# How far below its maximum the log posterior of u = log κ is when the integration window
# ends: e^-50 ≈ 2e-22, and the tails decay at least like e^-|u| beyond it.
_DROP = 50.0
# The posterior is evaluated on a trapezoid grid of u no coarser than a quarter of its
# half-width at e^-1/2 of the peak, and never coarser than 1/2 (the integrands are
# analytic in a strip of half-width π around the real u axis: the trapezoid rule's error
# there is about exp(-2π²/h), below 1e-17 at h = 1/2).
_WIDTH_STEPS = 4.0
_MAX_STEP = 0.5
_MAX_NODES = 200_000

_EULER = 0.5772156649015329


@njit(cache=True)
def digamma(x):
    """ψ(x) for x > 0: the recurrence ψ(x) = ψ(x + 1) - 1/x up to x ≥ 10, then the
    asymptotic series (error below 1e-16 relative there)."""
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    r = 1.0 / (x * x)
    series = r * (
        1.0 / 12.0
        - r
        * (
            1.0 / 120.0
            - r * (1.0 / 252.0 - r * (1.0 / 240.0 - r * (1.0 / 132.0 - r * (691.0 / 32760.0))))
        )
    )
    return acc + math.log(x) - 0.5 / x - series


@njit(cache=True)
def trigamma_tail(x):
    """ψ₁(x) - 1/x for x > 0, computed without cancellation: every term of the recurrence
    ψ₁(x) - 1/x = 1/(x²(x + 1)) + [ψ₁(x + 1) - 1/(x + 1)] is positive, and the
    asymptotic series starts at 1/(2x²)."""
    acc = 0.0
    while x < 10.0:
        acc += 1.0 / (x * x * (x + 1.0))
        x += 1.0
    r = 1.0 / x
    r2 = r * r
    # Σ B_2k / x^(2k+1), k = 1..8, after the leading 1/(2x²).
    series = (
        r
        * r2
        * (
            1.0 / 6.0
            + r2
            * (
                -1.0 / 30.0
                + r2
                * (
                    1.0 / 42.0
                    + r2
                    * (
                        -1.0 / 30.0
                        + r2
                        * (
                            5.0 / 66.0
                            + r2 * (-691.0 / 2730.0 + r2 * (7.0 / 6.0 - r2 * 3617.0 / 510.0))
                        )
                    )
                )
            )
        )
    )
    return acc + 0.5 * r2 + series


@njit(cache=True)
def trigamma(x):
    """ψ₁(x) for x > 0."""
    return 1.0 / x + trigamma_tail(x)


@njit(cache=True)
def _lgamma_ratio(x, n):
    """log Γ(x + n) - log Γ(x) for x > 0, n ≥ 0.  For x ≥ 10 from Stirling's series,
    written so that the two x log x sized terms never meet: a difference of two
    ``math.lgamma`` values of size x log x would lose all digits of an n log x sized
    result once x is large (κ up to e^60 occurs in the tails)."""
    if n == 0.0:
        return 0.0
    if x < 10.0:
        return math.lgamma(x + n) - math.lgamma(x)
    y = x + n
    return (
        (x - 0.5) * math.log1p(n / x) + n * math.log(y) - n + _stirling_tail(y) - _stirling_tail(x)
    )


@njit(cache=True)
def _stirling_tail(x):
    """log Γ(x) - [(x - 1/2) log x - x + log(2π)/2] for x ≥ 10 (error below 1e-17)."""
    r = 1.0 / x
    r2 = r * r
    return r * (
        1.0 / 12.0
        + r2
        * (
            -1.0 / 360.0
            + r2
            * (
                1.0 / 1260.0
                + r2
                * (
                    -1.0 / 1680.0
                    + r2
                    * (
                        1.0 / 1188.0
                        + r2 * (-691.0 / 360360.0 + r2 * (1.0 / 156.0 - r2 * 3617.0 / 122400.0))
                    )
                )
            )
        )
    )


@njit(cache=True)
def _log_prior(kappa, alpha, k, finite):
    """log dξ/dκ, ξ(κ) = ψ(κ + 1) - ψ(κ/K + 1) the prior mean entropy of Dir(κ/K).

    dξ/dκ = ψ₁(κ + 1) - ψ₁(α + 1)/K.  Written with ψ₁(y) = 1/y + tail(y), the two 1/y
    parts combine exactly into (K - 1)/((κ + 1)(κ + K)); what is left of the tails
    cancels at most half of it (for κ ≫ K both are about ∓(K - 1)/(2κ²)).
    """
    if not finite:
        return math.log(1.0 / (kappa + 1.0) + trigamma_tail(kappa + 1.0))
    main = (k - 1.0) / ((kappa + 1.0) * (kappa + k))
    return math.log(main + trigamma_tail(kappa + 1.0) - trigamma_tail(alpha + 1.0) / k)


@njit(cache=True)
def _log_post(u, vals, mult, n, k_obs, k, finite):
    """log of the posterior density of u = log κ, up to a constant.

    prior dξ/dκ, times κ (the Jacobian of u), times the Dirichlet-multinomial evidence
    Γ(κ)/Γ(N + κ) Π_i Γ(n_i + α)/Γ(α).  For the observed categories
    Γ(n + α)/Γ(α) = α Γ(n + α)/Γ(α + 1); the factors α^K_obs = κ^K_obs / K^K_obs give the
    (1 + K_obs) u below, and the rest is 1 when α = 0 (K = inf).
    """
    kappa = math.exp(u)
    alpha = kappa / k if finite else 0.0
    lp = _log_prior(kappa, alpha, k, finite) + (1.0 + k_obs) * u
    lp -= _lgamma_ratio(kappa, n)
    if finite:
        for j in range(vals.shape[0]):
            lp += mult[j] * _lgamma_ratio(alpha + 1.0, vals[j] - 1.0)
    return lp


@njit(cache=True)
def _moments(u, vals, mult, n, k_obs, k, finite, psi):
    """E[H | κ, n] and Var[H | κ, n] under the posterior Dirichlet (Wolpert & Wolf 1995).

    With n'_i = n_i + α, A = N + κ, w_i = n'_i/A and m = Σ w_i ψ(n'_i + 1):

        E[H]   = ψ(A + 1) - m
        Var[H] = Σ w_i (ψ(n'_i + 1) - m)² / (A + 1)
                 + Σ n'_i (n'_i + 1) tail(n'_i + 1) / (A (A + 1)) - tail(A + 1),

    tail(y) = ψ₁(y) - 1/y.  This is Wolpert and Wolf's E[H²] - E[H]² rearranged so that
    nothing large cancels: a weighted variance, and a difference of two small positive
    numbers.  The K - K_obs unobserved categories (n_i = 0) enter as one group of mass
    c0 = (K - K_obs) α, which is κ in the limit K = inf (α = 0).  ``psi`` is scratch.
    """
    kappa = math.exp(u)
    if finite:
        alpha = kappa / k
        c0 = (k - k_obs) * alpha
    else:
        alpha = 0.0
        c0 = kappa
    a = n + kappa
    psi0 = digamma(alpha + 1.0)
    s = c0 * psi0
    for j in range(vals.shape[0]):
        psi[j] = digamma(vals[j] + alpha + 1.0)
        s += mult[j] * (vals[j] + alpha) * psi[j]
    m = s / a
    spread = c0 * (psi0 - m) ** 2
    tails = c0 * (alpha + 1.0) * trigamma_tail(alpha + 1.0)
    for j in range(vals.shape[0]):
        nj = vals[j] + alpha
        spread += mult[j] * nj * (psi[j] - m) ** 2
        tails += mult[j] * nj * (nj + 1.0) * trigamma_tail(nj + 1.0)
    mean = digamma(a + 1.0) - m
    var = spread / (a * (a + 1.0)) + tails / (a * (a + 1.0)) - trigamma_tail(a + 1.0)
    return mean, max(var, 0.0)


@njit(cache=True)
def _fingerprint(row):
    """The distinct non-zero counts of a row (ascending) and how many entries have each."""
    nnz = 0
    top = 0.0
    for c in row:
        if c > 0.0:
            nnz += 1
            top = max(top, c)
    if nnz == 0:
        return np.empty(0), np.empty(0)
    if top <= 8.0 * nnz + 1024.0:
        hist = np.zeros(int(top) + 1, dtype=np.int64)
        for c in row:
            if c > 0.0:
                hist[int(c)] += 1
        d = 0
        for h in hist:
            if h > 0:
                d += 1
        vals = np.empty(d)
        mult = np.empty(d)
        d = 0
        for v in range(hist.shape[0]):
            if hist[v] > 0:
                vals[d] = v
                mult[d] = hist[v]
                d += 1
        return vals, mult
    nz = np.empty(nnz)
    i = 0
    for c in row:
        if c > 0.0:
            nz[i] = c
            i += 1
    nz.sort()
    d = 1
    for i in range(1, nnz):
        if nz[i] != nz[i - 1]:
            d += 1
    vals = np.empty(d)
    mult = np.zeros(d)
    d = 0
    vals[0] = nz[0]
    for i in range(nnz):
        if nz[i] != vals[d]:
            d += 1
            vals[d] = nz[i]
        mult[d] += 1.0
    return vals, mult


@njit(cache=True)
def _crossing(lo, hi, level, vals, mult, n, k_obs, k, finite):
    """Bisection for the u between lo and hi where the log posterior crosses ``level``
    (it is above the level at lo and below it at hi; lo < hi or lo > hi), to 2^-36 of
    the starting bracket (the grid only needs the crossing roughly)."""
    for _ in range(36):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if _log_post(mid, vals, mult, n, k_obs, k, finite) >= level:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@njit(cache=True)
def _beyond(u, step, level, vals, mult, n, k_obs, k, finite):
    """Walk from u by doubling steps (signed) until the log posterior is below ``level``."""
    while _log_post(u, vals, mult, n, k_obs, k, finite) >= level:
        u += step
        step *= 2.0
    return u


@njit(cache=True)
def _peak(vals, mult, n, k_obs, k, finite):
    """The mode u* of the log posterior and its value: a walk on a grid of step 1 from
    u = 0 until the log posterior has fallen _DROP below the best point on each side,
    then golden-section search between the best point's neighbours (the posterior of u
    is unimodal: it rises like e^(K_obs u), or e^u with no data, as u → -inf and falls
    at least like e^-u as u → +inf)."""
    best_u = 0.0
    best = _log_post(0.0, vals, mult, n, k_obs, k, finite)
    for direction in (1.0, -1.0):
        u = 0.0
        while True:
            u += direction
            lp = _log_post(u, vals, mult, n, k_obs, k, finite)
            if lp > best:
                best, best_u = lp, u
            elif lp < best - _DROP:
                break
    lo, hi = best_u - 1.0, best_u + 1.0
    g = 0.5 * (math.sqrt(5.0) - 1.0)
    x1 = hi - g * (hi - lo)
    x2 = lo + g * (hi - lo)
    f1 = _log_post(x1, vals, mult, n, k_obs, k, finite)
    f2 = _log_post(x2, vals, mult, n, k_obs, k, finite)
    for _ in range(80):
        if hi - lo < 1e-8:
            break
        if f1 >= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - g * (hi - lo)
            f1 = _log_post(x1, vals, mult, n, k_obs, k, finite)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + g * (hi - lo)
            f2 = _log_post(x2, vals, mult, n, k_obs, k, finite)
    if f1 >= f2 and f1 >= best:
        return x1, f1
    if f2 >= best:
        return x2, f2
    return best_u, best


@njit(cache=True)
def _nsb_one(vals, mult, k, finite):
    """(posterior mean, posterior standard deviation) of H for one fingerprint."""
    n = 0.0
    k_obs = 0.0
    for j in range(vals.shape[0]):
        n += vals[j] * mult[j]
        k_obs += mult[j]
    if finite and k == 1.0:
        return 0.0, 0.0
    if not finite and n == k_obs:
        # No coincidence: with an unbounded alphabet the posterior of κ is improper
        # (its mean entropy diverges); the plug-in log N, flagged by an infinite SD.
        return math.log(n), math.inf
    u0, top = _peak(vals, mult, n, k_obs, k, finite)
    half = top - 0.5
    # The half-widths at e^-1/2 of the peak (σ for a Gaussian), then the window's ends.
    left = _crossing(
        u0,
        _beyond(u0 - 1.0, -1.0, half, vals, mult, n, k_obs, k, finite),
        half,
        vals,
        mult,
        n,
        k_obs,
        k,
        finite,
    )
    right = _crossing(
        u0,
        _beyond(u0 + 1.0, 1.0, half, vals, mult, n, k_obs, k, finite),
        half,
        vals,
        mult,
        n,
        k_obs,
        k,
        finite,
    )
    floor = top - _DROP
    lo = _crossing(
        u0,
        _beyond(left, -(u0 - left), floor, vals, mult, n, k_obs, k, finite),
        floor,
        vals,
        mult,
        n,
        k_obs,
        k,
        finite,
    )
    hi = _crossing(
        u0,
        _beyond(right, right - u0, floor, vals, mult, n, k_obs, k, finite),
        floor,
        vals,
        mult,
        n,
        k_obs,
        k,
        finite,
    )
    step = min(min(u0 - left, right - u0) / _WIDTH_STEPS, _MAX_STEP)
    nodes = math.ceil((hi - lo) / step) + 1
    nodes = min(max(nodes, 33), _MAX_NODES)
    step = (hi - lo) / (nodes - 1)
    psi = np.empty(vals.shape[0])
    # Trapezoid rule; the weighted mean and spread of E[H | κ] are accumulated with
    # West's (1979) update, so the law of total variance needs no second pass.
    total = 0.0
    mean = 0.0
    spread = 0.0
    within = 0.0
    for i in range(nodes):
        u = lo + i * step
        w = math.exp(_log_post(u, vals, mult, n, k_obs, k, finite) - top)
        if i == 0 or i == nodes - 1:
            w *= 0.5
        if w == 0.0:
            continue
        h, v = _moments(u, vals, mult, n, k_obs, k, finite, psi)
        total += w
        delta = h - mean
        mean += (w / total) * delta
        spread += w * delta * (h - mean)
        within += w * v
    var = (spread + within) / total
    return mean, math.sqrt(max(var, 0.0))


@njit(cache=True, parallel=True)
def nsb_rows(counts, k, finite):
    """NSB posterior mean and standard deviation of the entropy (nats) of each row of
    ``counts`` (float64, non-negative whole numbers), alphabet size ``k`` (ignored when
    ``finite`` is False: the unbounded-alphabet limit), the rows shared among threads."""
    rows = counts.shape[0]
    mean = np.empty(rows)
    sd = np.empty(rows)
    for r in prange(rows):
        vals, mult = _fingerprint(counts[r])
        mean[r], sd[r] = _nsb_one(vals, mult, k, finite)
    return mean, sd


@njit(cache=True)
def nsb_rows_serial(counts, k, finite):
    """:func:`nsb_rows` on the calling thread (for a few rows, where starting the thread
    pool costs more than the work)."""
    rows = counts.shape[0]
    mean = np.empty(rows)
    sd = np.empty(rows)
    for r in range(rows):
        vals, mult = _fingerprint(counts[r])
        mean[r], sd[r] = _nsb_one(vals, mult, k, finite)
    return mean, sd
