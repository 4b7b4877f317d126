"""infoloss.torch: the kernels as PyTorch operators, the drop-in loss, and the route that
sends CPU tensors from ``il.softmax_cross_entropy`` to the operators.

Oracles: ``torch.nn.functional.cross_entropy`` and its autograd, and the NumPy path of
``il.softmax_cross_entropy`` (the same kernels, or the array-API code below ``MIN_SIZE``).
"""

from __future__ import annotations

import functools
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import infoloss as il
from infoloss._kernels import _layout, use_kernels
from tests._helpers import ROOT, torch_close, torch_logits, torch_tol

torch = pytest.importorskip("torch")
ilt = pytest.importorskip("infoloss.torch")
_route = pytest.importorskip("infoloss.torch._route")
F = torch.nn.functional

DTYPES = [torch.float32, torch.float64]
REDUCTIONS = ["mean", "sum", "none"]
SMALL = (6, 5)
# Large enough for the route (``MIN_SIZE`` entries), small enough to stay quick.
BIG = (48, _layout.MIN_SIZE // 40)


def labels(shape: tuple[int, ...], n_classes: int, ignore: int | None, seed: int = 1) -> Any:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, n_classes, shape, generator=g)
    if ignore is not None:
        y.view(-1)[::3] = ignore
    return y


def probabilities(shape: tuple[int, ...], dtype: Any, seed: int = 2) -> Any:
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(3 * torch.randn(shape, generator=g, dtype=torch.float64), 1).to(dtype)


def class_weight(n_classes: int, dtype: Any) -> Any:
    return torch.linspace(0.25, 3.0, n_classes, dtype=dtype)


def value_and_grad(fn: Any, z: Any, upstream: Any = None) -> tuple[Any, Any]:
    """``fn(z)`` and the gradient of ``Σ upstream · fn(z)`` by autograd."""
    z = z.detach().clone().requires_grad_(True)
    value = fn(z)
    value.backward(torch.ones_like(value) if upstream is None else upstream)
    return value.detach(), z.grad


# Options as ``F.cross_entropy`` takes them; "probs" targets take no ignore_index.
CASES = [
    ("labels", {}),
    ("labels", {"weight": True}),
    ("labels", {"label_smoothing": 0.2}),
    ("labels", {"ignore_index": -100}),
    ("labels", {"ignore_index": 2, "weight": True, "label_smoothing": 0.1}),
    ("probs", {}),
    ("probs", {"label_smoothing": 0.3}),
]


def case(kind: str, opts: dict[str, Any], shape: tuple[int, ...], dtype: Any) -> tuple[Any, Any]:
    """The targets and ``F.cross_entropy`` keyword arguments of a case (class axis 1)."""
    c = shape[1]
    kwargs = dict(opts)
    if kwargs.get("weight"):
        kwargs["weight"] = class_weight(c, dtype)
    else:
        kwargs.pop("weight", None)
    if kind == "labels":
        t = labels(shape[:1] + shape[2:], c, kwargs.get("ignore_index"))
    else:
        t = probabilities(shape, dtype)
    return t, kwargs


def upstream_for(value: Any, reduction: str) -> Any:
    """A non-uniform upstream gradient for ``"none"`` (the per-sample bug class)."""
    if reduction != "none":
        return None
    return torch.linspace(-1.5, 2.0, value.numel(), dtype=value.dtype).reshape(value.shape)


# ------------------------------------------------------------- import and registration


def test_import_infoloss_does_not_import_torch() -> None:
    code = "import sys, infoloss; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_operators_are_registered() -> None:
    assert torch.ops.infoloss.softmax_xent_forward.default is not None
    assert torch.ops.infoloss.softmax_xent_backward.default is not None
    assert torch.ops.infoloss.softmax_xent_fused.default is not None


def _op_args(
    kind: str, dtype: Any, shape: tuple[int, ...], validate: bool
) -> list[tuple[Any, ...]]:
    z = torch_logits(shape, dtype).requires_grad_(True)
    c = shape[-1]
    w = class_weight(c, torch.float64)
    if kind == "labels":
        return [
            (z, labels(shape[:-1], c, None), None, 0.0, None, validate),
            (z, labels(shape[:-1], c, -100), w, 0.1, -100, validate),
        ]
    p = torch.softmax(torch_logits(shape, dtype, seed=5), -1)
    return [(z, p, None, 0.0, None, validate), (z, p, w, 0.2, None, validate)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["labels", "probs"])
