# mypy: ignore-errors
# (numba kernels: their types come from numba, not from annotations)
"""Information measures of probability rows and logit rows, one fused pass per row.

Every kernel returns float64 per-row values in nats together with what the caller needs
to validate without reading the data again (row sums, counts of bad entries).  Sums run
in two levels — within a chunk of ``CHUNK`` entries, then across chunks in float64 — so
the rounding error grows with CHUNK + C/CHUNK rather than C.

``normalize=True`` divides each row by its sum before the measure: each row is first
summed (one read from memory) and then measured (a second read that hits cache unless a
row is larger than the cache).  The row sums returned are those of the raw rows.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._exp import FASTMATH, cast_like, fexp, flog
from ._rows import CHUNK, count_bad_logits, lse_log, row_lse, row_lse_t

__all__ = [
    "cross_entropy_probs",
    "entropy_logits",
    "entropy_probs",
    "js_probs",
    "kl_logits",
    "kl_probs",
]

_LN2 = math.log(2.0)


@njit(fastmath=FASTMATH, inline="always")
def _sum_and_bad(row):
    """(Σ row, number of entries that are NaN, negative or +inf)."""
    n = row.shape[0]
    total = 0.0
    nb = 0
    zero = cast_like(0.0, row[0])
    one = cast_like(1.0, row[0])
    for c0 in range(0, n, CHUNK):
        x = row[c0 : min(c0 + CHUNK, n)]
        cs = zero
        cb = zero
        for j in range(x.shape[0]):
            v = x[j]
            cs += v
            cb += zero if (v >= zero) & (v < np.inf) else one
        total += float(cs)
        nb += int(cb)
    return total, nb


@njit(fastmath=FASTMATH, inline="always")
def _neg_plogp(row, scale):
    """−Σ r log r with r = scale·row; entries ≤ 0 contribute 0."""
    n = row.shape[0]
    h = 0.0
    sc = cast_like(scale, row[0])
    one = cast_like(1.0, row[0])
    for c0 in range(0, n, CHUNK):
        x = row[c0 : min(c0 + CHUNK, n)]
        cs = cast_like(0.0, x[0])
        for j in range(x.shape[0]):
            r = x[j] * sc
            # Mask before the log: log of a masked entry is log 1 = 0.
            cs -= r * flog(r if r > 0 else one)
        h += float(cs)
    return h


@njit(parallel=True, fastmath=FASTMATH, cache=True)
def _entropy_probs(p, normalize, h, rowsum):
    n = p.shape[0]
    nbad = np.zeros(n, np.int64)
    for i in prange(n):
        row = p[i]
        if normalize:
            total, nb = _sum_and_bad(row)
            h[i] = _neg_plogp(row, 1.0 / total) if total > 0 else np.nan
        else:
            # One read: sum, bad count and −Σ p log p together.
            total = 0.0
            hv = 0.0
            nb = 0
            zero = cast_like(0.0, row[0])
            one = cast_like(1.0, row[0])
            for c0 in range(0, row.shape[0], CHUNK):
                x = row[c0 : min(c0 + CHUNK, row.shape[0])]
                cs = zero
                ch = zero
                cb = zero  # counted in the dtype (exact up to CHUNK): no widening to int64
                for j in range(x.shape[0]):
                    v = x[j]
                    cs += v
                    cb += zero if (v >= zero) & (v < np.inf) else one
                    ch -= v * flog(v if v > zero else one)
                total += float(cs)
                hv += float(ch)
                nb += int(cb)
            h[i] = hv
        rowsum[i] = total
        nbad[i] = nb
    return nbad


@njit(parallel=True, fastmath=FASTMATH, cache=True)
def _entropy_logits(z, h):
    n = z.shape[0]
    nbad = np.zeros(n, np.int64)
    for i in prange(n):
        row = z[i]
        # One read: s = Σ e^d and t = Σ e^d·d with d = z − m ≤ 0, then
        # H = log s − t/s: both parts ≥ 0, nothing cancels, and log s = log1p(s − 1).
        m, k, rest, t = row_lse_t(row, z[i + 1] if i + 1 < n else row)
        ok, s, ls = lse_log(m, k, rest)
        if not ok:
            nbad[i] = count_bad_logits(row)
            h[i] = np.nan
            continue
        h[i] = ls - t / s
    return nbad


@njit(fastmath=FASTMATH, inline="always")
def _log_ratio(p, q):
    """log(p/q) for p, q > 0, accurate also where p/q is near 1 or over/underflows."""
    r = p / q
    if 0.5 <= r <= 2.0:
        return math.log1p((p - q) / q)
    if 2.2250738585072014e-308 <= r < np.inf:
        return math.log(r)
    return math.log(p) - math.log(q)


@njit(parallel=True, fastmath=FASTMATH, cache=True)
def _pair_kernel(p, q, kind, normalize, out, psum, qsum):
    # kind: 0 cross-entropy, 1 KL, 2 Jensen–Shannon.  Terms in float64 with libm logs;
    # these measures have no speed target beyond "one pass", so accuracy comes first.
    n, c = p.shape
    nbad = np.zeros(n, np.int64)
    for i in prange(n):
        prow = p[i]
        qrow = q[i]
        sp, nbp = _sum_and_bad(prow)
        sq, nbq = _sum_and_bad(qrow)
        psum[i] = sp
        qsum[i] = sq
        nbad[i] = nbp + nbq
        if nbp + nbq > 0:
            out[i] = np.nan
            continue
        ip = 1.0 / sp if normalize else 1.0
        iq = 1.0 / sq if normalize else 1.0
        acc = 0.0
        ninf = 0
        for c0 in range(0, c, CHUNK):
            c1 = min(c0 + CHUNK, c)
            xs = prow[c0:c1]
            ys = qrow[c0:c1]
            part = 0.0
            for j in range(xs.shape[0]):
                pv = float(xs[j]) * ip
                qv = float(ys[j]) * iq
                if kind == 2:
                    mv = 0.5 * (pv + qv)
                    if pv > 0.0:
                        part += 0.5 * pv * _log_ratio(pv, mv)
                    if qv > 0.0:
                        part += 0.5 * qv * _log_ratio(qv, mv)
                elif pv > 0.0:
                    if qv > 0.0:
                        part += pv * (_log_ratio(pv, qv) if kind == 1 else -math.log(qv))
                    else:
                        ninf += 1
            acc += part
        if ninf > 0:
            out[i] = np.inf
        elif kind == 2:
            out[i] = min(max(acc, 0.0), _LN2)
        else:
            out[i] = acc
    return nbad


@njit(parallel=True, fastmath=FASTMATH, cache=True)
def _kl_logits(zp, zq, out):
    n, c = zp.shape
    nbad = np.zeros(n, np.int64)
    for i in prange(n):
        prow = zp[i]
        qrow = zq[i]
        mp, kp, rp = row_lse(prow, zp[i + 1] if i + 1 < n else prow)
        mq, kq, rq = row_lse(qrow, zq[i + 1] if i + 1 < n else qrow)
        okp, sp, lsp = lse_log(mp, kp, rp)
        okq, _, lsq = lse_log(mq, kq, rq)
        nb = 0
        if not okp:
            nb += count_bad_logits(prow)
        if not okq:
            nb += count_bad_logits(qrow)
        nbad[i] = nb
        if nb > 0:
            out[i] = np.nan
            continue
        # log p − log q = (zp − mp) − (zq − mq) − (log sp − log sq): each difference is
        # formed from shifted logits, so large logits cancel exactly first.
        fmp = float(mp)
        fmq = float(mq)
        dl = lsp - lsq
        isp = 1.0 / sp
        acc = 0.0
        ninf = 0
        for c0 in range(0, c, CHUNK):
            c1 = min(c0 + CHUNK, c)
            xs = prow[c0:c1]
            ys = qrow[c0:c1]
            part = 0.0
            for j in range(xs.shape[0]):
                a = float(xs[j])
                if a == -np.inf:
                    continue
                b = float(ys[j])
                if b == -np.inf:
                    ninf += 1
                    continue
                da = a - fmp
                pv = fexp(da) * isp
                part += pv * ((da - (b - fmq)) - dl)
            acc += part
        out[i] = np.inf if ninf > 0 else max(acc, 0.0)
    return nbad


def entropy_probs(p, normalize=False):
    """(h, rowsum, nbad) for probability rows ``p`` (N, C)."""
    n = p.shape[0]
    h = np.empty(n)
    rowsum = np.empty(n)
    nbad = _entropy_probs(p, bool(normalize), h, rowsum)
    return h, rowsum, int(nbad.sum())


def entropy_logits(z):
    """(h, nbad) for logit rows ``z`` (N, C); nbad counts NaN/+inf entries and dead rows."""
    h = np.empty(z.shape[0])
    nbad = _entropy_logits(z, h)
    return h, int(nbad.sum())


def _pair(p, q, kind, normalize):
    n = p.shape[0]
    out = np.empty(n)
    psum = np.empty(n)
    qsum = np.empty(n)
    nbad = _pair_kernel(p, q, kind, bool(normalize), out, psum, qsum)
    return out, psum, qsum, int(nbad.sum())


def cross_entropy_probs(p, q, normalize=False):
    """(H(p, q), psum, qsum, nbad) for probability rows."""
    return _pair(p, q, 0, normalize)


def kl_probs(p, q, normalize=False):
    """(D(p‖q), psum, qsum, nbad) for probability rows."""
    return _pair(p, q, 1, normalize)


def js_probs(p, q, normalize=False):
    """(JS(p, q), psum, qsum, nbad) for probability rows."""
    return _pair(p, q, 2, normalize)


def kl_logits(zp, zq):
    """(D(softmax zp ‖ softmax zq), nbad) for logit rows."""
    out = np.empty(zp.shape[0])
    nbad = _kl_logits(zp, zq, out)
    return out, int(nbad.sum())
