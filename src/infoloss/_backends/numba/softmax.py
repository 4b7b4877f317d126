# mypy: ignore-errors
# (numba kernels: their types come from numba, not from annotations)
"""Softmax cross-entropy from logits: forward, backward, and the fused pair.

Per sample i with logits z_i, target t_i (one-hot for labels), class weights w,
smoothing ε and ignored class k (labels: the whole sample; probabilities: that column)::

    keep_i = 1 − t_ik            u_i = t_i with column k zeroed
    p̃_i   = (1−ε)·u_i + ε·keep_i/C
    a_ic   = w_c p̃_ic           A_i = Σ_c a_ic
    ℓ_i    = −Σ_c a_ic log q_ic = Σ_c a_ic (lse_i − z_ic)
    s_i    = Σ_c w_c u_ic        (the sample weight of a "mean" reduction)
    ∂ℓ_i/∂z_ic = A_i q_ic − a_ic

With the z-loss λ (``lse_square_scale``) the loss gains λ·s_i·lse_i² and A_i gains
2λ·s_i·lse_i, once per row, outside the loops over the classes (a branch on λ > 0, so the
loops are the same without it).  With soft-capping (``softcap`` c) the kernels read
ζ = c·tanh(z/c) from a small per-thread buffer of rows (see "soft-capping" below) and
the gradient is multiplied by sech²(z/c).

A term with a_ic = 0 is 0 even where z_ic = −inf; a_ic > 0 at z_ic = −inf gives ℓ_i = +inf
with a finite gradient.  ``lse − z`` is formed as ``log s − (z − m)`` with m the row maximum
and ``log s = log1p(s − 1)`` (see :func:`._rows.lse_log`), so the loss at a dominant logit
keeps its relative accuracy.

How the data is read:

* Rows of up to ``CHUNK`` classes are processed in a pipeline: the loop that sums
  exp(z − m) over row i (from L1, where the previous iteration left it) also takes the
  maximum of row i + 1 (from memory), so each row is read from memory once, and the
  loads of the next row overlap the exp arithmetic of this one.  That maximum is taken on
  the bit patterns as integers (see "maxima through the bits" in ``_rows.py``): LLVM vectorises
  it alongside the sums, where it leaves a loop that mixes ``llvm.maxnum`` with sums
  scalar.
* Longer rows go in chunks of ``CHUNK`` with a running maximum: a chunk is summed against
  it in one loop that also counts the entries above it, and only a chunk that raises the
  maximum has its maximum taken (from L1).  Its sums against the old maximum are then
  taken over, rescaled, when the rise is within ``fexp_low``'s domain and the row's rest
  stays ≥ 4× the new maximal entries' count (the exp of those entries, removed from the
  chunk's float32 sum, costs a rest that large nothing in accuracy); otherwise the chunk
  is summed again against the new maximum.
* The fused kernel stores exp(z − m) in the loop that sums it and scales it in a second
  loop over the row while it is in cache (L1 for short rows, L2 for most long ones),
  rather than computing exp twice; in a long row each chunk is scaled by
  exp(m_c − m) for the running maximum m_c it was stored against.  (Probability targets
  with long rows recompute exp in the second pass.)
* The backward reads each logit row once: A_i q_ic = exp(z_ic − lse_i)·A_i from the
  saved ``lse`` (float64); a probability target row is read for A_i = Σ_c a_ic first and
  again, from cache where it fits, for the a_ic of the gradient.  For float32 logits ``lse`` is split into the nearest float32 ``hi``
  (≥ the row maximum, so every exp argument is ≤ 0) and the exact remainder ``lo``.  The
  saved float64 ``lse`` is exact only to |lse|·2^-53, which is the relative error it gives
  q; where that would show (|lse| ≥ 2^8 for float64 logits, ≥ 2^24 for float32) the row's
  maximum and sum are recomputed from the logits instead.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

from ._exp import FASTMATH, cast_like, fexp, fexp_low
from ..._kernels._results import ArgStats, XentForward
from ._rows import (
    CHUNK,
    RowTerm,
    count_bad_logits,
    keep_sums,
    lse_chunk_for,
    lse_log,
    max_bits,
    max_from,
    recentre_min,
    row_lse,
    row_lse_for,
)

__all__ = ["xent_backward", "xent_forward", "xent_fused"]

# Floating-point errors give inf/NaN (as in NumPy), never an exception: the kernels
# never raise, and a bad row (whose s may be 0) is counted, not divided by.
_JIT = {"fastmath": FASTMATH, "error_model": "numpy"}

# Beyond these |lse| the saved float64 lse no longer gives q to the dtype's accuracy.
_LSE_EXACT32 = 2.0**24
_LSE_EXACT64 = 2.0**8


# ------------------------------------------------------------------- chunk loops
#
# The chunk loops are ``_rows.lse_chunk_for`` with a term for the sums a loss needs beside
# the log-sum-exp, in variants whose flags are compile-time constants (numba prunes the
# branches they decide).  They are ordinary jitted functions, not inlined into their
# callers in numba's IR: LLVM vectorises each loop where it stands, and the kernels
# compile in seconds rather than minutes.


@njit(inline="always", **_JIT)
def _wd_sums(m):
    zero = cast_like(0.0, m)
    return (zero, zero)


@njit(inline="always", **_JIT)
def _wd_step(acc, j, d, e, wx):
    # Σ w·d and Σ w over a labelled row's classes (w·d is 0 where w = 0, even at d = −inf).
    wj = wx[j]
    zero = cast_like(0.0, d)
    return (acc[0] + (wj * d if wj != zero else zero), acc[1] + wj)


@njit(inline="always", **_JIT)
def _wd_off(acc, j, d, e, wx):
    return acc


@njit(inline="always", **_JIT)
def _target_sums(m):
    return (0.0, 0.0, 0.0, 0.0, cast_like(0.0, m))


@njit(inline="always", **_JIT)
def _target_step(acc, j, d, e, aux):
    # A = Σ a, B = Σ a·d, S = Σ w·u, T = Σ t (float64) and the bad targets of a
    # probability target row (column kk ignored, −1 for none), a = w·((1−ε)·u + base).
    tx, wx, kk, onem, base = aux
    big_a, b, sw, ts, cbad = acc
    zero = cast_like(0.0, d)
    one = cast_like(1.0, d)
    tv = tx[j]
    cbad += zero if (tv >= zero) & (tv < np.inf) else one
    t64 = float(tv)
    u = 0.0 if j == kk else t64
    wj = wx[j]
    a = wj * (onem * u + base)
    b += a * float(d) if a != 0.0 else 0.0
    return (big_a + a, b, sw + wj * u, ts + t64, cbad)


_SMOOTH = (_wd_sums, _wd_step)  # label smoothing: (Σ w·d, Σ w)
_PLAIN = (_wd_sums, _wd_off)  # no smoothing: both stay 0
_TARGET = (_target_sums, _target_step)

# Labels: the running-maximum loops of long rows (``_chunk``) and the pipelined loops of
# short rows (``_next``); ``_w``: with smoothing; ``g``: each exp stored.
_lab_chunk = lse_chunk_for(_PLAIN, False, False)
_lab_chunk_w = lse_chunk_for(_SMOOTH, False, False)
_lab_next = lse_chunk_for(_PLAIN, False, True)
_lab_next_w = lse_chunk_for(_SMOOTH, False, True)
_lab_next_g = lse_chunk_for(_PLAIN, True, True)
_lab_next_wg = lse_chunk_for(_SMOOTH, True, True)
_lab_chunk_g = lse_chunk_for(_PLAIN, True, False)
_lab_chunk_wg = lse_chunk_for(_SMOOTH, True, False)
_prob_chunk = lse_chunk_for(_TARGET, False, False)
_prob_next = lse_chunk_for(_TARGET, False, True)
_prob_next_g = lse_chunk_for(_TARGET, True, True)


@njit(**_JIT)
def _weight_sum(wx):
    ws = 0.0
    for j in range(wx.shape[0]):
        ws += float(wx[j])
    return ws


# The running-maximum loops of long rows are ``_rows.row_lse_for`` with these row terms
# (see there): labels carry (Σ w·(z − m), Σ w) over the chunks, probability targets
# (A, B, S, T, bad targets).


@njit(inline="always", **_JIT)
def _part(aux, c0, c1):
    return aux[c0:c1]


@njit(inline="always", **_JIT)
def _wd_init(m):
    return (0.0, 0.0)


@njit(inline="always", **_JIT)
def _wd_add(acc, sums):
    return (acc[0] + float(sums[0]), acc[1] + float(sums[1]))


@njit(inline="always", **_JIT)
def _wd_rescale(acc, delta, f, s):
    return (acc[0] + delta * acc[1], acc[1])


@njit(inline="always", **_JIT)
def _wd_take(acc, sums, delta, f, s):
    wseen = acc[1] + float(sums[1])
    return (acc[0] + (float(sums[0]) + delta * wseen), wseen)


@njit(inline="always", **_JIT)
def _wd_empty(acc, x, wx):
    # −inf logits of weighted classes make the smoothing term −inf.
    ws = _weight_sum(wx)
    return (-np.inf if ws > 0.0 else acc[0], acc[1] + ws)


@njit(inline="always", **_JIT)
def _target_part(aux, c0, c1):
    tx, wx, kk, onem, base = aux
    return (tx[c0:c1], wx[c0:c1], kk - c0, onem, base)


@njit(inline="always", **_JIT)
def _target_init(m):
    return (0.0, 0.0, 0.0, 0.0, 0)


@njit(inline="always", **_JIT)
def _target_add(acc, sums):
    big_a, b, sw, ts, nb = acc
    ca, cb, cs, ct, cn = sums
    return (big_a + ca, b + cb, sw + cs, ts + ct, nb + int(cn))


@njit(inline="always", **_JIT)
def _target_rescale(acc, delta, f, s):
    big_a, b, sw, ts, nb = acc
    return (big_a, b + delta * big_a, sw, ts, nb)


@njit(inline="always", **_JIT)
def _target_empty(acc, x, aux):
    # No finite logit yet: the target sums do not depend on m.
    _, _, sums, _, _, _ = _prob_chunk(x, cast_like(0.0, x[0]), x, x, aux)
    big_a, b, sw, ts, nb = acc
    ca, _, cs, ct, cn = sums
    return (big_a + ca, -np.inf if ca > 0.0 else b, sw + cs, ts + ct, nb + int(cn))


_LAB_W = RowTerm(_wd_init, _part, _wd_add, _wd_rescale, _wd_take, _wd_empty, recentre_min)
_LAB = RowTerm(_wd_init, _part, _wd_add, _wd_rescale, _wd_take, keep_sums, recentre_min)
_TARGET_ROW = RowTerm(
    _target_init, _target_part, _target_add, _target_rescale, keep_sums, _target_empty, recentre_min
)
_lab_row_long = row_lse_for(_lab_chunk, _LAB, False, True)
_lab_row_long_w = row_lse_for(_lab_chunk_w, _LAB_W, False, True)
_lab_row_long_g = row_lse_for(_lab_chunk_g, _LAB, True, True)
_lab_row_long_wg = row_lse_for(_lab_chunk_wg, _LAB_W, True, True)
_prob_row_long = row_lse_for(_prob_chunk, _TARGET_ROW, False, False)


# ------------------------------------------------------------------ rows: labels


@njit(inline="always", **_JIT)
def _lab_finish(row, m, k, rest, swd, yi, kept, w, wsum, eps, c, zl):
    """(loss, lse, A, s, ok) of a labelled row from its sums; with the z-loss (zl > 0)
    A includes its coefficient of q, 2·zl·w_y·lse."""
    ok, s, ls = lse_log(m, k, rest)
    lse = float(m) + ls
    if not kept:
        return 0.0, lse, 0.0, s, ok
    if yi < 0 or yi >= c:
        return np.nan, lse, np.nan, s, ok
    ec = eps / c
    wy = w[yi]
    ay = (1.0 - eps) * wy
    li = 0.0
    if ay != 0.0:
        li = ay * (ls - (float(row[yi]) - float(m)))
    big_a = ay
    if eps > 0.0:
        li += ec * (wsum * ls - swd)
        big_a += ec * wsum
    if zl > 0.0:
        li += zl * wy * lse * lse
        big_a += 2.0 * zl * wy * lse
    return li, lse, big_a, s, ok


@njit(**_JIT)
def _lab_grad_fix(g, yi, kept, w, eps, c, scale, big_a, s, wrow, m, mc, chunk):
    """Second loop over a row whose g holds exp(z − m_c): make it scale·(A q − a).  With
    ``chunk`` 0, m_c = m; else chunk j·CHUNK.. was stored against m_c = mc[j] (−inf: that
    chunk holds nothing and its q is 0)."""
    if not kept or yi < 0 or yi >= c:
        fill = np.nan if kept else 0.0
        for j in range(g.shape[0]):
            g[j] = fill
        return
    qa = scale * big_a / s
    cc = cast_like(scale * eps / c, m)
    step = c if chunk == 0 else chunk
    for c0 in range(0, c, step):
        c1 = min(c0 + step, c)
        gx = g[c0:c1]
        wx = wrow[c0:c1]
        mj = float(m) if chunk == 0 else mc[c0 // chunk]
        if mj == -np.inf:
            for j in range(gx.shape[0]):
                gx[j] = -cc * wx[j]
            continue
        qj = cast_like(qa * math.exp(mj - float(m)), m)
        if eps > 0.0:
            for j in range(gx.shape[0]):
                gx[j] = qj * gx[j] - cc * wx[j]
        else:
            for j in range(gx.shape[0]):
                gx[j] = qj * gx[j]
    g[yi] -= cast_like(scale * (1.0 - eps) * w[yi], m)


@njit(**_JIT)
def _lab_grad_pass(row, g, hi, qa, yi, kept, w, eps, c, scale, wrow):
    """g = qa·exp(z − hi) − scale·a for a row (zero for an ignored one)."""
    if not kept or yi < 0 or yi >= c:
        fill = np.nan if kept else 0.0
        for j in range(g.shape[0]):
            g[j] = fill
        return
    if eps > 0.0:
        cc = cast_like(scale * eps / c, hi)
        for j in range(g.shape[0]):
            g[j] = qa * fexp_low(row[j] - hi) - cc * wrow[j]
    else:
        for j in range(g.shape[0]):
            g[j] = qa * fexp_low(row[j] - hi)
    g[yi] -= cast_like(scale * (1.0 - eps) * w[yi], hi)


def _labels_block_for(fused):
    chunk_p = _lab_next_g if fused else _lab_next
    chunk_w = _lab_next_wg if fused else _lab_next_w
    long_p = _lab_row_long_g if fused else _lab_row_long
    long_w = _lab_row_long_wg if fused else _lab_row_long_w

    @njit(**_JIT)
    def labels_block(z, y, w, wz, wsum, eps, ignore, has_ignore, zl, r0, r1, out, scale):
        """Forward (and, if ``fused``, scale·gradient into g) of rows r0..r1."""
        loss, lse, sw, nbad, g = out
        c = z.shape[1]
        smooth = eps > 0.0
        short = c <= CHUNK
        hi, lo = max_bits(z[r0, : c if short else 1])  # the first short row's maximum
        mc = np.empty((c + CHUNK - 1) // CHUNK if fused else 0)
        for i in range(r0, r1):
            row = z[i]
            nxt = z[i + 1] if i + 1 < r1 else row
            gi = g[i] if fused else row
            yi = y[i]
            kept = not (has_ignore and yi == ignore)
            if short:
                m = max_from(hi, lo)
                if smooth:
                    rest, k, sums, _, hi, lo = chunk_w(row, m, nxt, gi, wz)
                else:
                    rest, k, sums, _, hi, lo = chunk_p(row, m, nxt, gi, wz)
                swd = float(sums[0])
            elif smooth:
                m, k, rest, sums = long_w(row, nxt, wz, gi, mc)
                swd = sums[0]
            else:
                m, k, rest, sums = long_p(row, nxt, wz, gi, mc)
                swd = sums[0]
            li, lsei, big_a, s, ok = _lab_finish(
                row, m, k, rest, swd, yi, kept, w, wsum, eps, c, zl
            )
            loss[i] = li
            lse[i] = lsei
            sw[i] = w[yi] if kept and yi >= 0 and yi < c else 0.0
            if not ok:
                nbad[i] = count_bad_logits(row)
            if fused:
                if short:
                    _lab_grad_fix(gi, yi, kept, w, eps, c, scale, big_a, s, wz, m, mc, 0)
                else:
                    _lab_grad_fix(gi, yi, kept, w, eps, c, scale, big_a, s, wz, m, mc, CHUNK)

    return labels_block


_labels_block = _labels_block_for(False)
_labels_block_g = _labels_block_for(True)


@njit(parallel=True, cache=True, **_JIT)
def _labels_forward(z, y, w, wz, wsum, eps, ignore, has_ignore, zl, nblk, loss, lse, sw, nbad):
    n = z.shape[0]
    g = np.empty((0, 0), z.dtype)
    for b in prange(nblk):
        r0 = b * n // nblk
        r1 = (b + 1) * n // nblk
        if r1 > r0:
            out = (loss, lse, sw, nbad, g)
            _labels_block(z, y, w, wz, wsum, eps, ignore, has_ignore, zl, r0, r1, out, 1.0)


@njit(parallel=True, cache=True, **_JIT)
def _labels_fused(z, y, w, wz, wsum, eps, ignore, has_ignore, zl, nblk, loss, lse, sw, nbad, g, sc):
    n = z.shape[0]
    for b in prange(nblk):
        r0 = b * n // nblk
        r1 = (b + 1) * n // nblk
        if r1 > r0:
            out = (loss, lse, sw, nbad, g)
            _labels_block_g(z, y, w, wz, wsum, eps, ignore, has_ignore, zl, r0, r1, out, sc)


@njit(**_JIT)
def _hi_qa(row, lse, factor, exact):
    """(hi, qa) with qa·exp(z − hi) = factor·exp(z − lse) for the row (see the module
    docstring); recomputed from the row where |lse| ≥ exact or lse is not finite."""
    if abs(lse) < exact:
        # The nearest float32 to lse is ≥ the row maximum (a float32 ≤ lse): z − hi ≤ 0.
        hi = cast_like(lse, row[0])
        lo = lse - float(hi)
        return hi, cast_like(factor * math.exp(-lo), hi)
    m, k, rest = row_lse(row, row)
    _, s, _ = lse_log(m, k, rest)
    return m, cast_like(factor / s, m)


@njit(**_JIT)
def _labels_backward_rows(
    z, y, w, wz, wsum, eps, ignore, has_ignore, zl, lse, upstream, g, exact, r0, r1
):
    c = z.shape[1]
    for i in range(r0, r1):
        row = z[i]
        yi = y[i]
        kept = not (has_ignore and yi == ignore)
        up = upstream[i]
        big_a = 0.0
        if kept and yi >= 0 and yi < c:
            big_a = (1.0 - eps) * w[yi] + (eps / c) * wsum
            if zl > 0.0:
                big_a += 2.0 * zl * w[yi] * lse[i]
        hi, qa = _hi_qa(row, lse[i], up * big_a, exact)
        _lab_grad_pass(row, g[i], hi, qa, yi, kept, w, eps, c, up, wz)


@njit(parallel=True, cache=True, **_JIT)
def _labels_backward(z, y, w, wz, wsum, eps, ignore, has_ignore, zl, lse, upstream, g, exact, nblk):
    n = z.shape[0]
    for b in prange(nblk):
        r0 = b * n // nblk
        r1 = (b + 1) * n // nblk
        _labels_backward_rows(
            z, y, w, wz, wsum, eps, ignore, has_ignore, zl, lse, upstream, g, exact, r0, r1
        )


# ------------------------------------------------------------- rows: probabilities


def _prob_grad_pass_for(recompute):
    @njit(**_JIT)
    def prob_grad_pass(row, trow, g, hi, qa, kk, w, onem, base, scale):
        """g = qa·E − scale·a with E = exp(z − hi), or (not ``recompute``) E = g."""
        sc = scale * onem
        sb = scale * base
        for j in range(g.shape[0]):
            u = 0.0 if j == kk else float(trow[j])
            a = cast_like(w[j] * (sc * u + sb), hi)
            e = fexp_low(row[j] - hi) if recompute else g[j]
            g[j] = qa * e - a

    return prob_grad_pass


_prob_grad_pass = _prob_grad_pass_for(True)
_prob_grad_fix = _prob_grad_pass_for(False)


def _probs_block_for(fused):
    chunk = _prob_next_g if fused else _prob_next

    @njit(**_JIT)
    def probs_block(z, t, w, eps, kk, zl, r0, r1, out, scale):
        loss, lse, sw, nbad, tbad, tmass, g = out
        c = z.shape[1]
        short = c <= CHUNK
        onem = 1.0 - eps
        hi, lo = max_bits(z[r0, : c if short else 1])  # the first short row's maximum
        for i in range(r0, r1):
            row = z[i]
            trow = t[i]
            nxt = z[i + 1] if i + 1 < r1 else row
            gi = g[i] if fused else row
            keep = 1.0 - float(trow[kk]) if kk >= 0 else 1.0
            base = eps * keep / c
            if short:
                m = max_from(hi, lo)
                rest, k, sums, _, hi, lo = chunk(row, m, nxt, gi, (trow, w, kk, onem, base))
                big_a, b, swi, ts, nb = sums
                nb = int(nb)
            else:
                m, k, rest, sums = _prob_row_long(row, nxt, (trow, w, kk, onem, base), row, row)
                big_a, b, swi, ts, nb = sums
            ok, s, ls = lse_log(m, k, rest)
            lsei = float(m) + ls
            li = big_a * ls - b
            if zl > 0.0:  # the z-loss, weighted by the sample weight; 2·zl·s·lse joins A
                li += zl * swi * lsei * lsei
                big_a += 2.0 * zl * swi * lsei
            loss[i] = li
            lse[i] = lsei
            sw[i] = swi
            tmass[i] = ts
            tbad[i] = nb
            if not ok:
                nbad[i] = count_bad_logits(row)
            if fused:
                qa = cast_like(scale * big_a / s, m)
                if short:
                    _prob_grad_fix(row, trow, gi, m, qa, kk, w, onem, base, scale)
                else:
                    _prob_grad_pass(row, trow, gi, m, qa, kk, w, onem, base, scale)

    return probs_block


_probs_block = _probs_block_for(False)
_probs_block_g = _probs_block_for(True)


@njit(parallel=True, cache=True, **_JIT)
def _probs_forward(z, t, w, eps, kk, zl, nblk, loss, lse, sw, nbad, tbad, tmass):
    n = z.shape[0]
    g = np.empty((0, 0), z.dtype)
    for b in prange(nblk):
        r0 = b * n // nblk
        r1 = (b + 1) * n // nblk
        if r1 > r0:
            out = (loss, lse, sw, nbad, tbad, tmass, g)
            _probs_block(z, t, w, eps, kk, zl, r0, r1, out, 1.0)


@njit(parallel=True, cache=True, **_JIT)
def _probs_fused(z, t, w, eps, kk, zl, nblk, loss, lse, sw, nbad, tbad, tmass, g, scale):
    n = z.shape[0]
    for b in prange(nblk):
        r0 = b * n // nblk
        r1 = (b + 1) * n // nblk
        if r1 > r0:
            out = (loss, lse, sw, nbad, tbad, tmass, g)
            _probs_block_g(z, t, w, eps, kk, zl, r0, r1, out, scale)


@njit(**_JIT)
def _target_mass(trow, w, kk, onem, base):
    """A = Σ a of a probability target row."""
    c = trow.shape[0]
    big_a = 0.0
    for c0 in range(0, c, CHUNK):
        c1 = min(c0 + CHUNK, c)
        acc = 0.0
        for j in range(c0, c1):
            u = 0.0 if j == kk else float(trow[j])
            acc += w[j] * (onem * u + base)
        big_a += acc
    return big_a


@njit(**_JIT)
def _kept_weight(trow, w, kk):
    """s = Σ w·u of a probability target row (the z-loss's weight)."""
    sw = 0.0
    for j in range(trow.shape[0]):
        sw += 0.0 if j == kk else w[j] * float(trow[j])
    return sw


@njit(**_JIT)
def _probs_backward_rows(z, t, w, eps, kk, zl, lse, upstream, g, exact, r0, r1):
    c = z.shape[1]
    onem = 1.0 - eps
    for i in range(r0, r1):
        row = z[i]
        trow = t[i]
        keep = 1.0 - float(trow[kk]) if kk >= 0 else 1.0
        base = eps * keep / c
        # A = Σ a: one read of the target row, which the gradient loop re-reads.
        big_a = _target_mass(trow, w, kk, onem, base)
        if zl > 0.0:
            big_a += 2.0 * zl * _kept_weight(trow, w, kk) * lse[i]
        up = upstream[i]
        hi, qa = _hi_qa(row, lse[i], up * big_a, exact)
        _prob_grad_pass(row, trow, g[i], hi, qa, kk, w, onem, base, up)


@njit(parallel=True, cache=True, **_JIT)
def _probs_backward(z, t, w, eps, kk, zl, lse, upstream, g, exact, nblk):
    n = z.shape[0]
    for b in prange(nblk):
        r0 = b * n // nblk
        r1 = (b + 1) * n // nblk
        _probs_backward_rows(z, t, w, eps, kk, zl, lse, upstream, g, exact, r0, r1)


# ------------------------------------------------------------------- soft-capping
#
# With ``softcap`` c the loss reads ζ = c·tanh(z/c).  Each thread takes a block of rows as
# above and, a few rows at a time, writes their ζ into a small buffer of its own (about
# ``_CAP_BYTES``, so it stays in cache), runs the row functions above on the buffer (their
# loops are the same as without the option), and multiplies those rows' gradient by the
# chain factor sech²(z/c) from the original logits.  One parallel launch per call, as
# without the option; nothing of the logits' size is allocated.

_CAP_BYTES = 256 << 10

# tanh x = x·P(x²) by its Taylor series through x¹⁵ for |x| < 1/8 (the next term is below
# 2e-18 relative there); beyond, (1 − e)/(1 + e) with e = exp(−2|x|), where 1 − e ≥ 0.22
# keeps the exp's relative error (≈ 2e-16) to a few ulp.  Both from plain arithmetic and
# ``fexp``, in float64, so the loops vectorise (numba's math.tanh is a libm call).
_TANH_SMALL = 0.125
_T1, _T3, _T5, _T7 = 1.0, -1.0 / 3, 2.0 / 15, -17.0 / 315
_T9, _T11, _T13, _T15 = 62.0 / 2835, -1382.0 / 155925, 21844.0 / 6081075, -929569.0 / 638512875


@njit(inline="always", **_JIT)
def _tanh(x):
    """tanh of a float64 (±inf gives ±1, NaN stays NaN), to a few ulp."""
    ax = abs(x)
    e = fexp(-2.0 * ax)
    far = (1.0 - e) / (1.0 + e)
    x2 = ax * ax
    p = (((((_T15 * x2 + _T13) * x2 + _T11) * x2 + _T9) * x2 + _T7) * x2 + _T5) * x2 + _T3
    near = ax * (p * x2 + _T1)
    t = near if ax < _TANH_SMALL else far
    return -t if x < 0.0 else t


@njit(**_JIT)
def _cap_rows(z, cap, out):
    """out = cap·tanh(z / cap) row by row: ±inf gives ±cap, NaN stays NaN."""
    inv = 1.0 / cap
    for i in range(z.shape[0]):
        row = z[i]
        o = out[i]
        for j in range(row.shape[0]):
            o[j] = cast_like(cap * _tanh(float(row[j]) * inv), row[j])


@njit(**_JIT)
def _cap_chain(z, cap, g):
    """g ·= sech²(z / cap) = 4e / (1 + e)² with e = exp(−2|z| / cap) ≤ 1 (no overflow, 0 at
    ±inf, full relative accuracy where tanh rounds to ±1)."""
    m2 = -2.0 / cap
    for i in range(z.shape[0]):
        row = z[i]
        gi = g[i]
        for j in range(row.shape[0]):
            e = fexp(m2 * abs(float(row[j])))
            gi[j] = cast_like(float(gi[j]) * (4.0 * e / ((1.0 + e) * (1.0 + e))), row[j])


@njit(parallel=True, cache=True, **_JIT)
def _labels_capped(
    z, y, w, wz, wsum, eps, ignore, has_ignore, zl, nblk, loss, lse, sw, nbad, g, sc, cap, rows
):
    """Forward (and, with a non-empty ``g``, the fused gradient) of soft-capped logits."""
    n, c = z.shape
    fused = g.shape[0] > 0
    for b in prange(nblk):
        r0 = b * n // nblk
        r1 = (b + 1) * n // nblk
        if r1 > r0:
            buf = np.empty((min(rows, r1 - r0), c), z.dtype)
            for s0 in range(r0, r1, rows):
                s1 = min(s0 + rows, r1)
                zc = buf[: s1 - s0]
                _cap_rows(z[s0:s1], cap, zc)
                args = (zc, y[s0:s1], w, wz, wsum, eps, ignore, has_ignore, zl, 0, s1 - s0)
                if fused:
                    out = (loss[s0:s1], lse[s0:s1], sw[s0:s1], nbad[s0:s1], g[s0:s1])
                    _labels_block_g(*args, out, sc)
                    _cap_chain(z[s0:s1], cap, g[s0:s1])
                else:
                    out = (loss[s0:s1], lse[s0:s1], sw[s0:s1], nbad[s0:s1], g)
                    _labels_block(*args, out, 1.0)


@njit(parallel=True, cache=True, **_JIT)
def _probs_capped(z, t, w, eps, kk, zl, nblk, loss, lse, sw, nbad, tbad, tmass, g, sc, cap, rows):
    n, c = z.shape
    fused = g.shape[0] > 0
    for b in prange(nblk):
        r0 = b * n // nblk
        r1 = (b + 1) * n // nblk
        if r1 > r0:
            buf = np.empty((min(rows, r1 - r0), c), z.dtype)
            for s0 in range(r0, r1, rows):
                s1 = min(s0 + rows, r1)
                zc = buf[: s1 - s0]
                _cap_rows(z[s0:s1], cap, zc)
                ts = t[s0:s1]
                if fused:
                    out = (
                        loss[s0:s1], lse[s0:s1], sw[s0:s1], nbad[s0:s1], tbad[s0:s1],
                        tmass[s0:s1], g[s0:s1],
                    )  # fmt: skip
                    _probs_block_g(zc, ts, w, eps, kk, zl, 0, s1 - s0, out, sc)
                    _cap_chain(z[s0:s1], cap, g[s0:s1])
                else:
                    out = (
                        loss[s0:s1], lse[s0:s1], sw[s0:s1], nbad[s0:s1], tbad[s0:s1],
                        tmass[s0:s1], g,
                    )  # fmt: skip
                    _probs_block(zc, ts, w, eps, kk, zl, 0, s1 - s0, out, 1.0)


@njit(parallel=True, cache=True, **_JIT)
def _labels_backward_capped(
    z, y, w, wz, wsum, eps, ignore, has_ignore, zl, lse, upstream, g, exact, nblk, cap, rows
):
    n, c = z.shape
    for b in prange(nblk):
        r0 = b * n // nblk
        r1 = (b + 1) * n // nblk
        if r1 > r0:
            buf = np.empty((min(rows, r1 - r0), c), z.dtype)
            for s0 in range(r0, r1, rows):
                s1 = min(s0 + rows, r1)
                zc = buf[: s1 - s0]
                _cap_rows(z[s0:s1], cap, zc)
                _labels_backward_rows(
                    zc, y[s0:s1], w, wz, wsum, eps, ignore, has_ignore, zl,
                    lse[s0:s1], upstream[s0:s1], g[s0:s1], exact, 0, s1 - s0,
                )  # fmt: skip
                _cap_chain(z[s0:s1], cap, g[s0:s1])


@njit(parallel=True, cache=True, **_JIT)
def _probs_backward_capped(z, t, w, eps, kk, zl, lse, upstream, g, exact, nblk, cap, rows):
    n, c = z.shape
    for b in prange(nblk):
        r0 = b * n // nblk
        r1 = (b + 1) * n // nblk
        if r1 > r0:
            buf = np.empty((min(rows, r1 - r0), c), z.dtype)
            for s0 in range(r0, r1, rows):
                s1 = min(s0 + rows, r1)
                zc = buf[: s1 - s0]
                _cap_rows(z[s0:s1], cap, zc)
                _probs_backward_rows(
                    zc, t[s0:s1], w, eps, kk, zl, lse[s0:s1], upstream[s0:s1], g[s0:s1],
                    exact, 0, s1 - s0,
                )  # fmt: skip
                _cap_chain(z[s0:s1], cap, g[s0:s1])


def _cap_rows_per_buffer(c, itemsize):
    return max(1, _CAP_BYTES // max(1, c * itemsize))


# ------------------------------------------------------------------- entry points


def _blocks(n):
    return max(1, min(n, 4 * numba.get_num_threads()))


def _weights(weight, c, dtype):
    w = np.ones(c) if weight is None else np.ascontiguousarray(weight, dtype=np.float64)
    return w, w.astype(dtype), float(w.sum())


def _labels_args(z, target, weight, smoothing, ignore_index, zl):
    w, wz, wsum = _weights(weight, z.shape[1], z.dtype)
    has_ignore = ignore_index is not None
    ign = int(ignore_index) if has_ignore else 0
    return (z, target, w, wz, wsum, float(smoothing), ign, has_ignore, float(zl))


def _ignored_column(ignore_index, c):
    """The ignored column of probability targets, −1 for none (or one out of range)."""
    if ignore_index is None:
        return -1
    k = int(ignore_index)
    return k if 0 <= k < c else -1


def _run_forward(z, target, weight, smoothing, ignore_index, out, scale, zl, cap=None):
    n, c = z.shape
    nblk = _blocks(n)
    loss = np.zeros(n)
    lse = np.empty(n)
    sw = np.empty(n)
    nbad = np.zeros(n, np.int64)
    capped = cap is not None and n > 0
    if capped:
        g = np.empty((0, c), z.dtype) if out is None else out
        more = (float(scale), float(cap), _cap_rows_per_buffer(c, z.itemsize))
    if target.ndim == 1:
        args = _labels_args(z, target, weight, smoothing, ignore_index, zl)
        if capped:
            _labels_capped(*args, nblk, loss, lse, sw, nbad, g, *more)
        elif out is None:
            _labels_forward(*args, nblk, loss, lse, sw, nbad)
        else:
            _labels_fused(*args, nblk, loss, lse, sw, nbad, out, float(scale))
        return XentForward(loss, lse, sw, int(nbad.sum()), None)
    w, _, _ = _weights(weight, c, z.dtype)
    kk = _ignored_column(ignore_index, c)
    tbad = np.zeros(n, np.int64)
    tmass = np.empty(n)
    args = (z, target, w, float(smoothing), kk, float(zl), nblk, loss, lse, sw, nbad, tbad, tmass)
    if capped:
        _probs_capped(*args, g, *more)
    elif out is None:
        _probs_forward(*args)
    else:
        _probs_fused(*args, out, float(scale))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mass = np.log(tmass)
    return XentForward(loss, lse, sw, int(nbad.sum()), ArgStats(int(tbad.sum()), log_mass))


def _forward(z, target, weight, smoothing, ignore_index, out, scale, softcap, zl):
    return _run_forward(z, target, weight, smoothing, ignore_index, out, scale, zl, softcap)


def xent_forward(z, target, weight, smoothing, ignore_index, *, softcap=None, lse_square_scale=0.0):
    """Per-sample losses and what the backward needs; see the package docstring.

    ``softcap`` c (or None): the loss reads c·tanh(z/c); ``lse_square_scale`` λ ≥ 0: the
    z-loss λ·s_i·lse_i² is added to each sample's loss (``lse`` is then that of the capped
    logits, as the backward expects)."""
    return _forward(
        z, target, weight, smoothing, ignore_index, None, 1.0, softcap, lse_square_scale
    )


def xent_fused(
    z, target, weight, smoothing, ignore_index, out, scale, *, softcap=None, lse_square_scale=0.0
):
    """:func:`xent_forward` plus scale·∂ℓ_i/∂z_i into ``out`` in the same pass."""
    return _forward(
        z, target, weight, smoothing, ignore_index, out, scale, softcap, lse_square_scale
    )


def _backward(z, target, weight, smoothing, ignore_index, lse, up, out, zl, cap=None):
    c = z.shape[1]
    exact = _LSE_EXACT32 if z.dtype == np.float32 else _LSE_EXACT64
    nblk = _blocks(len(lse))
    more = () if cap is None else (float(cap), _cap_rows_per_buffer(c, z.itemsize))
    if target.ndim == 1:
        args = _labels_args(z, target, weight, smoothing, ignore_index, zl)
        if cap is None:
            _labels_backward(*args, lse, up, out, exact, nblk)
        else:
            _labels_backward_capped(*args, lse, up, out, exact, nblk, *more)
        return
    w, _, _ = _weights(weight, c, z.dtype)
    kk = _ignored_column(ignore_index, c)
    args = (z, target, w, float(smoothing), kk, float(zl), lse, up, out, exact, nblk)
    if cap is None:
        _probs_backward(*args)
    else:
        _probs_backward_capped(*args, *more)


def xent_backward(
    z,
    target,
    weight,
    smoothing,
    ignore_index,
    lse,
    upstream,
    out,
    *,
    softcap=None,
    lse_square_scale=0.0,
):
    """upstream_i·∂ℓ_i/∂z_i into ``out`` from the forward's ``lse`` (the same options)."""
    lse = np.ascontiguousarray(lse, dtype=np.float64)
    up = np.ascontiguousarray(upstream, dtype=np.float64)
    if z.shape[0] == 0:
        return
    _backward(z, target, weight, smoothing, ignore_index, lse, up, out, lse_square_scale, softcap)
