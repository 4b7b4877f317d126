"""The softmax cross-entropy's z-loss (``lse_square_scale``) and logit soft-capping
(``softcap``) on every path: the array-API code, the compiled kernels (forward, backward,
fused), ``value_and_grad``, the PyTorch operators and drop-ins, the JAX operation and the
linear cross-entropy.

Oracles: the explicit formula, written out here independently of the library, in
mpmath (50 digits) and in float64 NumPy; its gradient by PyTorch's autograd and by
central finite differences.  With ζ = c·tanh(z/c) (ζ = z without a cap), the smoothed
weighted target p̃ and the sample weight s = Σ_c w_c u_c::

    ℓ = Σ_c w_c p̃_c (lse(ζ) − ζ_c) + λ·s·lse(ζ)²
"""

from __future__ import annotations

import functools
from typing import Any

import mpmath
import numpy as np
import pytest

import infoloss as il
from infoloss._kernels import _layout, use_kernels
from infoloss.losses import linear_cross_entropy, softmax_cross_entropy, value_and_grad

mp = mpmath.mp

C_SHORT = 410  # (40, 410): MIN_SIZE entries, rows within one kernel chunk
C_LONG = 2100  # (8, 2100): rows longer than the kernels' chunk of 2048
OPTIONS = [
    {"softcap": 3.0},
    {"lse_square_scale": 0.02},
    {"softcap": 2.5, "lse_square_scale": 0.1},
]


# ------------------------------------------------------------------- the references


