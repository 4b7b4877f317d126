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
  ``p log(p/q)`` with the careful ratio where both are probabilities, else ``p δ``;
- JS terms ``½ m f(d)`` with ``d = (p − q)/(p + q)`` or ``tanh(δ/2)``, ``f`` by its
  series for ``|d| ≤ ½``: each ≥ 0 and 0 exactly at p = q.

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
from llvmlite import ir
from numba import njit, prange
from numba.extending import intrinsic, overload

from ._exp import FASTMATH, cast_like, fexp, flog
from ._results import ArgStats, MeasureRows
from ._rows import CHUNK, chunk_max, row_lse, row_lse_t

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


@njit(fastmath=FASTMATH, inline="always")
def flog1p(u):
    """log(1 + u) for u > −1 to a few ulp: log w corrected by the rounding of w = 1 + u."""
    one = cast_like(1.0, u)
    w = one + u
    return flog(w) - ((w - one) - u) / w


# h(δ) = δ e^δ − expm1(δ) = Σ_{k≥2} (k − 1)/k! δ^k (as infoloss._math._KL_SERIES), to
# k = 19: the first omitted term is below 2e-17 of the sum for |δ| ≤ 1.
@njit(fastmath=FASTMATH, inline="always")
def kl_term(p, q, delta):
    """``p δ − p + q ≥ 0`` (see :func:`infoloss._math.kl_term`); ``delta`` finite."""
    one = cast_like(1.0, delta)
    small = abs(delta) <= one
    ds = delta if small else cast_like(0.0, delta)
    acc = cast_like(1.4797143443923793e-16, ds)
    acc = acc * ds + cast_like(2.6552651846596585e-15, ds)
    acc = acc * ds + cast_like(4.498331606952833e-14, ds)
    acc = acc * ds + cast_like(7.169215998581078e-13, ds)
    acc = acc * ds + cast_like(1.0706029224547743e-11, ds)
    acc = acc * ds + cast_like(1.4911969277048643e-10, ds)
    acc = acc * ds + cast_like(1.9270852604185937e-09, ds)
    acc = acc * ds + cast_like(2.296443268665491e-08, ds)
    acc = acc * ds + cast_like(2.505210838544172e-07, ds)
    acc = acc * ds + cast_like(2.48015873015873e-06, ds)
    acc = acc * ds + cast_like(2.2045855379188714e-05, ds)
    acc = acc * ds + cast_like(0.00017361111111111112, ds)
    acc = acc * ds + cast_like(0.0011904761904761906, ds)
    acc = acc * ds + cast_like(0.006944444444444444, ds)
    acc = acc * ds + cast_like(0.03333333333333333, ds)
    acc = acc * ds + cast_like(0.125, ds)
    acc = acc * ds + cast_like(0.3333333333333333, ds)
    acc = acc * ds + cast_like(0.5, ds)
    return q * (acc * ds * ds) if small else p * (delta - one) + q


@njit(fastmath=FASTMATH, inline="always")
def js_excess(d):
    """``f(d) = (1 + d) log1p(d) + (1 − d) log1p(−d) ≥ 0`` for d in [−1, 1] (see
    :func:`infoloss._math.js_excess`): ``log1p(−d²) + 2 d atanh(d)`` for |d| ≤ ½, the
    direct form beyond, 2 ln 2 at |d| = 1."""
    one = cast_like(1.0, d)
    zero = cast_like(0.0, d)
    a = abs(d)
    small = a <= cast_like(0.5, d)
    s = a if small else zero
    # atanh(s) = ½ log1p(2s/(1 − s)); 1 − s is exact for s ≥ ¼ and harmless below.
    near = flog1p(-(s * s)) + s * flog1p((s + s) / (one - s))
    b = one - a  # exact for a ≥ ½
    bl = b if b > zero else one
    far = (one + a) * flog(one + a) + b * flog(bl)
    return near if small else far


@njit(fastmath=FASTMATH, inline="always")
def tanh_half(delta):
    """tanh(δ/2) = −expm1(−|δ|)/(2 + expm1(−|δ|)) with the sign of δ; expm1 by Kahan's
    correction ``(e − 1)·u/log e`` where e = exp(u) is near 1."""
    one = cast_like(1.0, delta)
    a = abs(delta)
    e = fexp(-a)
    small = a <= cast_like(0.5, delta)
    es = e if small & (e != one) else cast_like(0.5, delta)
    em = (es - one) * (-a) / flog(es)
    em = -a if e == one else em
    near = -em / (cast_like(2.0, delta) + em)
    far = (one - e) / (one + e)
    t = near if small else far
    return -t if delta < cast_like(0.0, delta) else t


@njit(fastmath=FASTMATH, inline="always")
def _tiny(r):
    # the smallest normal number of r's dtype (2^-126 or 2^-1022)
    f32 = cast_like(1e-300, r) == cast_like(0.0, r)
    return cast_like(1.1754943508222875e-38, r) if f32 else cast_like(2.2250738585072014e-308, r)


