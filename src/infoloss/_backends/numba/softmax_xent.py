# mypy: ignore-errors
# (numba kernels: their types come from numba, not from annotations)
"""Softmax cross-entropy from logits, with its gradient, in one fused pass per row.

Per sample i with logits z_i, target t_i (one-hot for labels), class weights w,
smoothing ε and ignored class k::

    keep_i = 1 − t_ik            u_i = t_i with column k zeroed
    p̃_i   = (1−ε)·u_i + ε·keep_i/C
    ℓ_i    = −Σ_c w_c p̃_ic log q_ic = Σ_c a_ic (lse_i − z_ic),   a_ic = w_c p̃_ic
    s_i    = Σ_c w_c u_ic        (the sample weight of a "mean" reduction)
    ∂ℓ_i/∂z_ic = A_i q_ic − a_ic,   A_i = Σ_c a_ic

A term with a_ic = 0 is 0 even where z_ic = −inf; a_ic > 0 at z_ic = −inf gives ℓ_i = +inf
with a finite gradient.  ``lse − z`` is formed as ``log s − (z − m)`` with m the row
maximum and ``log s = log1p(s − 1)`` from the sum without the maximal term (see
:mod:`infoloss._backends.numba._rows`), so no large numbers cancel and the loss at a dominant
logit keeps its relative accuracy.  Each row is read from memory once for the loss; the
gradient pass re-reads it from cache and writes the one N×C output.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._exp import FASTMATH, cast_like, fexp
from ._rows import count_bad_logits, lse_log, row_lse

__all__ = ["softmax_xent_labels", "softmax_xent_probs"]


@njit(parallel=True, fastmath=FASTMATH, cache=True)
def _labels_kernel(z, labels, w, wsum, eps, ignore, has_ignore, grad, has_grad, scale, loss):
    n, c = z.shape
    nbad = np.zeros(n, np.int64)
    ec = eps / c
    for i in prange(n):
        row = z[i]
        m, k, rest = row_lse(row, z[i + 1] if i + 1 < n else row)
        ok, s, ls = lse_log(m, k, rest)
        if not ok:
            nbad[i] = count_bad_logits(row)
        y = labels[i]
        keep = not (has_ignore and y == ignore)
        li = 0.0
        if keep:
            a = (1.0 - eps) * w[y]
            if a != 0.0:
                li = a * (ls - (float(row[y]) - float(m)))
            if eps > 0.0:
                swz = 0.0
                for j in range(c):
                    wj = w[j]
                    d = float(row[j] - m)
                    swz += wj * d if wj != 0.0 else 0.0
                li += ec * (wsum * ls - swz)
        loss[i] = li
        if has_grad:
            g = grad[i]
            if not keep:
                for j in range(c):
                    g[j] = 0.0
                continue
            big_a = (1.0 - eps) * w[y] + ec * wsum
            qa = cast_like(scale * big_a / s, m)
            if eps > 0.0:
                for j in range(c):
                    g[j] = qa * fexp(row[j] - m) - cast_like(scale * ec * w[j], m)
            else:
                for j in range(c):
                    g[j] = qa * fexp(row[j] - m)
            g[y] -= cast_like(scale * (1.0 - eps) * w[y], m)
    return nbad


@njit(parallel=True, fastmath=FASTMATH, cache=True)
def _probs_kernel(z, t, w, eps, ignore, has_ignore, grad, has_grad, scale, loss, sw, tsum):
    n, c = z.shape
    nbad = np.zeros(n, np.int64)
    for i in prange(n):
        row = z[i]
        trow = t[i]
        m, k, rest = row_lse(row, z[i + 1] if i + 1 < n else row)
        ok, s, ls = lse_log(m, k, rest)
        nb = 0
        if not ok:
            nb = count_bad_logits(row)
        keep = 1.0 - float(trow[ignore]) if has_ignore else 1.0
        base = eps * keep / c
        big_a = 0.0
        b = 0.0
        swu = 0.0
        ts = 0.0
        for j in range(c):
            tv = float(trow[j])
            if not (tv >= 0.0 and tv < np.inf):
                nb += 1
            ts += tv
            wj = w[j]
            u = 0.0 if (has_ignore and j == ignore) else tv
            swu += wj * u
            a = wj * ((1.0 - eps) * u + base)
            big_a += a
            d = float(row[j] - m)
            if a != 0.0:
                b += a * d
        nbad[i] = nb
        tsum[i] = ts
        sw[i] = swu
        loss[i] = big_a * ls - b
        if has_grad:
            g = grad[i]
            qa = cast_like(scale * big_a / s, m)
            for j in range(c):
                u = 0.0 if (has_ignore and j == ignore) else float(trow[j])
                a = w[j] * ((1.0 - eps) * u + base)
                g[j] = qa * fexp(row[j] - m) - cast_like(scale * a, m)
    return nbad


def _weights(weight, c):
    if weight is None:
        return np.ones(c), float(c)
    w = np.ascontiguousarray(weight, dtype=np.float64)
    return w, float(w.sum())


def _grad_buffer(z, grad_out):
    if grad_out is None:
        return np.empty((0, 0), z.dtype), False
    return grad_out, True


def softmax_xent_labels(
    z, labels, weight=None, smoothing=0.0, ignore_index=None, grad_out=None, grad_scale=1.0
):
    """Per-sample loss (float64, (N,)) and per-row bad-logit counts; see the package doc."""
    n, c = z.shape
    w, wsum = _weights(weight, c)
    g, has_g = _grad_buffer(z, grad_out)
    loss = np.empty(n)
    has_ignore = ignore_index is not None
    nbad = _labels_kernel(
        z,
        labels,
        w,
        wsum,
        float(smoothing),
        int(ignore_index) if has_ignore else 0,
        has_ignore,
        g,
        has_g,
        float(grad_scale),
        loss,
    )
    return loss, int(nbad.sum())


def softmax_xent_probs(
    z, t, weight=None, smoothing=0.0, ignore_index=None, grad_out=None, grad_scale=1.0
):
    """(loss, s, tsum, nbad) for probability targets; see the package doc."""
    n, c = z.shape
    w, _ = _weights(weight, c)
    g, has_g = _grad_buffer(z, grad_out)
    loss = np.empty(n)
    sw = np.empty(n)
    tsum = np.empty(n)
    has_ignore = ignore_index is not None
    nbad = _probs_kernel(
        z,
        t,
        w,
        float(smoothing),
        int(ignore_index) if has_ignore else 0,
        has_ignore,
        g,
        has_g,
        float(grad_scale),
        loss,
        sw,
        tsum,
    )
    return loss, sw, tsum, int(nbad.sum())
