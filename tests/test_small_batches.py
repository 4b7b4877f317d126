"""The short paths of the drop-ins for small batches give what the general paths give.

PyTorch: ``infoloss.torch.cross_entropy``'s two short paths -- PyTorch's own loss for small
plain calls (below ``NATIVE_MAX``), and the eager kernel path (NumPy views, one fused kernel
call, a plain autograd.Function) -- against the operators' path (both switched off) and
against ``F.cross_entropy``.  JAX: the lean ``jax.numpy`` path under ``jax.jit`` (below
``LEAN_MAX``) against the kernels' route (``LEAN_MAX = 0``) and the NumPy path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import infoloss as il

torch = pytest.importorskip("torch")
import infoloss.torch as ilt  # noqa: E402
from infoloss.torch import _dropin, _eager  # noqa: E402

OPTIONS = [
    {},
    {"label_smoothing": 0.1},
    {"weight": "w"},
    {"weight": "w", "label_smoothing": 0.2, "ignore_index": 1},
    {"lse_square_scale": 1e-2},
]


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


jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import infoloss.jax as ilj  # noqa: E402
from infoloss.jax import _lean  # noqa: E402


@pytest.fixture
def x64() -> Any:
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", old)


def _jax_args(opts: dict[str, Any], c: int, dtype: Any) -> dict[str, Any]:
    out = dict(opts)
    if out.get("weight") == "w":
        out["weight"] = jnp.asarray(np.linspace(0.0, 2.0, c), dtype)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opts", OPTIONS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_jax_lean_path_equals_kernel_route_and_numpy(
    x64: Any, monkeypatch: pytest.MonkeyPatch, dtype: Any, opts: dict[str, Any], reduction: str
) -> None:
    rng = np.random.default_rng(1)
    n, c = 300, 70  # 21000 logits: above the kernels' MIN_SIZE, below LEAN_MAX
    zn = (3 * rng.standard_normal((n, c))).astype(dtype)
    zn[0, 2] = -np.inf
    zn[5, :] = 0.0  # ties at the maximum
    zn[6, 4] = 60.0  # a dominant logit: a loss of about 1e-24 on its label
    yn = rng.integers(0, c, n)
    yn[0], yn[3], yn[6] = 0, 1, 4
    kw = _jax_args(opts, c, dtype)
    np_kw = {k: (np.asarray(v) if k == "weight" else v) for k, v in kw.items()}

    def f(z: Any, y: Any) -> Any:
        out = ilj.softmax_cross_entropy(z, y, reduction=reduction, **kw)
        return out if reduction != "none" else jnp.sum(out * jnp.arange(n))

    lean = jax.jit(jax.value_and_grad(f))(jnp.asarray(zn), jnp.asarray(yn))
    per = jax.jit(lambda z, y: ilj.softmax_cross_entropy(z, y, reduction="none", **kw))
    lean_rows = per(jnp.asarray(zn), jnp.asarray(yn))
    with monkeypatch.context() as m:
        m.setattr(_lean, "LEAN_MAX", 0)
        kern = jax.jit(jax.value_and_grad(f))(jnp.asarray(zn), jnp.asarray(yn))
    rtol = 2e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(lean, kern, strict=True):
        scale = float(np.max(np.abs(np.asarray(b))))
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=rtol * scale)
    ref = il.softmax_cross_entropy(zn, yn, reduction="none", **np_kw)
    np.testing.assert_allclose(np.asarray(lean_rows), ref, rtol=rtol, atol=0)
    assert float(lean_rows[6]) > 0  # the tiny loss keeps its relative accuracy


def test_jax_lean_path_bad_data_and_edges(x64: Any) -> None:
    f = jax.jit(ilj.softmax_cross_entropy)
    z = np.random.default_rng(2).standard_normal((20, 5)).astype(np.float32)
    y = np.arange(20) % 5
    bad = z.copy()
    bad[3, 1] = np.nan
    assert np.isnan(float(f(jnp.asarray(bad), jnp.asarray(y))))
    assert np.isnan(float(f(jnp.asarray(z), jnp.asarray(np.where(y == 2, 9, y)))))
    # Every sample ignored: 0 with a zero gradient.
    g = jax.jit(jax.value_and_grad(lambda a, b: ilj.softmax_cross_entropy(a, b, ignore_index=-1)))
    value, grad = g(jnp.asarray(z), jnp.full(20, -1))
    assert float(value) == 0.0
    assert not np.any(np.asarray(grad))
    # Concrete (not traced) arrays still raise.
    with pytest.raises(ValueError, match="NaN"):
        ilj.softmax_cross_entropy(jnp.asarray(bad), jnp.asarray(y))
