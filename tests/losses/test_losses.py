"""Tests of infoloss.losses without PyTorch: formulas, gradients, options, edges, errors."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit, log_softmax, softmax

import infoloss as il
from infoloss import measures
from infoloss.losses import (
    logit_squared_error,
    sigmoid_binary_cross_entropy,
    sigmoid_squared_error,
    softmax_cross_entropy,
    softmax_squared_error,
)
from tests._helpers import to_numpy

SOFTMAX_LOSSES = [softmax_cross_entropy, softmax_squared_error, logit_squared_error]
SIGMOID_LOSSES = [sigmoid_binary_cross_entropy, sigmoid_squared_error]
ALL_LOSSES = SOFTMAX_LOSSES + SIGMOID_LOSSES
REDUCTIONS = ["mean", "sum", "none"]
N, C = 5, 4


@pytest.fixture(params=["numpy", "array_api_strict"])
def xp(request: pytest.FixtureRequest) -> Any:
    return pytest.importorskip(request.param)


def logits(seed: int = 0, shape: tuple[int, ...] = (N, C)) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=2.0, size=shape)


def distributions(seed: int = 1, shape: tuple[int, ...] = (N, C)) -> np.ndarray:
    p = np.random.default_rng(seed).dirichlet(np.ones(shape[-1]), size=shape[:-1])
    rows = p.reshape(-1, shape[-1])
    rows[0] = np.eye(shape[-1])[1]  # a one-hot row, and a row with an exact zero
    rows[1, 0] = 0.0
    return p / p.sum(axis=-1, keepdims=True)


LABELS = np.array([0, 3, 1, 1, 2])
WEIGHT = np.array([0.5, 2.0, 1.0, 0.25])


# --------------------------------------------------------------------------------------
# Independent references, written from the formulas row by row
# --------------------------------------------------------------------------------------


def target_pieces(
    targets: np.ndarray, ignore: int | None, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """(u, keep): the target distribution with the ignored class zeroed, and its mass."""
    if targets.dtype.kind in "iu":
        t = np.zeros((*targets.shape, n_classes))
        for idx in np.ndindex(targets.shape):
            if targets[idx] != ignore:
                t[idx][targets[idx]] = 1.0
        keep = (targets != ignore).astype(float)
        return t, keep
    u = targets.copy()
    keep = np.ones(targets.shape[:-1])
    if ignore is not None:
        keep = 1 - targets[..., ignore]
        u[..., ignore] = 0.0
    return u, keep


def reference_softmax(
    loss: Any,
    z: np.ndarray,
    targets: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    reduction: str = "mean",
    k: float = 1.0,
    M: float = 1.0,
) -> Any:
    n_classes = z.shape[-1]
    w = np.ones(n_classes) if weight is None else weight
    eps = label_smoothing
    u, keep = target_pieces(targets, ignore_index, n_classes)
    rows = []
    weights = []
    for idx in np.ndindex(z.shape[:-1]):
        s = float(np.dot(w, u[idx])) if weight is not None else float(keep[idx])
        weights.append(s)
        logq = log_softmax(z[idx])
        q = softmax(z[idx])
        if loss is softmax_cross_entropy:
            p = (1 - eps) * u[idx] + eps * keep[idx] / n_classes
            rows.append(-sum(w[c] * p[c] * logq[c] for c in range(n_classes) if p[c] > 0))
            continue
        p = u[idx] / keep[idx] if keep[idx] > 0 else np.zeros(n_classes)
        p = (1 - eps) * p + eps / n_classes
        if loss is softmax_squared_error:
            rows.append(s * 0.5 * np.sum((q - p) ** 2))
        else:
            rows.append(s * np.sum((1 + (k - 1) * p) * (z[idx] - M * p) ** 2) / n_classes)
    values = np.array(rows).reshape(z.shape[:-1])
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    return values.sum() / sum(weights) if sum(weights) > 0 else 0.0


def reference_sigmoid(
    loss: Any,
    z: np.ndarray,
    y: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    pos_weight: np.ndarray | None = None,
    label_smoothing: float = 0.0,
    ignore_index: float | None = None,
    reduction: str = "mean",
) -> Any:
    y = np.broadcast_to(y, z.shape)
    kept = np.ones(z.shape, bool) if ignore_index is None else y != ignore_index
    w = np.broadcast_to(np.ones(()) if weight is None else weight, z.shape) * kept
    ys = np.where(kept, (1 - label_smoothing) * y + label_smoothing / 2, 0.0)
    if loss is sigmoid_binary_cross_entropy:
        pw = 1.0 if pos_weight is None else pos_weight
        # softplus(x) = logaddexp(0, x)
        per = pw * ys * np.logaddexp(0, -z) + (1 - ys) * np.logaddexp(0, z)
    else:
        per = 0.5 * (expit(z) - ys) ** 2
    values = w * per
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    return values.sum() / w.sum() if w.sum() > 0 else 0.0


def fd_noise(value: Any, h: float = 1e-6) -> float:
    """The rounding error of :func:`central_difference` for a loss summing to ``value``:
    each of its two sums is off by a few ulps of the sum (here 4), divided by 2h; at least
    1e-9.  (The truncation error, h² times the third derivative, is far below it.)"""
    return max(1e-9, 4 * np.finfo(np.float64).eps * float(np.sum(np.abs(value))) / h)


def central_difference(f: Any, z: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        grad[idx] = (np.sum(f(zp)) - np.sum(f(zm))) / (2 * h)
    return grad


# --------------------------------------------------------------------------------------
# Values against the references, and gradients against finite differences
# --------------------------------------------------------------------------------------

SOFTMAX_GRID = list(
    itertools.product(
        SOFTMAX_LOSSES,
        ["labels", "probs"],
        [None, WEIGHT],
        [0.0, 0.2],
        [None, 2, -100],
        REDUCTIONS,
    )
)


def _softmax_case(kind: str, ignore: int | None) -> tuple[np.ndarray, int | None]:
    if kind == "labels":
        y = LABELS.copy()
        if ignore is not None:
            y[3] = ignore  # one ignored sample (and sample 4 has label 2)
        return y, ignore
    # ignore_index with probabilities must be a class index
    return distributions(), (None if ignore == -100 else ignore)


@pytest.mark.parametrize(
    ("loss", "kind", "weight", "eps", "ignore", "reduction"),
    SOFTMAX_GRID,
    ids=[
        f"{f.__name__}-{kd}-{'w' if w is not None else 'now'}-ls{e}-ig{i}-{r}"
        for f, kd, w, e, i, r in SOFTMAX_GRID
    ],
)
def test_softmax_value_and_gradient(
    loss: Any, kind: str, weight: Any, eps: float, ignore: Any, reduction: str
) -> None:
    z = logits()
    targets, ignore = _softmax_case(kind, ignore)
    extra = {"k": 3.0, "M": 2.0} if loss is logit_squared_error else {}
    opts = {
        "weight": weight,
        "label_smoothing": eps,
        "ignore_index": ignore,
        "reduction": reduction,
        **extra,
    }
    value, grad = loss(z, targets, return_grad=True, **opts)
    expected = reference_softmax(loss, z, targets, **opts)
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(loss(z, targets, **opts), value, rtol=0, atol=0)
    numeric = central_difference(lambda zz: loss(zz, targets, **opts), z)
    assert grad.shape == z.shape
    assert grad.dtype == z.dtype
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


SIGMOID_GRID = [
    case
    for case in itertools.product(
        SIGMOID_LOSSES,
        [None, "elementwise", "per-column"],
        [None, "pos"],
        [0.0, 0.1],
        [None, -1.0],
        REDUCTIONS,
    )
    if not (case[0] is sigmoid_squared_error and case[2])  # it has no pos_weight
]


@pytest.mark.parametrize(
    ("loss", "weight", "pos", "eps", "ignore", "reduction"),
    SIGMOID_GRID,
    ids=[f"{f.__name__}-{w}-{p}-ls{e}-ig{i}-{r}" for f, w, p, e, i, r in SIGMOID_GRID],
)
def test_sigmoid_value_and_gradient(
    loss: Any, weight: Any, pos: Any, eps: float, ignore: Any, reduction: str
) -> None:
    rng = np.random.default_rng(3)
    z = logits(2)
    y = rng.uniform(size=z.shape)
    y[0, :2] = [0.0, 1.0]
    if ignore is not None:
        y[1, 1] = y[2, 3] = ignore
    w = {
        None: None,
        "elementwise": rng.uniform(0.1, 2.0, size=z.shape),
        "per-column": rng.uniform(0.1, 2.0, size=C),
    }[weight]
    opts: dict[str, Any] = {
        "weight": w,
        "label_smoothing": eps,
        "ignore_index": ignore,
        "reduction": reduction,
    }
    if pos:
        opts["pos_weight"] = np.array([1.0, 3.0, 0.5, 0.0])
    value, grad = loss(z, y, return_grad=True, **opts)
    np.testing.assert_allclose(value, reference_sigmoid(loss, z, y, **opts), rtol=1e-12)
    numeric = central_difference(lambda zz: loss(zz, y, **opts), z)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=fd_noise(value))


def test_gradient_formulas_in_closed_form() -> None:
    z = logits()
    q = softmax(z, axis=-1)
    onehot = np.eye(C)[LABELS]
    _, g = softmax_cross_entropy(z, LABELS, reduction="sum", return_grad=True)
    np.testing.assert_allclose(g, q - onehot, rtol=1e-13, atol=1e-15)
    _, g = softmax_squared_error(z, LABELS, reduction="sum", return_grad=True)
    d = q - onehot
    np.testing.assert_allclose(
        g, q * (d - np.sum(q * d, axis=-1, keepdims=True)), rtol=1e-13, atol=1e-15
    )
    y = np.array([0.0, 1.0, 0.3, 1.0])
    zz = np.array([-3.0, 0.5, 1.0, 9.0])
    _, g = sigmoid_squared_error(zz, y, reduction="sum", return_grad=True)
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    exact = []
    for zi, yi in zip(zz, y, strict=True):
        sig = 1 / (1 + mpmath.exp(-mpmath.mpf(zi)))
        exact.append(float((sig - mpmath.mpf(yi)) * sig * (1 - sig)))
    np.testing.assert_allclose(g, exact, rtol=1e-14)
    s = expit(zz)
    _, g = sigmoid_binary_cross_entropy(zz, y, reduction="sum", return_grad=True)
    np.testing.assert_allclose(g, np.where(y == 1, -expit(-zz), s - y), rtol=1e-13)


def test_logit_squared_error_one_hot_form() -> None:
    z = logits()
    k, M = 4.0, 3.0
    value = logit_squared_error(z, LABELS, k=k, M=M, reduction="none")
    rows = [
        (k * (z[i, y] - M) ** 2 + sum(z[i, j] ** 2 for j in range(C) if j != y)) / C
        for i, y in enumerate(LABELS)
    ]
    np.testing.assert_allclose(value, rows, rtol=1e-14)


# --------------------------------------------------------------------------------------
# Invariances
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", SOFTMAX_LOSSES)
@pytest.mark.parametrize("eps", [0.0, 0.3])
@pytest.mark.parametrize("ignore", [None, 1])
@pytest.mark.parametrize("weight", [None, WEIGHT])
def test_labels_equal_one_hot(loss: Any, eps: float, ignore: Any, weight: Any) -> None:
    z = logits()
    y = LABELS.copy()
    y[2] = 1  # an ignored sample when ignore == 1
    onehot = np.eye(C)[y]
    for reduction in REDUCTIONS:
        opts = {
            "weight": weight,
            "label_smoothing": eps,
            "ignore_index": ignore,
            "reduction": reduction,
        }
        a, ga = loss(z, y, return_grad=True, **opts)
        b, gb = loss(z, onehot, return_grad=True, **opts)
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-16)
        np.testing.assert_allclose(ga, gb, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("loss", SOFTMAX_LOSSES)
@pytest.mark.parametrize("kind", ["labels", "probs"])
@pytest.mark.parametrize("axis", [0, 1, -2])
def test_axis_equals_moveaxis(loss: Any, kind: str, axis: int) -> None:
    z = logits(4, (3, C, 2))  # classes on axis 1
    if kind == "labels":
        t = np.random.default_rng(5).integers(0, C, size=(3, 2))
    else:
        t = np.moveaxis(distributions(6, (3, 2, C)), -1, 1)
    ax = axis % 3
    zz = np.moveaxis(z, 1, ax)
    tt = t if kind == "labels" else np.moveaxis(t, 1, ax)  # labels have no class axis
    opts = {"weight": WEIGHT, "label_smoothing": 0.1, "ignore_index": 2}
    for reduction in REDUCTIONS:
        a, ga = loss(zz, tt, axis=axis, reduction=reduction, return_grad=True, **opts)
        b, gb = loss(
            np.moveaxis(zz, ax, -1),
            tt if kind == "labels" else np.moveaxis(tt, ax, -1),
            reduction=reduction,
            return_grad=True,
            **opts,
        )
        np.testing.assert_allclose(a, b, rtol=1e-14)
        np.testing.assert_allclose(ga, np.moveaxis(gb, -1, ax), rtol=1e-14, atol=1e-17)


@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_reductions_agree(loss: Any) -> None:
    z = logits()
    t = LABELS if loss in SOFTMAX_LOSSES else expit(logits(9))
    none, gnone = loss(z, t, reduction="none", return_grad=True)
    total, gsum = loss(z, t, reduction="sum", return_grad=True)
    mean, gmean = loss(z, t, return_grad=True)
    np.testing.assert_allclose(total, np.sum(none), rtol=1e-14)
    np.testing.assert_allclose(mean, np.mean(none), rtol=1e-14)
    np.testing.assert_allclose(gsum, gnone, rtol=0)
    np.testing.assert_allclose(gmean, gsum / none.size, rtol=1e-14)


def test_cross_entropy_matches_the_measures() -> None:
    z = logits()
    p = distributions()
    ours = softmax_cross_entropy(z, p, reduction="none")
    ce = measures.cross_entropy(p, z, form=("probs", "logits"))
    np.testing.assert_allclose(ours, ce, rtol=1e-13)
    kl = measures.kl_divergence(p, z, form=("probs", "logits"))
    np.testing.assert_allclose(ours - measures.entropy(p), kl, rtol=1e-12, atol=1e-15)


@given(
    st.lists(st.floats(-30, 30), min_size=2, max_size=6),
    st.floats(0.0, 1.0),
)
def test_gibbs_and_gradient_rows_sum_to_zero(zs: list[float], eps: float) -> None:
    z = np.array(zs)
    p = softmax(-z)  # some other distribution on the same outcomes
    value, grad = softmax_cross_entropy(z, p, label_smoothing=eps, return_grad=True)
    smoothed = (1 - eps) * p + eps / z.size
    assert value >= measures.entropy(smoothed) - 1e-12
    assert abs(np.sum(grad)) <= 1e-12


# --------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------


def _backend_cases() -> list[tuple[Any, str, dict[str, Any]]]:
    z = logits()
    y = expit(logits(9))
    return [
        (softmax_cross_entropy, "labels", {"weight": WEIGHT, "label_smoothing": 0.1}),
        (softmax_cross_entropy, "probs", {"ignore_index": 1, "axis": 0}),
        (softmax_squared_error, "labels", {"ignore_index": 3, "weight": WEIGHT}),
        (logit_squared_error, "probs", {"k": 2.0, "M": 3.0, "label_smoothing": 0.2}),
        (sigmoid_binary_cross_entropy, "y", {"pos_weight": WEIGHT, "weight": z * 0 + 2}),
        (sigmoid_squared_error, "y", {"ignore_index": y[0, 0], "label_smoothing": 0.1}),
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", range(6))
def test_backends_agree_with_numpy(xp: Any, case: int, dtype: str) -> None:
    loss, kind, opts = _backend_cases()[case]
    z = logits().astype(dtype)
    t = {"labels": LABELS, "probs": distributions(), "y": expit(logits(9))}[kind]
    if kind != "labels":
        t = t.astype(dtype)
    if opts.get("axis") == 0:
        z, t = z.T.copy(), t.T.copy()
    for reduction in REDUCTIONS:
        ref, gref = loss(z, t, reduction=reduction, return_grad=True, **opts)
        conv = {key: xp.asarray(v) if isinstance(v, np.ndarray) else v for key, v in opts.items()}
        if "weight" in conv and conv["weight"] is not None:
            conv["weight"] = xp.asarray(np.asarray(opts["weight"], dtype=dtype))
        if "pos_weight" in conv:
            conv["pos_weight"] = xp.asarray(np.asarray(opts["pos_weight"], dtype=dtype))
        value, grad = loss(
            xp.asarray(z), xp.asarray(t), reduction=reduction, return_grad=True, **conv
        )
        assert type(grad) is type(xp.asarray(z))
        assert grad.dtype == xp.asarray(z).dtype
        rtol = 1e-5 if dtype == "float32" else 1e-13
        np.testing.assert_allclose(to_numpy(value), ref, rtol=rtol, atol=rtol * 1e-3)
        np.testing.assert_allclose(to_numpy(grad), gref, rtol=rtol, atol=rtol * 1e-3)


def test_dask_backend() -> None:
    da = pytest.importorskip("dask.array")
    z = logits()
    ref, gref = softmax_cross_entropy(z, LABELS, weight=WEIGHT, return_grad=True)
    value, grad = softmax_cross_entropy(
        da.from_array(z, chunks=2),
        da.from_array(LABELS, chunks=2),
        weight=da.from_array(WEIGHT),
        return_grad=True,
    )
    np.testing.assert_allclose(to_numpy(value), ref, rtol=1e-13)
    np.testing.assert_allclose(to_numpy(grad), gref, rtol=1e-13)
    y = expit(logits(9))
    ref, gref = sigmoid_binary_cross_entropy(z, y, return_grad=True)
    value, grad = sigmoid_binary_cross_entropy(
        da.from_array(z, chunks=2), da.from_array(y, chunks=2), return_grad=True
    )
    np.testing.assert_allclose(to_numpy(value), ref, rtol=1e-13)
    np.testing.assert_allclose(to_numpy(grad), gref, rtol=1e-13)


def test_numpy_scalars_and_lists() -> None:
    value = softmax_cross_entropy([[0.0, 0.0]], [1])
    assert isinstance(value, np.float64)
    assert value == pytest.approx(math.log(2))
    value = sigmoid_binary_cross_entropy([0.0, 0.0], [1.0, 0.0])
    assert value == pytest.approx(math.log(2))
    assert isinstance(softmax_cross_entropy(np.zeros(3), np.asarray(0)), np.float64)
    loss, grad = softmax_cross_entropy(np.zeros((2, 3), np.float32), [0, 1], return_grad=True)
    assert loss.dtype == np.float32
    assert grad.dtype == np.float32


def test_grad_out() -> None:
    z = logits()
    out = np.empty_like(z)
    _, grad = softmax_cross_entropy(z, LABELS, axis=-1, return_grad=True, grad_out=out)
    assert grad is out
    np.testing.assert_array_equal(out, softmax_cross_entropy(z, LABELS, return_grad=True)[1])
    out_t = np.empty_like(z.T)
    _, grad = softmax_cross_entropy(z.T, LABELS, axis=0, return_grad=True, grad_out=out_t)
    np.testing.assert_array_equal(out_t, grad)
    with pytest.raises(ValueError, match="`grad_out` must be an array of shape"):
        softmax_cross_entropy(z, LABELS, return_grad=True, grad_out=np.empty((N, C + 1)))
    with pytest.raises(ValueError, match="`grad_out` must be an array of shape"):
        softmax_cross_entropy(z, LABELS, return_grad=True, grad_out=out.astype(np.float32))
    with pytest.raises(ValueError, match="`grad_out` needs return_grad=True"):
        softmax_cross_entropy(z, LABELS, grad_out=out)


# --------------------------------------------------------------------------------------
# Edges: huge and infinite logits, everything ignored
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_huge_logits_are_finite(loss: Any, dtype: Any) -> None:
    z = np.array([[1e9, -1e9, 0.0], [-1e9, 1e9, 5.0], [1e9, 1e9, -1e9]], dtype=dtype)
    t = np.array([1, 1, 2]) if loss in SOFTMAX_LOSSES else np.array([0.0, 1.0, 0.5])
    for eps in (0.0, 0.1):
        value, grad = loss(z, t, label_smoothing=eps, reduction="none", return_grad=True)
        assert np.all(np.isfinite(value))
        assert np.all(np.isfinite(grad))
    if loss is softmax_cross_entropy:
        value = loss(z, t, reduction="none")
        np.testing.assert_allclose(value, [2e9, 0.0, 2e9 + math.log(2)], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_minus_inf_logits(dtype: Any) -> None:
    z = np.array([[-np.inf, 1.0, 0.0], [2.0, -np.inf, -np.inf]], dtype=dtype)
    y = np.array([1, 0])
    for loss in (softmax_cross_entropy, softmax_squared_error):
        value, grad = loss(z, y, reduction="none", return_grad=True)
        assert np.all(np.isfinite(value))
        assert np.all(np.isfinite(grad))
        # the same with probability targets that are 0 where the logit is -inf
        pv, pg = loss(z, np.eye(3, dtype=dtype)[y], reduction="none", return_grad=True)
        np.testing.assert_array_equal(pv, value)
        np.testing.assert_array_equal(pg, grad)
    np.testing.assert_allclose(
        softmax_cross_entropy(z, y, reduction="none"), [math.log1p(math.exp(-1)), 0.0], rtol=1e-6
    )
    # the target class at -inf: the loss is +inf, its gradient is finite
    value, grad = softmax_cross_entropy(z, np.array([0, 1]), reduction="none", return_grad=True)
    assert np.all(value == np.inf)
    np.testing.assert_allclose(grad, softmax(z, axis=-1) - np.eye(3)[[0, 1]], rtol=1e-6)
    # smoothing puts mass on every class, so any -inf logit costs +inf
    value, grad = softmax_cross_entropy(
        z, y, label_smoothing=0.1, reduction="none", return_grad=True
    )
    assert np.all(value == np.inf)
    assert np.all(np.isfinite(grad))
    # ignored samples cost nothing, even with -inf logits and the infinite logit loss
    for loss in SOFTMAX_LOSSES:
        value, grad = loss(z, np.array([-1, -1]), ignore_index=-1, return_grad=True)
        assert value == 0
        assert np.all(grad == 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_minus_inf_and_saturation(dtype: Any) -> None:
    z = np.array([-np.inf, -np.inf, -200.0, 200.0, 40.0, -40.0], dtype=dtype)
    y = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0], dtype=dtype)
    value, grad = sigmoid_binary_cross_entropy(z, y, reduction="none", return_grad=True)
    tiny = np.exp(np.asarray(-200.0, dtype))  # softplus(-200); 0 in float32
    np.testing.assert_allclose(value[:4], [0.0, np.inf, tiny, tiny], rtol=1e-6)
    np.testing.assert_allclose(value[4:], [40.0, 40.0], rtol=1e-6)  # no clamping at 100
    np.testing.assert_allclose(grad, [0.0, -1.0, tiny, -tiny, 1.0, -1.0], rtol=1e-6)
    assert sigmoid_binary_cross_entropy(np.array([-1e4]), np.array([1.0])) == 1e4
    value, grad = sigmoid_squared_error(z, y, reduction="none", return_grad=True)
    np.testing.assert_allclose(value, [0.0, 0.5, tiny**2 / 2, tiny**2 / 2, 0.5, 0.5], rtol=1e-6)
    assert np.all(np.isfinite(grad))
    assert grad[1] == 0.0  # the vanishing gradient of a confidently wrong model


@pytest.mark.parametrize("loss", ALL_LOSSES)
@pytest.mark.parametrize("weighted", [False, True])
def test_everything_ignored(loss: Any, weighted: bool) -> None:
    z = logits()
    if loss in SOFTMAX_LOSSES:
        targets: Any = np.full(N, -100)
        w: Any = WEIGHT if weighted else None
        ignore: Any = -100
    else:
        targets = np.full((N, C), 7.0)
        w = np.ones((N, C)) if weighted else None
        ignore = 7.0
    for eps in (0.0, 0.2):
        value, grad = loss(
            z, targets, ignore_index=ignore, weight=w, label_smoothing=eps, return_grad=True
        )
        assert value == 0
        assert np.all(grad == 0)
        none = loss(z, targets, ignore_index=ignore, weight=w, reduction="none")
        assert np.all(none == 0)
    if loss in SOFTMAX_LOSSES:
        value, grad = loss(z, np.eye(C)[np.full(N, 2)], ignore_index=2, return_grad=True)
        assert value == 0
        assert np.all(grad == 0)


def test_empty_batch() -> None:
    value, grad = softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, int), return_grad=True)
    assert value == 0
    assert grad.shape == (0, 3)


def test_weighted_mean_with_probability_targets() -> None:
    # "mean" divides by the total sample weight sum_i sum_c w_c p_ic, not by N
    z = logits()
    p = distributions()
    total = softmax_cross_entropy(z, p, weight=WEIGHT, reduction="sum")
    mean = softmax_cross_entropy(z, p, weight=WEIGHT)
    np.testing.assert_allclose(mean, total / np.sum(p @ WEIGHT), rtol=1e-14)


def test_sigmoid_weighted_mean_divides_by_weights() -> None:
    z = logits()
    y = expit(logits(9))
    w = np.random.default_rng(2).uniform(size=z.shape)
    total = sigmoid_binary_cross_entropy(z, y, weight=w, reduction="sum")
    np.testing.assert_allclose(
        sigmoid_binary_cross_entropy(z, y, weight=w), total / w.sum(), rtol=1e-14
    )


def test_partially_ignored_probability_targets() -> None:
    # mass on the ignored class is dropped: CE keeps the rest as it is; squared error
    # compares with the rest renormalised, and weighs the sample by the kept mass
    z = np.array([0.3, -1.0, 2.0])
    p = np.array([0.5, 0.25, 0.25])
    ce = softmax_cross_entropy(z, p, ignore_index=0, reduction="sum")
    np.testing.assert_allclose(ce, -(0.25 * log_softmax(z)[1] + 0.25 * log_softmax(z)[2]))
    se = softmax_squared_error(z, p, ignore_index=0, reduction="sum")
    np.testing.assert_allclose(se, 0.5 * 0.5 * np.sum((softmax(z) - [0, 0.5, 0.5]) ** 2))
    assert softmax_squared_error(z, p, ignore_index=0) == pytest.approx(se / 0.5)


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------

Z = np.zeros((2, 3))
Y = np.array([0, 2])
P = np.full((2, 3), 1 / 3)
S = np.full((2, 3), 0.5)

ERRORS = [
    (softmax_cross_entropy, (Z, np.array([0, 3])), {}, r"`targets` contains label 3 outside"),
    (softmax_squared_error, (Z, np.array([-1, 0])), {}, r"label -1 outside \[0, 3\)"),
    (
        logit_squared_error,
        (Z, np.array([-100, 5])),
        {"ignore_index": -100},
        r"label 5 outside \[0, 3\) and not equal to `ignore_index` -100 \(first at index \(1,\)",
    ),
    (softmax_cross_entropy, (Z, np.array([0, 1, 2])), {}, r"`targets` of class labels"),
    (softmax_cross_entropy, (Z, np.zeros((2, 3), int)), {}, r"one-hot targets as a floating"),
    (softmax_cross_entropy, (Z, np.ones((2, 4)) / 4), {}, r"`targets` of probabilities"),
    (softmax_cross_entropy, (Z, P * 1.01), {}, r"`targets` has rows that do not sum to 1"),
    (softmax_cross_entropy, (Z, np.array([[1.5, -0.5, 0]] * 2)), {}, r"`targets` contains neg"),
    (softmax_cross_entropy, (Z, P * np.nan), {}, r"`targets` contains NaN"),
    (softmax_cross_entropy, (Z, P), {"ignore_index": 3}, r"`ignore_index` must be a class"),
    (softmax_cross_entropy, (Z, P), {"ignore_index": -100}, r"`ignore_index` must be a class"),
    (softmax_cross_entropy, (Z, Y), {"ignore_index": 1.5}, r"`ignore_index` must be an int"),
    (softmax_cross_entropy, (Z, Y), {"ignore_index": True}, r"`ignore_index` must be an int"),
    (softmax_cross_entropy, (Z, Y), {"weight": np.ones(2)}, r"`weight` must have shape \(3,\)"),
    (softmax_squared_error, (Z, Y), {"weight": -np.ones(3)}, r"`weight` must be non-negative"),
    (logit_squared_error, (Z, Y), {"weight": np.array([1, np.nan, 1])}, r"`weight` must be non"),
    (softmax_cross_entropy, (Z, Y), {"label_smoothing": 1.5}, r"`label_smoothing` must be"),
    (softmax_cross_entropy, (Z, Y), {"label_smoothing": -0.1}, r"`label_smoothing` must be"),
    (sigmoid_squared_error, (Z, S), {"label_smoothing": "a"}, r"`label_smoothing` must be"),
    (softmax_cross_entropy, (Z, Y), {"reduction": "avg"}, r"`reduction` must be one of"),
    (sigmoid_squared_error, (Z, S), {"reduction": None}, r"`reduction` must be one of"),
    (softmax_cross_entropy, (Z, Y), {"axis": 2}, r"`axis` 2 is out of bounds"),
    (softmax_cross_entropy, (Z, Y), {"axis": 1.0}, r"`axis` must be an int"),
    (softmax_cross_entropy, (Z, Y), {"axis": None}, r"`axis` must be an integer; got None"),
    (softmax_squared_error, (Z, Y), {"axis": None}, r"`axis` must be an integer; got None"),
    (logit_squared_error, (Z, Y), {"axis": None}, r"`axis` must be an integer; got None"),
    (softmax_cross_entropy, (Z, Y), {"return_grad": 1}, r"`return_grad` must be True"),
    (softmax_cross_entropy, (np.zeros(()), Y), {}, r"`logits` must have at least one dim"),
    (softmax_cross_entropy, (np.zeros((2, 0)), Y), {}, r"`logits` has no classes"),
    (softmax_cross_entropy, (np.array([[0, np.inf, 0]] * 2), Y), {}, r"`logits` contains \+inf"),
    (softmax_squared_error, (np.array([[0, np.nan, 0]] * 2), Y), {}, r"`logits` contains NaN"),
    (softmax_cross_entropy, (np.full((2, 3), -np.inf), Y), {}, r"`logits` has a row whose"),
    (softmax_cross_entropy, (Z + 1j, Y), {}, r"`logits` must be real"),
    (logit_squared_error, (Z, Y), {"k": 0.0}, r"`k` must be a positive finite number"),
    (logit_squared_error, (Z, Y), {"M": -1.0}, r"`M` must be a positive finite number"),
    (logit_squared_error, (Z, Y), {"M": np.inf}, r"`M` must be a positive finite number"),
    (sigmoid_binary_cross_entropy, (Z, S + 1), {}, r"`targets` must be probabilities in \[0, 1\]"),
    (
        sigmoid_binary_cross_entropy,
        (Z, np.array([-1.0, 2.0, 0.0])),
        {"ignore_index": -1},
        r"in \[0, 1\] or equal to `ignore_index` -1; got 2.0 \(first at index \(0, 1\)",
    ),
    (sigmoid_squared_error, (Z, np.ones(4)), {}, r"`targets` with shape \(4,\) does not"),
    (sigmoid_squared_error, (Z, np.ones((3, 2, 3))), {}, r"`targets` with shape \(3, 2, 3\)"),
    (sigmoid_binary_cross_entropy, (Z, S), {"weight": np.ones(2)}, r"`weight` with shape"),
    (sigmoid_binary_cross_entropy, (Z, S), {"weight": -S}, r"`weight` must be non-negative"),
    (sigmoid_binary_cross_entropy, (Z, S), {"pos_weight": -1.0}, r"`pos_weight` must be non"),
    (sigmoid_binary_cross_entropy, (Z, S), {"pos_weight": np.ones(2)}, r"`pos_weight` with"),
    (sigmoid_binary_cross_entropy, (Z + np.inf, S), {}, r"`logits` contains \+inf"),
    (sigmoid_squared_error, (Z * np.nan, S), {}, r"`logits` contains NaN"),
    (sigmoid_squared_error, (Z, S), {"ignore_index": np.nan}, r"`ignore_index` must be a fin"),
]


@pytest.mark.parametrize(
    ("loss", "args", "kwargs", "match"),
    ERRORS,
    ids=[f"{i}-{e[0].__name__}" for i, e in enumerate(ERRORS)],
)
def test_bad_input(loss: Any, args: Any, kwargs: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        loss(*args, **kwargs)


def test_bad_input_on_array_api_strict() -> None:
    xps = pytest.importorskip("array_api_strict")
    with pytest.raises(ValueError, match=r"`targets` contains label 7 outside \[0, 3\)"):
        softmax_cross_entropy(xps.asarray(Z), xps.asarray([0, 7]))
    with pytest.raises(ValueError, match=r"`targets` has rows that do not sum to 1"):
        softmax_cross_entropy(xps.asarray(Z), xps.asarray(P * 2))


def test_validate_false_skips_data_checks() -> None:
    # checks of the data are skipped; shapes and options are still checked
    value = softmax_cross_entropy(Z, P * 2, validate=False)
    np.testing.assert_allclose(value, 2 * math.log(3))
    with pytest.raises(ValueError, match="`targets` of probabilities"):
        softmax_cross_entropy(Z, np.ones((2, 4)), validate=False)
    with pytest.raises(ValueError, match="`label_smoothing`"):
        softmax_cross_entropy(Z, Y, label_smoothing=2, validate=False)
    assert np.isfinite(sigmoid_squared_error(Z, S + 1, validate=False))


# --- value_and_grad, and the gradient buffer on bad data -------------------------------


@pytest.mark.parametrize("loss", SOFTMAX_LOSSES + SIGMOID_LOSSES)
def test_value_and_grad_equals_return_grad(loss):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    z = rng.standard_normal((5, 4))
    y = rng.integers(0, 4, 5) if loss in SOFTMAX_LOSSES else rng.uniform(0, 1, (5, 4))
    pair = il.value_and_grad(loss)(z, y, reduction="sum", label_smoothing=0.1)
    assert isinstance(pair, il.LossAndGrad)
    value, grad = loss(z, y, reduction="sum", label_smoothing=0.1, return_grad=True)
    np.testing.assert_array_equal(pair.loss, value)
    np.testing.assert_array_equal(pair.grad, grad)


def test_value_and_grad_rejects_what_it_cannot_wrap():
    with pytest.raises(ValueError, match="`loss` must be one of"):
        il.value_and_grad(il.entropy)
    with pytest.raises(ValueError, match="`return_grad` is implied"):
        il.value_and_grad(il.softmax_cross_entropy)(Z, Y, return_grad=True)


@pytest.mark.parametrize("n", [4, 20_000])  # the array-API path, and the compiled kernels
def test_grad_out_is_untouched_when_validation_fails(n):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((n, 3))
    z[n // 2, 1] = np.nan
    y = rng.integers(0, 3, n)
    buf = np.full_like(z, 7.0)
    with pytest.raises(ValueError, match="`logits` contains NaN"):
        il.softmax_cross_entropy(z, y, return_grad=True, grad_out=buf)
    assert np.all(buf == 7.0)


# ------------------------------------------------------------------ the routes


def test_a_registered_route_takes_its_library_and_none_falls_back(monkeypatch):
    from infoloss.losses import _routes

    xp = pytest.importorskip("array_api_strict")
    z = np.random.default_rng(0).standard_normal((3, C, 2))
    y = np.array([[0, 1], [3, 2], [1, 1]])
    seen: list[Any] = []

    def route(call):
        seen.append(call)
        return "from the route" if call.spec.reduction == "sum" else None

    monkeypatch.setitem(_routes._ROUTES, "array_api_strict", route)
    zs, ys = xp.asarray(z), xp.asarray(y)
    assert softmax_cross_entropy(zs, ys, axis=1, reduction="sum") == "from the route"
    call = seen[0]
    assert isinstance(call, _routes.SoftmaxCall)
    assert (call.axis, call.return_grad, call.grad_out) == (1, False, None)
    assert tuple(call.z.shape) == (3, 2, C)  # the class axis last
    assert [len(call.checks.logits), len(call.checks.targets), call.checks.weight] == [3, 1, []]
    fallback = softmax_cross_entropy(zs, ys, axis=1)
    assert len(seen) == 2
    assert float(fallback) == pytest.approx(float(softmax_cross_entropy(z, y, axis=1)), rel=1e-12)


def test_soft_capped_logits_have_only_the_nan_check():
    from infoloss._options import loss_spec
    from infoloss.losses._targets import prepare_softmax

    z, y = np.zeros((2, C)), np.array([0, 1])
    plain = prepare_softmax(z, y, None, loss_spec(axis=-1))[4]
    capped = prepare_softmax(z, y, None, loss_spec(axis=-1, softcap=2.0))[4]
    assert len(plain.logits) == 3
    assert [c.message("", None) for c in capped.logits] == ["`logits` contains NaN"]
    assert len(capped.targets) == len(plain.targets) == 1
    with pytest.raises(ValueError, match="`logits` contains NaN"):
        softmax_cross_entropy(np.array([[np.nan, 0.0]]), np.array([0]), softcap=2.0)
    assert np.isfinite(softmax_cross_entropy(np.array([[np.inf, 0.0]]), np.array([0]), softcap=2.0))