def test_opcheck_forward(dtype: Any, kind: str) -> None:
    for shape, validate in [((7, 4), True), ((2, 3, 4), False)]:
        for args in _op_args(kind, dtype, shape, validate):
            torch.library.opcheck(torch.ops.infoloss.softmax_xent_forward.default, args)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["labels", "probs"])
def test_opcheck_backward(dtype: Any, kind: str) -> None:
    for z, t, w, eps, ign, _ in _op_args(kind, dtype, (7, 4), True):
        z = z.detach()
        lse = torch.logsumexp(z.to(torch.float64), -1)
        up = torch.linspace(-1.0, 2.0, 7, dtype=torch.float64)
        args = (z, t, w, eps, ign, lse, up)
        torch.library.opcheck(torch.ops.infoloss.softmax_xent_backward.default, args)


def test_forward_outputs_other_than_the_loss_are_not_differentiable() -> None:
    z = torch_logits((4, 3), torch.float64).requires_grad_(True)
    loss, lse, sw, bad = ilt.softmax_xent_forward(
        z, torch.tensor([0, 1, 2, 0]), None, 0.0, None, True
    )
    assert loss.requires_grad
    assert not lse.requires_grad
    assert not sw.requires_grad
    assert not bad.requires_grad
    torch.testing.assert_close(lse, torch.logsumexp(z.detach(), -1))
    assert bad.tolist() == [0, 0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["labels", "probs"])
def test_opcheck_fused(dtype: Any, kind: str) -> None:
    for shape, validate in [((7, 4), True), ((2, 3, 4), False)]:
        for args in _op_args(kind, dtype, shape, validate):
            fused = (*args, 0.25)
            torch.library.opcheck(torch.ops.infoloss.softmax_xent_fused.default, fused)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["labels", "probs"])
def test_fused_equals_forward_and_backward(dtype: Any, kind: str) -> None:
    for z, t, w, eps, ign, validate in _op_args(kind, dtype, (6, 5), True):
        loss, lse, sw, bad, grad = ilt.softmax_xent_fused(z, t, w, eps, ign, validate, 0.25)
        ref = ilt.softmax_xent_forward(z, t, w, eps, ign, validate)
        torch_close(loss, ref[0], torch.float64)  # summed in another order: to rounding
        torch_close(lse, ref[1], torch.float64)
        torch_close(sw, ref[2], torch.float64)
        assert torch.equal(bad, ref[3])
        up = torch.full((6,), 0.25, dtype=torch.float64)
        want = ilt.softmax_xent_backward(z.detach(), t, w, eps, ign, ref[1], up)
        torch_close(grad, want, dtype)
        assert not lse.requires_grad
        assert not sw.requires_grad
        assert not grad.requires_grad


def test_fused_backward_hands_over_its_gradient() -> None:
    # One pass for "mean": autograd's upstream for every sample is the scale the stored
    # gradient was computed with, and the leaf's .grad is that very memory (no copy).
    z = torch_logits((64, 300), torch.float32).requires_grad_(True)
    y = labels((64,), 300, None)
    out = ilt.softmax_xent_fused(z, y, None, 0.0, None, True, 1 / 64)
    address, loss = out[4].data_ptr(), out[0]
    del out
    total = loss.sum() * (1 / 64)
    with torch.autograd.profiler.profile(record_shapes=True) as prof:
        total.backward()
    assert z.grad is not None
    assert z.grad.data_ptr() == address
    # and no (N, C) zeros are made for the outputs that nobody differentiates
    fills = [
        (e.name, e.input_shapes)
        for e in prof.function_events
        if e.name in {"aten::zeros", "aten::fill_", "aten::zero_"}
        and any(len(shape) >= 2 for shape in e.input_shapes)
    ]
    assert not fills, fills
    ref = z.detach().clone().requires_grad_(True)
    F.cross_entropy(ref, y).backward()
    torch_close(z.grad, ref.grad, torch.float32)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_fused_backward_other_upstreams(reduction: str) -> None:
    # An upstream that is not the stored gradient's scale (the loss scaled, or summed
    # with other terms) gets the gradient computed afresh for it.
    z = torch_logits((2, 9, 3), torch.float64).requires_grad_(True)
    y = labels((2, 3), 9, -100)
    w = class_weight(9, torch.float64)
    ref = z.detach().clone().requires_grad_(True)
    for fn, x in ((ilt.cross_entropy, z), (F.cross_entropy, ref)):
        loss = fn(x, y, w, reduction=reduction, label_smoothing=0.1)
        (-2.5 * loss + 0.5 * loss.detach()).backward()
    torch_close(z.grad, ref.grad, torch.float64)


