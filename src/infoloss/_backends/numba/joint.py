# mypy: ignore-errors
# (numba kernels: their types come from numba, not from annotations)
"""Joint entropy, conditional entropy H(Y|X) and mutual information I(X;Y) of tables.

Tables are (N, X, Y), normalised over X and Y together; the formulas are those of the
array-API implementation (:func:`infoloss.measures._array_api.joint_rows`):

- H(X, Y) is the entropy of the flattened table (the row kernels of :mod:`.info`; a
  table whose X and Y axes cannot be merged without a copy is copied first);
- H(Y|X) = Σ_x P(x) H(Y | X = x), each H(Y | X = x) = log s − t/s computed relative to
  its row's maximum (so a nearly deterministic row keeps its accuracy: no rounded row sum
  goes inside a log), the weights P(x) ∝ m_x s_x (or e^{m_x} s_x) combined relative to
  their maximum: every part is ≥ 0 and nothing over- or underflows;
- I(X; Y) term by term: ``P(x, y) log(P(y|x)/P(y))`` with ``flog_ratio`` for
  probabilities, ``q h(δ)`` (≥ 0, see :func:`.info.kl_term`) against ``q = P(x) P(y)`` for
  logits and normalised log-probabilities.  The marginals need a pass over the table
  before the terms: tables are read from memory once and re-read from cache.
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads, njit, prange

from ._compile import for_rows
from ._exp import FASTMATH, cast_like, fexp, fexp_low, flog_ratio
from ..._kernels._results import ArgStats, MeasureRows
from ._rows import chunk_max, row_lse, row_lse_t
from .info import (
    count_bad_log,
    kl_term,
    measure_rows,
    pow2_scale,
    row_rlogr,
    row_scaled,
)

__all__ = ["joint_rows"]


@njit(error_model="numpy", fastmath=FASTMATH)
def _add_weighted(big, w, hw, lw, h):
    """Online Σ e^{lw} and Σ e^{lw} h relative to the running maximum ``big``."""
    if lw == -np.inf:
        return big, w, hw
    if lw > big:
        f = math.exp(big - lw) if big > -np.inf else 0.0
        return lw, w * f + 1.0, hw * f + h
    e = math.exp(lw - big)
    return big, w + e, hw + e * h


@njit(parallel=True, error_model="numpy", fastmath=FASTMATH, cache=True)
def _conditional(T, form, normalize, out, nbad, lmass):
    # form: 0 probs, 1 log_probs, 2 logits
    n, nx, _ = T.shape
    for i in prange(n):
        big = -np.inf
        w = 0.0
        hw = 0.0
        nb = 0
        for a in range(nx):
            row = T[i, a]
            if form == 0:
                m, k, rest, b = row_scaled(row)
                nb += b
                if b > 0 or k == 0.0:
                    continue
                s = k + rest
                ls = math.log1p((k - 1.0) + rest)
                sc = pow2_scale(m)
                inv = cast_like(1.0, m) / (m * sc)
                h = ls - row_rlogr(row, m, sc, inv) / s
                lw = math.log(float(m)) + ls
            else:
                m, k, rest, t = row_lse_t(row, row)
                ok = k > 0.0 and math.isfinite(rest) and math.isfinite(float(m))
                if not ok:
                    nb += count_bad_log(row, False)
                    continue
                s = k + rest
                ls = math.log1p((k - 1.0) + rest)
                h = ls - t / s
                lw = float(m) + ls
            big, w, hw = _add_weighted(big, w, hw, lw, h)
        if form == 2 and nb == 0 and big == -np.inf:
            nb = 1  # a logit table with no finite entry
        nbad[i] = nb
        lmass[i] = (big + math.log(w) if big > -np.inf else -np.inf) if nb == 0 else np.nan
        if nb > 0:
            out[i] = np.nan
        elif form == 2 or normalize:
            out[i] = hw / w if big > -np.inf else np.nan
        else:
            out[i] = math.exp(big) * hw if big > -np.inf else 0.0


@njit(error_model="numpy", fastmath=FASTMATH)
def _mi_probs(tab, normalize, px, py, cy):
    """(value, nbad, log_mass) of one probability table; px (X,), py (Y,) float64 and cy
    (Y,) of the table's dtype are scratch."""
    nx, ny = tab.shape
    zero = cast_like(0.0, tab[0, 0])
    one = cast_like(1.0, zero)
    big = zero
    nb = 0
    for a in range(nx):
        row = tab[a]
        cm = chunk_max(row)
        big = cm if (cm > big) & (cm < np.inf) else big
        cb = zero
        for j in range(ny):
            v = row[j]
            cb += zero if (v >= zero) & (v < np.inf) else one
        nb += int(cb)
    if nb > 0:
        return np.nan, nb, np.nan
    if big == 0:
        return np.nan, 0, -np.inf
    lbig = math.log(float(big))
    sc = pow2_scale(big)
    if sc != one:
        # 1/big over- or underflows (rare): work on a copy scaled by a power of two, so
        # that the loops below stay plain products (which vectorise).
        tab = tab * sc
        big = big * sc
    inv = one / big
    for j in range(ny):
        py[j] = 0.0
    tot = 0.0
    for a in range(nx):
        row = tab[a]
        s = 0.0
        for j in range(ny):
            v = float(row[j] * inv)
            s += v
            py[j] += v
        px[a] = s
        tot += s
    for j in range(ny):
        cy[j] = cast_like(py[j], zero)
    # P(x, y)/(P(x) P(y)) = (r T/R_x)/C_y with r the entry over the maximum, R_x and C_y
    # its row and column sums and T the total: r T/R_x ≥ r and C_y ≥ r, so neither
    # underflows where r does not, and flog_ratio takes the ratio without forming it.
    inv_t = cast_like(1.0 / tot, zero)
    acc = 0.0
    for a in range(nx):
        row = tab[a]
        ua = cast_like(tot / px[a], zero) if px[a] > 0.0 else one
        part = zero
        for j in range(ny):
            v = row[j]
            pos = v > zero
            r = v * inv
            p = r * inv_t if normalize else v
            lr = flog_ratio(r * ua if pos else one, cy[j] if pos else one)
            part += p * lr if pos else zero
        acc += float(part)
    return acc, 0, lbig + math.log(tot)