@njit(fastmath=FASTMATH, inline="always")
def log_ratio(a, b):
    """log(a/b) for a, b > 0 (see :func:`infoloss._math.log_ratio`): ``log1p((a − b)/b)``
    near 1 (a − b exact), ``log(a/b)`` while the ratio is normal, ``log a − log b``
    beyond."""
    r = a / b
    near = (r >= cast_like(0.5, r)) & (r <= cast_like(2.0, r))
    normal = (r >= _tiny(r)) & (r < cast_like(np.inf, r))
    an = a if near else cast_like(1.0, a)
    bn = b if near else cast_like(1.0, b)
    rl = r if normal else cast_like(1.0, r)
    direct = flog(a) - flog(b)
    return flog1p((an - bn) / bn) if near else (flog(rl) if normal else direct)


# ------------------------------------------------------------------------ row statistics


@intrinsic
def _fence(typingctx, x):
    # llvm.arithmetic.fence: fast-math reassociation does not cross it.
    def codegen(context, builder, sig, args):
        t = args[0].type
        fn = builder.module.declare_intrinsic("llvm.arithmetic.fence", [t], ir.FunctionType(t, [t]))
        return builder.call(fn, args)

    return x(x), codegen


@njit(fastmath=FASTMATH, inline="always")
def smul(x, a):
    """x·a behind an arithmetic fence, so that ``smul(x, a) * inv`` is never reassociated
    into ``x * (a * inv)`` (which overflows where m is subnormal)."""
    return _fence(x * a)


@njit(fastmath=FASTMATH, inline="always")
def pow2_scale(m):
    """A power of two ``a`` with ``m a`` far from over- and underflow, for finite m > 0."""
    one = cast_like(1.0, m)
    lo = cast_like(2.0**-60, m)
    hi = cast_like(2.0**60, m)
    return cast_like(2.0**64, m) if m < lo else (cast_like(2.0**-64, m) if m > hi else one)


@njit(fastmath=FASTMATH, inline="always")
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


@njit(fastmath=FASTMATH)
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


@njit(fastmath=FASTMATH)
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


@njit(fastmath=FASTMATH, inline="always")
def log_of(s):
    return -np.inf if s == 0.0 else (math.log(s) if s > 0.0 else np.nan)


@njit(fastmath=FASTMATH)
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


@njit(fastmath=FASTMATH)
def _stats_lse(row, logits, nxt):
    one = cast_like(1.0, row[0])
    m, k, rest = row_lse(row, nxt)
    ok = k > 0.0 and math.isfinite(rest) and math.isfinite(float(m))
    nb = 0 if ok else count_bad_log(row, logits)
    ls = math.log1p((k - 1.0) + rest) if ok else 0.0
    lm = float(m) + ls if ok else (-np.inf if nb == 0 else np.nan)
    s = k + rest if ok else 1.0
    return ok, nb, lm, m, one, one, cast_like(1.0 / s, m), cast_like(ls, m)


@njit(fastmath=FASTMATH, inline="always")
def _stats_none(row):
    one = cast_like(1.0, row[0])
    return True, 0, 0.0, one, one, one, one, cast_like(0.0, one)


def stats(mode, logits, row, nxt):
    """Statistics pass of an argument: (ok, nbad, log_mass, m, a, inv, inv_s, ls), the
    decoding constants of :func:`decode`; nothing (no read) for the raw modes, whose
    statistics the terms pass sums."""
    raise NotImplementedError


@overload(stats, prefer_literal=True)
def _ov_stats(mode, logits, row, nxt):
    v = getattr(mode, "literal_value", None)
    if v is None:
        return None
    if v == P_SCL:
        return lambda mode, logits, row, nxt: _stats_scaled(row)
    if v == L_EXACT:
        return lambda mode, logits, row, nxt: _stats_lse(row, logits, nxt)
    return lambda mode, logits, row, nxt: _stats_none(row)


@njit(fastmath=FASTMATH, inline="always")
def _dec_praw(x):
    one = cast_like(1.0, x)
    pos = x > cast_like(0.0, x)
    return pos, x, flog(x if pos else one)


@njit(fastmath=FASTMATH, inline="always")
def _dec_pscl(x, m, a, inv, inv_s, ls):
    one = cast_like(1.0, x)
    zero = cast_like(0.0, x)
    pos = x > zero
    r = x * inv
    r = one if x == m else r
    return pos, r * inv_s, flog(r if r > zero else one) - ls


@njit(fastmath=FASTMATH, inline="always")
def _dec_lraw(x):
    return x > -np.inf, fexp(x), x


@njit(fastmath=FASTMATH, inline="always")
def _dec_lexact(x, m, inv_s, ls):
    d = x - m
    return x > -np.inf, fexp(d) * inv_s, d - ls


def decode(mode, x, m, a, inv, inv_s, ls):
    """(p > 0, p, log p) of one entry; ``log p`` is meaningless (finite) where p = 0."""
    raise NotImplementedError