# ---------------------------------------------------------------------------- gradcheck


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("kind", "opts"), CASES)
def test_gradcheck(kind: str, opts: dict[str, Any], reduction: str) -> None:
    shape = (3, 5, 2)
    z = torch_logits(shape, torch.float64).requires_grad_(True)
    t, kwargs = case(kind, opts, shape, torch.float64)

    def fn(x: Any) -> Any:
        return ilt.cross_entropy(x, t, reduction=reduction, **kwargs)

    # fast mode: a random projection of the Jacobian (the full one costs 2 calls per entry)
    assert torch.autograd.gradcheck(fn, (z,), fast_mode=True)


# ----------------------------------------------- values and gradients: the drop-in form


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("kind", "opts"), CASES)
@pytest.mark.parametrize("shape", [SMALL, (3, 5, 2, 4)])
def test_cross_entropy_equals_torch(
    shape: tuple[int, ...], kind: str, opts: dict[str, Any], reduction: str, dtype: Any
) -> None:
    z = torch_logits(shape, dtype)
    t, kwargs = case(kind, opts, shape, dtype)
    expected = F.cross_entropy(z, t, reduction=reduction, **kwargs)
    up = upstream_for(expected, reduction)
    expected, expected_grad = value_and_grad(
        lambda x: F.cross_entropy(x, t, reduction=reduction, **kwargs), z, up
    )
    if kind == "probs" and reduction == "mean" and "weight" in kwargs:
        pytest.skip("a documented difference: tested in test_difference_*")
    value, grad = value_and_grad(
        lambda x: ilt.cross_entropy(x, t, reduction=reduction, **kwargs), z, up
    )
    torch_close(value, expected, dtype)
    torch_close(grad, expected_grad, dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_module_equals_torch_module(reduction: str) -> None:
    w = class_weight(5, torch.float32)
    ours = ilt.CrossEntropyLoss(w, ignore_index=1, reduction=reduction, label_smoothing=0.1)
    theirs = torch.nn.CrossEntropyLoss(w, ignore_index=1, reduction=reduction, label_smoothing=0.1)
    z = torch_logits((8, 5, 3), torch.float32)
    y = labels((8, 3), 5, 1)
    torch_close(ours(z, y), theirs(z, y), torch.float32)
    assert "weight" in ours.state_dict()
    assert "reduction='" + reduction + "'" in repr(ours)


# ----------------------------------------------- values and gradients: the public route


def _spy(monkeypatch: Any) -> list[int]:
    """Count the calls of the forward operators (the plain one or the fused one)."""
    calls: list[int] = []
    for name in ("softmax_xent_forward", "softmax_xent_fused"):
        real = getattr(_route, name)

        def counting(*args: Any, real: Any = real) -> Any:
            calls.append(1)
            return real(*args)

        monkeypatch.setattr(_route, name, counting)
    return calls


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("kind", "opts"), CASES)
def test_route_equals_torch_and_numpy(
    monkeypatch: Any, kind: str, opts: dict[str, Any], reduction: str, dtype: Any
) -> None:
    z = torch_logits(BIG, dtype)
    t, kwargs = case(kind, opts, BIG, dtype)
    if kind == "probs" and reduction == "mean" and "weight" in kwargs:
        pytest.skip("a documented difference: tested in test_difference_*")
    il_kwargs = dict(kwargs)
    if kind == "probs":
        il_kwargs.pop("ignore_index", None)

    calls = _spy(monkeypatch)
    expected = F.cross_entropy(z, t, reduction=reduction, **kwargs)
    up = upstream_for(expected, reduction)
    expected, expected_grad = value_and_grad(
        lambda x: F.cross_entropy(x, t, reduction=reduction, **kwargs), z, up
    )
    value, grad = value_and_grad(
        lambda x: il.softmax_cross_entropy(x, t, reduction=reduction, **il_kwargs), z, up
    )
    assert calls, "the route did not run"
    torch_close(value, expected, dtype)
    torch_close(grad, expected_grad, dtype)

    # The NumPy path (the same kernels) gives the same value and gradient.
    np_kwargs = {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in il_kwargs.items()}
    np_value, np_grad = il.softmax_cross_entropy(
        z.numpy(), t.numpy(), reduction=reduction, return_grad=True, **np_kwargs
    )
    np.testing.assert_allclose(
        value.numpy(), np_value, rtol=1e-6 if dtype == torch.float32 else 1e-13
    )
    if reduction != "none":
        np.testing.assert_allclose(grad.numpy(), np_grad, **torch_tol(dtype))

    # return_grad gives a LossAndGrad of tensors, the same as autograd's.
    got = il.softmax_cross_entropy(z, t, reduction=reduction, return_grad=True, **il_kwargs)
    assert isinstance(got, il.LossAndGrad)
    assert isinstance(got.loss, torch.Tensor)
    assert isinstance(got.grad, torch.Tensor)
    torch_close(got.loss, expected, dtype)
    if reduction != "none":
        torch_close(got.grad, expected_grad, dtype)


