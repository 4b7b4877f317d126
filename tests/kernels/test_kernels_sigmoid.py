"""The compiled sigmoid losses (binary cross-entropy and squared error of σ(z), element by
element): the kernel against mpmath at the edges and finite differences, its bad-data
counts against the validator's masks, and the public functions with the kernels on against
the array-API path (values, gradients, reductions, options, layouts, errors).  No
timings: see benchmarks/sigmoid.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose as _close

import infoloss as il
from infoloss._kernels import sigmoid as kernels
from infoloss._kernels import use_kernels
from infoloss._options import loss_spec
from infoloss.losses._targets import sigmoid_inputs
from tests._helpers import kernels_on_and_off

DTYPES = [np.float32, np.float64]
LOSSES = [il.sigmoid_binary_cross_entropy, il.sigmoid_squared_error]
KIND = {il.sigmoid_binary_cross_entropy: "bce", il.sigmoid_squared_error: "se"}
RTOL = {np.float32: 2e-6, np.float64: 1e-13}
REDUCTIONS = ["mean", "sum", "none"]
N, C = 160, 130  # 20800 entries: above the kernels' minimum size


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(20261206 + seed)


def _data(dtype: Any, shape: tuple[int, ...] = (N, C)) -> tuple[np.ndarray, np.ndarray]:
    """Logits (some far out, some -inf where the target is 0) and targets (0, 1 and in
    between)."""
    rng = _rng(sum(shape))
    z = (rng.standard_normal(shape) * 6).astype(dtype)
    y = rng.uniform(0, 1, shape)
    y[..., ::3] = rng.integers(0, 2, y[..., ::3].shape)
    flat_z, flat_y = z.reshape(-1), y.reshape(-1)
    flat_z[:40:4] = -np.inf
    flat_y[:40:4] = 0.0
    flat_z[1:40:4] = [-800, -100, -40, 40, 100, 800, -1e30, 1e30, 0.0, -0.0]
    return z, y.astype(dtype)


def _options(loss: Any, dtype: Any, name: str) -> dict[str, Any]:
    rng = _rng(7)
    w_cols = rng.uniform(0, 2, C).astype(dtype)
    w_cols[3] = 0.0  # a weight 0 column: 0 even where the loss is infinite
    pw_rows = rng.uniform(0.5, 3, (N, 1)).astype(dtype)
    opts = {
        "plain": {},
        "weight (C,)": {"weight": w_cols},
        "scalar weight, pos_weight (N, 1)": {"weight": 2.5, "pos_weight": pw_rows},
        "full weight, pos_weight (C,)": {
            "weight": rng.uniform(0, 2, (N, C)).astype(dtype),
            "pos_weight": w_cols + 1,
        },
        "ignore, smoothing": {"ignore_index": 1.0, "label_smoothing": 0.1},
        "ignore, weight, pos_weight": {"ignore_index": 0.0, "weight": w_cols, "pos_weight": 2.0},
    }[name]
    if loss is il.sigmoid_squared_error:
        opts.pop("pos_weight", None)
    return opts


OPTIONS = [
    "plain",
    "weight (C,)",
    "scalar weight, pos_weight (N, 1)",
    "full weight, pos_weight (C,)",
    "ignore, smoothing",
    "ignore, weight, pos_weight",
]


def _same(on: Any, off: Any, dtype: Any) -> None:
    """Equal infinities and NaNs, and finite values within the dtype's tolerance of the
    largest finite magnitude (a float32 sum of terms of both signs rounds in absolute
    terms)."""
    on, off = np.asarray(on, np.float64), np.asarray(off, np.float64)
    fin = np.isfinite(off)
    np.testing.assert_array_equal(np.isfinite(on), fin)
    np.testing.assert_array_equal(on[~fin], off[~fin])
    scale = np.abs(off[fin]).max() if fin.any() else 1.0
    _close(on[fin], off[fin], rtol=RTOL[dtype] * 10, atol=RTOL[dtype] * scale)


# --- the public functions with the kernels on and off -----------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("name", OPTIONS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_public_against_the_array_api_path(
    dtype: Any, loss: Any, name: str, reduction: str
) -> None:
    z, y = _data(dtype)
    opts = _options(loss, dtype, name)
    if "ignore_index" in opts:
        z[y == opts["ignore_index"]] = np.where(z[y == opts["ignore_index"]] > 0, 3.0, -np.inf)
    on, off = kernels_on_and_off(loss, z, y, reduction=reduction, return_grad=True, **opts)
    assert type(on.loss) is type(off.loss)
    assert on.loss.dtype == off.loss.dtype == dtype
    assert on.grad.dtype == dtype
    assert on.grad.shape == z.shape
    _same(on.loss, off.loss, dtype)
    _same(on.grad, off.grad, dtype)
    assert np.all(np.isfinite(on.grad))
    with use_kernels(True):
        alone = loss(z, y, reduction=reduction, **opts)
    np.testing.assert_array_equal(alone, on.loss)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize(
    "layout", ["3-D", "transposed", "strided", "broadcast targets", "several chunks"]
)
def test_layouts(dtype: Any, loss: Any, layout: str) -> None:
    """Views the kernel reads through strides, row blocks, and rows longer than a chunk."""
    if layout == "several chunks":
        z, y = _data(dtype, (9, 2500))
        w = _rng(3).uniform(0, 1, 2500).astype(dtype)
    else:
        z, y = _data(dtype, (8, 60, 90))
        w = _rng(3).uniform(0, 1, 90).astype(dtype)
    if layout == "transposed":
        z, y = np.swapaxes(z, 0, 2), np.swapaxes(y, 0, 2)
        w = w[:, None, None]
    elif layout == "strided":
        z, y = z[:, ::2, ::-1], y[:, ::2, ::-1]
        w = w[::-1]
    elif layout == "broadcast targets":
        y = y[0]
    for reduction in REDUCTIONS:
        on, off = kernels_on_and_off(loss, z, y, weight=w, reduction=reduction, return_grad=True)
        _same(on.loss, off.loss, dtype)
        _same(on.grad, off.grad, dtype)


@pytest.mark.parametrize("loss", LOSSES)
def test_everything_ignored_or_weighted_zero(loss: Any) -> None:
    z, y = _data(np.float64)
    y[:] = 0.5
    for opts in ({"ignore_index": 0.5}, {"weight": 0.0}):
        on, off = kernels_on_and_off(loss, z, y, return_grad=True, **opts)
        assert on.loss == off.loss == 0
        assert not np.any(on.grad)


# --- the kernel against mpmath and finite differences -----------------------------------


def _mp_reference(kind: str, z: float, y: float, pw: float, mpmath: Any) -> list[Any]:
    """[(loss, its scale), (gradient, its scale)] of one element at 50 digits (z = -inf by
    its limits).  A scale is the sum of the magnitudes of the terms that the value is the
    difference of: where they cancel, rounding is relative to it, in any implementation."""
    if z == -np.inf:
        sig, om, sp, spn = mpmath.mpf(0), mpmath.mpf(1), mpmath.mpf(0), mpmath.inf
    else:
        x = mpmath.mpf(z)
        sig, om = 1 / (1 + mpmath.exp(-x)), 1 / (1 + mpmath.exp(x))
        sp, spn = mpmath.log1p(mpmath.exp(x)), mpmath.log1p(mpmath.exp(-x))
    y_, pw_ = mpmath.mpf(y), mpmath.mpf(pw)
    if kind == "bce":
        loss = (pw_ * y_ * spn if y else 0) + ((1 - y_) * sp if y != 1 else 0)
        a, b = (1 - y_) * sig, pw_ * y_ * om
        return [(loss, loss), (a - b, a + b)]
    a, b = (1 - y_) * sig, y_ * om
    return [((a - b) ** 2 / 2, (a + b) ** 2 / 2), ((a - b) * sig * om, (a + b) * sig * om)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["bce", "se"])
def test_kernel_against_mpmath_at_the_edges(dtype: Any, kind: str) -> None:
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    edges = [-np.inf, -1e30, -1e4, -745.5, -120, -88, -40, -17, -1, -1e-9, 0.0]
    edges += [1e-9, 0.3, 1, 17, 40, 88, 120, 745.5, 1e4, 1e30]
    zs = np.array(edges + [-e for e in edges[1:]], dtype)
    targets = [0.0, 1.0, 0.3, 1e-6]
    z = np.repeat(zs[None, :], len(targets), 0)
    y = np.repeat(np.array(targets, dtype)[:, None], len(zs), 1)
    pw = np.full(z.shape, 2.5 if kind == "bce" else 1.0, dtype)
    lo, g = np.empty_like(z), np.empty_like(z)
    fwd = kernels.sigmoid_fused(kind, z, y, None, pw, 0.0, None, g, 1.0, loss=lo)
    assert fwd.nbad == (0, 0, 0, 0, 0)
    tol = 5e-7 if dtype == np.float32 else 1e-15  # a few units in the last place
    tiny = float(np.finfo(dtype).tiny) * 4  # values that underflow: absolute terms
    for idx in np.ndindex(*z.shape):
        refs = _mp_reference(kind, float(z[idx]), float(y[idx]), float(pw[idx]), mpmath)
        for got, (ref, scale) in zip((lo[idx], g[idx]), refs, strict=True):
            ref = float(ref)  # the nearest double; its rounding to float32 is within tol
            if ref in (np.inf, 0.0):
                assert got == ref, (idx, z[idx], y[idx], got, ref)
            else:
                err = abs(float(got) - ref)
                assert err <= tol * float(scale) + tiny, (idx, z[idx], y[idx], got, ref)
    # summed in the dtype within a chunk, in float64 across; +inf for bce (z = -inf, y = 1)
    _close(fwd.total, lo.astype(np.float64).sum(), rtol=2e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("kind", ["bce", "se"])
def test_gradient_against_finite_differences(kind: str) -> None:
    rng = _rng(4)
    z = rng.standard_normal((6, 50)) * 3
    y = rng.uniform(0, 1, (6, 50))
    y[1] = 1.0
    y[2, :10] = 0.25  # ignored below
    w = rng.uniform(0, 2, (6, 50))
    pw = rng.uniform(0.5, 3, (6, 50)) if kind == "bce" else None
    g = np.empty_like(z)
    args = (w, pw, 0.1, 0.25)
    kernels.sigmoid_fused(kind, z, y, *args, g, 0.5)
    h = 1e-6
    num, lp, lm = np.empty_like(z), np.empty_like(z), np.empty_like(z)
    for idx in np.ndindex(*z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        # the element's own loss: a sum's rounding would swamp the difference
        kernels.sigmoid_forward(kind, zp, y, *args, loss=lp)
        kernels.sigmoid_forward(kind, zm, y, *args, loss=lm)
        num[idx] = 0.5 * (lp[idx] - lm[idx]) / (2 * h)
    _close(g, num, 1e-6, atol=1e-9)
    assert np.all(g[2, :10] == 0)


# --- bad data: the kernel's counts, the public errors -----------------------------------


def _bad_data(dtype: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    z, y = _data(dtype)
    w = _rng(5).uniform(0, 1, C).astype(dtype)
    pw = _rng(6).uniform(0, 1, (N, 1)).astype(dtype)
    z[3, 4] = np.nan
    z[5, 6:9] = np.inf
    z[7, 8] = np.copysign(np.nan, -1)
    y[9, 10] = 1.5
    y[11, 12:14] = -0.5  # ignored below (equal to ignore_index), so not counted there
    y[12, 3] = np.nan
    w[[4, 7]] = [-1.0, np.inf]
    pw[[2, 60]] = np.nan
    return z, y, w, pw


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ignore", [None, -0.5])
def test_bad_entries_counted_as_the_checks_count_them(dtype: Any, ignore: float | None) -> None:
    z, y, w, pw = _bad_data(dtype)
    spec = loss_spec(reduction="mean", label_smoothing=0.0, ignore_index=ignore, validate=True)
    _, zz, given, checks = sigmoid_inputs(z, y, w, pw, spec)
    fwd = kernels.sigmoid_forward("bce", zz, given.t, given.weight, given.pos_weight, 0.0, ignore)
    expected = tuple(int(np.count_nonzero(c.mask())) for c in checks)
    assert fwd.nbad == expected
    assert expected[2] == (2 if ignore is not None else 4)


BAD_CASES = [
    (loss, bad)
    for loss in LOSSES
    for bad in ["nan", "+inf", "targets", "weight", "pos_weight", "two"]
    if not (loss is il.sigmoid_squared_error and bad == "pos_weight")  # it has none
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("loss", "bad"), BAD_CASES)
def test_bad_input_raises_the_same_error(dtype: Any, loss: Any, bad: str) -> None:
    z, y, w, pw = _bad_data(dtype)
    good_z, good_y = _data(dtype)
    good_w = _rng(5).uniform(0, 1, C).astype(dtype)
    good_pw = _rng(6).uniform(0, 1, (N, 1)).astype(dtype)
    args = {
        "nan": (np.where(z == np.inf, 0, z), good_y, good_w, good_pw),
        "+inf": (np.where(np.isnan(z), 0, z), good_y, good_w, good_pw),
        "targets": (good_z, y, good_w, good_pw),
        "weight": (good_z, good_y, w, good_pw),
        "pos_weight": (good_z, good_y, good_w, pw),
        "two": (good_z, y, w, good_pw),  # the targets' error is reported first
    }[bad]
    if loss is il.sigmoid_squared_error:
        args = args[:3]
    zz, yy, *rest = args
    kw = dict(zip(("weight", "pos_weight"), rest, strict=False))
    messages = []
    for flag in (True, False):
        with use_kernels(flag), pytest.raises(ValueError, match=r"must be|contains") as err:
            loss(zz, yy, return_grad=True, **kw)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert "first at index" in messages[0]
    assert messages[0].startswith("`targets`") == (bad in ("targets", "two"))
    with use_kernels(True):  # validate=False: no error, and no check runs
        loss(zz, yy, validate=False, **kw)
