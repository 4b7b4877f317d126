"""linear_cross_entropy: values and gradients equal the unfused reference (the logits
materialised, softmax_cross_entropy, the gradient chained by hand; torch autograd through
F.linear + F.cross_entropy), for every option, reduction and chunking; bad input errors."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from infoloss import LinearLossAndGrads, linear_cross_entropy, softmax_cross_entropy
from infoloss._kernels import use_kernels

TOL = {np.float32: {"rtol": 2e-4, "atol": 2e-5}, np.float64: {"rtol": 1e-9, "atol": 1e-11}}


def data(n=23, d=6, v=40, dtype=np.float64, seed=0, ignore=None):
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(n, d)).astype(dtype)
    w = rng.normal(size=(v, d)).astype(dtype)
    b = rng.normal(size=v).astype(dtype)
    y = rng.integers(0, v, n)
    if ignore is not None:
        y[::3] = ignore
    cw = rng.uniform(0.2, 2.0, v)
    return h, w, b, y, cw


def reference(h, w, b, y, *, class_weight=None, **opts):
    """The unfused reference: logits materialised, the gradient chained by hand."""
    z = h @ w.T if b is None else h @ w.T + b
    loss, g = softmax_cross_entropy(z, y, weight=class_weight, return_grad=True, **opts)
    return loss, g @ w, g.T @ h, None if b is None else g.sum(axis=0)


def assert_same(out, ref, dtype):
    tol = TOL[dtype]
    assert isinstance(out, LinearLossAndGrads)
    for got, want in zip(out, ref, strict=True):
        if want is None:
            assert got is None
            continue
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **tol)


OPTIONS = list(
    itertools.product(
        [np.float32, np.float64],
        ["mean", "sum", "none"],
        [0.0, 0.15],  # label_smoothing
        [None, -100],  # ignore_index
        [False, True],  # class weights
        [False, True],  # bias
    )
)


@pytest.mark.parametrize(("dtype", "reduction", "eps", "ignore", "weighted", "biased"), OPTIONS)
def test_equals_unfused_reference(dtype, reduction, eps, ignore, weighted, biased):
    h, w, b, y, cw = data(dtype=dtype, ignore=ignore)
    opts = {"label_smoothing": eps, "ignore_index": ignore, "reduction": reduction}
    b = b if biased else None
    cw = cw if weighted else None
    ref = reference(h, w, b, y, class_weight=cw, **opts)
    for chunk in (None, 1, 7):  # 23 rows: one chunk, every row, and a ragged last chunk
        out = linear_cross_entropy(
            h, w, y, bias=b, class_weight=cw, chunk_size=chunk, return_grad=True, **opts
        )
        assert_same(out, ref, dtype)
        loss = linear_cross_entropy(h, w, y, bias=b, class_weight=cw, chunk_size=chunk, **opts)
        np.testing.assert_allclose(loss, ref[0], **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_long_rows_and_kernels_off(dtype):
    # V > 2048: the kernels' chunked rows; the array-API path (kernels off) agrees.
    h, w, b, y, cw = data(n=9, d=5, v=5000, dtype=dtype, ignore=-1)
    opts = {"label_smoothing": 0.1, "ignore_index": -1, "class_weight": cw, "bias": b}
    ref = reference(h, w, b, y, class_weight=cw, label_smoothing=0.1, ignore_index=-1)
    assert_same(linear_cross_entropy(h, w, y, chunk_size=4, return_grad=True, **opts), ref, dtype)
    with use_kernels(False):
        out = linear_cross_entropy(h, w, y, chunk_size=4, return_grad=True, **opts)
    assert_same(out, ref, dtype)


def test_grad_weight_in_blocks_of_classes(monkeypatch):
    # NumPy accumulates grad_weight through a buffer of a few classes at a time
    import infoloss.losses.linear as linear

    monkeypatch.setattr(linear, "_BLOCK_BYTES", 7 * 6 * 8)  # blocks of 7 of 40 classes
    h, w, b, y, cw = data()
    ref = reference(h, w, b, y, class_weight=cw, label_smoothing=0.1)
    out = linear_cross_entropy(
        h, w, y, bias=b, class_weight=cw, label_smoothing=0.1, chunk_size=5, return_grad=True
    )
    assert_same(out, ref, np.float64)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_all_ignored(reduction):
    h, w, b, y, _ = data()
    y[:] = -100
    out = linear_cross_entropy(
        h, w, y, bias=b, ignore_index=-100, reduction=reduction, chunk_size=5, return_grad=True
    )
    assert np.all(out.loss == 0)
    for g in out[1:]:
        assert np.all(g == 0)


def test_zero_rows():
    h, w, b, _, _ = data(n=0)
    out = linear_cross_entropy(h, w, np.zeros(0, np.int64), bias=b, return_grad=True)
    assert out.loss == 0
    assert out.grad_hidden.shape == (0, 6)
    assert np.all(out.grad_weight == 0)
    assert np.all(out.grad_bias == 0)


def test_lists_and_mixed_dtypes():
    h, w, _, y, _ = data(n=4, d=3, v=5)
    w = w.astype(np.float32).astype(np.float64)
    ref = reference(h, w, None, y)
    out = linear_cross_entropy(h.tolist(), w.astype(np.float32), y.tolist(), return_grad=True)
    assert_same(out, ref, np.float64)


def test_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    h, w, b, y, cw = data(ignore=-100)
    for reduction, eps in itertools.product(["mean", "sum", "none"], [0.0, 0.2]):
        th, tw, tb = (torch.tensor(a, requires_grad=True) for a in (h, w, b))
        loss = F.cross_entropy(
            F.linear(th, tw, tb),
            torch.tensor(y),
            weight=torch.tensor(cw),
            ignore_index=-100,
            label_smoothing=eps,
            reduction=reduction,
        )
        loss.sum().backward()
        out = linear_cross_entropy(
            h,
            w,
            y,
            bias=b,
            class_weight=cw,
            ignore_index=-100,
            label_smoothing=eps,
            reduction=reduction,
            chunk_size=5,
            return_grad=True,
        )
        want = (loss.detach(), th.grad, tw.grad, tb.grad)
        for got, ref in zip(out, want, strict=True):
            np.testing.assert_allclose(got, ref.numpy(), rtol=1e-9, atol=1e-11)


BAD = [
    ({"hidden": np.nan}, "`hidden` must be finite; got nan"),
    ({"hidden": np.inf}, "`hidden` must be finite; got inf"),
    ({"weight": -np.inf}, "`weight` must be finite; got -inf"),
    ({"bias": np.nan}, "`bias` must be finite"),
    ({"label": 40}, "`targets` contains label 40 outside [0, 40)"),
    ({"label": -1}, "`targets` contains label -1 outside [0, 40)"),
    ({"class_weight": -1.0}, "`class_weight` must be non-negative and finite; got -1.0"),
]


@pytest.mark.parametrize(("bad", "message"), BAD)
def test_bad_data_names_the_argument(bad, message):
    h, w, b, y, cw = data()
    args = {"hidden": h, "weight": w, "bias": b, "class_weight": cw}
    for name, value in bad.items():
        if name == "label":
            y[4] = value
        else:
            args[name] = args[name].copy()
            args[name].flat[4] = value
    with pytest.raises(ValueError, match=re.escape(message)):
        linear_cross_entropy(
            args["hidden"],
            args["weight"],
            y,
            bias=args["bias"],
            class_weight=args["class_weight"],
            return_grad=True,
        )
    # validate=False skips the data checks (bad labels still cannot index out of range)
    linear_cross_entropy(
        args["hidden"],
        args["weight"],
        y,
        bias=args["bias"],
        class_weight=args["class_weight"],
        validate=False,
    )


def test_overflowing_logits():
    h = np.full((3, 2), 1e20, np.float32)
    w = np.full((4, 2), 1e20, np.float32)
    with pytest.raises(ValueError, match=r"`hidden @ weight.T` overflowed .*first at row 0"):
        linear_cross_entropy(h, w, np.array([0, 1, 2]))
    assert np.isnan(linear_cross_entropy(h, w, np.array([0, 1, 2]), validate=False))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hidden": np.zeros(6)}, r"`hidden` must be a 2-D array \(N, D\); got shape \(6,\)"),
        ({"weight": np.zeros((40, 5))}, r"`weight` must have shape \(V, 6\)"),
        ({"weight": np.zeros((0, 6))}, "`weight` has no classes"),
        ({"bias": np.zeros(39)}, r"`bias` must have shape \(40,\)"),
        ({"targets": np.zeros(22, np.int64)}, r"`targets` must have shape \(23,\)"),
        ({"targets": np.zeros(23)}, "`targets` must be integer class labels"),
        ({"class_weight": np.ones(3)}, r"`class_weight` must have shape \(40,\)"),
        ({"chunk_size": 0}, "`chunk_size` must be a positive integer"),
        ({"chunk_size": 2.5}, "`chunk_size` must be a positive integer"),
        ({"reduction": "avg"}, "reduction"),
        ({"hidden": np.zeros((23, 6), complex)}, "`hidden` must be real"),
    ],
)
def test_bad_arguments(change, message):
    h, w, b, y, _ = data()
    kw = {"hidden": h, "weight": w, "targets": y, "bias": b} | change
    with pytest.raises(ValueError, match=message):
        linear_cross_entropy(kw.pop("hidden"), kw.pop("weight"), kw.pop("targets"), **kw)


# ------------------------------------------------------------------------- torch


def torch_data(dtype, ignore=-100, seed=1):
    torch = pytest.importorskip("torch")
    h, w, b, y, cw = data(n=23, d=6, v=40, dtype=dtype, seed=seed, ignore=ignore)
    leaves = [torch.tensor(a, requires_grad=True) for a in (h, w, b)]
    return torch, leaves, torch.tensor(y), torch.tensor(cw)


TORCH_OPTIONS = list(
    itertools.product([np.float32, np.float64], ["mean", "sum", "none"], [0.0, 0.15], [False, True])
)


@pytest.mark.parametrize(("dtype", "reduction", "eps", "weighted"), TORCH_OPTIONS)
def test_torch_equals_linear_plus_cross_entropy(dtype, reduction, eps, weighted):
    pytest.importorskip("torch")
    import infoloss.torch as ilt

    torch, (h, w, b), y, cw = torch_data(dtype)
    cw = cw.to(h.dtype) if weighted else None
    F = torch.nn.functional
    opts = {"label_smoothing": eps, "reduction": reduction}
    # a per-sample upstream gradient for "none" (the known bug class of fused losses)
    up = torch.linspace(0.5, 2.0, 23, dtype=h.dtype) if reduction == "none" else 1.0
    ref = F.cross_entropy(F.linear(h, w, b), y, weight=cw, ignore_index=-100, **opts)
    (ref * up).sum().backward()
    want = [ref.detach()] + [t.grad.clone() for t in (h, w, b)]
    tol = TOL[dtype]
    for chunk in (None, 1, 7):
        for t in (h, w, b):
            t.grad = None
        loss = ilt.linear_cross_entropy(
            h, w, y, bias=b, class_weight=cw, ignore_index=-100, chunk_size=chunk, **opts
        )
        assert loss.dtype == h.dtype
        (loss * up).sum().backward()
        for got, ref_t in zip([loss.detach()] + [t.grad for t in (h, w, b)], want, strict=True):
            np.testing.assert_allclose(got.numpy(), ref_t.numpy(), **tol)


def test_torch_partial_grads_no_bias_and_no_grad():
    pytest.importorskip("torch")
    import infoloss.torch as ilt

    torch, (h, w, _), y, _ = torch_data(np.float64)
    hd = h.detach()
    loss = ilt.linear_cross_entropy(hd, w, y, ignore_index=-100, chunk_size=5)
    loss.backward()
    ref_w = torch.tensor(w.detach().numpy(), requires_grad=True)
    torch.nn.functional.cross_entropy(hd @ ref_w.T, y).backward()
    np.testing.assert_allclose(w.grad.numpy(), ref_w.grad.numpy(), rtol=1e-9, atol=1e-12)
    with torch.no_grad():
        value = ilt.linear_cross_entropy(h, w, y, ignore_index=-100)
    assert not value.requires_grad
    np.testing.assert_allclose(value.numpy(), loss.detach().numpy(), rtol=1e-12)


def test_torch_all_ignored_and_retained_graph():
    pytest.importorskip("torch")
    import infoloss.torch as ilt

    _, (h, w, b), y, _ = torch_data(np.float64)
    y[:] = -100
    loss = ilt.linear_cross_entropy(h, w, y, bias=b, ignore_index=-100)
    loss.backward()
    assert float(loss.detach()) == 0
    assert all(float(t.grad.abs().max()) == 0 for t in (h, w, b))
    # a second backward through a retained graph recomputes the gradients
    _torch, (h, w, b), y, _ = torch_data(np.float64)
    loss = ilt.linear_cross_entropy(h, w, y, bias=b, ignore_index=-100, chunk_size=4)
    loss.backward(retain_graph=True)
    first = w.grad.clone()
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * first.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_torch_gradcheck(reduction):
    pytest.importorskip("torch")
    import infoloss.torch as ilt

    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(0)
    h, w, b = (torch.randn(*s, generator=gen, dtype=torch.float64) for s in ((5, 3), (4, 3), (4,)))
    y = torch.tensor([0, 3, -100, 1, 1])

    def f(h, w, b):
        return ilt.linear_cross_entropy(
            h,
            w,
            y,
            bias=b,
            ignore_index=-100,
            label_smoothing=0.1,
            reduction=reduction,
            chunk_size=2,
        )

    leaves = [t.requires_grad_() for t in (h, w, b)]
    # nondet_tol: a repeated backward recomputes the gradients (rounding may differ)
    assert torch.autograd.gradcheck(f, leaves, nondet_tol=1e-12)


def test_torch_opcheck_and_compile():
    pytest.importorskip("torch")
    import infoloss.torch as ilt

    torch, (h, w, b), y, cw = torch_data(np.float64)
    hd, wd, bd = h.detach(), w.detach(), b.detach()
    for reduction in ("mean", "none"):
        args = (hd, wd, bd, y, cw, 0.1, -100, reduction, 5, [True, True, True], True)
        torch.library.opcheck(torch.ops.infoloss.linear_xent.default, args)
    lse = ilt.linear_xent(*args)[1]
    up = torch.ones(23, dtype=torch.float64)
    bargs = (hd, wd, bd, y, cw, 0.1, -100, 5, lse, up, "none", [True, True, True])
    torch.library.opcheck(torch.ops.infoloss.linear_xent_backward.default, bargs)

    def fn(h, w, b):
        return ilt.linear_cross_entropy(h, w, y, bias=b, ignore_index=-100, chunk_size=5)

    loss = torch.compile(fn, fullgraph=True, backend="aot_eager")(h, w, b)
    loss.backward()
    ref = torch.tensor(w.detach().numpy(), requires_grad=True)
    torch.nn.functional.cross_entropy(hd @ ref.T + bd, y, ignore_index=-100).backward()
    np.testing.assert_allclose(w.grad.numpy(), ref.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_torch_bad_input():
    pytest.importorskip("torch")
    import infoloss.torch as ilt

    torch, (h, w, _b), y, _ = torch_data(np.float64)
    hn = h.detach().clone()
    hn[2, 1] = float("nan")
    with pytest.raises(ValueError, match=re.escape("`hidden` must be finite; got nan")):
        ilt.linear_cross_entropy(hn, w, y, ignore_index=-100)
    with pytest.raises(ValueError, match="`targets` contains label 40 outside"):
        ilt.linear_cross_entropy(h, w, torch.full((23,), 40))
    with pytest.raises(ValueError, match=re.escape("`weight` must have shape (V, 6)")):
        ilt.linear_cross_entropy(h, w[:, :5], y, ignore_index=-100)
    with pytest.raises(ValueError, match="must share a dtype"):
        ilt.linear_cross_entropy(h, w.float(), y, ignore_index=-100)
    value = ilt.linear_cross_entropy(hn, w, y, ignore_index=-100, validate=False)
    assert np.isnan(float(value.detach()))