def test_route_class_axis_not_last_without_copy(monkeypatch: Any) -> None:
    # (C, N) logits with axis=0: the kernels read the transposed view, no copy.
    z = torch_logits(BIG[::-1], torch.float32)
    y = labels(BIG[:1], BIG[1], None)
    calls = _spy(monkeypatch)
    value, grad = value_and_grad(lambda x: il.softmax_cross_entropy(x, y, axis=0), z)
    assert calls
    expected, expected_grad = value_and_grad(lambda x: F.cross_entropy(x.T, y), z)
    torch_close(value, expected, torch.float32)
    torch_close(grad, expected_grad, torch.float32)


def test_route_grad_out() -> None:
    z = torch_logits(BIG, torch.float64)
    y = labels(BIG[:1], BIG[1], None)
    out = torch.empty_like(z)
    _, grad = il.softmax_cross_entropy(z, y, return_grad=True, grad_out=out)
    assert grad is out
    _, expected = value_and_grad(lambda x: F.cross_entropy(x, y), z)
    torch_close(out, expected, torch.float64)


def test_route_does_not_apply(monkeypatch: Any) -> None:
    calls = _spy(monkeypatch)
    y = labels(BIG[:1], BIG[1], None)
    small = torch_logits(SMALL, torch.float32)
    il.softmax_cross_entropy(small, labels(SMALL[:1], SMALL[1], None))
    with use_kernels(False):
        il.softmax_cross_entropy(torch_logits(BIG, torch.float32), y)
    half = torch_logits(BIG, torch.bfloat16)
    torch.testing.assert_close(il.softmax_cross_entropy(half, y), F.cross_entropy(half, y))
    assert not calls


def test_route_falls_back_when_targets_need_gradients(monkeypatch: Any) -> None:
    calls = _spy(monkeypatch)
    z = torch_logits(BIG, torch.float64)
    p = probabilities(BIG, torch.float64).requires_grad_(True)
    loss = il.softmax_cross_entropy(z, p)
    loss.backward()
    assert not calls
    expected = F.cross_entropy(z, p.detach().requires_grad_(True))
    torch_close(loss.detach(), expected.detach(), torch.float64)
    assert p.grad is not None


@pytest.mark.parametrize("shape", [SMALL, BIG])
def test_torch_func_transforms_take_the_generic_path(shape: tuple[int, int]) -> None:
    z = torch_logits(shape, torch.float64)
    y = labels(shape[:1], shape[1], None)
    expected = torch.func.grad(lambda x: F.cross_entropy(x, y))(z)
    torch_close(torch.func.grad(lambda x: ilt.cross_entropy(x, y))(z), expected, torch.float64)
    torch_close(
        torch.func.grad(lambda x: il.softmax_cross_entropy(x, y))(z), expected, torch.float64
    )


