"""The short paths of the PyTorch drop-in for small batches give what the general paths give.

``infoloss.torch.cross_entropy``'s two short paths -- PyTorch's own loss for small plain
calls (below ``NATIVE_MAX``; its checks are on PyTorch's answer, so the tests below feed
it every kind of bad data and edge), and the eager kernel path (NumPy views, one fused kernel call,
a plain autograd.Function) -- against the operators' path (both switched off) and against
``F.cross_entropy``.  The JAX drop-in's short path: ``tests/jax/test_jax_small_batches.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
import infoloss.torch as ilt  # noqa: E402
from infoloss.torch import _dropin, _eager  # noqa: E402
from tests._helpers import SMALL_BATCH_OPTIONS as OPTIONS  # noqa: E402


def _torch_args(opts: dict[str, Any], c: int, dtype: Any) -> dict[str, Any]:
    out = dict(opts)
    if out.get("weight") == "w":
        out["weight"] = torch.linspace(0.0, 2.0, c, dtype=dtype)  # a zero-weight class
    return out


def _general(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_dropin, "_native_loss", lambda *a, **k: None)
    monkeypatch.setattr(_dropin, "_eager_cross_entropy", lambda *a, **k: None)


@pytest.fixture(params=["native", "native-python", "kernels"])
def short_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each short path in turn: PyTorch's own loss for plain small calls (its compiled
    gate, then the gate's Python form, which runs where the extension was not built), or
    (with that turned off) the eager kernel path."""
    if request.param == "kernels":
        monkeypatch.setattr(_eager, "NATIVE_MAX", 0)
    if request.param == "native-python":
        monkeypatch.setattr(_dropin, "_native_loss", _eager._python_native_loss)
    return str(request.param)


def test_torch_native_gate_is_the_compiled_one() -> None:
    from infoloss._kernels import available

    if not available():
        pytest.skip("the extension is not built")
    assert _eager._native_loss is not _eager._python_native_loss
    assert _dropin._native_loss is _eager._native_loss


