"""The compiled softmax cross-entropy kernels (forward, backward, fused) against float64
and mpmath references, PyTorch autograd and finite differences, and the public function
with the kernels on against the array-API path.  No timings: see
benchmarks/before_after.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose as _close

import infoloss as il
from infoloss._kernels import _layout, use_kernels
from infoloss._kernels import softmax as kernels
from tests._helpers import kernel_calls, raise_later_chunk_maxima

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 2e-6, np.float64: 1e-13}
SHORT, LONG = 300, 2100  # one chunk per row (the pipelined loop), and several chunks


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(20240801 + seed)


def _pieces(
    t: np.ndarray, w: np.ndarray | None, eps: float, kk: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """(a, s): a_ic = w_c ((1 − ε) u_ic + ε keep_i / C) and s_i = Σ_c w_c u_ic; a row of
    zeros (an ignored label) keeps nothing."""
    c = t.shape[1]
    w = np.ones(c) if w is None else w
    u = t.astype(np.float64).copy()
    keep = (u.sum(axis=1) > 0).astype(np.float64)
    if kk is not None:
        keep = 1.0 - u[:, kk]
        u[:, kk] = 0.0
    return w * ((1 - eps) * u + eps * keep[:, None] / c), (w * u).sum(axis=1)


def _reference(
    z: np.ndarray, a: np.ndarray, upstream: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(loss, lse, gradient) in float64; a term with a = 0 is 0 even at z = −inf."""
    z = z.astype(np.float64)
    m = z.max(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ls = np.log(np.exp(z - m).sum(axis=1, keepdims=True))
        lq = z - m - ls
        loss = -np.where(a > 0, a * lq, 0.0).sum(axis=1)
        grad = a.sum(axis=1)[:, None] * np.exp(lq) - a
    up = np.ones(len(z)) if upstream is None else upstream
    return loss, (m + ls)[:, 0], up[:, None] * grad


def _labels_targets(y: np.ndarray, c: int, ignore: int | None) -> np.ndarray:
    t = np.zeros((len(y), c))
    keep = np.ones(len(y), bool) if ignore is None else y != ignore
    t[np.flatnonzero(keep), y[keep]] = 1.0
    return t


def _case(dtype: Any, c: int, kind: str, eps: float, weighted: bool, ignore: int | None):  # type: ignore[no-untyped-def]
    """Logits (with −inf entries), targets, weights and the reference's (a, s)."""
    rng = _rng(c)
    n = 45
    z = (rng.standard_normal((n, c)) * 3).astype(dtype)
    z[5, :100] = -np.inf  # holds the label of row 5: +inf loss where a > 0 there
    z[6, 150:] = -np.inf  # a row whose mass is in its first 150 classes
    z[10] = -rng.uniform(1.0, 1500.0, c)  # all negative, spread beyond exp's range: the
    # maximum must be right (it comes from the smallest bit pattern)
    z[11] += 1e3 if dtype == np.float32 else 100.0  # all positive
    w = rng.uniform(0.5, 2.0, c) if weighted else None
    if kind == "labels":
        y = rng.integers(0, c, n)
        y[5] = 50
        y[6] = 3
        if ignore is not None:
            y[::4] = ignore
        a, s = _pieces(_labels_targets(y, c, ignore), w, eps, None)
        return z, y, w, a, s
    t = rng.dirichlet(np.full(c, 0.3), n)
    t[7] = 0.0
    t[7, 9] = 1.0  # a one-hot row
    if ignore is not None:
        t[8] = 0.0
        t[8, ignore] = 1.0  # everything on the ignored class: nothing kept
    t[5, 50] += 0.5  # positive target where z = −inf: +inf loss
    t[6, 150:] = 0.0  # zero target where z = −inf: finite loss (without smoothing)
    t /= t.sum(axis=1, keepdims=True)
    t = t.astype(dtype)
    a, s = _pieces(t, w, eps, ignore)
    return z, t, w, a, s


# --- the three kernels against the float64 reference ------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [SHORT, LONG])
@pytest.mark.parametrize("kind", ["labels", "probs"])
@pytest.mark.parametrize(("eps", "weighted", "ignore"), [(0.0, False, None), (0.1, True, 7)])
def test_kernels_against_reference(dtype, c, kind, eps, weighted, ignore) -> None:  # type: ignore[no-untyped-def]
    z, t, w, a, s = _case(dtype, c, kind, eps, weighted, ignore)
    n = len(z)
    tol = RTOL[dtype]
    ref_loss, ref_lse, ref_grad = _reference(z, a)
    fwd = kernels.xent_forward(z, t, w, eps, ignore)
    assert fwd.nbad == 0
    fin = np.isfinite(ref_loss)
    assert not fin.all()  # the case has +inf losses (a > 0 at z = −inf) ...
    np.testing.assert_array_equal(fwd.loss[~fin], ref_loss[~fin])
    _close(fwd.loss[fin], ref_loss[fin], tol, atol=tol)
    _close(fwd.lse, ref_lse, tol)
    _close(fwd.sample_weight, s, 1e-13)
    if kind == "labels":
        assert fwd.target_stats is None
    else:
        assert fwd.target_stats.nbad == 0
        _close(np.exp(fwd.target_stats.log_mass), np.ones(n), 4 * tol)

    g = np.full(z.shape, np.nan, dtype)
    fused = kernels.xent_fused(z, t, w, eps, ignore, g, 0.5)
    assert np.all(np.isfinite(g))  # ... and finite gradients
    _close(g, 0.5 * ref_grad, tol, atol=tol)
    # The same sums, though LLVM may vectorise the fused loop's differently.
    same = 1e-7 if dtype == np.float32 else 1e-15
    _close(fused.loss, fwd.loss, same)
    _close(fused.lse, fwd.lse, same)
    _close(fused.sample_weight, fwd.sample_weight, 1e-14)

    up = _rng(1).uniform(-2.0, 2.0, n)
    up[3] = 0.0
    gb = np.full(z.shape, np.nan, dtype)
    kernels.xent_backward(z, t, w, eps, ignore, fwd.lse, up, gb)
    _close(gb, up[:, None] * ref_grad, tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [SHORT, LONG])
def test_fused_equals_forward_plus_backward(dtype: Any, c: int) -> None:
    z, t, w, _, _ = _case(dtype, c, "probs", 0.05, True, None)
    g1 = np.empty_like(z)
    g2 = np.empty_like(z)
    f = kernels.xent_fused(z, t, w, 0.05, None, g1, 0.25)
    b = kernels.xent_forward(z, t, w, 0.05, None)
    kernels.xent_backward(z, t, w, 0.05, None, b.lse, np.full(len(z), 0.25), g2)
    _close(f.loss, b.loss, 1e-7 if dtype == np.float32 else 1e-15)
    _close(g1, g2, RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [SHORT, LONG])
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_all_ignored(dtype: Any, c: int, eps: float) -> None:
    z = _rng().standard_normal((8, c)).astype(dtype)
    y = np.full(8, -100)
    fwd = kernels.xent_forward(z, y, None, eps, -100)
    assert fwd.nbad == 0
    assert np.all(fwd.loss == 0)
    assert np.all(fwd.sample_weight == 0)
    g = np.ones_like(z)
    assert np.all(kernels.xent_fused(z, y, None, eps, -100, g, 1.0).loss == 0)
    assert np.all(g == 0)
    g[:] = 1
    kernels.xent_backward(z, y, None, eps, -100, fwd.lse, np.ones(8), g)
    assert np.all(g == 0)
    # Probability targets with all the mass on the ignored class: nothing kept.
    t = np.zeros((8, c), dtype)
    t[:, 3] = 1
    fwd = kernels.xent_forward(z, t, None, eps, 3)
    assert np.all(fwd.loss == 0)
    assert np.all(fwd.sample_weight == 0)
    kernels.xent_backward(z, t, None, eps, 3, fwd.lse, np.ones(8), g)
    assert np.all(g == 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [SHORT, LONG])
def test_minus_inf_logits(dtype: Any, c: int) -> None:
    """−inf on a class with zero target weight adds nothing; on a target class, +inf."""
    z = _rng().standard_normal((4, c)).astype(dtype)
    z[:, 0] = -np.inf
    w = np.ones(c)
    w[0] = 0.0
    y = np.array([1, 0, 2, 0])
    for eps, weight in [(0.0, None), (0.3, w)]:
        fwd = kernels.xent_forward(z, y, weight, eps, None)
        assert np.all(np.isfinite(fwd.loss[[0, 2]]))
        # Rows 1 and 3 have label 0: +inf, unless w_0 = 0 (then only the smoothing term).
        assert np.all(np.isinf(fwd.loss[[1, 3]]) == (weight is None))
        a, _ = _pieces(_labels_targets(y, c, None), weight, eps, None)
        ref_loss, _, ref_grad = _reference(z, a)
        fin = np.isfinite(ref_loss)
        _close(fwd.loss[fin], ref_loss[fin], RTOL[dtype])
        g = np.empty_like(z)
        kernels.xent_fused(z, y, weight, eps, None, g, 1.0)
        assert np.all(np.isfinite(g))
        _close(g, ref_grad, RTOL[dtype], atol=RTOL[dtype])


def test_first_chunk_all_minus_inf() -> None:
    """A long row whose first chunk is all −inf: the chunks after it carry the mass, and
    smoothing over weighted classes there makes the loss +inf (weight 0 there: finite)."""
    c = 5000
    z = _rng().standard_normal((3, c))
    z[:, :2048] = -np.inf
    z[1, :3000] = -np.inf
    y = np.array([4000, 4500, 2100])
    for eps, w in [(0.0, None), (0.1, None), (0.1, np.r_[np.zeros(3000), np.ones(c - 3000)])]:
        fwd = kernels.xent_forward(z, y, w, eps, None)
        a, _ = _pieces(_labels_targets(y, c, None), w, eps, None)
        ref_loss, ref_lse, ref_grad = _reference(z, a)
        np.testing.assert_array_equal(np.isinf(fwd.loss), np.isinf(ref_loss))
        fin = np.isfinite(ref_loss)
        _close(fwd.loss[fin], ref_loss[fin], 1e-13)
        _close(fwd.lse, ref_lse, 1e-13)
        g = np.empty_like(z)
        kernels.xent_fused(z, y, w, eps, None, g, 1.0)
        _close(g, ref_grad, 1e-13, atol=1e-15)
        t = np.full((3, c), 1.0 / c)
        fwd_p = kernels.xent_forward(z, t, w, eps, None)
        assert np.all(fwd_p.loss == np.inf) == (w is None)


def test_running_maximum_raised_by_later_chunks() -> None:
    """Long rows whose maximum sits in the last chunk, far above the first chunk's."""
    c = 7000
    z = _rng().standard_normal((4, c))
    z[:, -5] = 40.0
    z[1, -5] = 800.0  # the earlier chunks' terms underflow entirely
    z[2, 3000] = 900.0
    y = np.array([0, 6995, 3000, 10])
    for eps in [0.0, 0.1]:
        a, _ = _pieces(_labels_targets(y, c, None), None, eps, None)
        ref_loss, ref_lse, ref_grad = _reference(z, a)
        fwd = kernels.xent_forward(z, y, None, eps, None)
        _close(fwd.loss, ref_loss, 1e-13)
        _close(fwd.lse, ref_lse, 1e-15)
        g = np.empty_like(z)  # each chunk's exp stored against its own running maximum
        kernels.xent_fused(z, y, None, eps, None, g, 1.0)
        _close(g, ref_grad, 1e-13, atol=1e-16)
        t = _rng(2).dirichlet(np.ones(c), 4)
        a, _ = _pieces(t, None, eps, None)
        ref_loss, _, _ = _reference(z, a)
        _close(kernels.xent_forward(z, t, None, eps, None).loss, ref_loss, 1e-13)


def _reference_log1p(z: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, ...]:
    """As :func:`_reference` for finite rows, with log s = log1p((k − 1) + rest) (k the
    maximal entries, rest the others' sum): accurate where the maximum dominates."""
    z = z.astype(np.float64)
    m = z.max(axis=1, keepdims=True)
    top = z == m
    rest = np.where(top, 0.0, np.exp(z - m)).sum(axis=1, keepdims=True)
    ls = np.log1p((top.sum(axis=1, keepdims=True) - 1.0) + rest)
    lq = z - m - ls
    loss = -(a * lq).sum(axis=1)
    return loss, (m + ls)[:, 0], a.sum(axis=1)[:, None] * np.exp(lq) - a


@pytest.mark.parametrize("dtype", DTYPES)
def test_later_chunk_maxima_taken_over_or_summed_again(dtype: Any) -> None:
    """A chunk that raises the running maximum by little has its sums taken over (the
    row's rest stays large); one whose new maximum dominates the row (a small rest), or
    is beyond fexp_low's domain, is summed again: every case within the kernels' accuracy
    of the float64 reference, ties at the new maximum included, loss, lse and gradient."""
    c = 3 * 2048 + 100
    rng = _rng(5)
    # Rows 0, 1, 5 are taken over; 2 (dominant) and 3 (beyond the exp) summed again.
    z = raise_later_chunk_maxima(rng.standard_normal((6, c))).astype(dtype)
    y = np.array([5000, 3100, 4500, 10, 2049, 6000])
    w = np.linspace(0.5, 1.5, c)
    for eps, weight in [(0.0, None), (0.1, None), (0.1, w)]:
        a, _ = _pieces(_labels_targets(y, c, None), weight, eps, None)
        ref_loss, ref_lse, ref_grad = _reference_log1p(z, a)
        fwd = kernels.xent_forward(z, y, weight, eps, None)
        _close(fwd.loss, ref_loss, RTOL[dtype])
        _close(fwd.lse, ref_lse, RTOL[dtype])
        g = np.empty_like(z)
        fused = kernels.xent_fused(z, y, weight, eps, None, g, 1.0)
        _close(fused.loss, ref_loss, RTOL[dtype])
        _close(g, ref_grad, RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_huge_logits(dtype: Any) -> None:
    """|z| ~ 1e4 (and ~1e30 for float32 rows): the loss keeps its relative accuracy, and
    the backward recomputes rows whose saved lse is too coarse for q."""
    mpmath = pytest.importorskip("mpmath")
    rng = _rng()
    c = 1000
    z = (rng.standard_normal((6, c)) * 1e4).astype(dtype)
    z[4] = z[4] + dtype(1e30 if dtype == np.float32 else 1e300)
    z[5, :3] = z[5].max() + 50  # a threefold maximum
    y = rng.integers(0, c, 6)
    y[5] = 1
    fwd = kernels.xent_forward(z, y, None, 0.0, None)
    mpmath.mp.dps = 50
    for i in range(6):
        row = [mpmath.mpf(float(v)) for v in z[i]]
        m = max(row)
        ref = mpmath.log(mpmath.fsum(mpmath.exp(v - m) for v in row)) - (row[y[i]] - m)
        _close(fwd.loss[i], float(ref), RTOL[dtype], atol=1e-300)
    a, _ = _pieces(_labels_targets(y, c, None), None, 0.0, None)
    _, _, ref_grad = _reference(z, a)
    up = np.linspace(0.5, 2.0, 6)
    g = np.empty_like(z)
    kernels.xent_backward(z, y, None, 0.0, None, fwd.lse, up, g)
    _close(g, up[:, None] * ref_grad, RTOL[dtype], atol=RTOL[dtype])
    assert g[5, 1] == pytest.approx(up[5] * (1 / 3 - 1), rel=RTOL[dtype])
    kernels.xent_fused(z, y, None, 0.0, None, g, 1.0)
    _close(g, ref_grad, RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_dominant_logit_loss_is_accurate(dtype: Any) -> None:
    """ℓ = log(1 + Σ exp(z_j − z_y)) ≈ 1e-30: the forward keeps its relative accuracy."""
    mpmath = pytest.importorskip("mpmath")
    c = 400
    z = np.full((2, c), -80.0 if dtype == np.float64 else -40.0, dtype)
    z[:, 7] = 0.0
    y = np.array([7, 7])
    loss = kernels.xent_forward(z, y, None, 0.0, None).loss
    mpmath.mp.dps = 50
    ref = float(mpmath.log1p((c - 1) * mpmath.exp(mpmath.mpf(float(z[0, 0])))))
    _close(loss, [ref, ref], 1e-6 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [SHORT, LONG])
def test_bad_entries_are_counted(dtype: Any, c: int) -> None:
    z = _rng().standard_normal((10, c)).astype(dtype)
    z[1, 3] = np.nan
    z[2, 4] = np.inf
    z[2, c - 1] = np.copysign(np.nan, -1)  # a NaN with the sign bit set
    z[3] = -np.inf
    y = np.zeros(10, np.int64)
    fwd = kernels.xent_forward(z, y, None, 0.0, None)
    assert fwd.nbad == 4
    assert np.all(np.isnan(fwd.loss[1:4]))
    assert np.all(np.isfinite(fwd.loss[[0, *range(4, 10)]]))
    g = np.empty_like(z)
    assert kernels.xent_fused(z, y, None, 0.0, None, g, 1.0).nbad == 4
    t = np.full((10, c), 1 / c, dtype)
    t[4, 0] = -1
    t[5, 0] = np.nan
    t[6, 1] = np.inf
    t[7] *= 2  # mass 2
    fwd = kernels.xent_forward(z, t, None, 0.0, None)
    assert fwd.nbad == 4
    assert fwd.target_stats.nbad == 3
    mass = np.exp(fwd.target_stats.log_mass)
    _close(mass[[0, 8, 9]], 1.0, 1e-5)
    _close(mass[7], 2.0, 1e-5)


@pytest.mark.parametrize("c", [SHORT, LONG])
@pytest.mark.parametrize("softcap", [None, 3.0])
def test_threads_give_the_rows_of_one_thread(c: int, softcap: float | None) -> None:
    """A call large enough for both threads (each its block of rows, the next row's
    maximum taken across rows, soft-capped rows a buffer at a time) gives bit for bit what
    one row at a time gives, forward, fused and backward."""
    rng = _rng(9)
    n = (1 << 20) // c + 3
    z = rng.standard_normal((n, c)) * 4
    z[7, 5] = np.nan
    y = rng.integers(0, c, n)
    t = rng.dirichlet(np.ones(c), n)
    opts: dict[str, Any] = {"softcap": softcap, "lse_square_scale": 0.01}
    for target in (y, t):
        g = np.empty_like(z)
        f = kernels.xent_fused(z, target, None, 0.1, 2, g, 0.5, **opts)
        gb = np.empty_like(z)
        up = rng.uniform(0.5, 2.0, n)
        kernels.xent_backward(z, target, None, 0.1, 2, f.lse, up, gb, **opts)
        assert f.nbad == 1
        for i in (0, 1, n // 2 - 1, n // 2, n // 2 + 1, n - 1):
            gi = np.empty_like(z[i : i + 1])
            one = kernels.xent_fused(z[i : i + 1], target[i : i + 1], None, 0.1, 2, gi, 0.5, **opts)
            np.testing.assert_array_equal(one.loss, f.loss[i : i + 1])
            np.testing.assert_array_equal(one.lse, f.lse[i : i + 1])
            np.testing.assert_array_equal(gi, g[i : i + 1])
            kernels.xent_backward(
                z[i : i + 1], target[i : i + 1], None, 0.1, 2, f.lse[i : i + 1],
                up[i : i + 1], gi, **opts,
            )  # fmt: skip
            np.testing.assert_array_equal(gi, gb[i : i + 1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c", [3, 10, 2048 + 13])
def test_chunks_of_few_classes_keep_their_bits(dtype: Any, c: int) -> None:
    """A chunk shorter than two vectors (a row of few classes, or a long row's last chunk)
    runs on one vector's lanes: each row gives, bit for bit, what it gives alone and what
    its strided view gives, forward (labels and probabilities, smoothed) and fused."""
    rng = _rng(21)
    n = 257
    z = (rng.standard_normal((n, c)) * 4).astype(dtype)
    z[5, 1] = np.nan
    y = rng.integers(0, c, n)
    t = rng.dirichlet(np.ones(c), n).astype(dtype)
    zs = np.asfortranarray(z)  # rows of column stride n: gathered into a row buffer
    for target in (y, t):
        g = np.empty_like(z)
        f = kernels.xent_fused(z, target, None, 0.1, None, g, 0.5)
        gs = np.empty_like(z)
        fs = kernels.xent_fused(zs, target, None, 0.1, None, gs, 0.5)
        np.testing.assert_array_equal(fs.loss, f.loss)
        np.testing.assert_array_equal(gs, g)
        assert np.isnan(f.loss[5])
        assert np.isfinite(np.delete(f.loss, 5)).all()
        for i in (0, 1, n // 2, n - 1):
            gi = np.empty_like(z[i : i + 1])
            one = kernels.xent_fused(z[i : i + 1], target[i : i + 1], None, 0.1, None, gi, 0.5)
            np.testing.assert_array_equal(one.loss, f.loss[i : i + 1])
            np.testing.assert_array_equal(gi, g[i : i + 1])
            fwd = kernels.xent_forward(z[i : i + 1], target[i : i + 1], None, 0.1, None)
            np.testing.assert_array_equal(fwd.lse, f.lse[i : i + 1])


def test_strided_views() -> None:
    """Arbitrary strides: the same numbers as contiguous copies."""
    rng = _rng()
    z = rng.standard_normal((300, 64)).astype(np.float32).T  # (64, 300), column-major
    y = rng.integers(0, 300, 64)
    t = rng.dirichlet(np.ones(300), 64).astype(np.float32)[:, ::-1]
    for target in (y, t):
        a = kernels.xent_forward(z, target, None, 0.1, None)
        b = kernels.xent_forward(
            np.ascontiguousarray(z), np.ascontiguousarray(target), None, 0.1, None
        )
        _close(a.loss, b.loss, 1e-6)
        gs = np.empty((64, 600), np.float32)[:, ::2]
        gc = np.empty((64, 300), np.float32)
        kernels.xent_backward(z, target, None, 0.1, None, a.lse, np.ones(64), gs)
        kernels.xent_backward(
            np.ascontiguousarray(z), target, None, 0.1, None, a.lse, np.ones(64), gc
        )
        _close(gs, gc, 1e-6, atol=1e-7)


# --- gradients against autograd and finite differences ----------------------------------


@pytest.mark.parametrize("kind", ["labels", "probs"])
def test_backward_against_finite_differences(kind: str) -> None:
    rng = _rng(3)
    n, c = 5, 40
    z = rng.standard_normal((n, c)) * 2
    if kind == "labels":
        t: np.ndarray = rng.integers(0, c, n)
        t[1] = 7
    else:
        t = rng.dirichlet(np.ones(c), n)
    w = rng.uniform(0.5, 2.0, c)
    up = rng.uniform(-1.0, 2.0, n)
    fwd = kernels.xent_forward(z, t, w, 0.1, 7)
    g = np.empty_like(z)
    kernels.xent_backward(z, t, w, 0.1, 7, fwd.lse, up, g)
    h = 1e-6
    num = np.empty_like(z)
    for i in range(n):
        for j in range(c):
            zp, zm = z.copy(), z.copy()
            zp[i, j] += h
            zm[i, j] -= h
            lp = kernels.xent_forward(zp, t, w, 0.1, 7).loss
            lm = kernels.xent_forward(zm, t, w, 0.1, 7).loss
            num[i, j] = up @ (lp - lm) / (2 * h)
    _close(g, num, 1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [SHORT, LONG])
@pytest.mark.parametrize(("eps", "weighted", "ignore"), [(0.0, False, None), (0.2, True, 3)])
def test_labels_against_torch_autograd(dtype, c, eps, weighted, ignore) -> None:  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    rng = _rng(4)
    n = 24
    z = (rng.standard_normal((n, c)) * 3).astype(dtype)
    y = rng.integers(0, c, n)
    if ignore is not None:
        y[::5] = ignore
    w = rng.uniform(0.5, 2.0, c) if weighted else None
    up = rng.uniform(-1.0, 2.0, n)
    zt = torch.tensor(z, requires_grad=True)
    wt = None if w is None else torch.tensor(w.astype(dtype))
    kw: dict[str, Any] = {"ignore_index": -100 if ignore is None else ignore}
    lt = torch.nn.functional.cross_entropy(
        zt, torch.tensor(y), weight=wt, label_smoothing=eps, reduction="none", **kw
    )
    lt.backward(torch.tensor(up.astype(dtype)))
    fwd = kernels.xent_forward(z, y, w, eps, ignore)
    tol = 5 * RTOL[dtype] if dtype == np.float32 else 1e-12
    _close(fwd.loss, lt.detach().numpy(), tol, atol=tol)
    g = np.empty_like(z)
    kernels.xent_backward(z, y, w, eps, ignore, fwd.lse, up, g)
    assert zt.grad is not None
    _close(g, zt.grad.numpy(), tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_probs_against_torch_autograd(dtype: Any) -> None:
    torch = pytest.importorskip("torch")
    rng = _rng(5)
    n, c = 16, 2500
    z = (rng.standard_normal((n, c)) * 3).astype(dtype)
    t = rng.dirichlet(np.ones(c), n).astype(dtype)
    w = rng.uniform(0.5, 2.0, c)
    up = rng.uniform(-1.0, 2.0, n)
    zt = torch.tensor(z, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(
        zt,
        torch.tensor(t),
        weight=torch.tensor(w.astype(dtype)),
        label_smoothing=0.1,
        reduction="none",
    )
    lt.backward(torch.tensor(up.astype(dtype)))
    fwd = kernels.xent_forward(z, t, w, 0.1, None)
    g = np.empty_like(z)
    kernels.xent_backward(z, t, w, 0.1, None, fwd.lse, up, g)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    _close(fwd.loss, lt.detach().numpy(), tol)
    assert zt.grad is not None
    _close(g, zt.grad.numpy(), tol, atol=1e-7 if dtype == np.float32 else 1e-15)


# --- the public function: kernels on against the array-API path ------------------------


@pytest.fixture
def small_kernels(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The kernel path for small arrays, and a record of the kernels it calls."""
    monkeypatch.setattr(_layout, "MIN_SIZE", 1)
    with kernel_calls() as calls:
        yield calls


def _both(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    with use_kernels(True):
        on = il.softmax_cross_entropy(*args, **kwargs)
    with use_kernels(False):
        off = il.softmax_cross_entropy(*args, **kwargs)
    return on, off


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["labels", "probs"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("eps", "weighted", "ignore"), [(0.0, False, None), (0.1, True, 2)])
def test_public_function_kernels_on_and_off(  # type: ignore[no-untyped-def]
    small_kernels, dtype, kind, reduction, eps, weighted, ignore
) -> None:
    rng = _rng(6)
    n, c = 33, 70
    z = (rng.standard_normal((n, c)) * 3).astype(dtype)
    z[4, 10:] = -np.inf
    if kind == "labels":
        t: np.ndarray = rng.integers(0, c, n)
        t[4] = 12  # +inf loss...
        if ignore is not None:
            t[4] = ignore  # ... unless ignored
            t[::3] = ignore
    else:
        t = rng.dirichlet(np.ones(c), n).astype(dtype)
        t[4, 10:] = 0
        t[4] /= t[4].sum()
    w = rng.uniform(0.5, 2.0, c) if weighted else None
    kw = {"weight": w, "label_smoothing": eps, "ignore_index": ignore, "reduction": reduction}
    if eps > 0 and kind == "probs":
        kw["weight"] = None  # smoothing puts mass on −inf classes: keep it finite
        z[4] = 0.0
    on, off = _both(z, t, return_grad=True, **kw)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    _close(on.loss, off.loss, tol, atol=tol)
    _close(on.grad, off.grad, tol, atol=tol)
    assert on.grad.dtype == dtype
    assert np.asarray(on.loss).dtype == dtype
    buf = np.full_like(z, np.nan)
    out = il.softmax_cross_entropy(z, t, return_grad=True, grad_out=buf, **kw)
    assert out.grad is buf
    _close(buf, off.grad, tol, atol=tol)
    if kind == "labels" or ignore is None:
        assert "xent_fused" in small_kernels
        assert "xent_backward" in small_kernels


def test_public_function_3d_and_axis(small_kernels: list[str]) -> None:
    rng = _rng(7)
    z = rng.standard_normal((3, 50, 4))  # class axis 1: a moveaxis view per batch
    y = rng.integers(0, 50, (3, 4))
    on, off = _both(z, y, axis=1, return_grad=True, reduction="none")
    _close(on.loss, off.loss, 1e-12)
    _close(on.grad, off.grad, 1e-12, atol=1e-15)
    assert small_kernels


def test_grad_out_untouched_when_logits_have_nan(small_kernels: list[str]) -> None:
    rng = _rng(8)
    z = rng.standard_normal((40, 30))
    z[17, 4] = np.nan
    y = rng.integers(0, 30, 40)
    buf = np.full_like(z, 7.0)
    with pytest.raises(ValueError, match="NaN"):
        il.softmax_cross_entropy(z, y, return_grad=True, grad_out=buf)
    assert np.all(buf == 7.0)
    assert small_kernels == ["xent_forward"]
    with pytest.raises(ValueError, match="NaN"):
        il.softmax_cross_entropy(z, y, return_grad=True)


def test_kernel_path_at_every_size() -> None:
    """The public function takes the kernels for NumPy logits of any size
    (``LOSSES_MIN_SIZE``), from one row of two classes, with the array-API code's values."""
    assert _layout.LOSSES_MIN_SIZE == 1
    for n, c in ((1, 2), (3, 5), (127, 128), (128, 128)):
        z = _rng().standard_normal((n, c))
        y = _rng().integers(0, c, n)
        with kernel_calls() as calls:
            on, off = _both(z, y, return_grad=True)
        assert calls == ["xent_fused"]
        _close(on.loss, off.loss, 1e-13)
        _close(on.grad, off.grad, 1e-13, atol=1e-17)


def test_small_grad_out_has_the_fused_bits() -> None:
    """Below ``MIN_SIZE`` entries a caller's ``grad_out`` gets the fused pass's gradient
    (staged in fresh memory, copied once the checks pass): the same bits as without it,
    in either layout; a failed check leaves it untouched."""
    z = 3 * _rng().standard_normal((40, 7))
    y = _rng().integers(0, 7, 40)
    for eps in (0.0, 0.1):
        _, fresh = il.softmax_cross_entropy(z, y, label_smoothing=eps, return_grad=True)
        out = np.empty_like(z)
        _, got = il.softmax_cross_entropy(z, y, label_smoothing=eps, return_grad=True, grad_out=out)
        assert got is out
        np.testing.assert_array_equal(out, fresh)
        out_t = np.empty_like(z.T)
        il.softmax_cross_entropy(
            z.T, y, axis=0, label_smoothing=eps, return_grad=True, grad_out=out_t
        )
        np.testing.assert_array_equal(out_t, fresh.T)
    bad = z.copy()
    bad[3, 2] = np.nan
    out = np.full_like(z, 7.0)
    with pytest.raises(ValueError, match="NaN"):
        il.softmax_cross_entropy(bad, y, return_grad=True, grad_out=out)
    assert np.all(out == 7.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c", [2, 10, 20, 24, 31])
def test_rows_across_lanes_against_the_general_kernel(dtype: Any, c: int) -> None:
    """Labels without class weights take the kernel of rows across the vector lanes (up to
    24 float32 and 20 float64 classes): its losses, log-sum-exps, sample weights, bad counts
    and fused gradients are those of the general kernel (which class weights of ones
    select) to rounding, with NaN, +inf, -inf and all -inf rows, an ignored label and
    smoothing, contiguous or strided; and a strided view gives the contiguous bits."""
    rng = _rng(33)
    n = 203
    z = (3 * rng.standard_normal((n, c))).astype(dtype)
    z[4, 0] = np.nan
    z[7, c - 1] = np.inf
    z[9, :] = -np.inf
    z[11, 1 % c] = -np.inf
    y = rng.integers(0, c, n)
    y[13] = 1 % c
    ones = np.ones(c)
    for eps, ign in ((0.0, None), (0.1, 1 % c)):
        for zz in (z, np.asfortranarray(z)):
            g, g1 = np.empty_like(z), np.empty_like(z)
            lanes = kernels.xent_fused(zz, y, None, eps, ign, g, 0.5)
            general = kernels.xent_fused(zz, y, ones, eps, ign, g1, 0.5)
            fwd = kernels.xent_forward(zz, y, None, eps, ign)
            np.testing.assert_array_equal(fwd.loss, lanes.loss)
            np.testing.assert_array_equal(fwd.lse, lanes.lse)
            assert lanes.nbad == general.nbad == fwd.nbad
            np.testing.assert_array_equal(lanes.sample_weight, general.sample_weight)
            rtol = 1e-5 if dtype == np.float32 else 1e-13
            _close(lanes.loss, general.loss, rtol=rtol, atol=1e-6 if dtype == np.float32 else 0)
            _close(lanes.lse, general.lse, rtol=rtol)
            _close(g, g1, rtol=rtol, atol=1e-7 if dtype == np.float32 else 1e-16)
        gs = np.empty_like(z)
        strided = kernels.xent_fused(np.asfortranarray(z), y, None, eps, ign, gs, 0.5)
        g = np.empty_like(z)
        contiguous = kernels.xent_fused(z, y, None, eps, ign, g, 0.5)
        np.testing.assert_array_equal(strided.loss, contiguous.loss)
        np.testing.assert_array_equal(gs, g)
