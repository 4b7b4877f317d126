"""The compiled squared-error kernels (softmax squared error and logit squared error):
against a float64 reference, mpmath and finite differences, their bad-data counts against
the cross-entropy kernel's, and the public functions with the kernels on against the
array-API path (values, gradients, every option, -inf logits, ignored samples, errors).
No timings: see benchmarks/first_call.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose as _close

import infoloss as il
from infoloss._kernels import _layout, use_kernels
from infoloss._kernels import softmax as kernels
from infoloss._options import loss_spec
from infoloss.losses import softmax as losses
from tests._helpers import kernel_calls, kernels_on_and_off, raise_later_chunk_maxima

DTYPES = [np.float32, np.float64]
KINDS = ["softmax", "logit"]
RTOL = {np.float32: 2e-6, np.float64: 1e-13}
SHORT, LONG = 300, 2100  # one chunk per row, and several
PUBLIC = {"softmax": il.softmax_squared_error, "logit": il.logit_squared_error}
KM = {"k": 2.5, "M": 3.0}  # the logit loss's options where a test sets them


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(20261206 + seed)


def _pieces(
    t: np.ndarray, w: np.ndarray | None, eps: float, ignore: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """(p̂, s) in float64 from probabilities (N, C): the smoothed target given that it
    is not ignored, and the sample weight."""
    c = t.shape[1]
    u = t.astype(np.float64).copy()
    keep = np.ones(len(u)) if ignore is None else 1.0 - u[:, ignore]
    if ignore is not None:
        u[:, ignore] = 0.0
    s = keep if w is None else (u * w).sum(axis=1)
    safe = np.where(keep > 0, keep, 1.0)
    return (1 - eps) * u / safe[:, None] + eps / c, s


def _label_pieces(
    y: np.ndarray, c: int, w: np.ndarray | None, eps: float, ignore: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """(p̂, s) of labels: p̂ the smoothed one-hot row, s = w_y, 0 where ignored."""
    kept = np.ones(len(y), bool) if ignore is None else y != ignore
    yy = np.where(kept, y, 0)
    phat = np.full((len(y), c), eps / c)
    phat[np.arange(len(y)), yy] += 1 - eps
    return phat, kept * (1.0 if w is None else w[yy])


def _reference(
    kind: str, z: np.ndarray, phat: np.ndarray, s: np.ndarray, k: float = 1.0, M: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(loss, gradient) per sample in float64; a sample with s = 0 is 0."""
    z = z.astype(np.float64)
    live = (s != 0)[:, None]
    with np.errstate(invalid="ignore", over="ignore"):
        if kind == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            q = e / e.sum(axis=1, keepdims=True)
            g = q - phat
            loss = 0.5 * s * (g * g).sum(axis=1)
            grad = s[:, None] * q * (g - (q * g).sum(axis=1, keepdims=True))
        else:
            coef = 1 + (k - 1) * phat
            d = np.where(live, z - M * phat, 0.0)
            loss = s * (coef * d * d).sum(axis=1) / z.shape[1]
            grad = s[:, None] * coef * d * (2 / z.shape[1])
    return np.where(s != 0, loss, 0.0), np.where(live, grad, 0.0)


def _case(dtype: Any, c: int, labels: bool, eps: float, weighted: bool, ignore: int | None):  # type: ignore[no-untyped-def]
    """Logits (some -inf on classes without target mass), targets, weights, (p̂, s)."""
    rng = _rng(c)
    n = 40
    z = (rng.standard_normal((n, c)) * 3).astype(dtype)
    z[5, 100:] = -np.inf
    z[10] = -rng.uniform(1.0, 1500.0, c)  # spread beyond exp's range
    z[11] += 100.0
    w = rng.uniform(0.5, 2.0, c) if weighted else None
    if labels:
        y = rng.integers(0, c, n)
        y[5] = 7
        if ignore is not None:
            y[::4] = ignore  # row 8 among them
        phat, s = _label_pieces(y, c, w, eps, ignore)
        return z, y, w, phat, s
    t = rng.dirichlet(np.full(c, 0.3), n)
    t[5, 100:] = 0.0
    t[7] = 0.0
    t[7, 9] = 1.0  # one-hot
    if ignore is not None:
        t[8] = 0.0
        t[8, ignore] = 1.0  # all the mass ignored: nothing kept
    t /= t.sum(axis=1, keepdims=True)
    t = t.astype(dtype)
    phat, s = _pieces(t, w, eps, ignore)
    return z, t, w, phat, s