@njit(error_model="numpy", fastmath=FASTMATH)
def _mi_logs(tab, exact, logits, lx, ly, cmax, csum, ey):
    """(value, nbad, log_mass) of one log-probability or logit table; lx (X,), ly, csum
    (Y,) float64 and cmax, ey (Y,) of the table's dtype are scratch."""
    nx, ny = tab.shape
    zero = cast_like(0.0, tab[0, 0])
    ninf = cast_like(-np.inf, zero)
    nb = 0
    big = -np.inf
    w = 0.0
    for j in range(ny):
        cmax[j] = ninf
        csum[j] = 0.0
    for a in range(nx):
        row = tab[a]
        m, k, rest = row_lse(row, row)
        ok = k > 0.0 and math.isfinite(rest) and math.isfinite(float(m))
        if not ok:
            b = count_bad_log(row, False)
            nb += b
            lx[a] = -np.inf
            continue
        lx[a] = float(m) + math.log1p((k - 1.0) + rest)
        big, w, _ = _add_weighted_s(big, w, lx[a])
        for j in range(ny):
            v = row[j]
            cmax[j] = v if v > cmax[j] else cmax[j]
    if logits and nb == 0 and big == -np.inf:
        nb = 1
    if nb > 0:
        return np.nan, nb, np.nan
    if big == -np.inf:
        return np.nan, 0, -np.inf
    big_l = big + math.log(w)  # log of the table's mass
    for a in range(nx):
        row = tab[a]
        for j in range(ny):
            cm = cmax[j]
            e = fexp_low(row[j] - cm)
            csum[j] += float(e) if cm > ninf else 0.0
    shift = big_l if exact else 0.0
    for j in range(ny):
        ly[j] = float(cmax[j]) + math.log(csum[j]) - shift if cmax[j] > ninf else -np.inf
        ey[j] = cast_like(math.exp(ly[j]), zero)
    acc = 0.0
    for a in range(nx):
        row = tab[a]
        lxa = lx[a] - shift
        exa = cast_like(math.exp(lxa), zero)
        part = zero
        for j in range(ny):
            v = row[j]
            pos = v > ninf
            logp = cast_like(float(v) - shift, v) if pos else zero
            li = lxa + ly[j]
            lind = cast_like(li, v) if li > -np.inf else ninf
            delta = logp - (lind if pos else zero)
            p = fexp(logp) if pos else zero
            if exact:
                # P(x) P(y) as a product: one exp per entry fewer than e^(log P(x) + log P(y)).
                q = exa * ey[j]
                part += kl_term(p, q, delta) if pos else q
            else:
                part += p * delta if pos else zero
        acc += float(part)
    return acc, 0, big_l


@njit(error_model="numpy", fastmath=FASTMATH)
def _add_weighted_s(big, w, lw):
    if lw > big:
        f = math.exp(big - lw) if big > -np.inf else 0.0
        return lw, w * f + 1.0, 0.0
    return big, w + math.exp(lw - big), 0.0


@njit(parallel=True, error_model="numpy", fastmath=FASTMATH, cache=True)
def _mutual(T, form, normalize, nblocks, out, nbad, lmass):
    n, nx, ny = T.shape
    per = (n + nblocks - 1) // nblocks
    for b in prange(nblocks):
        s1 = np.empty(nx)
        s2 = np.empty(ny)
        s3 = np.empty(ny)
        d1 = np.empty(ny, T.dtype)
        d2 = np.empty(ny, T.dtype)
        for i in range(b * per, min(n, (b + 1) * per)):
            if form == 0:
                v, nb, lm = _mi_probs(T[i], normalize, s1, s2, d1)
            else:
                exact = form == 2 or normalize
                v, nb, lm = _mi_logs(T[i], exact, form == 2, s1, s2, d1, s3, d2)
            out[i] = v
            nbad[i] = nb
            lmass[i] = lm


_FORMS = {"probs": 0, "log_probs": 1, "logits": 2}


def joint_rows(kind, x, form, normalize):
    """Per-table ``kind`` in nats and the table's :class:`ArgStats` (see the package
    docstring for the contract)."""
    n, nx, ny = x.shape
    if kind == "joint_entropy":
        try:
            flat = np.reshape(x, (n, nx * ny), copy=False)
        except ValueError:
            flat = np.ascontiguousarray(x).reshape(n, nx * ny)
        except TypeError:  # NumPy < 2.1
            flat = x.reshape(n, nx * ny)
        return measure_rows("entropy", (flat,), (form,), normalize)
    out = np.empty(n)
    nbad = np.zeros(n, np.int64)
    lmass = np.empty(n)
    if n and nx and ny:
        code = _FORMS[form]
        if kind == "conditional_entropy":
            for_rows(_conditional, ny)(x, code, bool(normalize), out, nbad, lmass)
        elif kind == "mutual_information":
            nblocks = min(n, 8 * get_num_threads())
            for_rows(_mutual, ny)(x, code, bool(normalize), nblocks, out, nbad, lmass)
        else:
            raise ValueError(f"unknown joint measure {kind!r}")
    return MeasureRows(out, (ArgStats(int(nbad.sum()), lmass),))
