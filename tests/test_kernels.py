"""The fused numba kernels against NumPy/mpmath references, and the public functions with
the kernels on and off.  No timings here: see benchmarks/."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("numba")

import infoloss as il
from infoloss._backends import numba as K
from infoloss._backends.numba import dispatch as D
from infoloss.losses import softmax_cross_entropy

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 1e-6, np.float64: 1e-13}


def _rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def _softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(_log_softmax(z))


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast(x, y).shape)
    pos = x > 0
    out[pos] = x[pos] * np.log(y[pos]) if np.all(y[pos] > 0) else _xlogy_inf(x, y, pos)
    return out


def _xlogy_inf(x: np.ndarray, y: np.ndarray, pos: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return x[pos] * np.log(y[pos])


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float = 0.0) -> None:
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# --- import hygiene and switches ---------------------------------------------------------


def test_import_does_not_import_numba() -> None:
    code = (
        "import sys, infoloss, infoloss._backends.numba, infoloss._backends.numba.dispatch; "
        "assert 'numba' not in sys.modules, 'numba imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_use_kernels_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert K.enabled()
    with K.use_kernels(False):
        assert not K.enabled()
        assert D.entropy(np.full((200, 100), 0.01)) is None
    assert K.enabled()
    monkeypatch.setenv("INFOLOSS_DISABLE_KERNELS", "1")
    assert not K.enabled()
    with K.use_kernels(True):
        assert K.enabled()


def test_small_inputs_fall_back() -> None:
    assert D.entropy(np.full((4, 4), 0.25)) is None
    assert D.entropy([[0.5, 0.5]] * 10000) is None  # not a NumPy array
    assert D.entropy(np.full((200, 100), 1, dtype=np.int64)) is None


# --- entropy -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_entropy_probs_matches_reference(dtype: type) -> None:
    p = _softmax(_rng().standard_normal((40, 3000)) * 3).astype(dtype)
    p[:, :50] = 0
    p[0, 60] = np.finfo(dtype).smallest_subnormal
    p[1, 61] = np.finfo(dtype).tiny / 7
    ref_p = p.astype(np.float64)
    h, rowsum, nbad = K.entropy_probs(p)
    _close(h, -_xlogy(ref_p, ref_p).sum(axis=1), RTOL[dtype])
    _close(rowsum, ref_p.sum(axis=1), RTOL[dtype])
    assert nbad == 0
    hn, _, _ = K.entropy_probs(p * dtype(3), normalize=True)
    r = (p * dtype(3)).astype(np.float64)
    r /= r.sum(axis=1, keepdims=True)
    _close(hn, -_xlogy(r, r).sum(axis=1), 4 * RTOL[dtype])


def test_entropy_probs_subnormal_terms_against_mpmath() -> None:
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    p = np.full((1, 20000), 0.0)
    p[0, 0] = 1.0 - 1e-300
    p[0, 1:] = 5e-320
    h, _, _ = K.entropy_probs(p)
    ref = -(mpmath.mpf(p[0, 0]) * mpmath.log(p[0, 0])) - 19999 * mpmath.mpf(5e-320) * mpmath.log(
        mpmath.mpf(5e-320)
    )
    _close(h, np.array([float(ref)]), 1e-13, atol=1e-310)


@pytest.mark.parametrize("dtype", DTYPES)
def test_entropy_probs_counts_bad_entries(dtype: type) -> None:
    p = np.full((8, 2048), 1 / 2048, dtype=dtype)
    p[0, 3] = np.nan
    p[2, 5] = -1e-3
    p[7, 7] = np.inf
    p[7, 8] = -np.inf
    assert K.entropy_probs(p)[2] == 4
    assert K.entropy_probs(p, normalize=True)[2] == 4


@pytest.mark.parametrize("dtype", DTYPES)
def test_entropy_logits_edges(dtype: type) -> None:
    z = (_rng().standard_normal((30, 2500)) * 4).astype(dtype)
    z[:, 10:40] = -np.inf
    z[0] *= 2500  # logits up to ±1e4
    h, nbad = K.entropy_logits(z)
    lq = _log_softmax(z)
    ref = -_xlogy(np.exp(lq), np.exp(lq)).sum(axis=1)
    _close(h[1:], ref[1:], RTOL[dtype])
    _close(h[:1], ref[:1], RTOL[dtype], atol=1e-10)
    assert nbad == 0
    bad = z.copy()
    bad[0, 0] = np.nan
    bad[1, 1] = np.inf
    bad[2, :] = -np.inf
    assert K.entropy_logits(bad)[1] == 3


# --- pairs ---------------------------------------------------------------------------------


def _pair(dtype: type, n: int = 20, c: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng()
    p = _softmax(rng.standard_normal((n, c)) * 2)
    q = _softmax(rng.standard_normal((n, c)) * 2)
    p[:, :10] = 0
    q[:, 20:25] = 0
    p /= p.sum(axis=1, keepdims=True)
    q /= q.sum(axis=1, keepdims=True)
    return p.astype(dtype), q.astype(dtype)


def _kl_ref(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    p = p.astype(np.float64)
    q = q.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, p * np.log(p / np.where(q > 0, q, 1)), 0.0)
    out = t.sum(axis=1)
    out[np.any((p > 0) & (q == 0), axis=1)] = np.inf
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_pair_kernels_match_reference(dtype: type) -> None:
    p, q = _pair(dtype)
    P, Q = p.astype(np.float64), q.astype(np.float64)
    ce, psum, _, nbad = K.cross_entropy_probs(p, q)
    assert nbad == 0
    with np.errstate(divide="ignore"):
        ref_ce = -_xlogy(P, Q).sum(axis=1)
    ref_ce[np.any((P > 0) & (Q == 0), axis=1)] = np.inf
    _close(ce, ref_ce, 1e-13)
    _close(psum, P.sum(axis=1), RTOL[dtype])
    kl, _, _, _ = K.kl_probs(p, q)
    _close(kl, _kl_ref(P, Q), 1e-13)
    q2 = q + dtype(1e-3)
    q2 /= q2.sum(axis=1, keepdims=True)
    kl2, _, _, _ = K.kl_probs(p, q2)
    assert np.all(np.isfinite(kl2))
    _close(kl2, _kl_ref(P, q2), 1e-13)
    js, _, _, _ = K.js_probs(p, q)
    m = (P + Q) / 2
    ref_js = 0.5 * _kl_ref(P, m) + 0.5 * _kl_ref(Q, m)
    _close(js, ref_js, 1e-13)
    assert np.all((js >= 0) & (js <= math.log(2)))


def test_kl_of_identical_rows_is_zero_and_near_one_ratio_is_accurate() -> None:
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    p = np.full((2, 10000), 1e-4)
    q = p.copy()
    q[1] *= 1 + 1e-9  # log(p/q) ≈ −1e-9: needs log1p, not log of the rounded ratio
    d, _, _, _ = K.kl_probs(p, q)
    assert d[0] == 0.0
    pp = mpmath.mpf(1e-4)
    ref = 10000 * pp * mpmath.log(pp / mpmath.mpf(q[1, 0]))
    _close(d[1:], np.array([float(ref)]), 1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kl_logits(dtype: type) -> None:
    rng = _rng()
    zp = (rng.standard_normal((20, 3000)) * 2).astype(dtype)
    zq = (rng.standard_normal((20, 3000)) * 2).astype(dtype)
    zp[:, :5] = -np.inf
    d, nbad = K.kl_logits(zp, zq)
    assert nbad == 0
    lp, lq = _log_softmax(zp), _log_softmax(zq)
    with np.errstate(invalid="ignore"):
        ref = np.where(np.isfinite(lp), np.exp(lp) * (lp - lq), 0.0).sum(axis=1)
    _close(d, ref, {np.float32: 2e-6, np.float64: 1e-13}[dtype])
    zq[3, 7] = -np.inf
    assert K.kl_logits(zp, zq)[0][3] == np.inf
    bad = zq.copy()
    bad[0, 0] = np.nan
    assert K.kl_logits(zp, bad)[1] == 1


# --- softmax cross-entropy ----------------------------------------------------------------


def _xent_ref(z, t, w, eps, k):  # type: ignore[no-untyped-def]
    n, c = z.shape
    w = np.ones(c) if w is None else w
    keep = 1 - t[:, k] if k is not None else np.ones(n)
    u = t.astype(np.float64).copy()
    if k is not None:
        u[:, k] = 0
    pt = (1 - eps) * u + eps * keep[:, None] / c
    lq = _log_softmax(z)
    a = w * pt
    with np.errstate(invalid="ignore"):
        loss = -np.where(a > 0, a * lq, 0.0).sum(axis=1)
    grad = a.sum(axis=1)[:, None] * np.exp(lq) - a
    return loss, grad, (w * u).sum(axis=1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [None, 7])
def test_softmax_xent_labels_and_probs(dtype, eps, weighted, ignore) -> None:  # type: ignore[no-untyped-def]
    rng = _rng()
    n, c = 60, 2100
    z = (rng.standard_normal((n, c)) * 3).astype(dtype)
    z[5, :100] = -np.inf  # -inf logits with smoothing: +inf loss, finite gradient
    y = rng.integers(0, c, n)
    y[5] = 200
    if ignore is not None:
        y[::4] = ignore
    w = rng.uniform(0.5, 2.0, c) if weighted else None
    t = np.eye(c)[y]
    ref_l, ref_g, ref_s = _xent_ref(z, t, w, eps, ignore)
    g = np.full((n, c), np.nan, dtype=dtype)
    loss, nbad = K.softmax_xent_labels(z, y, w, eps, ignore, g, 0.5)
    assert nbad == 0
    tol = RTOL[dtype]
    _close(loss, ref_l, tol, atol=1e-300)
    _close(g, 0.5 * ref_g, tol, atol=tol)
    assert np.all(np.isfinite(g))
    gp = np.empty((n, c), dtype)
    lp, s, tsum, nbp = K.softmax_xent_probs(z, t.astype(dtype), w, eps, ignore, gp)
    assert nbp == 0
    _close(lp, ref_l, 4 * tol, atol=1e-300)
    _close(gp, ref_g, tol, atol=tol)
    _close(s, ref_s, 1e-13)
    _close(tsum, np.ones(n), 1e-13)
    if eps > 0:
        assert loss[5] == np.inf or (ignore is not None and y[5] == ignore)


def test_softmax_xent_all_ignored_and_forward_only() -> None:
    z = _rng().standard_normal((64, 300))
    y = np.full(64, -100)
    loss, nbad = K.softmax_xent_labels(z, y, None, 0.2, -100)
    assert nbad == 0
    assert np.all(loss == 0)
    g = np.ones_like(z)
    K.softmax_xent_labels(z, y, None, 0.2, -100, g, 1.0)
    assert np.all(g == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_xent_huge_logits(dtype: type) -> None:
    rng = _rng()
    z = (rng.standard_normal((16, 1000)) * 1e4).astype(dtype)
    y = rng.integers(0, 1000, 16)
    loss, _ = K.softmax_xent_labels(z, y)
    ref, _, _ = _xent_ref(z, np.eye(1000)[y], None, 0.0, None)
    _close(loss, ref, RTOL[dtype], atol=1e-9)


def test_softmax_xent_counts_bad_logits() -> None:
    z = _rng().standard_normal((10, 500)).astype(np.float32)
    z[1, 3] = np.nan
    z[2, 4] = np.inf
    z[3] = -np.inf
    y = np.zeros(10, np.int64)
    assert K.softmax_xent_labels(z, y)[1] == 3
    t = np.full((10, 500), 1 / 500, np.float32)
    t[4, 0] = -1
    t[5, 0] = np.nan
    assert K.softmax_xent_probs(z, t)[3] == 5


def test_float32_long_rows_accuracy() -> None:
    rng = _rng()
    c = 256_000
    z = (rng.standard_normal((4, c)) * 2).astype(np.float32)
    y = rng.integers(0, c, 4)
    loss, _ = K.softmax_xent_labels(z, y)
    z64 = z.astype(np.float64)
    m = z64.max(axis=1)
    ref = m + np.log(np.exp(z64 - m[:, None]).sum(axis=1)) - z64[np.arange(4), y]
    _close(loss, ref, 1e-6)
    p = _softmax(z64).astype(np.float32)
    h, _, _ = K.entropy_probs(p)
    P = p.astype(np.float64)
    _close(h, -_xlogy(P, P).sum(axis=1), 1e-6)


def test_strided_and_broadcast_inputs() -> None:
    rng = _rng()
    z = rng.standard_normal((300, 64)).astype(np.float32)
    zt = z.T  # rows of stride 4 bytes apart in columns: an arbitrary-strides view
    y = rng.integers(0, 300, 64)
    a, _ = K.softmax_xent_labels(zt, y)
    b, _ = K.softmax_xent_labels(np.ascontiguousarray(zt), y)
    _close(a, b, 1e-6)
    row = _softmax(rng.standard_normal(500)).astype(np.float64)
    pb = np.broadcast_to(row, (100, 500))
    h, _, _ = K.entropy_probs(pb)
    _close(h, np.full(100, -_xlogy(row, row).sum()), 1e-13)
    gc = np.empty((64, 300), np.float32)
    K.softmax_xent_labels(zt, y, grad_out=gc)
    gs = np.empty((64, 600), np.float32)[:, ::2]
    K.softmax_xent_labels(zt, y, grad_out=gs)
    np.testing.assert_array_equal(gs, gc)


# --- the public functions, kernels on and off -----------------------------------------------


def _both(f, *args, **kwargs):  # type: ignore[no-untyped-def]
    with K.use_kernels(True):
        fast = f(*args, **kwargs)
    with K.use_kernels(False):
        slow = f(*args, **kwargs)
    return fast, slow


def _probs_3d(dtype: type) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng()
    p = _softmax(np.moveaxis(rng.standard_normal((16, 9, 400)) * 2, -1, 1))
    q = _softmax(np.moveaxis(rng.standard_normal((16, 9, 400)) * 2, -1, 1))
    return np.moveaxis(p, -1, 1).astype(dtype), np.moveaxis(q, -1, 1).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["entropy", "cross_entropy", "kl_divergence", "js_divergence"])
def test_public_measures_fast_equals_slow(dtype: type, name: str) -> None:
    p, q = _probs_3d(dtype)  # the outcome axis is axis 1
    f = getattr(il, name)
    args = (p,) if name == "entropy" else (p, q)
    for kwargs in ({"axis": 1}, {"axis": 1, "base": 2}, {"axis": 1, "normalize": True}):
        fast, slow = _both(f, *(a * 2 if kwargs.get("normalize") else a for a in args), **kwargs)
        assert fast.dtype == slow.dtype == dtype
        assert fast.shape == slow.shape
        _close(fast, slow, {np.float32: 2e-5, np.float64: 1e-12}[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_public_logit_measures_fast_equals_slow(dtype: type) -> None:
    rng = _rng()
    z = (rng.standard_normal((50, 700)) * 3).astype(dtype)
    z[:, :3] = -np.inf
    zq = (rng.standard_normal((50, 700)) * 3).astype(dtype)
    tol = {np.float32: 2e-5, np.float64: 1e-12}[dtype]
    _close(*_both(il.entropy, z, form="logits"), tol)
    _close(*_both(il.kl_divergence, z, zq, form="logits"), tol)


def test_public_measures_raise_the_same_errors() -> None:
    p, _ = _probs_3d(np.float64)
    for bad_value in (np.nan, -0.1, np.inf):
        bad = p.copy()
        bad[3, 5, 2] = bad_value
        msgs = []
        for flag in (True, False):
            with K.use_kernels(flag), pytest.raises(ValueError, match="`p`") as info:
                il.entropy(bad, axis=1)
            msgs.append(str(info.value))
        assert msgs[0] == msgs[1]
    off = p.copy()
    off[1, :, 1] *= 1.5
    msgs = []
    for flag in (True, False):
        with K.use_kernels(flag), pytest.raises(ValueError, match="`q`") as info:
            il.kl_divergence(p, off, axis=1)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"reduction": "sum", "label_smoothing": 0.1},
        {"reduction": "none", "weight": "w", "ignore_index": -100},
        {"weight": "w", "label_smoothing": 0.2, "ignore_index": -100},
    ],
)
def test_public_softmax_cross_entropy_fast_equals_slow(dtype, options) -> None:  # type: ignore[no-untyped-def]
    rng = _rng()
    z = (rng.standard_normal((32, 500, 3)) * 3).astype(dtype)  # classes on axis 1
    y = rng.integers(0, 500, (32, 3))
    opts = dict(options)
    if "weight" in opts:
        opts["weight"] = rng.uniform(0.5, 2, 500).astype(dtype)
    if "ignore_index" in opts:
        y[::5] = -100
    tol = {np.float32: 2e-5, np.float64: 1e-12}[dtype]
    (lf, gf), (ls, gs) = _both(softmax_cross_entropy, z, y, axis=1, return_grad=True, **opts)
    _close(lf, ls, tol)
    _close(gf, gs, tol, atol=tol * 1e-3)
    assert gf.shape == gs.shape == z.shape
    t = np.moveaxis(np.eye(500, dtype=dtype)[np.clip(y, 0, None)], -1, 1)
    if "ignore_index" in opts:
        opts["ignore_index"] = 4
    (lf, gf), (ls, gs) = _both(softmax_cross_entropy, z, t, axis=1, return_grad=True, **opts)
    _close(lf, ls, tol)
    _close(gf, gs, tol, atol=tol * 1e-3)
    out = np.empty_like(z)
    opts["ignore_index"] = options.get("ignore_index")
    with K.use_kernels(True):
        lo, g_out = softmax_cross_entropy(z, y, axis=1, return_grad=True, grad_out=out, **opts)
    assert g_out is out
    _close(lo, ls if "ignore_index" not in options else lo, tol)


def test_public_softmax_cross_entropy_all_ignored() -> None:
    z = _rng().standard_normal((100, 300))
    y = np.full(100, -100)
    fast, slow = _both(softmax_cross_entropy, z, y, ignore_index=-100, return_grad=True)
    assert fast[0] == slow[0] == 0
    np.testing.assert_array_equal(fast[1], slow[1])


# --- nearly deterministic rows and online-maximum edges -------------------------------------


def _mp_lse_parts(z: np.ndarray):  # type: ignore[no-untyped-def]
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    zs = [mpmath.mpf(float(v)) for v in z if np.isfinite(v)]
    lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in zs))
    return mpmath, zs, lse


def test_dominant_logit_keeps_relative_accuracy() -> None:
    # One logit far above the rest: H ≈ Σ rest ≈ 1e-4, the loss at the maximum ≈ 1e-5.
    # log(1 + rest) rounds away rest's low bits; log1p(rest) does not.
    rng = _rng()
    z = rng.normal(0, 20, size=(2, 100_000))
    z[1, 5000] = z[1].max() + 1.0  # the maximum arrives after the first chunk
    h, nbad = K.entropy_logits(z)
    assert nbad == 0
    for i in range(2):
        mpmath, zs, lse = _mp_lse_parts(z[i])
        ref = -mpmath.fsum(mpmath.exp(v - lse) * (v - lse) for v in zs)
        assert abs(h[i] - float(ref)) <= 1e-13 * float(ref)
    y = z.argmax(axis=1)
    loss, _ = K.softmax_xent_labels(z, y)
    for i in range(2):
        mpmath, zs, lse = _mp_lse_parts(z[i])
        ref = lse - mpmath.mpf(float(z[i, y[i]]))
        assert abs(loss[i] - float(ref)) <= 1e-13 * float(ref)
    t = np.zeros_like(z)
    t[np.arange(2), y] = 1.0
    lp, _, _, _ = K.softmax_xent_probs(z, t)
    _close(lp, loss, 1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ties_and_leading_minus_inf_chunks(dtype: type) -> None:
    z = np.full((4, 5000), -np.inf, dtype=dtype)
    z[0, 4000:] = 0.0  # 1000 ties at the maximum, after two chunks of −inf
    z[1, ::2] = 3.0  # ties spread over every chunk
    z[1, 1::2] = 2.0
    z[2, :] = 1.0
    z[2, 4999] = 1.5  # the maximum rises in the last chunk
    z[3, 10] = np.nan  # NaN inside a chunk whose maximum is −inf
    z[3, 4500] = 0.0
    h, nbad = K.entropy_logits(z)
    assert nbad == 1
    ref = [math.log(1000), 0.0, 0.0]
    a = math.exp(-1.0)
    s1 = 2500 * (1 + a)
    ref[1] = math.log(s1) - 2500 * a * (-1.0) / s1
    s2 = 1 + 4999 * math.exp(-0.5)
    ref[2] = math.log(s2) - 4999 * math.exp(-0.5) * (-0.5) / s2
    _close(h[:3], np.array(ref), RTOL[dtype])
    assert np.isnan(h[3])
    y = np.array([4000, 0, 4999, 4500])
    loss, nb = K.softmax_xent_labels(z, y)
    assert nb == 1
    _close(loss[:3], np.array([math.log(1000), math.log(s1), math.log(s2)]), RTOL[dtype])


def test_float32_logit_rows_within_a_few_ulp_of_mpmath() -> None:
    # The public float32 tests ask a few ulp of small rows (array-API path); the kernels,
    # used from 16384 entries, should do as well on long rows.
    rng = _rng()
    eps32 = float(np.finfo(np.float32).eps)
    z = (rng.standard_normal((2, 20_000)) * np.array([[2.0], [20.0]])).astype(np.float32)
    h, _ = K.entropy_logits(z)
    y = z.argmax(axis=1)
    loss, _ = K.softmax_xent_labels(z, y)
    for i in range(2):
        mpmath, zs, lse = _mp_lse_parts(z[i])
        ref_h = -mpmath.fsum(mpmath.exp(v - lse) * (v - lse) for v in zs)
        assert abs(h[i] - float(ref_h)) <= 4 * eps32 * float(ref_h)
        ref_l = lse - mpmath.mpf(float(z[i, y[i]]))
        assert abs(loss[i] - float(ref_l)) <= 4 * eps32 * float(ref_l)


def _edge_rows(dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Probability rows with exact zeros, subnormal and tiny entries, and point masses."""
    rng = _rng()
    n, c = 64, 512
    p = rng.dirichlet(np.full(c, 0.3), size=n)
    q = rng.dirichlet(np.full(c, 0.3), size=n)
    p[:, :50] = 0.0  # zeros in P (terms are 0 even where Q = 0)
    q[:, 40:45] = 0.0  # Q = 0 under P > 0 in some rows: +inf for H(P,Q) and D
    q[:, 10:20] = 0.0
    tiny = np.finfo(dtype).smallest_subnormal
    p[::3, 60:70] = tiny * 7  # subnormal probabilities
    p[5] = 0.0
    p[5, 100] = 1.0  # a point mass
    p /= p.sum(axis=1, keepdims=True)
    q /= q.sum(axis=1, keepdims=True)
    return p.astype(dtype), q.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["entropy", "cross_entropy", "kl_divergence", "js_divergence"])
