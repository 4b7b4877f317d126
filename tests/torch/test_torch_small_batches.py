"""The short paths of the PyTorch drop-in for small batches give what the general paths give.

``infoloss.torch.cross_entropy``'s two short paths -- PyTorch's own loss for small plain
calls (below ``NATIVE_MAX``), and the eager kernel path (NumPy views, one fused kernel call,
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
    monkeypatch.setattr(_dropin, "_native_cross_entropy", lambda *a, **k: None)
    monkeypatch.setattr(_dropin, "_eager_cross_entropy", lambda *a, **k: None)


@pytest.fixture(params=["native", "kernels"])
def short_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each short path in turn: PyTorch's own loss for plain small calls, or (with that
    turned off) the eager kernel path."""
    if request.param == "kernels":
        monkeypatch.setattr(_eager, "NATIVE_MAX", 0)
    return str(request.param)


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
    calls: list[int] = []
    real = torch.nn.functional.cross_entropy

    def counting(*a: Any, **k: Any) -> Any:
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", counting)
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
    big = torch.randn(128, 2000, generator=gen)  # past the crossover: the kernels
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
