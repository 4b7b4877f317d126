# mypy: ignore-errors
# (numba kernels: their types come from numba, not from annotations)
"""Entropy, cross-entropy, KL and Jensen–Shannon of rows, every form, fused per row.

The same formulas as the array-API implementation (:mod:`infoloss.measures._array_api`,
built on :mod:`infoloss._math`), entry by entry:

- each argument is decoded per entry into ``(p > 0, p, log p)`` by its *mode*: raw
  probabilities (``log p`` by a vectorised log), probabilities normalised relative to the
  row maximum m (``r = x/m``, ``p = r/s``, ``log p = log r − log s`` with
  ``log s = log1p((k − 1) + rest)``: nothing over- or underflows however large or
  subnormal the row's sum), raw log-probabilities, or normalised log-probabilities and
  logits (``log p = (z − m) − log s``);
- cross-entropy terms ``−p log q`` (0 off the support of P, +inf where p > 0 = q);
- KL terms ``q h(δ)`` / ``p (δ − 1) + q`` (≥ 0, 0 at p = q) where both are normalised,
  ``p log(p/q)`` by ``flog_ratio`` (one log, no over- or underflow of p/q) where both
  are probabilities, else ``p δ``;
- JS terms ``½ m f(d)`` with ``d = (p − q)/(p + q)`` in every form, ``f`` by a polynomial
  in d² for ``|d| ≤ ½``: each ≥ 0 and 0 exactly at p = q.

A row is read from memory once: arguments whose mode needs the row's maximum and
normaliser first (normalised probabilities, logits) get a statistics pass, chunk by chunk
with an online maximum, and the terms are then summed in a second pass that re-reads the
row from cache; raw arguments have their statistics summed in the terms pass itself.
Entropy needs no second pass in any form (``H = log s − t/s`` with
``t = Σ e^d d`` accumulated online).  Sums run in the dtype within a chunk of ``CHUNK``
entries and in float64 across chunks.  Bad entries are counted, never raised on; their
row's value is NaN.

Each (kind, modes) combination is its own compiled kernel (a closure over the constants,
so the branches on them fold away and the inner loops vectorise); ``cache=True`` keys the
cache on those constants.
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads, njit, prange, types
from numba.extending import overload

from ._compile import for_rows
from ._exp import FASTMATH, cast_like, fexp, fexp_low, flog, flog_ratio
from ..._kernels._results import ArgStats, MeasureRows
from ._rows import (
    CHUNK,
    chunk_max,
    chunk_store_next,
    chunk_sums_next,
    max_bits,
    max_from,
    row_lse_store,
    row_lse_t,
)

__all__ = ["measure_rows"]

# Modes of an argument.
P_RAW = 0  # probabilities as given
P_SCL = 1  # probabilities, normalised relative to the row maximum
L_RAW = 2  # log-probabilities as given
L_EXACT = 3  # log-probabilities normalised, or logits

_LN2 = math.log(2.0)


def mode_of(form: str, normalize: bool) -> int:
    if form == "probs":
        return P_SCL if normalize else P_RAW
    if form == "log_probs":
        return L_EXACT if normalize else L_RAW
    if form == "logits":
        return L_EXACT
    raise ValueError(f"unknown form {form!r}")


# ----------------------------------------------------------------------------- numerics


def polynomial_for(c32, c64, doc, inline="always"):
    """A jitted function of x: the polynomial Σ c[i]·x^i by Horner's rule, with the
    coefficients ``c32`` for a float32 x, else ``c64``."""

    def poly(x):
        raise NotImplementedError

    poly.__doc__ = doc

    @overload(poly, inline=inline, error_model="numpy", fastmath=FASTMATH)
    def _ov_poly(x):
        c = c32 if isinstance(x, types.Float) and x.bitwidth == 32 else c64
        top = len(c) - 1

        def impl(x):
            g = c[top]
            for i in range(top - 1, -1, -1):
                g = g * x + c[i]
            return g

        return impl

    return poly


# g(δ) = h(δ)/δ² with h(δ) = δ e^δ − expm1(δ) = Σ_{k≥2} (k − 1)/k! δ^k (as
# infoloss._math._KL_SERIES), as a polynomial on [−1, 1] (least squares in relative error at
# Chebyshev nodes, mpmath): degree 14, 1.5e-17 (float64; the Taylor series needs 17 terms)
# and degree 9, 2.7e-8 (float32).
_KLG64 = (
    0.5,
    0.33333333333333337,
    0.12499999999999985,
    0.03333333333333201,
    0.0069444444444469716,
    0.001190476190491155,
    0.0001736111110961616,
    2.2045855305546772e-05,
    2.4801587715075295e-06,
    2.505212686272622e-07,
    2.2964376016322137e-08,
    1.926838288880433e-09,
    1.4915460366059796e-10,
    1.0873328118926434e-11,
    7.125721315189791e-13,
)
_KLG32 = tuple(
    np.float32(c)
    for c in (
        0.5,
        0.3333333432674408,
        0.125,
        0.03333333507180214,
        0.006944460794329643,
        0.0011904658749699593,
        0.00017356284661218524,
        2.2057629394112155e-05,
        2.536834699640167e-06,
        2.481796741449216e-07,
    )
)
kl_g = polynomial_for(_KLG32, _KLG64, "h(δ)/δ² for |δ| ≤ 1 (see :func:`kl_term`).")


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def kl_term(p, q, delta):
    """``p δ − p + q ≥ 0`` (see :func:`infoloss._math.kl_term`); ``delta`` finite: q h(δ)
    for |δ| ≤ 1 (no cancellation), the direct form beyond."""
    one = cast_like(1.0, delta)
    small = abs(delta) <= one
    ds = delta if small else cast_like(0.0, delta)
    return q * (kl_g(ds) * ds * ds) if small else p * (delta - one) + q


# f(d)/d² as a polynomial in x = d² on [0, 1/4] (a least-squares fit in relative error at
# Chebyshev nodes, computed with mpmath; the Taylor series Σ x^(k−1)/(k(2k − 1)) needs twice
# the terms): relative error 1.4e-17 (float64), 5.7e-9 (float32) before rounding.
_JSX64 = (
    1.0,
    0.16666666666665886,
    0.06666666666840061,
    0.035714285563254816,
    0.022222229037814987,
    0.01515133276565231,
    0.010992129043794407,
    0.008297844135332546,
    0.006809854619280138,
    0.0038325375004550424,
    0.009252011320319222,
    -0.0067921580124478435,
    0.01440398723740618,
)
_JSX32 = tuple(
    np.float32(c)
    for c in (
        1.0,
        0.1666673868894577,
        0.06663384288549423,
        0.036255694925785065,
        0.018285660073161125,
        0.027547771111130714,
    )
)
_jsx_poly = polynomial_for(_JSX32, _JSX64, "f(d)/d² for x = d² ≤ 1/4.", inline="never")


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def jsx_near(x):
    """f(d) for x = d² ≤ 1/4 (see :func:`js_excess`)."""
    return _jsx_poly(x) * x


# (2 − b) log(2 − b) = (1 + a) log(1 + a) for b = 1 − a in [0, 1/2], as a polynomial in b
# (least squares at Chebyshev nodes, mpmath): within 1.4e-16 (float64) and 1.1e-8
# (float32) of f(d) ≥ f(1/2) = 0.26, so the far form needs one log, that of b.
_JSF64 = (
    1.3862943611198906,
    -1.6931471805599454,
    0.25000000000001427,
    0.041666666665836044,
    0.010416666691985975,
    0.003124999536303349,
    0.0010416721926441868,
    0.0003719788321068133,
    0.00013976622126597805,
    5.3204497391918e-05,
    2.4751443578261904e-05,
    2.642898172040158e-06,
    1.2341401200464932e-05,
    -5.949107275409685e-06,
    4.050584173333103e-06,
)
_JSF32 = tuple(
    np.float32(c)
    for c in (
        1.3862943649291992,
        -1.6931471824645996,
        0.24999956786632538,
        0.04167340695858002,
        0.010365382768213749,
        0.0033336018677800894,
        0.00058580661425367,
        0.0008516042144037783,
    )
)
jsx_far = polynomial_for(
    _JSF32, _JSF64, "(2 − b) log(2 − b) for b in [0, 1/2] (see :func:`js_excess`).", inline="never"
)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def js_excess(d):
    """``f(d) = (1 + d) log1p(d) + (1 − d) log1p(−d) ≥ 0`` for d in [−1, 1] (see
    :func:`infoloss._math.js_excess`): a polynomial in d² for |d| ≤ ½ (no cancellation:
    f(d) = Σ d^2k/(k(2k − 1)), every term > 0); beyond, with b = 1 − |d| (exact), a
    polynomial for (2 − b) log(2 − b) plus b log b; 2 ln 2 at |d| = 1."""
    one = cast_like(1.0, d)
    zero = cast_like(0.0, d)
    a = abs(d)
    small = a <= cast_like(0.5, d)
    s = a if small else zero
    b = one - a
    bf = zero if small else b
    bl = b if b > zero else one
    far = jsx_far(bf) + b * flog(bl)
    return jsx_near(s * s) if small else far


# ------------------------------------------------------------------------ row statistics


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def pow2_scale(m):
    """A power of two ``a`` with ``m a`` far from over- and underflow, for finite m > 0."""
    one = cast_like(1.0, m)
    lo = cast_like(2.0**-60, m)
    hi = cast_like(2.0**60, m)
    return cast_like(2.0**64, m) if m < lo else (cast_like(2.0**-64, m) if m > hi else one)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _scaled_chunk(x, m, a, inv):
    """(Σ x/m below m, number equal to m, number above m, number bad) of a chunk."""
    zero = cast_like(0.0, m)
    one = cast_like(1.0, m)
    cr = zero
    ck = zero
    ca = zero
    cb = zero
    for j in range(x.shape[0]):
        v = x[j]
        top = v == m
        cr += zero if top else v * inv
        ck += one if top else zero
        ca += one if v > m else zero
        cb += zero if (v >= zero) & (v < np.inf) else one
    return cr, ck, ca, cb


@njit(error_model="numpy", fastmath=FASTMATH)
def row_scaled(row):
    """(m, k, rest, nbad) of a probability row: m = max (0 for a row of zeros), k the
    entries equal to it, rest = Σ x/m over the others (float64), nbad the NaN, negative
    and +inf entries.  One read from memory: each chunk is summed against the running
    maximum; a chunk that raises it is summed again, from L1, against its own."""
    n = row.shape[0]
    m = cast_like(0.0, row[0])
    k = 0.0
    rest = 0.0
    nb = 0
    for c0 in range(0, n, CHUNK):
        x = row[c0 : min(c0 + CHUNK, n)]
        if m > cast_like(0.0, m):
            inv = cast_like(1.0, m) / m
            cr, ck, ca, cb = _scaled_chunk(x, m, inv, inv)
            if ca == cast_like(0.0, m):
                rest += float(cr)
                k += float(ck)
                nb += int(cb)
                continue
        cm = chunk_max(x)
        if not cm < np.inf:  # +inf (a bad row): keep a finite maximum, count it
            cm = m
        if cm > m:
            if k > 0.0:
                f = float(m) / float(cm)
                rest = (rest + k) * f
                k = 0.0
            m = cm
        if m > cast_like(0.0, m):
            inv = cast_like(1.0, m) / m
            cr, ck, _, cb = _scaled_chunk(x, m, inv, inv)
            rest += float(cr)
            k += float(ck)
            nb += int(cb)
        else:
            _, _, _, cb = _scaled_chunk(x, cast_like(1.0, m), cast_like(1.0, m), cast_like(1.0, m))
            nb += int(cb)
    return m, k, rest, nb


@njit(error_model="numpy", fastmath=FASTMATH)
def count_bad_log(row, logits):
    """NaN and +inf entries of a log row; a logit row of all −inf counts 1."""
    nb = 0
    live = 0
    for j in range(row.shape[0]):
        v = row[j]
        nb += 1 if (v != v) | (v == np.inf) else 0
        live += 1 if v > -np.inf else 0
    if logits and nb == 0 and live == 0:
        return 1
    return nb


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def log_of(s):
    return -np.inf if s == 0.0 else (math.log(s) if s > 0.0 else np.nan)


@njit(error_model="numpy", fastmath=FASTMATH)
def _stats_scaled(row):
    one = cast_like(1.0, row[0])
    m, k, rest, nb = row_scaled(row)
    if nb == 0 and k > 0.0 and pow2_scale(m) != one:
        # 1/m over- or underflows: the caller rescales the row by a power of two.
        return False, -1, np.nan, one, one, one, one, cast_like(0.0, one)
    ok = nb == 0 and k > 0.0
    ls = math.log1p((k - 1.0) + rest) if ok else 0.0
    lm = math.log(float(m)) + ls if m > cast_like(0.0, m) else -np.inf
    a = one
    inv = one / m if ok else one
    s = k + rest if ok else 1.0
    lm = lm if nb == 0 else np.nan
    return ok, nb, lm, m, a, inv, cast_like(1.0 / s, m), cast_like(ls, m)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _lse_stats(row, logits, m, k, rest):
    one = cast_like(1.0, row[0])
    ok = k > 0.0 and math.isfinite(rest) and math.isfinite(float(m))
    nb = 0 if ok else count_bad_log(row, logits)
    ls = math.log1p((k - 1.0) + rest) if ok else 0.0
    lm = float(m) + ls if ok else (-np.inf if nb == 0 else np.nan)
    s = k + rest if ok else 1.0
    return ok, nb, lm, m, one, one, cast_like(1.0 / s, m), cast_like(ls, m)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _stats_lse(row, logits, nxt, buf, centres):
    m, k, rest = row_lse_store(row, nxt, buf, centres)
    return _lse_stats(row, logits, m, k, rest)


@njit(error_model="numpy", fastmath=FASTMATH)
def _stats_lse_short(row, logits, nxt, buf, centres, hi, lo):
    m = max_from(hi, lo)
    rest, k, hi, lo = chunk_store_next(row, m, buf, nxt)
    centres[0] = m
    return _lse_stats(row, logits, m, k, rest), hi, lo


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _stats_none(row):
    one = cast_like(1.0, row[0])
    return True, 0, 0.0, one, one, one, one, cast_like(0.0, one)


def stats(mode, logits, row, nxt, buf, centres):
    """Statistics pass of an argument: (ok, nbad, log_mass, m, a, inv, inv_s, ls), the
    decoding constants of :func:`decode`; nothing (no read) for the raw modes, whose
    statistics the terms pass sums.  The exact log modes keep their exps in ``buf`` (see
    :func:`.row_lse_store`)."""
    raise NotImplementedError


@overload(stats, prefer_literal=True)
def _ov_stats(mode, logits, row, nxt, buf, centres):
    v = getattr(mode, "literal_value", None)
    if v is None:
        return None
    if v == P_SCL:
        return lambda mode, logits, row, nxt, buf, centres: _stats_scaled(row)
    if v == L_EXACT:
        return lambda mode, logits, row, nxt, buf, centres: _stats_lse(
            row, logits, nxt, buf, centres
        )
    return lambda mode, logits, row, nxt, buf, centres: _stats_none(row)


def stats_short(mode, logits, row, nxt, buf, centres, hi, lo):
    """:func:`stats` for a row of at most ``CHUNK`` entries whose maximum's bit patterns
    (hi, lo) the previous row's loop took; returns (statistics, hi, lo of ``nxt``).  For
    the exact log modes one loop per row, so the next row's loads overlap this row's exp
    arithmetic; the other modes take their statistics as :func:`stats` does and pass hi,
    lo on (for probabilities, whose loops are cheap, the fused loop measured no faster).
    """
    raise NotImplementedError


@overload(stats_short, prefer_literal=True)
def _ov_stats_short(mode, logits, row, nxt, buf, centres, hi, lo):
    v = getattr(mode, "literal_value", None)
    if v is None:
        return None
    if v == L_EXACT:
        return lambda mode, logits, row, nxt, buf, centres, hi, lo: _stats_lse_short(
            row, logits, nxt, buf, centres, hi, lo
        )
    return lambda mode, logits, row, nxt, buf, centres, hi, lo: (
        stats(mode, logits, row, nxt, buf, centres),
        hi,
        lo,
    )


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _dec_praw(x):
    one = cast_like(1.0, x)
    pos = x > cast_like(0.0, x)
    return pos, x, flog(x if pos else one)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _dec_pscl(x, m, a, inv, inv_s, ls):
    one = cast_like(1.0, x)
    zero = cast_like(0.0, x)
    pos = x > zero
    r = x * inv
    r = one if x == m else r
    return pos, r * inv_s, flog(r if r > zero else one) - ls


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _dec_lraw(x):
    return x > -np.inf, fexp(x), x


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _dec_lexact(x, e, m, fac, ls):
    # e = exp(x − c) stored by the statistics pass, fac = exp(c − m)/s for its chunk.
    return x > -np.inf, e * fac, (x - m) - ls


def decode(mode, x, e, m, a, inv, inv_s, ls):
    """(p > 0, p, log p) of one entry; ``log p`` is meaningless (finite) where p = 0.  ``e``
    is the stored exp of the exact log modes (whose ``inv_s`` is then the chunk's factor,
    see :func:`chunk_factor`)."""
    raise NotImplementedError


@overload(decode, inline="always", prefer_literal=True)
def _ov_decode(mode, x, e, m, a, inv, inv_s, ls):
    v = getattr(mode, "literal_value", None)
    if v is None:
        return None
    if v == P_RAW:
        return lambda mode, x, e, m, a, inv, inv_s, ls: _dec_praw(x)
    if v == P_SCL:
        return lambda mode, x, e, m, a, inv, inv_s, ls: _dec_pscl(x, m, a, inv, inv_s, ls)
    if v == L_RAW:
        return lambda mode, x, e, m, a, inv, inv_s, ls: _dec_lraw(x)
    return lambda mode, x, e, m, a, inv, inv_s, ls: _dec_lexact(x, e, m, inv_s, ls)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def chunk_factor(exact, centres, ci, m, inv_s):
    """The decoding factor of chunk ``ci``: exp(c − m)/s for the exact log modes (their
    stored exps are relative to the chunk's centre c), 1/s otherwise."""
    if exact:
        return cast_like(math.exp(float(centres[ci]) - float(m)) * float(inv_s), m)
    return inv_s


def raw_parts(mode, x, p):
    """(p, bad) to sum for an argument in a raw mode (its mass and its bad entries:
    NaN, negative or +inf probabilities; NaN or +inf log-probabilities); zeros otherwise."""
    raise NotImplementedError


@overload(raw_parts, inline="always", prefer_literal=True)
def _ov_raw_parts(mode, x, p):
    v = getattr(mode, "literal_value", None)
    if v is None:
        return None

    def praw(mode, x, p):
        zero = cast_like(0.0, x)
        one = cast_like(1.0, x)
        return x, (zero if (x >= zero) & (x < np.inf) else one)

    def lraw(mode, x, p):
        zero = cast_like(0.0, x)
        one = cast_like(1.0, x)
        return p, (one if (x != x) | (x == np.inf) else zero)

    def other(mode, x, p):
        zero = cast_like(0.0, x)
        return zero, zero

    return praw if v == P_RAW else (lraw if v == L_RAW else other)


# --------------------------------------------------------------------------------- terms


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _ce_term(pp, p, lp, qp, q, lq):
    zero = cast_like(0.0, p)
    one = cast_like(1.0, p)
    t = -(p * lq) if pp & qp else zero
    return t, (one if pp & ~qp else zero)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _kl_exact(pp, p, lp, qp, q, lq):
    zero = cast_like(0.0, p)
    one = cast_like(1.0, p)
    both = pp & qp
    delta = (lp if both else zero) - (lq if both else zero)
    t = kl_term(p, q, delta) if both else (q if qp else zero)
    return t, (one if pp & ~qp else zero)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _kl_probs(pp, p, lp, qp, q, lq):
    zero = cast_like(0.0, p)
    one = cast_like(1.0, p)
    both = pp & qp
    t = p * flog_ratio(p if both else one, q if both else one) if both else zero
    return t, (one if pp & ~qp else zero)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _kl_mixed(pp, p, lp, qp, q, lq):
    zero = cast_like(0.0, p)
    one = cast_like(1.0, p)
    both = pp & qp
    t = p * ((lp if both else zero) - (lq if both else zero)) if both else zero
    return t, (one if pp & ~qp else zero)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _js_probs(pp, p, lp, qp, q, lq):
    zero = cast_like(0.0, p)
    one = cast_like(1.0, p)
    half = cast_like(0.5, p)
    either = pp | qp
    tot = p + q if either else one
    d = (p - q) / tot if either else zero
    return ((p + q) * half * js_excess(d) * half if either else zero), zero


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _js_logs(pp, p, lp, qp, q, lq):
    # d = (p − q)/(p + q) from the decoded probabilities, as for probabilities: as accurate
    # as tanh((log p − log q)/2) (each p carries one exp's rounding, each log p the
    # rounding of a difference of logs) at a third of the cost.
    return _js_probs(pp, p, lp, qp, q, lq)


def pair_term(code, pp, p, lp, qp, q, lq):
    """(term, +inf flag) of one outcome for the measure ``code`` (see :data:`_CODES`)."""
    raise NotImplementedError


_TERM_FUNCS = {}


@overload(pair_term, inline="always", prefer_literal=True)
def _ov_pair_term(code, pp, p, lp, qp, q, lq):
    v = getattr(code, "literal_value", None)
    if v is None:
        return None
    f = _TERM_FUNCS[v]
    return lambda code, pp, p, lp, qp, q, lq: f(pp, p, lp, qp, q, lq)


CE, KL_EXACT, KL_PROBS, KL_MIXED, JS_PROBS, JS_LOGS = range(6)
_TERM_FUNCS.update(
    {
        CE: _ce_term,
        KL_EXACT: _kl_exact,
        KL_PROBS: _kl_probs,
        KL_MIXED: _kl_mixed,
        JS_PROBS: _js_probs,
        JS_LOGS: _js_logs,
    }
)


def term_code(kind: str, mp: int, mq: int) -> int:
    exact = mp in (P_SCL, L_EXACT) and mq in (P_SCL, L_EXACT)
    probs = mp in (P_RAW, P_SCL) and mq in (P_RAW, P_SCL)
    if kind == "cross_entropy":
        return CE
    if kind == "kl":
        return KL_EXACT if exact else (KL_PROBS if probs else KL_MIXED)
    return JS_PROBS if probs else JS_LOGS


def finish_raw(mode, ok, nb, lm, s, b):
    """(ok, nbad, log_mass) of an argument: from the statistics pass for the exact modes,
    from the terms pass's sums ``s`` (mass) and ``b`` (bad entries) for the raw ones."""
    raise NotImplementedError


@overload(finish_raw, inline="always", prefer_literal=True)
def _ov_finish_raw(mode, ok, nb, lm, s, b):
    v = getattr(mode, "literal_value", None)
    if v is None:
        return None
    if v in (P_SCL, L_EXACT):
        return lambda mode, ok, nb, lm, s, b: (ok, nb, lm)

    def raw(mode, ok, nb, lm, s, b):
        good = b == 0.0
        return good, int(b), (log_of(s) if good else np.nan)

    return raw


# ------------------------------------------------------------------------------- kernels

_KERNELS: dict = {}


def _pair_kernel(code, mp, mq, logits_p, logits_q):
    key = ("pair", code, mp, mq, logits_p, logits_q)
    if key in _KERNELS:
        return _KERNELS[key]

    ep = mp == L_EXACT
    eq = mq == L_EXACT

    @njit(parallel=True, error_model="numpy", fastmath=FASTMATH, cache=True)
    def kernel(P, Q, out, nbp, nbq, lmp, lmq, nblocks):
        n, c = P.shape
        nch = (c + CHUNK - 1) // CHUNK
        per = (n + nblocks - 1) // nblocks
        # Rows of one chunk: each row's statistics are taken in the loop that takes the
        # next row's maximum (see stats_short).
        short = c <= CHUNK
        for blk in prange(nblocks):
            r0 = blk * per
            r1 = min(n, (blk + 1) * per)
            if r1 <= r0:
                continue
            # Per-thread scratch for the exps of the exact log modes (see row_lse_store).
            bufp = np.empty(c if ep else 0, P.dtype)
            bufq = np.empty(c if eq else 0, Q.dtype)
            cenp = np.empty(nch, P.dtype)
            cenq = np.empty(nch, Q.dtype)
            hp, lp = max_bits(P[r0, : c if short and ep else 1])
            hq, lq = max_bits(Q[r0, : c if short and eq else 1])
            for i in range(r0, r1):
                prow = P[i]
                qrow = Q[i]
                if short:
                    nxp = P[i + 1] if i + 1 < r1 else prow
                    nxq = Q[i + 1] if i + 1 < r1 else qrow
                    stp, hp, lp = stats_short(mp, logits_p, prow, nxp, bufp, cenp, hp, lp)
                    stq, hq, lq = stats_short(mq, logits_q, qrow, nxq, bufq, cenq, hq, lq)
                else:
                    nxp = P[i + 1] if i + 1 < n else prow
                    nxq = Q[i + 1] if i + 1 < n else qrow
                    stp = stats(mp, logits_p, prow, nxp, bufp, cenp)
                    stq = stats(mq, logits_q, qrow, nxq, bufq, cenq)
                _pair_row(P, Q, i, stp, stq, bufp, bufq, cenp, cenq, out, nbp, nbq, lmp, lmq)

    @njit(error_model="numpy", fastmath=FASTMATH, inline="always")
    def _pair_row(P, Q, i, stp, stq, bufp, bufq, cenp, cenq, out, nbp, nbq, lmp, lmq):
        """The terms pass of row i from the statistics (see :func:`stats`) of both rows."""
        c = P.shape[1]
        prow = P[i]
        qrow = Q[i]
        okp, nb_p, lm_p, m_p, a_p, inv_p, is_p, ls_p = stp
        okq, nb_q, lm_q, m_q, a_q, inv_q, is_q, ls_q = stq
        acc = 0.0
        ninf = 0.0
        sp = 0.0
        sq = 0.0
        bp = 0.0
        bq = 0.0
        for c0 in range(0, c, CHUNK):
            c1 = min(c0 + CHUNK, c)
            xs = prow[c0:c1]
            ys = qrow[c0:c1]
            es = bufp[c0:c1] if ep else xs
            fs = bufq[c0:c1] if eq else ys
            fp = chunk_factor(ep, cenp, c0 // CHUNK, m_p, is_p)
            fq = chunk_factor(eq, cenq, c0 // CHUNK, m_q, is_q)
            zero = cast_like(0.0, m_p)
            ct = zero
            ci = zero
            csp = zero
            csq = zero
            cbp = zero
            cbq = zero
            for j in range(c1 - c0):
                x = xs[j]
                y = ys[j]
                pp, p, lp = decode(mp, x, es[j], m_p, a_p, inv_p, fp, ls_p)
                qp, q, lq = decode(mq, y, fs[j], m_q, a_q, inv_q, fq, ls_q)
                t, inf = pair_term(code, pp, p, lp, qp, q, lq)
                ct += t
                ci += inf
                s1, b1 = raw_parts(mp, x, p)
                s2, b2 = raw_parts(mq, y, q)
                csp += s1
                cbp += b1
                csq += s2
                cbq += b2
            acc += float(ct)
            ninf += float(ci)
            sp += float(csp)
            sq += float(csq)
            bp += float(cbp)
            bq += float(cbq)
        okp, nb_p, lm_p = finish_raw(mp, okp, nb_p, lm_p, sp, bp)
        okq, nb_q, lm_q = finish_raw(mq, okq, nb_q, lm_q, sq, bq)
        nbp[i] = nb_p
        nbq[i] = nb_q
        lmp[i] = lm_p
        lmq[i] = lm_q
        if not (okp and okq):
            out[i] = np.nan
        elif ninf > 0.0:
            out[i] = np.inf
        else:
            out[i] = acc

    _KERNELS[key] = kernel
    return kernel


@njit(parallel=True, error_model="numpy", fastmath=FASTMATH, cache=True)
def _entropy_praw(P, out, nbp, lmp):
    n, c = P.shape
    for i in prange(n):
        row = P[i]
        # One read: Σ p, bad entries and −Σ p log p together.
        h = 0.0
        s = 0.0
        b = 0.0
        for c0 in range(0, c, CHUNK):
            x = row[c0 : min(c0 + CHUNK, c)]
            zero = cast_like(0.0, x[0])
            one = cast_like(1.0, x[0])
            ch = zero
            cs = zero
            cb = zero
            for j in range(x.shape[0]):
                v = x[j]
                cs += v
                cb += zero if (v >= zero) & (v < np.inf) else one
                ch -= v * flog(v if v > zero else one)
            h += float(ch)
            s += float(cs)
            b += float(cb)
        nbp[i] = int(b)
        lmp[i] = log_of(s) if b == 0.0 else np.nan
        out[i] = h if b == 0.0 else np.nan


@njit(parallel=True, error_model="numpy", fastmath=FASTMATH, cache=True)
def _entropy_pscl(P, out, nbp, lmp):
    n = P.shape[0]
    for i in prange(n):
        row = P[i]
        ok, nb, lm, m, a, inv, inv_s, ls = _stats_scaled(row)
        nbp[i] = nb
        lmp[i] = lm
        if not ok:
            out[i] = np.nan
            continue
        # H = log s − t/s, t = Σ r log r over the entries below the maximum (the maxima
        # add 0): both parts ≥ 0; the row is re-read from cache.
        out[i] = float(ls) - row_rlogr(row, m, a, inv) * float(inv_s)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def row_rlogr(row, m, a, inv):
    """Σ r log r, r = x/m (= (x a) inv), over the positive entries other than m."""
    c = row.shape[0]
    t = 0.0
    for c0 in range(0, c, CHUNK):
        x = row[c0 : min(c0 + CHUNK, c)]
        zero = cast_like(0.0, m)
        one = cast_like(1.0, m)
        ct = zero
        for j in range(x.shape[0]):
            v = x[j]
            r = v * inv
            use = (v > zero) & (v != m)
            rl = r if r > zero else one
            ct += r * flog(rl) if use else zero
        t += float(ct)
    return t


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _entropy_lse(i, row, m, k, rest, t, exact, logits, out, nbp, lmp):
    """Write row i's entropy and log-mass from its (m, k, rest, t) (see row_lse_t)."""
    ok = k > 0.0 and math.isfinite(rest) and math.isfinite(float(m))
    if not ok:
        nb = count_bad_log(row, logits)
        nbp[i] = nb
        lmp[i] = -np.inf if nb == 0 else np.nan
        out[i] = np.nan
        return
    nbp[i] = 0
    s = k + rest
    ls = math.log1p((k - 1.0) + rest)
    lmp[i] = float(m) + ls
    if exact:
        out[i] = ls - t / s
    else:
        # −Σ e^z z = e^m (−t − m s): both parts ≥ 0 for m ≤ 0.
        fm = float(m)
        out[i] = math.exp(fm) * (-t - fm * s) if fm > -745.2 else 0.0


@njit(parallel=True, error_model="numpy", fastmath=FASTMATH, cache=True)
def _entropy_logs(P, exact, logits, nblk, out, nbp, lmp):
    """Entropy of log rows in one read: s = Σ e^d, t = Σ e^d·d with d = z − max z ≤ 0.
    Each thread takes contiguous blocks of rows; rows of up to CHUNK entries are summed
    against their maximum in the loop that takes the next row's maximum
    (:func:`.chunk_sums_next`), longer rows by the chunked online :func:`.row_lse_t`."""
    n, c = P.shape
    short = c <= CHUNK
    for b in prange(nblk):
        r0 = b * n // nblk
        r1 = (b + 1) * n // nblk
        if r1 <= r0:
            continue
        # The first row's maximum (short rows; a long row's is not needed).
        hi, lo = max_bits(P[r0, : c if short else 1])
        for i in range(r0, r1):
            row = P[i]
            nxt = P[i + 1] if i + 1 < r1 else row
            if short:
                m = max_from(hi, lo)
                rest, k, t, hi, lo = chunk_sums_next(row, m, nxt)
            else:
                m, k, rest, t = row_lse_t(row, nxt)
            _entropy_lse(i, row, m, k, rest, t, exact, logits, out, nbp, lmp)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _no_mass(nb):
    """The log-mass of a row with no finite log-sum-exp: −inf if it had no bad entries."""
    return -np.inf if nb == 0 else np.nan


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _ce_chunk(x, y, mp, mq):
    """Sums of one chunk for :func:`_ce_exact` against the centres mp, mq: (Σ e^{x−mp} below
    mp, number equal to mp, the same for y and mq, Σ e^{x−mp}·(mq − y)).

    Two log-sum-exps in one loop, written out rather than as ``_rows.lse_chunk_for`` with
    a term for the second row: that loop, a call from this parallel kernel, measured
    1.05–1.12× the time in float32 (its count of entries above m stays in the vector loop,
    unused); without the count LLVM left the float64 loop scalar (4×); and inlining it in
    numba's IR fails numba's parfor analysis of this kernel."""
    zero = cast_like(0.0, mp)
    one = cast_like(1.0, mp)
    rp = zero
    kp = zero
    rq = zero
    kq = zero
    u = zero
    for j in range(x.shape[0]):
        dp = x[j] - mp
        e = fexp_low(dp)
        tp = dp == zero
        rp += zero if tp else e
        kp += one if tp else zero
        dq = y[j] - mq
        eq = fexp_low(dq)
        tq = dq == zero
        rq += zero if tq else eq
        kq += one if tq else zero
        # e = 0 where x = −inf (0·(+inf) would be NaN); y = −inf under e > 0 gives +inf.
        u += e * (-dq) if e > zero else zero
    return rp, kp, rq, kq, u


@njit(parallel=True, error_model="numpy", fastmath=FASTMATH, cache=True)
def _ce_exact(P, Q, logits_p, logits_q, out, nbp, nbq, lmp, lmq):
    """Cross-entropy of two normalised log rows (logits, or log-probabilities normalised)
    in one pass, two exps per entry pair: with d = x − M_p and δ = y − M_q ≤ 0,

        H(P, Q) = log S_q + Σ e^d (−δ) / S_p,   S = Σ e^d,

    every term ≥ 0.  Online over chunks: a rise of M_p scales S_p and the sum U by
    e^{old − new}; a rise of M_q by Δ adds Δ·S_p to U (each −δ grows by Δ)."""
    n, c = P.shape
    for i in prange(n):
        prow = P[i]
        qrow = Q[i]
        ninf = cast_like(-np.inf, prow[0])
        mp = ninf
        mq = ninf
        kp = 0.0
        rp = 0.0
        kq = 0.0
        rq = 0.0
        u = 0.0
        for c0 in range(0, c, CHUNK):
            c1 = min(c0 + CHUNK, c)
            x = prow[c0:c1]
            y = qrow[c0:c1]
            cmp_ = chunk_max(x)
            cmq = chunk_max(y)
            if cmp_ > mp:
                if kp > 0.0:
                    f = math.exp(float(mp) - float(cmp_))
                    u *= f
                    rp = (rp + kp) * f
                    kp = 0.0
                mp = cmp_
            if cmq > mq:
                if kq > 0.0:
                    u += (float(cmq) - float(mq)) * (kp + rp)
                    rq = (rq + kq) * math.exp(float(mq) - float(cmq))
                    kq = 0.0
                mq = cmq
            # Centre an all −inf prefix at 0: its entries add nothing (NaN still shows).
            zero = cast_like(0.0, mp)
            a1, a2, b1, b2, cu = _ce_chunk(
                x, y, mp if mp > ninf else zero, mq if mq > ninf else zero
            )
            rp += float(a1)
            kp += float(a2)
            rq += float(b1)
            kq += float(b2)
            u += float(cu)
        okp = kp > 0.0 and math.isfinite(rp) and math.isfinite(float(mp))
        okq = kq > 0.0 and math.isfinite(rq) and math.isfinite(float(mq))
        nb_p = 0 if okp else count_bad_log(prow, logits_p)
        nb_q = 0 if okq else count_bad_log(qrow, logits_q)
        nbp[i] = nb_p
        nbq[i] = nb_q
        lmp[i] = float(mp) + math.log1p((kp - 1.0) + rp) if okp else _no_mass(nb_p)
        lmq[i] = float(mq) + math.log1p((kq - 1.0) + rq) if okq else _no_mass(nb_q)
        out[i] = math.log1p((kq - 1.0) + rq) + u / (kp + rp) if okp and okq else np.nan


def measure_rows(kind, xs, forms, normalize):
    """Per-row ``kind`` in nats and an :class:`ArgStats` per argument (see the package
    docstring for the contract)."""
    n = xs[0].shape[0]
    out = np.empty(n)
    modes = [mode_of(f, bool(normalize)) for f in forms]
    lms = [np.empty(n) for _ in xs]
    nbs = [np.zeros(n, np.int64) for _ in xs]
    if n == 0:
        return MeasureRows(out, tuple(ArgStats(0, lm) for lm in lms))
    c = xs[0].shape[1]
    if kind == "entropy":
        (x,) = xs
        if modes[0] == P_RAW:
            for_rows(_entropy_praw, c)(x, out, nbs[0], lms[0])
        elif modes[0] == P_SCL:
            for_rows(_entropy_pscl, c)(x, out, nbs[0], lms[0])
        else:
            exact = modes[0] == L_EXACT
            nblk = min(n, 8 * get_num_threads())
            k = for_rows(_entropy_logs, c)
            k(x, exact, forms[0] == "logits", nblk, out, nbs[0], lms[0])
    elif kind == "cross_entropy" and modes == [L_EXACT, L_EXACT]:
        logits = [f == "logits" for f in forms]
        k = for_rows(_ce_exact, c)
        k(xs[0], xs[1], logits[0], logits[1], out, nbs[0], nbs[1], lms[0], lms[1])
    else:
        mp, mq = modes
        code = term_code(kind, mp, mq)
        k = _pair_kernel(code, mp, mq, forms[0] == "logits", forms[1] == "logits")
        nblocks = min(n, 8 * get_num_threads())
        for_rows(k, c)(xs[0], xs[1], out, nbs[0], nbs[1], lms[0], lms[1], nblocks)
    _rescaled_rows(kind, xs, forms, normalize, out, nbs, lms)
    return MeasureRows(
        out, tuple(ArgStats(int(nb.sum()), lm) for nb, lm in zip(nbs, lms, strict=False))
    )


def _rescaled_rows(kind, xs, forms, normalize, out, nbs, lms):
    """Redo the rows that a kernel flagged (nbad −1: normalised probabilities whose
    maximum m is so small or large that 1/m over- or underflows) on copies of those rows
    with each flagged argument scaled by 2^-e, m = f·2^e (exact for every entry that stays
    normal), which the measures of normalised rows do not see; the log-mass gets e ln 2
    back."""
    flagged = np.zeros(out.shape[0], bool)
    for nb in nbs:
        flagged |= nb < 0
    rows = np.nonzero(flagged)[0]
    if rows.size == 0:
        return
    subs = []
    shifts = []
    for x, nb in zip(xs, nbs, strict=True):
        sub = np.array(x[rows])
        mine = nb[rows] < 0
        e = np.zeros(rows.size, np.int64)
        if mine.any():
            _, e_all = np.frexp(np.max(sub, axis=1).astype(np.float64))
            e = np.where(mine, e_all, 0)
            sub = np.ldexp(sub, -e[:, None]).astype(x.dtype)
        subs.append(sub)
        shifts.append((mine, e * math.log(2.0)))
    res = measure_rows(kind, tuple(subs), forms, normalize)
    out[rows] = res.value
    for nb, lm, st, (mine, sh) in zip(nbs, lms, res.stats, shifts, strict=True):
        idx = rows[mine]
        nb[idx] = 0
        lm[idx] = st.log_mass[mine] + sh[mine]