def test_public_edge_rows_fast_equals_slow(dtype: type, name: str) -> None:
    p, q = _edge_rows(dtype)
    f = getattr(il, name)
    args = (p,) if name == "entropy" else (p, q)
    assert p.size >= D.MIN_SIZE  # the fast path applies
    fast, slow = _both(f, *args)
    np.testing.assert_array_equal(np.isinf(fast), np.isinf(slow))
    assert not np.any(np.isnan(fast))
    finite = np.isfinite(slow)
    _close(fast[finite], slow[finite], {np.float32: 2e-5, np.float64: 1e-12}[dtype])
    if name == "entropy":
        assert fast[5] == 0.0
    if name == "js_divergence":
        assert np.all(np.isfinite(fast))


@pytest.mark.parametrize("name", ["entropy", "entropy-logits", "softmax_cross_entropy"])
def test_public_256k_classes_fast_equals_slow_float32(name: str) -> None:
    rng = _rng()
    z = (rng.standard_normal((3, 256_000)) * 4).astype(np.float32)
    z[1, :1000] = -np.inf
    if name == "entropy":
        p = _softmax(z.astype(np.float64)).astype(np.float32)
        fast, slow = _both(il.entropy, p, normalize=True)
        exact = il.entropy(p.astype(np.float64), normalize=True)
    elif name == "entropy-logits":
        fast, slow = _both(il.entropy, z, form="logits")
        exact = il.entropy(z.astype(np.float64), form="logits")
    else:
        y = np.array([0, 5000, 255_999])
        fast, slow = _both(softmax_cross_entropy, z, y, reduction="none")
        exact = softmax_cross_entropy(z.astype(np.float64), y, reduction="none")
    _close(fast, exact, 1e-6)
    _close(slow, exact, 1e-6)