@overload(decode, inline="always", prefer_literal=True)
def _ov_decode(mode, x, m, a, inv, inv_s, ls):
    v = getattr(mode, "literal_value", None)
    if v is None:
        return None
    if v == P_RAW:
        return lambda mode, x, m, a, inv, inv_s, ls: _dec_praw(x)
    if v == P_SCL:
        return lambda mode, x, m, a, inv, inv_s, ls: _dec_pscl(x, m, a, inv, inv_s, ls)
    if v == L_RAW:
        return lambda mode, x, m, a, inv, inv_s, ls: _dec_lraw(x)
    return lambda mode, x, m, a, inv, inv_s, ls: _dec_lexact(x, m, inv_s, ls)


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


@njit(fastmath=FASTMATH, inline="always")
def _ce_term(pp, p, lp, qp, q, lq):
    zero = cast_like(0.0, p)
    one = cast_like(1.0, p)
    t = -(p * lq) if pp & qp else zero
    return t, (one if pp & ~qp else zero)


@njit(fastmath=FASTMATH, inline="always")
def _kl_exact(pp, p, lp, qp, q, lq):
    zero = cast_like(0.0, p)
    one = cast_like(1.0, p)
    both = pp & qp
    delta = (lp if both else zero) - (lq if both else zero)
    t = kl_term(p, q, delta) if both else (q if qp else zero)
    return t, (one if pp & ~qp else zero)


@njit(fastmath=FASTMATH, inline="always")
def _kl_probs(pp, p, lp, qp, q, lq):
    zero = cast_like(0.0, p)
    one = cast_like(1.0, p)
    both = pp & qp
    t = p * log_ratio(p if both else one, q if both else one) if both else zero
    return t, (one if pp & ~qp else zero)


@njit(fastmath=FASTMATH, inline="always")
def _kl_mixed(pp, p, lp, qp, q, lq):
    zero = cast_like(0.0, p)
    one = cast_like(1.0, p)
    both = pp & qp
    t = p * ((lp if both else zero) - (lq if both else zero)) if both else zero
    return t, (one if pp & ~qp else zero)


@njit(fastmath=FASTMATH, inline="always")
def _js_probs(pp, p, lp, qp, q, lq):
    zero = cast_like(0.0, p)
    one = cast_like(1.0, p)
    half = cast_like(0.5, p)
    either = pp | qp
    tot = p + q if either else one
    d = (p - q) / tot if either else zero
    return ((p + q) * half * js_excess(d) * half if either else zero), zero


@njit(fastmath=FASTMATH, inline="always")
def _js_logs(pp, p, lp, qp, q, lq):
    zero = cast_like(0.0, p)
    one = cast_like(1.0, p)
    half = cast_like(0.5, p)
    both = pp & qp
    either = pp | qp
    d = tanh_half((lp if both else zero) - (lq if both else zero))
    d = d if both else (one if pp else -one)
    return ((p + q) * half * js_excess(d) * half if either else zero), zero


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

    @njit(parallel=True, fastmath=FASTMATH, cache=True)
    def kernel(P, Q, out, nbp, nbq, lmp, lmq):
        n, c = P.shape
        for i in prange(n):
            prow = P[i]
            qrow = Q[i]
            okp, nb_p, lm_p, m_p, a_p, inv_p, is_p, ls_p = stats(
                mp, logits_p, prow, P[i + 1] if i + 1 < n else prow
            )
            okq, nb_q, lm_q, m_q, a_q, inv_q, is_q, ls_q = stats(
                mq, logits_q, qrow, Q[i + 1] if i + 1 < n else qrow
            )
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
                    pp, p, lp = decode(mp, x, m_p, a_p, inv_p, is_p, ls_p)
                    qp, q, lq = decode(mq, y, m_q, a_q, inv_q, is_q, ls_q)
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


@njit(parallel=True, fastmath=FASTMATH, cache=True)
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


@njit(parallel=True, fastmath=FASTMATH, cache=True)
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


@njit(fastmath=FASTMATH, inline="always")
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


@njit(parallel=True, fastmath=FASTMATH, cache=True)
def _entropy_logs(P, exact, logits, out, nbp, lmp):
    n, _c = P.shape
    for i in prange(n):
        row = P[i]
        # One read: s = Σ e^d, t = Σ e^d d with d = z − m ≤ 0 (online maximum).
        m, k, rest, t = row_lse_t(row, P[i + 1] if i + 1 < n else row)
        ok = k > 0.0 and math.isfinite(rest) and math.isfinite(float(m))
        if not ok:
            nb = count_bad_log(row, logits)
            nbp[i] = nb
            lmp[i] = -np.inf if nb == 0 else np.nan
            out[i] = np.nan
            continue
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
    if kind == "entropy":
        (x,) = xs
        if modes[0] == P_RAW:
            _entropy_praw(x, out, nbs[0], lms[0])
        elif modes[0] == P_SCL:
            _entropy_pscl(x, out, nbs[0], lms[0])
        else:
            _entropy_logs(x, modes[0] == L_EXACT, forms[0] == "logits", out, nbs[0], lms[0])
    else:
        mp, mq = modes
        code = term_code(kind, mp, mq)
        k = _pair_kernel(code, mp, mq, forms[0] == "logits", forms[1] == "logits")
        k(xs[0], xs[1], out, nbs[0], nbs[1], lms[0], lms[1])
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