# --- the kernels against the float64 reference ------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [SHORT, LONG])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("labels", [True, False])
@pytest.mark.parametrize(("eps", "weighted", "ignore"), [(0.0, False, None), (0.1, True, 8)])
def test_kernels_against_reference(dtype, c, kind, labels, eps, weighted, ignore) -> None:  # type: ignore[no-untyped-def]
    z, t, w, phat, s = _case(dtype, c, labels, eps, weighted, ignore)
    tol = RTOL[dtype]
    km = KM if kind == "logit" else {}
    ref_loss, ref_grad = _reference(kind, z, phat, s, **km)
    # row 5's -inf logits: q = 0 there for the softmax, +inf loss for the logit loss
    assert np.all(np.isfinite(ref_loss)) == (kind == "softmax")
    fwd = kernels.sqerr_forward(kind, z, t, w, eps, ignore, **km)
    assert fwd.nbad == 0
    fin = np.isfinite(ref_loss)
    np.testing.assert_array_equal(fwd.loss[~fin], ref_loss[~fin])
    _close(fwd.loss[fin], ref_loss[fin], tol, atol=tol)
    _close(fwd.sample_weight, s, 1e-6 if dtype == np.float32 else 1e-14)
    if ignore is not None:
        assert fwd.loss[8] == 0
        assert fwd.sample_weight[8] == 0
    g = np.full(z.shape, np.nan, dtype)
    fused = kernels.sqerr_fused(kind, z, t, w, eps, ignore, g, 0.5, **km)
    _close(fused.loss, fwd.loss, 1e-15)
    fin_g = np.isfinite(ref_grad)
    np.testing.assert_array_equal(g[~fin_g], 0.5 * ref_grad[~fin_g])
    _close(g[fin_g], 0.5 * ref_grad[fin_g], tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_later_chunk_maxima(dtype: Any) -> None:
    """Rows whose running maximum later chunks raise: q scaled per chunk as the
    cross-entropy's gradient is."""
    z = raise_later_chunk_maxima(_rng(1).standard_normal((6, 7200))).astype(dtype)
    y = np.array([5000, 3100, 4500, 10, 3000, 7000])
    phat, s = _label_pieces(y, 7200, None, 0.05, None)
    ref_loss, ref_grad = _reference("softmax", z, phat, s)
    g = np.empty_like(z)
    fwd = kernels.sqerr_fused("softmax", z, y, None, 0.05, None, g, 1.0)
    _close(fwd.loss, ref_loss, RTOL[dtype])
    _close(g, ref_grad, RTOL[dtype], atol=RTOL[dtype] * np.abs(ref_grad).max())


@pytest.mark.parametrize("dtype", DTYPES)
def test_against_mpmath(dtype: Any) -> None:
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    rng = _rng(2)
    z = (rng.standard_normal((3, 50)) * 4).astype(dtype)
    t = rng.dirichlet(np.ones(50), 3).astype(dtype)
    k, M = 3.0, 2.0
    se = kernels.sqerr_forward("softmax", z, t, None, 0.1, None).loss
    lse = kernels.sqerr_forward("logit", z, t, None, 0.1, None, k=k, M=M).loss
    for i in range(3):
        zi = [mpmath.mpf(float(v)) for v in z[i]]
        p = [mpmath.mpf(0.9) * mpmath.mpf(float(v)) + mpmath.mpf(0.1) / 50 for v in t[i]]
        total = mpmath.fsum(mpmath.exp(v) for v in zi)
        ref = (
            mpmath.fsum((mpmath.exp(v) / total - pv) ** 2 for v, pv in zip(zi, p, strict=True)) / 2
        )
        _close(se[i], float(ref), 5e-6 if dtype == np.float32 else 1e-14)
        ref = (
            mpmath.fsum((1 + (k - 1) * pv) * (v - M * pv) ** 2 for v, pv in zip(zi, p, strict=True))
            / 50
        )
        _close(lse[i], float(ref), 5e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("labels", [True, False])
def test_gradient_against_finite_differences(kind: str, labels: bool) -> None:
    z, t, w, _, _ = _case(np.float64, 30, labels, 0.1, True, 2)
    z, t = z[:6].copy(), t[:6]
    z[5] = _rng(4).standard_normal(30)  # no -inf: a finite difference needs finite sums
    z[4] = _rng(5).standard_normal(30)
    km = KM if kind == "logit" else {}
    g = np.empty_like(z)
    kernels.sqerr_fused(kind, z, t, w, 0.1, 2, g, 1.0, **km)
    h = 1e-6
    num = np.empty_like(z)
    for idx in np.ndindex(*z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        up = kernels.sqerr_forward(kind, zp, t, w, 0.1, 2, **km).loss.sum()
        down = kernels.sqerr_forward(kind, zm, t, w, 0.1, 2, **km).loss.sum()
        num[idx] = (up - down) / (2 * h)
    _close(g, num, 1e-6, atol=1e-8)


# --- edges: ignored samples, -inf logits, bad data --------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("c", [SHORT, LONG])
def test_ignored_rows_are_zero_whatever_their_logits(dtype: Any, kind: str, c: int) -> None:
    z = _rng().standard_normal((6, c)).astype(dtype)
    z[1, 3:] = -np.inf
    z[2] = -np.inf  # no mass at all: counted, still 0
    y = np.array([-100, -100, -100, 4, -100, 5])
    g = np.full_like(z, 7.0)
    fwd = kernels.sqerr_fused(kind, z, y, None, 0.2, -100, g, 1.0)
    assert fwd.nbad == 1
    assert np.all(fwd.loss[[0, 1, 2, 4]] == 0)
    assert np.all(fwd.sample_weight[[0, 1, 2, 4]] == 0)
    assert np.all(g[[0, 1, 2, 4]] == 0)
    assert np.all(np.isfinite(fwd.loss[[3, 5]]))
    assert np.all(np.isfinite(g[[3, 5]]))
    t = np.zeros((6, c), dtype)
    t[:, 3] = 1  # all the mass on the ignored class
    fwd = kernels.sqerr_fused(kind, z, t, None, 0.2, 3, g, 1.0)
    assert np.all(fwd.loss == 0)
    assert np.all(g == 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("c", [SHORT, LONG])
def test_bad_entries_counted_as_the_cross_entropy_counts_them(
    dtype: Any, kind: str, c: int
) -> None:
    z = _rng().standard_normal((10, c)).astype(dtype)
    z[1, 3] = np.nan
    z[2, 4] = np.inf
    z[2, c - 1] = np.copysign(np.nan, -1)
    z[3] = -np.inf
    z[4, :5] = -np.inf  # allowed
    z[6, [0, 9]] = np.inf
    y = np.zeros(10, np.int64)
    y[6] = -100  # an ignored row's bad entries count too
    ce = kernels.xent_forward(z, y, None, 0.0, -100)
    sq = kernels.sqerr_forward(kind, z, y, None, 0.0, -100, **KM)
    assert sq.nbad == ce.nbad == 6
    assert np.all(np.isnan(sq.loss[1:3]))
    # no mass: NaN on probabilities, and the formula's +inf on logits
    assert sq.loss[3] == np.inf if kind == "logit" else np.isnan(sq.loss[3])
    assert np.all(np.isfinite(sq.loss[[0, 5, 7, 8, 9]]))
    t = np.full((10, c), 1 / c, dtype)
    t[4, 0] = -1
    t[5, 0] = np.nan
    t[6, 1] = np.inf
    t[7] *= 2  # mass 2
    ce = kernels.xent_forward(z, t, None, 0.0, None)
    sq = kernels.sqerr_forward(kind, z, t, None, 0.0, None, **KM)
    assert sq.nbad == ce.nbad
    assert sq.target_stats.nbad == ce.target_stats.nbad == 3
    _close(sq.target_stats.log_mass, ce.target_stats.log_mass, 1e-12, atol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logit_loss_of_minus_inf_in_a_kept_row(small_kernels: list[str], dtype: Any) -> None:
    """-inf on a kept row: +inf loss and a -inf gradient there, as the array-API path."""
    z = _rng().standard_normal((5, 20)).astype(dtype)
    z[2, 6] = -np.inf
    y = np.array([1, 2, 3, 4, 5])
    on, off = _both("logit", z, y, reduction="none", return_grad=True)
    assert on.loss[2] == np.inf
    assert on.grad[2, 6] == -np.inf
    np.testing.assert_array_equal(np.isfinite(on.grad), np.isfinite(off.grad))
    _close(on.loss, off.loss, 1e-6)
    _close(on.grad, off.grad, 1e-6)
    assert "sqerr_fused" in small_kernels


@pytest.mark.parametrize("c", [SHORT, LONG])
@pytest.mark.parametrize("kind", KINDS)
def test_threads_give_the_rows_of_one_thread(c: int, kind: str) -> None:
    """A call large enough for both threads gives, bit for bit, what one row gives."""
    rng = _rng(9)
    n = (1 << 20) // c + 3
    z = rng.standard_normal((n, c)) * 4
    z[7, 5] = np.nan
    y = rng.integers(0, c, n)
    t = rng.dirichlet(np.ones(c), n)
    for target in (y, t):
        g = np.empty_like(z)
        f = kernels.sqerr_fused(kind, z, target, None, 0.1, 2, g, 0.5, **KM)
        assert f.nbad == 1
        for i in (0, n // 2 - 1, n // 2, n // 2 + 1, n - 1):
            gi = np.empty_like(z[i : i + 1])
            one = kernels.sqerr_fused(kind, z[i : i + 1], target[i : i + 1], None, 0.1, 2, gi, 0.5, **KM)  # fmt: skip
            np.testing.assert_array_equal(one.loss, f.loss[i : i + 1])
            np.testing.assert_array_equal(gi, g[i : i + 1])


@pytest.mark.parametrize("kind", KINDS)
def test_strided_views(kind: str) -> None:
    """Arbitrary strides: the same numbers as contiguous copies."""
    rng = _rng()
    z = rng.standard_normal((300, 64)).astype(np.float32).T  # (64, 300), column-major
    y = rng.integers(0, 300, 64)
    t = rng.dirichlet(np.ones(300), 64).astype(np.float32)[:, ::-1]
    for target in (y, t):
        gs = np.empty((64, 600), np.float32)[:, ::2]
        gc = np.empty((64, 300), np.float32)
        a = kernels.sqerr_fused(kind, z, target, None, 0.1, None, gs, 1.0, **KM)
        b = kernels.sqerr_fused(
            kind, np.ascontiguousarray(z), np.ascontiguousarray(target), None, 0.1, None,
            gc, 1.0, **KM,
        )  # fmt: skip
        _close(a.loss, b.loss, 1e-6)
        _close(gs, gc, 1e-6, atol=1e-7)


def test_bad_kind() -> None:
    with pytest.raises(ValueError, match="`kind` must be 'softmax' or 'logit'"):
        kernels.sqerr_forward("cross", np.zeros((2, 3)), np.zeros(2, np.int64), None, 0.0, None)  # type: ignore[arg-type]


# --- the public functions: kernels on against the array-API path ------------------------


@pytest.fixture
def small_kernels(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The kernel path for small arrays, and a record of the kernels it calls."""
    monkeypatch.setattr(_layout, "MIN_SIZE", 1)
    with kernel_calls() as calls:
        yield calls


def _both(kind: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    if kind == "logit":
        kwargs = {**KM, **kwargs}
    return kernels_on_and_off(PUBLIC[kind], *args, **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("labels", [True, False])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("eps", "weighted", "ignore"), [(0.0, False, None), (0.1, True, 2)])
def test_public_functions_kernels_on_and_off(  # type: ignore[no-untyped-def]
    small_kernels, dtype, kind, labels, reduction, eps, weighted, ignore
) -> None:
    rng = _rng(6)
    n, c = 33, 70
    z = (rng.standard_normal((n, c)) * 3).astype(dtype)
    z[4, 10:] = -np.inf
    if labels:
        t: np.ndarray = rng.integers(0, 10, n)
        if ignore is not None:
            t[::3] = ignore  # row 3 among them
    else:
        t = rng.dirichlet(np.ones(c), n).astype(dtype)
    if ignore is not None:
        z[3, 5:] = -np.inf  # an ignored (labels) row: 0 all the same
    w = rng.uniform(0.5, 2.0, c) if weighted else None
    kw = {"weight": w, "label_smoothing": eps, "ignore_index": ignore, "reduction": reduction}
    if kind == "logit":  # -inf logits are +inf losses here: keep them where ignored only
        z[4] = 0.0
        if not labels:
            z[3] = 0.0
    on, off = _both(kind, z, t, return_grad=True, **kw)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    _close(on.loss, off.loss, tol, atol=tol)
    _close(on.grad, off.grad, tol, atol=tol)
    assert on.grad.dtype == dtype
    assert np.asarray(on.loss).dtype == dtype
    assert np.all(np.isfinite(on.grad))
    assert small_kernels == ["sqerr_fused"]
    small_kernels.clear()
    value = PUBLIC[kind](z, t, **kw, **(KM if kind == "logit" else {}))
    _close(value, on.loss, tol, atol=tol)
    assert small_kernels == ["sqerr_forward"]


@pytest.mark.parametrize("kind", KINDS)
def test_public_functions_3d_and_axis(small_kernels: list[str], kind: str) -> None:
    rng = _rng(7)
    z = rng.standard_normal((3, 50, 4))  # class axis 1: a moveaxis view per batch
    y = rng.integers(0, 50, (3, 4))
    on, off = _both(kind, z, y, axis=1, return_grad=True, reduction="none")
    _close(on.loss, off.loss, 1e-12)
    _close(on.grad, off.grad, 1e-12, atol=1e-15)
    assert on.grad.shape == z.shape


@pytest.mark.parametrize("kind", KINDS)
def test_all_ignored_mean_is_zero(small_kernels: list[str], kind: str) -> None:
    z = _rng().standard_normal((20, 30))
    y = np.full(20, -1)
    on, off = _both(kind, z, y, ignore_index=-1, return_grad=True)
    assert on.loss == 0 == off.loss
    assert np.all(on.grad == 0)


@pytest.mark.parametrize("kind", KINDS)
def test_grad_out_written_after_the_checks(small_kernels: list[str], kind: str) -> None:
    """Into a caller's buffer the gradient goes after the checks pass, by a second fused
    pass; bad logits leave it untouched."""
    pair = losses.SQUARED_ERROR if kind == "softmax" else losses.LOGIT_SQUARED_ERROR
    spec = loss_spec(axis=0, reduction="mean", label_smoothing=0.1, **KM)
    rng = _rng(8)
    z = rng.standard_normal((30, 40))  # class axis 0: the buffer is written through a view
    y = rng.integers(0, 30, 40)
    buf = np.full_like(z, 7.0)
    out = losses._softmax_loss(pair, z, y, None, spec, True, buf)
    assert out.grad is buf
    with use_kernels(False):
        ref = losses._softmax_loss(pair, z, y, None, spec, True)
    _close(buf, ref.grad, 1e-12, atol=1e-16)
    _close(out.loss, ref.loss, 1e-13)
    assert small_kernels == ["sqerr_forward", "sqerr_fused"]
    small_kernels.clear()
    z[17, 4] = np.nan
    buf[:] = 7.0
    with pytest.raises(ValueError, match="NaN"):
        losses._softmax_loss(pair, z, y, None, spec, True, buf)
    assert np.all(buf == 7.0)
    assert small_kernels == ["sqerr_forward"]


def _bad_inputs() -> list[tuple[str, Any, Any, dict[str, Any]]]:
    rng = _rng(10)
    z = rng.standard_normal((12, 9))
    y = rng.integers(0, 9, 12)
    t = rng.dirichlet(np.ones(9), 12)
    nan, pinf, row = z.copy(), z.copy(), z.copy()
    nan[3, 2] = np.nan
    pinf[4, 1] = np.inf
    row[5] = -np.inf
    neg, heavy = t.copy(), t.copy()
    neg[2, 3] = -0.1
    heavy[6] *= 1.5
    return [
        ("NaN logits", nan, y, {}),
        ("+inf logits", pinf, y, {}),
        ("a row of -inf", row, y, {"ignore_index": int(y[5])}),
        ("negative target", z, neg, {}),
        ("target mass", z, heavy, {}),
        ("label out of range", z, np.where(np.arange(12) == 7, 9, y), {}),
        ("negative weight", z, y, {"weight": -np.ones(9)}),
    ]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", range(7))
def test_bad_input_raises_as_before(small_kernels: list[str], kind: str, case: int) -> None:
    """The same ValueError (message included) with the kernels on as on the array-API
    path, from the kernels' counts."""
    _, z, t, kw = _bad_inputs()[case]
    if kind == "logit":
        kw = {**kw, **KM}
    messages = []
    for flag in (True, False):
        with use_kernels(flag), pytest.raises(ValueError, match=r"^`") as err:
            PUBLIC[kind](z, t, return_grad=True, **kw)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert small_kernels[:1] == ["sqerr_fused"]


def test_kernel_path_at_every_size() -> None:
    """The public functions take the kernels for NumPy logits of any size
    (``LOSSES_MIN_SIZE``), with the array-API code's values."""
    for n, c in ((1, 2), (127, 128), (128, 128)):
        z = _rng().standard_normal((n, c))
        y = _rng().integers(0, c, n)
        for kind in KINDS:
            with kernel_calls() as calls:
                on, off = _both(kind, z, y, return_grad=True)
            assert calls == ["sqerr_fused"]
            _close(on.loss, off.loss, 1e-13)
