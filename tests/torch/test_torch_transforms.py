"""infoloss.torch under autograd reuse and ``torch.func`` transforms.

* A gradient that the fused forward stored is handed out once: two ``autograd.grad``
  calls through a retained graph return separate memory, and changing the first in
  place neither changes the second nor makes the second call fail.
* ``torch.func.vmap``, ``grad``, ``vmap(grad)`` and ``jacrev`` run the drop-ins (the
  data checks become NaN there, as under ``jax.jit``).

Oracles: ``torch.nn.functional.cross_entropy`` and its autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infoloss._kernels import _layout
from tests._helpers import torch_close, torch_logits

torch = pytest.importorskip("torch")
ilt = pytest.importorskip("infoloss.torch")
F = torch.nn.functional
func = torch.func

DTYPES = [torch.float32, torch.float64]
# Large enough for the fused operators (``MIN_SIZE`` entries), small enough to be quick.
BIG = (48, _layout.MIN_SIZE // 40)


def labels(shape: tuple[int, ...], n_classes: int, seed: int = 1) -> Any:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, n_classes, shape, generator=g)


def _grad(fn: Callable[[Any], Any], z: Any, **kwargs: Any) -> Any:
    x = z.detach().clone().requires_grad_(True)
    return torch.autograd.grad(fn(x), x, **kwargs)[0]


# ------------------------------------------------ a stored gradient is handed out once


def _drop_ins() -> dict[str, Callable[..., Any]]:
    import infoloss as il

    def generic(z: Any, y: Any, reduction: str) -> Any:
        return il.softmax_cross_entropy(z, y, reduction=reduction)

    def drop_in(z: Any, y: Any, reduction: str) -> Any:
        return ilt.cross_entropy(z, y, reduction=reduction)

    return {"cross_entropy": drop_in, "softmax_cross_entropy": generic}


@pytest.mark.parametrize("name", sorted(_drop_ins()))
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_second_autograd_grad_is_separate_memory(dtype: Any, reduction: str, name: str) -> None:
    fn = _drop_ins()[name]
    z = torch_logits(BIG, dtype).requires_grad_(True)
    y = labels(BIG[:1], BIG[1])
    ref = _grad(lambda x: F.cross_entropy(x, y, reduction=reduction), z)
    loss = fn(z, y, reduction)
    g1 = torch.autograd.grad(loss, z, retain_graph=True)[0]
    g2 = torch.autograd.grad(loss, z)[0]
    assert g1.data_ptr() != g2.data_ptr()
    assert torch.equal(g1, g2)  # the same bits: a backward is reentrant
    g2.mul_(3)
    torch_close(g1, ref)
    torch_close(g2, 3 * ref)


@pytest.mark.parametrize("name", sorted(_drop_ins()))
@pytest.mark.parametrize("dtype", DTYPES)
def test_first_gradient_changed_in_place(dtype: Any, name: str) -> None:
    fn = _drop_ins()[name]
    z = torch_logits(BIG, dtype).requires_grad_(True)
    y = labels(BIG[:1], BIG[1])
    ref = _grad(lambda x: F.cross_entropy(x, y), z)
    loss = fn(z, y, "mean")
    g1 = torch.autograd.grad(loss, z, retain_graph=True)[0]
    g1.clamp_(-1e-5, 1e-5)
    g2 = torch.autograd.grad(loss, z, retain_graph=True)[0]  # no "modified by an inplace"
    torch_close(g2, ref)
    loss.backward()  # a third use accumulates a fresh gradient into .grad
    torch_close(z.grad, ref)
    assert z.grad.data_ptr() not in (g1.data_ptr(), g2.data_ptr())


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_cross_entropy_second_grad(dtype: Any) -> None:
    g = torch.Generator().manual_seed(3)
    h = torch.randn(40, 16, generator=g, dtype=torch.float64).to(dtype).requires_grad_(True)
    w = torch.randn(300, 16, generator=g, dtype=torch.float64).to(dtype).requires_grad_(True)
    y = labels((40,), 300)
    ref = torch.autograd.grad(F.cross_entropy(h @ w.T, y), (h, w))
    loss = ilt.linear_cross_entropy(h, w, y, chunk_size=16)
    first = torch.autograd.grad(loss, (h, w), retain_graph=True)
    for t in first:
        t.clamp_(-1e-6, 1e-6)
    second = torch.autograd.grad(loss, (h, w))
    for a, b, r in zip(first, second, ref, strict=True):
        assert a.data_ptr() != b.data_ptr()
        torch_close(b, r)


# ------------------------------------------------------------------- torch.func


OPTIONS: list[tuple[str, dict[str, Any]]] = [
    ("labels", {}),
    ("labels", {"weight": True, "label_smoothing": 0.1}),
    ("labels", {"ignore_index": 2}),
    ("probs", {"label_smoothing": 0.2}),
]


def _case(kind: str, opts: dict[str, Any], shape: tuple[int, ...], dtype: Any) -> Any:
    kwargs = dict(opts)
    if kwargs.pop("weight", False):
        kwargs["weight"] = torch.linspace(0.5, 2.0, shape[-1], dtype=dtype)
    if kind == "labels":
        t = labels(shape[:-1], shape[-1])
    else:
        t = torch.softmax(torch_logits(shape, torch.float64, seed=5), -1).to(dtype)
    return t, kwargs


@pytest.mark.parametrize("shape", [(6, 5), BIG])
@pytest.mark.parametrize(("kind", "opts"), OPTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_vmap_grad_and_per_sample_grads(
    dtype: Any, kind: str, opts: dict[str, Any], shape: tuple[int, ...]
) -> None:
    zs = torch_logits((3, *shape), dtype)
    t, kwargs = _case(kind, opts, shape, dtype)

    def ours(x: Any) -> Any:
        return ilt.cross_entropy(x, t, **kwargs)

    def theirs(x: Any) -> Any:
        return F.cross_entropy(x, t, **kwargs)

    ref = torch.stack([theirs(z) for z in zs])
    torch_close(func.vmap(ours)(zs), ref)
    ref_grads = torch.stack([_grad(theirs, z) for z in zs])
    torch_close(func.grad(ours)(zs[0]), ref_grads[0])
    torch_close(func.vmap(func.grad(ours))(zs), ref_grads)
    # per-sample gradients, the recipe of the torch.func docs: one sample per call
    samples = zs[0]

    def one(x: Any, target: Any) -> Any:
        return ilt.cross_entropy(x[None], target[None], **kwargs)

    got = func.vmap(func.grad(one))(samples, t)
    want = torch.stack(
        [
            _grad(lambda x, i=i: F.cross_entropy(x[None], t[i][None], **kwargs), samples[i])
            for i in range(len(samples))
        ]
    )
    torch_close(got, want)


@pytest.mark.parametrize(("kind", "opts"), OPTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_jacrev_and_batched_targets(dtype: Any, kind: str, opts: dict[str, Any]) -> None:
    shape = (6, 5)
    z = torch_logits(shape, dtype)
    t, kwargs = _case(kind, opts, shape, dtype)
    for reduction in ("none", "mean"):

        def ours(x: Any, r: str = reduction) -> Any:
            return ilt.cross_entropy(x, t, reduction=r, **kwargs)

        def theirs(x: Any, r: str = reduction) -> Any:
            return F.cross_entropy(x, t, reduction=r, **kwargs)

        torch_close(func.jacrev(ours)(z), torch.autograd.functional.jacobian(theirs, z))
    # targets mapped with the logits
    zs = torch_logits((3, *shape), dtype, seed=7)
    ts = torch.stack([_case(kind, opts, shape, dtype)[0].roll(i, 0) for i in range(3)])
    got = func.vmap(lambda x, y: ilt.cross_entropy(x, y, **kwargs))(zs, ts)
    ref = torch.stack([F.cross_entropy(x, y, **kwargs) for x, y in zip(zs, ts, strict=True)])
    torch_close(got, ref)


def test_generic_loss_and_module_under_vmap() -> None:
    import infoloss as il

    zs = torch_logits((3, 6, 5), torch.float64)
    y = labels((6,), 5)
    ref = torch.stack([F.cross_entropy(z, y, reduction="sum") for z in zs])
    torch_close(func.vmap(lambda x: il.softmax_cross_entropy(x, y, reduction="sum"))(zs), ref)
    module = ilt.CrossEntropyLoss(reduction="sum")
    torch_close(func.vmap(lambda x: module(x, y))(zs), ref)


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_cross_entropy_under_torch_func(dtype: Any) -> None:
    g = torch.Generator().manual_seed(4)
    hs = torch.randn(3, 8, 6, generator=g, dtype=torch.float64).to(dtype)
    w = torch.randn(11, 6, generator=g, dtype=torch.float64).to(dtype)
    y = labels((8,), 11)

    def ours(h: Any, w: Any) -> Any:
        return ilt.linear_cross_entropy(h, w, y, label_smoothing=0.1)

    def theirs(h: Any, w: Any) -> Any:
        return F.cross_entropy(h @ w.T, y, label_smoothing=0.1)

    torch_close(func.vmap(ours, in_dims=(0, None))(hs, w), torch.stack([theirs(h, w) for h in hs]))
    got = func.vmap(func.grad(ours, argnums=1), in_dims=(0, None))(hs, w)
    want = torch.stack([_grad(lambda v, h=h: theirs(h, v), w) for h in hs])
    torch_close(got, want)


def test_bad_data_under_vmap_is_nan_for_that_call_only() -> None:
    zs = torch_logits((3, 6, 5), torch.float64)
    zs[1, 2, 3] = float("nan")
    y = labels((6,), 5)
    got = func.vmap(lambda x: ilt.cross_entropy(x, y))(zs)
    assert torch.isnan(got[1])
    torch_close(got[[0, 2]], torch.stack([F.cross_entropy(zs[i], y) for i in (0, 2)]))
    bad = y.clone()
    bad[0] = 9  # out of range
    ys = torch.stack([y, bad, y])
    got = func.vmap(lambda x, t: ilt.cross_entropy(x, t))(
        torch_logits((3, 6, 5), torch.float64), ys
    )
    assert torch.isnan(got[1])
    assert not torch.isnan(got[[0, 2]]).any()
    # eager calls still raise
    with pytest.raises(ValueError, match="NaN"):
        ilt.cross_entropy(zs[1], y)