def test_docstring_and_doc_examples() -> None:
    import doctest
    import importlib
    import pkgutil

    # The examples live in the package's modules (the drop-ins, the linear cross-entropy).
    names = [f"{ilt.__name__}.{m.name}" for m in pkgutil.iter_modules(ilt.__path__)]
    tried = 0
    for module in [ilt, *map(importlib.import_module, names)]:
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__
        tried += result.attempted
    assert tried > 0
    doc = ROOT / "docs" / "torch.md"
    failures, tried = doctest.testfile(
        str(doc), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert tried > 0
    assert failures == 0


# ------------------------------------------------------------- all ignored, empty


@pytest.mark.parametrize("shape", [SMALL, BIG])
def test_everything_ignored_mean_is_zero(shape: tuple[int, int]) -> None:
    z = torch_logits(shape, torch.float32)
    y = torch.full(shape[:1], -100)
    assert torch.isnan(F.cross_entropy(z, y))  # PyTorch: 0 / 0
    for fn in (
        lambda x: ilt.cross_entropy(x, y),
        lambda x: il.softmax_cross_entropy(x, y, ignore_index=-100),
    ):
        value, grad = value_and_grad(fn, z)
        assert value.item() == 0.0
        assert (grad == 0).all()


def test_empty_batch() -> None:
    z = torch.zeros((0, 5), requires_grad=True)
    y = torch.zeros(0, dtype=torch.int64)
    loss = ilt.cross_entropy(z, y)
    assert loss.item() == 0.0
    loss.backward()
    assert z.grad is not None
    assert z.grad.shape == (0, 5)
    assert ilt.cross_entropy(z, y, reduction="none").shape == (0,)


def test_difference_probability_targets_with_weight_mean() -> None:
    z = torch_logits(SMALL, torch.float64)
    p = probabilities(SMALL, torch.float64)
    w = class_weight(SMALL[1], torch.float64)
    total = F.cross_entropy(z, p, weight=w, reduction="sum")
    torch_close(F.cross_entropy(z, p, weight=w), total / SMALL[0], torch.float64)  # PyTorch: ÷ N
    torch_close(ilt.cross_entropy(z, p, weight=w), total / (p @ w).sum(), torch.float64)  # ÷ Σ s


# ---------------------------------------------------- the caller's memory, bad input


@pytest.mark.parametrize("shape", [SMALL, BIG])
@pytest.mark.parametrize("kind", ["labels", "probs"])
def test_callers_tensors_unchanged(shape: tuple[int, int], kind: str) -> None:
    z = torch_logits(shape, torch.float32).requires_grad_(True)
    t, kwargs = case(kind, {"weight": True, "label_smoothing": 0.1}, shape, torch.float32)
    before = [a.detach().clone() for a in (z, t, kwargs["weight"])]
    ilt.cross_entropy(z, t, reduction="none", **kwargs).sum().backward()
    il.softmax_cross_entropy(z, t, **kwargs).backward()
    il.softmax_cross_entropy(z.detach(), t, return_grad=True, **kwargs)
    for a, b in zip((z, t, kwargs["weight"]), before, strict=True):
        assert torch.equal(a.detach(), b)


def _bad_inputs(shape: tuple[int, int]) -> list[tuple[str, Any, Any, dict[str, Any]]]:
    n, c = shape
    z = torch_logits(shape, torch.float64)
    y = labels((n,), c, None)
    p = probabilities(shape, torch.float64)
    out = []
    nan = z.clone()
    nan[2, 3] = float("nan")
    out.append(("NaN logit", nan, y, {}))
    pinf = z.clone()
    pinf[1, 0] = float("inf")
    out.append(("+inf logit", pinf, y, {}))
    dead = z.clone()
    dead[4] = -float("inf")
    out.append(("row of -inf", dead, y, {}))
    far = y.clone()
    far[3] = c
    out.append(("label out of range", z, far, {}))
    neg = p.clone()
    neg[1, 1] = -0.25
    neg[1, 2] += 0.25
    out.append(("negative probability", z, neg, {}))
    out.append(("rows not summing to 1", z, 1.5 * p, {}))
    w = class_weight(c, torch.float64)
    w[2] = -1.0
    out.append(("negative weight", z, y, {"weight": w}))
    return out


def _error(fn: Any, *args: Any, **kwargs: Any) -> str:
    """The text of the ValueError that ``fn(*args, **kwargs)`` raises."""
    try:
        fn(*args, **kwargs)
    except ValueError as error:
        return str(error)
    pytest.fail("no ValueError")


def _numpy_error(z: Any, t: Any, kwargs: dict[str, Any]) -> str:
    np_kwargs = {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in kwargs.items()}
    return _error(il.softmax_cross_entropy, z.detach().numpy(), t.numpy(), **np_kwargs)


@pytest.mark.parametrize("shape", [SMALL, BIG])
def test_bad_input_same_error_as_numpy(shape: tuple[int, int]) -> None:
    for what, z, t, kwargs in _bad_inputs(shape):
        message = _numpy_error(z, t, kwargs)
        zg = z.detach().clone().requires_grad_(True)
        assert _error(il.softmax_cross_entropy, zg, t, **kwargs) == message, what
        got = _error(il.softmax_cross_entropy, z, t, return_grad=True, **kwargs)
        assert got == message, what
        # The drop-in's default ignore_index=-100 applies to labels, as in PyTorch.
        dropin = dict(kwargs, ignore_index=-100) if t.dtype == torch.int64 else kwargs
        assert _error(ilt.cross_entropy, zg, t, **kwargs) == _numpy_error(z, t, dropin), what


def test_bad_options_same_error_as_numpy() -> None:
    z = torch_logits(SMALL, torch.float32)
    y = labels(SMALL[:1], SMALL[1], None)
    for kwargs in ({"reduction": "avg"}, {"label_smoothing": 1.5}):
        assert _error(ilt.cross_entropy, z, y, **kwargs) == _numpy_error(z, y, kwargs)


def test_shape_mismatch_is_a_value_error() -> None:
    z = torch_logits(SMALL, torch.float32)
    with pytest.raises(ValueError, match="`targets` of class labels must have the shape"):
        ilt.cross_entropy(z, torch.zeros(SMALL[0] + 1, dtype=torch.int64))


# ------------------------------------------------------------------------ torch.compile


def _compiled_matches_eager(backend: str, shape: tuple[int, ...], reduction: str) -> None:
    torch._dynamo.reset()
    fn = torch.compile(ilt.cross_entropy, fullgraph=True, backend=backend)
    z = torch_logits(shape, torch.float32)
    y = labels(shape[:1] + shape[2:], shape[1], -100)
    w = class_weight(shape[1], torch.float32)
    up = upstream_for(F.cross_entropy(z, y, reduction=reduction), reduction)
    for kwargs in ({}, {"weight": w, "label_smoothing": 0.1}):
        eager = functools.partial(ilt.cross_entropy, target=y, reduction=reduction, **kwargs)
        compiled = functools.partial(fn, target=y, reduction=reduction, **kwargs)
        expected = value_and_grad(eager, z, up)
        got = value_and_grad(compiled, z, up)
        torch_close(got[0], expected[0], torch.float32)
        torch_close(got[1], expected[1], torch.float32)
    bad = z.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="`logits` contains NaN"):
        fn(bad, y, reduction=reduction)


@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_compile_fullgraph_traces_the_operators(reduction: str) -> None:
    # aot_eager: Dynamo's graph (no breaks: fullgraph) and AOTAutograd's forward and
    # backward graphs through the fake implementations, without Inductor's code generation.
    _compiled_matches_eager("aot_eager", (6, 5, 3), reduction)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_compile_fullgraph_inductor() -> None:
    _compiled_matches_eager("inductor", (6, 5), "mean")


# ------------------------------------------------------------------------------- CUDA


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_keeps_the_generic_path(monkeypatch: Any) -> None:
    calls = _spy(monkeypatch)
    z = torch_logits(BIG, torch.float32).cuda()
    y = labels(BIG[:1], BIG[1], None).cuda()
    value, grad = value_and_grad(lambda x: il.softmax_cross_entropy(x, y), z)
    value2, grad2 = value_and_grad(lambda x: ilt.cross_entropy(x, y), z)
    expected, expected_grad = value_and_grad(lambda x: F.cross_entropy(x, y), z)
    assert not calls
    assert value.device.type == "cuda"
    for v, g in ((value, grad), (value2, grad2)):
        torch_close(v, expected, torch.float32)
        torch_close(g, expected_grad, torch.float32)