def _pieces(t: np.ndarray, c: int, ignore: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(u, keep) of labels or probability targets: the kept target mass and its total."""
    if t.dtype.kind in "iu":
        keep = np.ones(t.shape) if ignore is None else (t != ignore).astype(np.float64)
        u = np.eye(c)[np.where(keep > 0, t, 0)] * keep[..., None]
        return u, keep
    u = np.array(t, dtype=np.float64)
    keep = np.ones(t.shape[:-1])
    if ignore is not None:
        keep = 1 - u[..., ignore]
        u[..., ignore] = 0
    return u, keep


def reference(
    z: Any,
    t: Any,
    *,
    weight: Any = None,
    eps: float = 0.0,
    ignore: int | None = None,
    lam: float = 0.0,
    cap: float | None = None,
    reduction: str = "none",
) -> Any:
    """The loss by the explicit formula in float64 NumPy."""
    z = np.asarray(z, dtype=np.float64)
    t = np.asarray(t)
    c = z.shape[-1]
    zeta = z if cap is None else cap * np.tanh(z / cap)
    m = np.max(zeta, axis=-1, keepdims=True)
    lse = m[..., 0] + np.log(np.sum(np.exp(zeta - m), axis=-1))
    u, keep = _pieces(t, c, ignore)
    w = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    a = w * ((1 - eps) * u + eps * keep[..., None] / c)
    with np.errstate(invalid="ignore"):
        terms = np.where(a == 0, 0.0, a * (lse[..., None] - zeta))
    s = np.sum(w * u, axis=-1)
    loss = np.sum(terms, axis=-1) + lam * s * lse**2
    if reduction == "none":
        return loss
    total = np.sum(loss)
    if reduction == "sum":
        return total
    return total / np.sum(s) if np.sum(s) > 0 else 0.0


def reference_mp(z: Any, y: Any, *, eps: float, lam: float, cap: float | None) -> list[Any]:
    """Per-sample losses of integer labels in mpmath, straight from the definition."""
    out = []
    for row, yi in zip(np.asarray(z, dtype=np.float64), np.asarray(y), strict=True):
        zeta = [mpmath.mpf(float(v)) for v in row]
        if cap is not None:
            zeta = [cap * mpmath.tanh(v / cap) for v in zeta]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in zeta))
        n = len(zeta)
        ce = (1 - mpmath.mpf(eps)) * (lse - zeta[int(yi)])
        ce += mpmath.mpf(eps) / n * mpmath.fsum(lse - v for v in zeta)
        out.append(ce + lam * lse**2)
    return out


def torch_reference(torch: Any, z: Any, t: Any, **kw: Any) -> Any:
    """The same formula written in PyTorch operations (gradients by autograd)."""
    c = z.shape[-1]
    cap, lam, eps = kw.get("cap"), kw.get("lam", 0.0), kw.get("eps", 0.0)
    zeta = z if cap is None else cap * torch.tanh(z / cap)
    lse = torch.logsumexp(zeta, -1)
    u, keep = (torch.from_numpy(a) for a in _pieces(np.asarray(t), c, kw.get("ignore")))
    w = torch.ones(c, dtype=z.dtype) if kw.get("weight") is None else torch.tensor(kw["weight"])
    a = w * ((1 - eps) * u + eps * keep[..., None] / c)
    loss = (a * (lse[..., None] - zeta)).sum(-1) + lam * (w * u).sum(-1) * lse**2
    s = (w * u).sum()
    return loss.sum() / s if kw.get("reduction") == "mean" else loss


def _data(n: int, c: int, dtype: Any = np.float64, seed: int = 0) -> tuple[Any, Any, Any, Any]:
    """Logits (with a wide spread, so the cap bends them), labels (every third -100),
    probability targets and class weights."""
    rng = np.random.default_rng(seed)
    z = (6 * rng.standard_normal((n, c))).astype(dtype)
    y = rng.integers(0, c, n)
    y[::3] = -100
    p = rng.random((n, c)) ** 3
    p = (p / p.sum(axis=-1, keepdims=True)).astype(dtype)
    w = rng.uniform(0.25, 2.0, c)
    return z, y, p, w


def _ref_options(opts: dict[str, Any]) -> dict[str, Any]:
    return {"cap": opts.get("softcap"), "lam": opts.get("lse_square_scale", 0.0)}


def _tol(dtype: Any) -> dict[str, float]:
    return {"rtol": 2e-5, "atol": 2e-6} if dtype == np.float32 else {"rtol": 1e-11, "atol": 1e-13}


# ---------------------------------------------------------------------- values


@pytest.mark.parametrize("opts", OPTIONS)
def test_values_match_mpmath(opts: dict[str, Any]) -> None:
    mp.dps = 50
    z, y, _, _ = _data(5, 7, seed=1)
    y = np.abs(y) % 7
    for eps in (0.0, 0.2):
        expected = reference_mp(z, y, eps=eps, **_ref_options(opts))
        got = softmax_cross_entropy(z, y, label_smoothing=eps, reduction="none", **opts)
        np.testing.assert_allclose(got, [float(v) for v in expected], rtol=1e-13, atol=0)


@pytest.mark.parametrize("kernels", [True, False])
@pytest.mark.parametrize("c", [C_SHORT, C_LONG])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("opts", OPTIONS)
def test_values_match_the_formula_on_both_implementations(
    opts: dict[str, Any], dtype: Any, c: int, kernels: bool
) -> None:
    n = _layout.MIN_SIZE // c + 1
    z, y, p, w = _data(n, c, dtype)
    cases = [(y, {"ignore_index": -100}), (p, {"ignore_index": 3}), (p, {})]
    with use_kernels(kernels):
        for t, extra in cases:
            for reduction in ("none", "mean", "sum"):
                got = softmax_cross_entropy(
                    z, t, weight=w, label_smoothing=0.1, reduction=reduction, **extra, **opts
                )
                ignore = extra.get("ignore_index")
                want = reference(
                    z, t, weight=w, eps=0.1, ignore=ignore, reduction=reduction,
                    **_ref_options(opts),
                )  # fmt: skip
                np.testing.assert_allclose(got, want, **_tol(dtype))
                assert np.asarray(got).dtype == dtype


def test_the_options_are_inert_at_their_defaults() -> None:
    z, y, _, w = _data(40, C_SHORT)
    for kernels in (True, False):
        with use_kernels(kernels):
            plain = softmax_cross_entropy(z, y, weight=w, ignore_index=-100, return_grad=True)
            off = softmax_cross_entropy(
                z, y, weight=w, ignore_index=-100, return_grad=True,
                softcap=None, lse_square_scale=0.0,
            )  # fmt: skip
        assert plain.loss == off.loss
        np.testing.assert_array_equal(plain.grad, off.grad)


# ------------------------------------------------------------------- gradients


def _finite_differences(f: Any, z: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.empty_like(z)
    for idx in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[idx] = h
        g[idx] = (f(z + e) - f(z - e)) / (2 * h)
    return g


@pytest.mark.parametrize("kind", ["labels", "probs"])
@pytest.mark.parametrize("opts", OPTIONS)
def test_gradient_matches_finite_differences(opts: dict[str, Any], kind: str) -> None:
    z, y, p, w = _data(4, 5, seed=2)
    t, ign = (y, -100) if kind == "labels" else (p, 1)
    kw = {"weight": w, "label_smoothing": 0.15, "ignore_index": ign, **opts}
    _, grad = value_and_grad(softmax_cross_entropy)(z, t, **kw)
    fd = _finite_differences(lambda x: float(softmax_cross_entropy(x, t, **kw)), z)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kernels", [True, False])
@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("kind", ["labels", "probs"])
@pytest.mark.parametrize("opts", OPTIONS)
def test_gradient_matches_torch_autograd_of_the_formula(
    opts: dict[str, Any], kind: str, reduction: str, kernels: bool
) -> None:
    torch = pytest.importorskip("torch")
    z, y, p, w = _data(40, C_SHORT, seed=3)
    t, ign = (y, -100) if kind == "labels" else (p, 2)
    up = np.linspace(-1.0, 2.0, z.shape[0])
    zt = torch.tensor(z, requires_grad=True)
    ref = torch_reference(
        torch, zt, t, weight=w, eps=0.1, ignore=ign, reduction=reduction,
        **_ref_options(opts),
    )  # fmt: skip
    (ref if reduction == "mean" else (ref * torch.from_numpy(up)).sum()).backward()
    with use_kernels(kernels):
        kw = {"weight": w, "label_smoothing": 0.1, "ignore_index": ign, "reduction": reduction}
        loss, grad = value_and_grad(softmax_cross_entropy)(z, t, **kw, **opts)
        if reduction == "none":  # the gradient of Σ upstream·ℓ, through grad_out too
            g2 = np.empty_like(z)
            softmax_cross_entropy(z, t, **kw, **opts, return_grad=True, grad_out=g2)
            # (rounded differently: the backward recomputes q from the saved lse)
            np.testing.assert_allclose(g2, grad, rtol=1e-12, atol=1e-14 * np.abs(grad).max())
            grad = grad * up[:, None]
    want = zt.grad.numpy()
    np.testing.assert_allclose(loss, ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    # A gradient entry A·q − a can cancel: compare at the scale of the largest one.
    np.testing.assert_allclose(grad, want, rtol=1e-10, atol=1e-13 * np.abs(want).max())


@pytest.mark.parametrize("c", [C_SHORT, C_LONG])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("opts", OPTIONS)
def test_kernels_agree_with_the_array_api_code(
    opts: dict[str, Any], dtype: Any, c: int, monkeypatch: Any
) -> None:
    """Forward, fused, and forward-then-backward (``grad_out``) against the array-API
    code; the soft-capped logits through buffers of three rows (several per thread)."""
    from infoloss._kernels import softmax as kernels

    monkeypatch.setattr(kernels, "_CAP_BYTES", 3 * c * np.dtype(dtype).itemsize)
    blocks = []
    real = kernels._cap_rows_per_buffer
    monkeypatch.setattr(kernels, "_cap_rows_per_buffer", lambda *a: blocks.append(real(*a)) or 3)
    n = _layout.MIN_SIZE // c + 2
    z, y, p, w = _data(n, c, dtype, seed=4)
    for t, ign in ((y, -100), (p, 0), (p, None)):
        kw = {"weight": w, "label_smoothing": 0.05, "ignore_index": ign, **opts}
        for reduction in ("mean", "sum", "none"):
            with use_kernels(False):
                want = softmax_cross_entropy(z, t, reduction=reduction, return_grad=True, **kw)
            fused = softmax_cross_entropy(z, t, reduction=reduction, return_grad=True, **kw)
            g = np.full_like(z, np.nan)
            two = softmax_cross_entropy(
                z, t, reduction=reduction, return_grad=True, grad_out=g, **kw
            )
            scale = float(np.max(np.abs(want.grad)))
            for got in (fused, two):
                np.testing.assert_allclose(got.loss, want.loss, **_tol(dtype))
                np.testing.assert_allclose(got.grad, want.grad, rtol=_tol(dtype)["rtol"],
                                           atol=_tol(dtype)["rtol"] * scale)  # fmt: skip
    # per target kind and reduction: the fused call, and the forward then the backward
    assert (blocks == [3] * 27) if "softcap" in opts else not blocks


# --------------------------------------------------- weights, ignore_index, reductions


def test_zloss_is_weighted_like_the_sample() -> None:
    """λ·s_i·lse_i² with s_i the sample weight: scaling every class weight by a constant
    leaves the "mean" unchanged (it is a weighted mean of whole per-sample losses), an
    ignored or zero-weight sample adds nothing, and "none" gives s_i times the
    unweighted per-sample loss for labels."""
    z, y, _, w = _data(40, C_SHORT, seed=5)
    w[y[1]] = 0.0
    kw = {"ignore_index": -100, "lse_square_scale": 0.3, "softcap": 4.0}
    for kernels in (True, False):
        with use_kernels(kernels):
            base = softmax_cross_entropy(z, y, weight=w, **kw)
            scaled = softmax_cross_entropy(z, y, weight=7.5 * w, **kw)
            per = softmax_cross_entropy(z, y, weight=w, reduction="none", **kw)
            plain = softmax_cross_entropy(z, y, reduction="none", **kw)
        np.testing.assert_allclose(scaled, base, rtol=1e-13)
        assert per[0] == 0.0  # ignored
        assert per[1] == 0.0  # weight 0
        s = np.where(y == -100, 0.0, w[np.where(y == -100, 0, y)])
        np.testing.assert_allclose(per, s * plain, rtol=1e-13, atol=0)


def test_every_sample_ignored_gives_zero_with_a_zero_gradient() -> None:
    z, _, _, w = _data(40, C_SHORT, seed=6)
    y = np.full(40, -100)
    for kernels in (True, False):
        with use_kernels(kernels):
            loss, grad = value_and_grad(softmax_cross_entropy)(
                z, y, weight=w, ignore_index=-100, lse_square_scale=0.5, softcap=2.0
            )
        assert loss == 0.0
        assert not np.any(grad)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_ignore_index_weights_and_smoothing_combined(reduction: str) -> None:
    z, y, p, w = _data(6, 5, seed=7)
    opts = {"softcap": 1.5, "lse_square_scale": 0.25}
    for t, ign in ((y, -100), (p, 4)):
        got = softmax_cross_entropy(
            z, t, weight=w, label_smoothing=0.3, ignore_index=ign, reduction=reduction, **opts
        )
        want = reference(
            z, t, weight=w, eps=0.3, ignore=ign, reduction=reduction, **_ref_options(opts)
        )
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------- bad input and edges


@pytest.mark.parametrize("kernels", [True, False])
def test_capped_infinities_are_legal_and_nan_is_not(kernels: bool) -> None:
    """With soft-capping the checks apply to c·tanh(z/c): ±inf become ±c (with a zero
    gradient), a row of -inf is uniform; NaN is still an error.  Without it, +inf and a
    row of -inf stay errors."""
    z, y, _, _ = _data(40, C_SHORT, seed=8)
    y = np.abs(y) % C_SHORT
    z[0, 3] = np.inf
    z[1, y[1]] = -np.inf
    z[2] = -np.inf
    with use_kernels(kernels):
        loss, grad = value_and_grad(softmax_cross_entropy)(
            z, y, reduction="none", softcap=5.0, lse_square_scale=0.1
        )
        want = reference(z, y, cap=5.0, lam=0.1)
        np.testing.assert_allclose(loss, want, rtol=1e-12)
        lse2 = -5.0 + np.log(C_SHORT)
        np.testing.assert_allclose(loss[2], np.log(C_SHORT) + 0.1 * lse2**2, rtol=1e-12)
        assert np.all(np.isfinite(grad))
        assert grad[0, 3] == 0.0
        assert grad[1, y[1]] == 0.0
        assert not np.any(grad[2])
        for bad, text in ((np.inf, r"\+inf"), (-np.inf, "all -inf")):
            zb = z.copy()
            zb[:3] = 0.0
            zb[5] = -np.inf
            zb[5, 0] = bad
            with pytest.raises(ValueError, match=f"`logits`.*{text}"):
                softmax_cross_entropy(zb, y, lse_square_scale=0.1)
        z[4, 7] = np.nan
        with pytest.raises(ValueError, match=r"`logits` contains NaN \(first at index \(4, 7\)\)"):
            softmax_cross_entropy(z, y, softcap=5.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("lse_square_scale", -0.1),
        ("lse_square_scale", float("nan")),
        ("lse_square_scale", float("inf")),
        ("lse_square_scale", "0.1"),
        ("lse_square_scale", None),
        ("lse_square_scale", True),
        ("softcap", 0.0),
        ("softcap", -3.0),
        ("softcap", float("inf")),
        ("softcap", float("nan")),
        ("softcap", "30"),
        ("softcap", False),
    ],
)
def test_bad_option_values_are_named(name: str, value: Any) -> None:
    z, y, _, _ = _data(3, 4)
    y = np.abs(y) % 4
    h, w = np.ones((3, 2)), np.ones((4, 2))
    calls = [
        functools.partial(softmax_cross_entropy, z, y),
        functools.partial(value_and_grad(softmax_cross_entropy), z, y),
        functools.partial(linear_cross_entropy, h, w, y),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=f"^`{name}` must be"):
            call(**{name: value})


def test_numbers_of_other_types_are_accepted() -> None:
    z, y, _, _ = _data(3, 4)
    y = np.abs(y) % 4
    a = softmax_cross_entropy(z, y, softcap=np.float32(2.0), lse_square_scale=np.int64(1))
    b = softmax_cross_entropy(z, y, softcap=2, lse_square_scale=1.0)
    assert a == b


# ------------------------------------------------------------------ linear cross-entropy


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("opts", OPTIONS)
def test_linear_cross_entropy_matches_the_unfused_loss(
    opts: dict[str, Any], reduction: str
) -> None:
    rng = np.random.default_rng(9)
    h, wt = rng.standard_normal((11, 6)), 2 * rng.standard_normal((30, 6))
    b, cw = rng.standard_normal(30), rng.uniform(0.5, 2.0, 30)
    y = rng.integers(0, 30, 11)
    y[::4] = -100
    kw = {"label_smoothing": 0.1, "ignore_index": -100, "reduction": reduction, **opts}
    ref, g = softmax_cross_entropy(h @ wt.T + b, y, weight=cw, return_grad=True, **kw)
    for kernels in (True, False):
        with use_kernels(kernels):
            out = linear_cross_entropy(
                h, wt, y, bias=b, class_weight=cw, chunk_size=4, return_grad=True, **kw
            )
        np.testing.assert_allclose(out.loss, ref, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(out.grad_hidden, g @ wt, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(out.grad_weight, g.T @ h, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(out.grad_bias, g.sum(axis=0), rtol=1e-10, atol=1e-13)


# -------------------------------------------------------------------------- PyTorch


@pytest.fixture
def torch() -> Any:
    return pytest.importorskip("torch")


@pytest.fixture
def ilt() -> Any:
    return pytest.importorskip("infoloss.torch")


def _torch_case(torch: Any, shape: tuple[int, ...]) -> tuple[Any, Any, Any]:
    z, y, _, w = _data(int(np.prod(shape[:-1])), shape[-1], seed=10)
    return torch.tensor(z).reshape(shape), torch.tensor(y).reshape(shape[:-1]), torch.tensor(w)


@pytest.mark.parametrize("kind", ["labels", "probs"])
def test_torch_opcheck_with_the_options(torch: Any, ilt: Any, kind: str) -> None:
    z, y, w = _torch_case(torch, (7, 5))
    z.requires_grad_(True)
    t = y.abs() % 5 if kind == "labels" else torch.softmax(torch.randn(7, 5, dtype=z.dtype), -1)
    ign = -100 if kind == "labels" else None
    t = torch.where(y == -100, -100, t) if kind == "labels" else t
    for cap, lam in ((3.0, 0.0), (None, 0.2), (2.0, 0.1)):
        args = (z, t, w, 0.1, ign, True, cap, lam)
        torch.library.opcheck(torch.ops.infoloss.softmax_xent_forward.default, args)
        lse = torch.logsumexp(z.detach() if cap is None else cap * torch.tanh(z.detach() / cap), -1)
        up = torch.linspace(-1.0, 2.0, 7, dtype=torch.float64)
        bargs = (z.detach(), t, w, 0.1, ign, lse, up, cap, lam)
        torch.library.opcheck(torch.ops.infoloss.softmax_xent_backward.default, bargs)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_torch_gradcheck_with_the_options(torch: Any, ilt: Any, reduction: str) -> None:
    z, _, _ = _torch_case(torch, (3, 4, 2))
    z = z.movedim(-1, 1).contiguous().requires_grad_(True)  # class axis 1: (3, 2, 4)
    yl = torch.tensor([[0, 1, -100, 1], [1, 1, 0, -100], [0, 0, 1, 1]])
    wt = torch.tensor([0.5, 2.0], dtype=torch.float64)

    def fn(x: Any) -> Any:
        return ilt.cross_entropy(
            x, yl, wt, reduction=reduction, label_smoothing=0.1,
            lse_square_scale=0.2, softcap=1.5,
        )  # fmt: skip

    assert torch.autograd.gradcheck(fn, (z,), fast_mode=True)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_torch_drop_in_and_route_match_the_numpy_path(torch: Any, ilt: Any, reduction: str) -> None:
    z, y, _, w = _data(40, C_SHORT, seed=11)
    opts = {"softcap": 3.0, "lse_square_scale": 0.05}
    up = np.linspace(-1.0, 2.0, 40)
    want, g = softmax_cross_entropy(
        z, y, weight=w, ignore_index=-100, label_smoothing=0.1, reduction=reduction,
        return_grad=True, **opts,
    )  # fmt: skip
    if reduction == "none":
        g = g * up[:, None]
    zt = torch.tensor(z, requires_grad=True)
    forms = [
        lambda x: ilt.cross_entropy(
            x, torch.tensor(y), torch.tensor(w), label_smoothing=0.1, reduction=reduction, **opts
        ),
        lambda x: ilt.CrossEntropyLoss(
            torch.tensor(w), label_smoothing=0.1, reduction=reduction, **opts
        )(x, torch.tensor(y)),
        lambda x: il.softmax_cross_entropy(
            x, torch.tensor(y), weight=torch.tensor(w), ignore_index=-100, label_smoothing=0.1,
            reduction=reduction, **opts,
        ),
    ]  # fmt: skip
    for form in forms:
        zt.grad = None
        loss = form(zt)
        (loss if reduction == "mean" else (loss * torch.tensor(up)).sum()).backward()
        np.testing.assert_allclose(loss.detach().numpy(), want, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(zt.grad.numpy(), g, rtol=1e-10, atol=1e-14)


def test_torch_module_repr_shows_the_options_when_set(torch: Any, ilt: Any) -> None:
    assert "softcap" not in repr(ilt.CrossEntropyLoss())
    text = repr(ilt.CrossEntropyLoss(lse_square_scale=1e-4, softcap=30.0))
    assert "lse_square_scale=0.0001, softcap=30.0" in text
    with pytest.raises(ValueError, match=r"^`softcap` must be"):
        ilt.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), softcap=-1.0)


def test_torch_compile_fullgraph_with_the_options(torch: Any, ilt: Any) -> None:
    torch._dynamo.reset()
    opts = {"lse_square_scale": 0.1, "softcap": 2.0, "label_smoothing": 0.1}
    fn = torch.compile(
        functools.partial(ilt.cross_entropy, **opts), fullgraph=True, backend="aot_eager"
    )
    z, y, _ = _torch_case(torch, (6, 5))
    z = z.float()
    y = torch.where(y == -100, -100, y.abs() % 5)

    def run(f: Any) -> tuple[Any, Any]:
        x = z.clone().requires_grad_(True)
        loss = f(x, y)
        loss.backward()
        return loss.detach(), x.grad

    got = run(fn)
    want = run(functools.partial(ilt.cross_entropy, **opts))
    torch.testing.assert_close(got[0], want[0])
    torch.testing.assert_close(got[1], want[1])


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_torch_linear_cross_entropy_with_the_options(torch: Any, ilt: Any, reduction: str) -> None:
    rng = np.random.default_rng(12)
    h, wt = rng.standard_normal((10, 6)), 2 * rng.standard_normal((25, 6))
    y = rng.integers(0, 25, 10)
    y[::3] = -100
    opts = {"lse_square_scale": 0.1, "softcap": 2.0, "label_smoothing": 0.1}
    up = np.linspace(0.5, 2.0, 10)
    ref, g = softmax_cross_entropy(
        h @ wt.T, y, ignore_index=-100, reduction=reduction, return_grad=True, **opts
    )
    if reduction == "none":
        g = g * up[:, None]
    ht, wtt = torch.tensor(h, requires_grad=True), torch.tensor(wt, requires_grad=True)
    loss = ilt.linear_cross_entropy(
        ht, wtt, torch.tensor(y), ignore_index=-100, reduction=reduction, chunk_size=3, **opts
    )
    (loss if reduction == "mean" else (loss * torch.tensor(up)).sum()).backward()
    np.testing.assert_allclose(loss.detach().numpy(), ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ht.grad.numpy(), g @ wt, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(wtt.grad.numpy(), g.T @ h, rtol=1e-10, atol=1e-13)


# ------------------------------------------------------------------------------ JAX


@pytest.fixture
def jax() -> Any:
    jax = pytest.importorskip("jax")
    pytest.importorskip("infoloss.jax")
    jax.config.update("jax_enable_x64", True)
    return jax


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_jax_check_grads_with_the_options(jax: Any, reduction: str) -> None:
    import jax.numpy as jnp
    from jax.test_util import check_grads

    import infoloss.jax as ilj

    z, y, p, w = _data(40, C_SHORT, seed=13)
    zj, yj, pj, wj = (jnp.asarray(a) for a in (z, y, p, w))
    opts = {"lse_square_scale": 0.05, "softcap": 4.0, "label_smoothing": 0.1}
    weights = jnp.linspace(0.5, 1.5, 40)

    def by_label(a: Any, b: Any) -> Any:
        a, b = jnp.asarray(a), jnp.asarray(b)
        out = ilj.softmax_cross_entropy(
            a, yj, weight=b, ignore_index=-100, reduction=reduction, validate=False, **opts
        )
        return jnp.sum(out * weights) if reduction == "none" else out

    def by_probs(a: Any, b: Any, c: Any) -> Any:
        a, b, c = jnp.asarray(a), jnp.asarray(b), jnp.asarray(c)
        out = ilj.softmax_cross_entropy(a, b, weight=c, reduction=reduction, validate=False, **opts)
        return jnp.sum(out * weights) if reduction == "none" else out

    check_grads(by_label, (zj, wj), order=1, modes=("rev",))
    check_grads(by_probs, (zj, pj, wj), order=1, modes=("rev",))
    # The kernels' gradients (logits, targets, weights) equal jax.numpy's autodiff.
    for fn, args in ((by_label, (zj, wj)), (by_probs, (zj, pj, wj))):
        argnums = tuple(range(len(args)))
        got = jax.grad(fn, argnums=argnums)(*args)
        with use_kernels(False):  # traced here, so jax.numpy throughout (jit: one compile)
            want = jax.jit(jax.grad(fn, argnums=argnums))(*args)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_jax_jit_and_value_match_the_numpy_path(jax: Any) -> None:
    import jax.numpy as jnp

    import infoloss.jax as ilj

    z, y, _, w = _data(40, C_SHORT, seed=14)
    opts = {"lse_square_scale": 0.05, "softcap": 4.0, "label_smoothing": 0.1}
    want, g = softmax_cross_entropy(z, y, weight=w, ignore_index=-100, return_grad=True, **opts)

    @jax.jit
    def step(a: Any) -> Any:
        return jax.value_and_grad(
            lambda x: ilj.softmax_cross_entropy(
                x, jnp.asarray(y), weight=jnp.asarray(w), ignore_index=-100, **opts
            )
        )(a)

    value, grad = step(jnp.asarray(z))
    np.testing.assert_allclose(value, want, rtol=1e-12)
    np.testing.assert_allclose(grad, g, rtol=1e-10, atol=1e-14)
    bad = z.copy()
    bad[2, 2] = np.nan
    assert np.isnan(step(jnp.asarray(bad))[0])
    inf = z.copy()
    inf[2, 2] = np.inf  # capped to c: legal
    assert np.isfinite(step(jnp.asarray(inf))[0])


def test_torch_ops_path_with_the_options(torch: Any, ilt: Any) -> None:
    """Kernels off (as on CUDA): autograd through the array-API code on tensors."""
    z, y, _, w = _data(6, 5, seed=15)
    opts = {"softcap": 2.0, "lse_square_scale": 0.3, "label_smoothing": 0.1}
    want, g = softmax_cross_entropy(z, y, weight=w, ignore_index=-100, return_grad=True, **opts)
    zt = torch.tensor(z, requires_grad=True)
    with use_kernels(False):
        loss = ilt.cross_entropy(zt, torch.tensor(y), torch.tensor(w), **opts)
    loss.backward()
    np.testing.assert_allclose(loss.detach().numpy(), want, rtol=1e-13)
    np.testing.assert_allclose(zt.grad.numpy(), g, rtol=1e-11, atol=1e-15)