@pytest.mark.parametrize("gate", ["compiled", "python"])
def test_torch_native_gate_reads_labels_and_answers_in_any_layout(
    gate: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Strided labels and float64 "none" answers, read from memory by the compiled gate.
    # (With a gradient wanted, "mean" and "sum" go to the fused kernel unless turned off.)
    monkeypatch.setattr(_eager, "KERNEL_FUSED", False)
    native = _eager._native_loss if gate == "compiled" else _eager._python_native_loss
    gen = torch.Generator().manual_seed(5)
    # a gradient wanted: PyTorch's own loss (without one, small rows go to the kernel)
    z = torch.randn(40, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    wide = torch.randint(0, 7, (40, 3), generator=gen)
    y = wide[:, 1]  # stride 3
    assert y.stride() == (3,)
    for reduction in ("mean", "sum", "none"):
        got = native(z, y, None, -100, reduction, 0.0, 0.0, None)
        assert got is not None
        ref = torch.nn.functional.cross_entropy(z, y.contiguous(), reduction=reduction)
        torch.testing.assert_close(got, ref, rtol=0, atol=0)
    hit = wide[:, 1].clone()[::2]
    hit[-1] = 4
    assert native(z[::2], hit, None, 4, "mean", 0.0, 0.0, None) is None  # a label ignored
    assert native(z[::2], hit, None, -1, "mean", 0.0, 0.0, None) is not None
    y2 = y.clone()
    y2[9] = -100
    assert native(z, y2[::1], None, -100, "sum", 0.0, 0.0, None) is None
    inf = z.clone()
    inf[3, int(y[3])] = -torch.inf  # that sample's loss is +inf: the general way
    assert native(inf, y, None, -100, "none", 0.0, 0.0, None) is None
    assert native(inf, y, None, -100, "mean", 0.0, 0.0, None) is None
    for bad in (torch.nan, torch.inf):
        b = z.clone()
        b[5, 2] = bad
        assert native(b, y, None, -100, "none", 0.0, 0.0, None) is None
    assert native(z.float(), y, None, -100, "none", 0.1, 0.0, None) is not None
    assert native(z.half(), y, None, -100, "mean", 0.0, 0.0, None) is None
    assert native(z[None], y[None], None, -100, "mean", 0.0, 0.0, None) is None
    assert native(z, y.int(), None, -100, "mean", 0.0, 0.0, None) is None
    assert native(z, y, None, 2**63, "mean", 0.0, 0.0, None) is None
    assert native(z, y, None, -100, "mean", 2**1100, 0.0, None) is None
    assert native(z, y[:-1], None, -100, "mean", 0.0, 0.0, None) is None
    empty = native(z[:0], y[:0], None, -100, "none", 0.0, 0.0, None)
    assert empty is not None
    assert empty.shape == (0,)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_kernel_forward_of_small_rows(monkeypatch: pytest.MonkeyPatch, dtype: Any) -> None:
    """Calls that want no gradient, of at most 32 classes: the compiled step's forward kernel
    (rows across the vector lanes) against the general path, in every layout it reads, with
    ignored labels (which PyTorch's own loss leaves to the general path), smoothing, -inf
    logits; and None (the general path) for what that path must word or answer."""
    from infoloss._kernels import available

    if not available():
        pytest.skip("the extension is not built")
    gate = _eager._native_loss
    gen = torch.Generator().manual_seed(8)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 0}
    for n, c in ((1, 1), (5, 2), (33, 7), (64, 10), (300, 16), (1024, 3), (300, 31), (5000, 32)):
        z = 4 * torch.randn(n, c, generator=gen, dtype=dtype)
        y = torch.randint(0, c, (n,), generator=gen)
        if c > 1:
            z[0, (int(y[0]) + 1) % c] = -torch.inf  # not the label's logit: finite
        z[-1, :] = 1.5  # ties at the maximum
        y[n // 2] = -100
        wide = torch.randint(0, c, (n, 2), generator=gen)
        wide[0, 1] = y[0]  # row 0's label is not its -inf class
        for logits, labels in ((z, y), (z, wide[:, 1]), (torch.cat([z, z], 1)[:, :c], y)):
            for red in ("mean", "sum", "none"):
                for eps in (0.0, 0.3, 1.0):
                    # smoothing puts mass on every class: a -inf logit would make it +inf
                    lz = logits if eps == 0 else logits.nan_to_num(neginf=-30.0)
                    got = gate(lz, labels, None, -100, red, eps, 0.0, None)
                    assert got is not None, (n, c, red, eps)
                    with monkeypatch.context() as m:
                        _general(m)
                        ref = ilt.cross_entropy(lz, labels, reduction=red, label_smoothing=eps)
                    assert got.dtype == ref.dtype
                    assert got.shape == ref.shape
                    torch.testing.assert_close(got, ref, **tol)
    z = torch.randn(12, 5, generator=gen, dtype=dtype)
    y = torch.randint(0, 5, (12,), generator=gen)
    y[4] = -100
    for value in (torch.nan, torch.inf):
        bad = z.clone()
        bad[4, 1] = value  # in an ignored row: still bad data
        assert gate(bad, y, None, -100, "mean", 0.0, 0.0, None) is None
    out = y.clone()
    out[3] = 5
    assert gate(z, out, None, -100, "mean", 0.0, 0.0, None) is None  # a label outside
    inf = z.clone()
    inf[0, int(y[0])] = -torch.inf
    assert gate(inf, y, None, -100, "sum", 0.0, 0.0, None) is None  # a loss of +inf
    assert gate(inf, y, None, -100, "mean", 0.5, 0.0, None) is None
    gone = gate(z, torch.full((12,), -100), None, -100, "mean", 0.0, 0.0, None)
    assert gone is not None
    assert gone.item() == 0.0
    assert gate(z.t().contiguous().t(), y, None, -100, "mean", 0.0, 0.0, None) is not None


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_kernel_fused_of_small_calls(monkeypatch: pytest.MonkeyPatch, dtype: Any) -> None:
    """Calls that want the gradient, "mean" or "sum": the compiled step's fused kernel (one
    autograd node handing the gradient over) against the general path, values and
    gradients, in every layout it reads, with smoothing and -inf logits; a retained graph's
    second backward; and None (PyTorch's loss or the general path) for what it leaves."""
    from infoloss._kernels import available

    if not available():
        pytest.skip("the extension is not built")
    gate = _eager._native_loss
    gen = torch.Generator().manual_seed(9)
    # (float64 atol: a smoothed gradient entry q·e^(z - m) - ε/C can cancel to 1e-6 of its
    # terms, which the two kernels' sums round an ulp apart; entries are at most 1 here)
    tol = {"rtol": 1e-5, "atol": 1e-7} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-16}
    for n, c in ((1, 1), (5, 2), (33, 7), (64, 10), (300, 16), (300, 31), (64, 40), (2, 1000)):
        base = 4 * torch.randn(n, c, generator=gen, dtype=dtype)
        y = torch.randint(0, c, (n,), generator=gen)
        if c > 1:
            base[0, (int(y[0]) + 1) % c] = -torch.inf  # not the label's logit: finite
        base[-1, :] = 1.5  # ties at the maximum
        wide = torch.randint(0, c, (n, 2), generator=gen)
        wide[:, 1] = y
        for logits, labels in (
            (base, y),
            (base, wide[:, 1]),
            (torch.cat([base, base], 1)[:, :c], y),
        ):
            for red in ("mean", "sum"):
                for eps in (0.0, 0.3):
                    lz = (logits if eps == 0 else logits.nan_to_num(neginf=-30.0)).detach()
                    z = lz.clone().requires_grad_(True)
                    got = gate(z, labels, None, -100, red, eps, 0.0, None)
                    assert got is not None, (n, c, red, eps)
                    assert type(got.grad_fn).__name__ == "_EagerFusedBackward"
                    (2.5 * got).backward(retain_graph=True)
                    g1 = z.grad.clone()
                    z.grad = None
                    got.backward()  # the fused pass again, for an upstream of 1
                    g2 = z.grad.clone()
                    zr = lz.clone().requires_grad_(True)
                    with monkeypatch.context() as m:
                        _general(m)
                        ref = ilt.cross_entropy(zr, labels, reduction=red, label_smoothing=eps)
                    ref.backward()
                    assert got.dtype == ref.dtype
                    assert got.shape == ref.shape
                    torch.testing.assert_close(got, ref, **tol)
                    torch.testing.assert_close(g2, zr.grad, **tol)
                    torch.testing.assert_close(g1, 2.5 * zr.grad, **tol)
    z = torch.randn(12, 5, generator=gen, dtype=dtype, requires_grad=True)
    y = torch.randint(0, 5, (12,), generator=gen)
    with torch.no_grad():
        for value in (torch.nan, torch.inf):
            bad = z.clone()
            bad[4, 1] = value
            assert gate(bad.requires_grad_(True), y, None, -100, "mean", 0.0, 0.0, None) is None
    out = y.clone()
    out[3] = 5
    assert gate(z, out, None, -100, "mean", 0.0, 0.0, None) is None  # a label outside
    ign = y.clone()
    ign[2] = -100
    assert gate(z, ign, None, -100, "mean", 0.0, 0.0, None) is None  # an ignored label
    inf = z.detach().clone()
    inf[0, int(y[0])] = -torch.inf
    assert gate(inf.requires_grad_(True), y, None, -100, "sum", 0.0, 0.0, None) is None
    none = gate(z, y, None, -100, "none", 0.0, 0.0, None)  # per-sample upstreams: PyTorch's
    assert none is not None
    assert type(none.grad_fn).__name__ != "_EagerFusedBackward"
    monkeypatch.setattr(_eager, "KERNEL_FUSED", False)
    native = gate(z, y, None, -100, "mean", 0.0, 0.0, None)
    assert native is not None
    assert type(native.grad_fn).__name__ != "_EagerFusedBackward"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("opts", OPTIONS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_torch_eager_path_equals_general_path(
    monkeypatch: pytest.MonkeyPatch,
    short_path: str,
    dtype: Any,
    opts: dict[str, Any],
    reduction: str,
) -> None:
    gen = torch.Generator().manual_seed(0)
    n, c = 37, 6
    z = 3 * torch.randn(n, c, generator=gen, dtype=dtype)
    z[0, 2] = -torch.inf  # a -inf logit on a class the target does not hold
    y = torch.randint(0, c, (n,), generator=gen)
    y[0] = 0
    y[3] = 1
    kw = _torch_args(opts, c, dtype)
    tol = {"rtol": 1e-5, "atol": 1e-7} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 0}

    def run() -> tuple[Any, Any, Any]:
        a = z.clone().requires_grad_()
        loss = ilt.cross_entropy(a, y, reduction=reduction, **kw)
        (loss * 1.5 if reduction != "none" else (loss * torch.arange(n)).sum()).backward()
        with torch.no_grad():
            plain = ilt.cross_entropy(z, y, reduction=reduction, **kw)
        return loss.detach(), a.grad, plain

    fast = run()
    with monkeypatch.context() as m:
        _general(m)
        ref = run()
    for f, r in zip(fast, ref, strict=True):
        assert f.dtype == r.dtype
        assert f.shape == r.shape
        torch.testing.assert_close(f, r, **tol)
    if not opts.get("lse_square_scale") and not (opts.get("label_smoothing") and "weight" in kw):
        ptw = {k: v for k, v in kw.items() if k != "lse_square_scale"}
        torch.testing.assert_close(
            fast[2], torch.nn.functional.cross_entropy(z, y, reduction=reduction, **ptw), **tol
        )


def test_torch_eager_path_bad_data_and_edges(short_path: str) -> None:
    z = torch.randn(8, 4, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    bad = z.detach().clone()
    bad[2, 1] = torch.nan
    with pytest.raises(ValueError, match="NaN"):
        ilt.cross_entropy(bad, y)
    with pytest.raises(ValueError, match="outside"):
        ilt.cross_entropy(z, torch.tensor([0, 1, 2, 7, 0, 1, 2, 3]))
    with pytest.raises(ValueError, match="weight"):
        ilt.cross_entropy(z, y, weight=torch.tensor([1.0, -1.0, 1.0, 1.0]))
    # Every sample ignored: 0 with a zero gradient (PyTorch gives NaN).
    loss = ilt.cross_entropy(z, torch.full((8,), -100))
    loss.backward()
    assert loss.item() == 0.0
    assert z.grad is not None
    assert not bool(z.grad.any())
    # A -inf logit on the label: +inf, as the general path gives.
    inf = z.detach().clone()
    inf[0, 0] = -torch.inf
    assert ilt.cross_entropy(inf, y).item() == float("inf")
    # A NaN logit in an ignored row is still bad data (PyTorch would skip the row).
    for ignore in (-100, 2):
        with pytest.raises(ValueError, match="NaN"):
            ilt.cross_entropy(bad, torch.tensor([0, 1, ignore, 3, 0, 1, 0, 3]), ignore_index=ignore)
    with pytest.raises(ValueError, match="label_smoothing"):
        ilt.cross_entropy(z, y, label_smoothing=1.5)


def _native_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one whenever PyTorch's loss is the drop-in's answer."""
    calls: list[int] = []
    real = _dropin._native_loss

    def counting(*a: Any) -> Any:
        out = real(*a)
        if out is not None:
            calls.append(1)
        return out

    monkeypatch.setattr(_dropin, "_native_loss", counting)
    return calls


def test_torch_native_path_takes_plain_small_calls_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _native_calls(monkeypatch)
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(64, 10, generator=gen, requires_grad=True)
    y = torch.randint(0, 10, (64,), generator=gen)
    ref = torch.log_softmax(z.detach().double(), 1).gather(1, y[:, None]).mean().neg()
    loss = ilt.cross_entropy(z, y)
    loss.backward()
    assert calls == [1]
    torch.testing.assert_close(loss.double(), ref, rtol=1e-6, atol=0)
    assert z.grad is not None
    plain = {"reduction": "sum", "label_smoothing": 0.1, "ignore_index": 11}
    ilt.cross_entropy(z, y, **plain)
    assert calls == [1, 1]
    # not plain: each of these goes to the kernels
    for kw in (
        {"weight": torch.ones(10)},
        {"lse_square_scale": 1e-3},
        {"softcap": 5.0},
        {"ignore_index": int(y[0])},
    ):
        ilt.cross_entropy(z, y, **kw)
    big = torch.randn(128, 2000, generator=gen, requires_grad=True)  # past the crossover
    ilt.cross_entropy(big, torch.randint(0, 2000, (128,), generator=gen))
    assert calls == [1, 1]
    ilt.cross_entropy(z.detach().repeat(256, 1), y.repeat(256))  # 10 classes: PyTorch
    assert calls == [1, 1, 1]


def test_torch_eager_path_retained_graph_and_fresh_gradients(short_path: str) -> None:
    z = torch.randn(16, 5, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 5, (16,))
    loss = ilt.cross_entropy(z, y)
    (g1,) = torch.autograd.grad(loss, z, retain_graph=True)
    (g2,) = torch.autograd.grad(loss, z, retain_graph=True)
    assert torch.equal(g1, g2)
    assert g1.data_ptr() != g2.data_ptr()
    g1.mul_(2)  # the first result is the caller's: the second is untouched
    (g3,) = torch.autograd.grad(loss * 3, z)
    torch.testing.assert_close(g3, 3 * g2, rtol=1e-15, atol=0)
    ref = torch.softmax(z.detach(), 1) - torch.nn.functional.one_hot(y, 5)
    torch.testing.assert_close(g2, ref / 16, rtol=1e-12, atol=1e-15)


def _bad_batches() -> list[tuple[str, Any, Any, dict[str, Any]]]:
    """(expected message, logits, labels, options) that the general path refuses."""
    gen = torch.Generator().manual_seed(2)
    z = torch.randn(12, 5, generator=gen)
    y = torch.randint(0, 5, (12,), generator=gen)
    out: list[tuple[str, Any, Any, dict[str, Any]]] = []
    for value, what in ((torch.nan, "NaN"), (torch.inf, "inf")):
        bad = z.clone()
        bad[4, 3] = value
        out.append((what, bad, y, {}))
        out.append((what, bad, y, {"label_smoothing": 0.2}))
        for ignore in (-100, -1, 0, 7):
            kept = y.clone()
            kept[4] = ignore  # the bad row is ignored: PyTorch would not look at it
            out.append((what, bad, kept, {"ignore_index": ignore}))
    for label in (-1, -100, 5, 6, 2**40):
        labels = y.clone()
        labels[7] = label
        out.append(("outside", z, labels, {"ignore_index": -2}))
        out.append(("outside", z, labels, {"ignore_index": 3, "label_smoothing": 0.1}))
    out.append(("label_smoothing", z, y, {"label_smoothing": 1.5}))
    out.append(("label_smoothing", z, y, {"label_smoothing": -0.1}))
    out.append(("label_smoothing", z, y, {"label_smoothing": float("nan")}))
    out.append(("label_smoothing", z, y, {"label_smoothing": False}))
    out.append(("lse_square_scale", z, y, {"lse_square_scale": False}))
    out.append(("lse_square_scale", z, y, {"lse_square_scale": float("nan")}))
    out.append(("reduction", z, y, {"reduction": "avg"}))
    return out


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("grad", [False, True])
def test_torch_native_path_refuses_what_the_general_path_refuses(
    short_path: str, reduction: str, grad: bool
) -> None:
    # PyTorch itself accepts several of these (skipped rows, bools, NaN logits): a
    # shortcut that trusted its answer or the options' equality would return a value.
    for message, z, y, opts in _bad_batches():
        opts = {"reduction": reduction, **opts}
        with pytest.raises(ValueError, match=message):
            ilt.cross_entropy(z.clone().requires_grad_(grad), y, **opts)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_torch_native_path_edges_equal_general_path(
    monkeypatch: pytest.MonkeyPatch, short_path: str, reduction: str
) -> None:
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(10, 4, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 4, (10,), generator=gen)
    minus = z.clone()
    minus[2, (int(y[2]) + 1) % 4] = -torch.inf  # finite: not the label's logit
    on_label = z.clone()
    on_label[5, int(y[5])] = -torch.inf  # the sample's loss is +inf
    some_ignored = y.clone()
    some_ignored[[1, 6]] = -100
    cases = [
        (minus, y, {}),
        (on_label, y, {}),
        (z, some_ignored, {}),
        (z, some_ignored, {"label_smoothing": 0.3}),
        (z, torch.full((10,), -100), {}),  # "mean" over nothing: 0 here, NaN in PyTorch
        (z, y, {"ignore_index": int(y[0])}),
        (z[:0], y[:0], {}),
        (z, y, {"label_smoothing": 1}),
        (z.float(), y, {"label_smoothing": 0.1, "ignore_index": 4}),
    ]
    for logits, labels, opts in cases:

        def run(logits: Any = logits, labels: Any = labels, opts: Any = opts) -> Any:
            a = logits.clone().requires_grad_()
            loss = ilt.cross_entropy(a, labels, reduction=reduction, **opts)
            loss.sum().backward()
            with torch.no_grad():
                plain = ilt.cross_entropy(logits, labels, reduction=reduction, **opts)
            return loss.detach(), a.grad, plain

        fast = run()
        with monkeypatch.context() as m:
            _general(m)
            ref = run()
        for f, r in zip(fast, ref, strict=True):
            assert f.dtype == r.dtype
            tol = (1e-5, 1e-7) if f.dtype == torch.float32 else (1e-12, 1e-15)
            torch.testing.assert_close(f, r, rtol=tol[0], atol=tol[1], equal_nan=True)


def test_torch_native_path_runs_before_any_option_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The native path is the drop-in's first step: nothing slower runs ahead of it.
    def refuse(*a: Any, **k: Any) -> Any:
        raise AssertionError("the native path was not the first step")

    for name in ("DropInCall", "_eager_cross_entropy", "drop_in_spec", "softmax_cross_entropy"):
        monkeypatch.setattr(_dropin, name, refuse)
    z = torch.randn(32, 10, requires_grad=True)
    y = torch.randint(0, 10, (32,))
    loss = ilt.cross_entropy(z, y, reduction="sum", label_smoothing=0.1, ignore_index=-1)
    loss.backward()
    ref = torch.nn.functional.cross_entropy(z.detach(), y, reduction="sum", label_smoothing=0.1)
    torch.testing.assert_close(loss.detach(), ref)


def test_torch_native_path_forward_only_reaches_further(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _native_calls(monkeypatch)
    gen = torch.Generator().manual_seed(4)
    n, c = 256, 1000  # past the crossover with a backward, before it without one
    assert not _eager._native_size(n, c, True)
    assert _eager._native_size(n, c, False)
    z = torch.randn(n, c, generator=gen, requires_grad=True)
    y = torch.randint(0, c, (n,), generator=gen)
    with torch.no_grad():
        plain = ilt.cross_entropy(z, y)
    assert calls == [1]
    loss = ilt.cross_entropy(z, y)  # the gradient wanted: the fused kernel
    assert calls == [1]
    torch.testing.assert_close(plain, loss.detach(), rtol=1e-6, atol=0)
    ilt.cross_entropy(z.detach(), y)  # no gradient possible: PyTorch
    assert calls == [1, 1]
