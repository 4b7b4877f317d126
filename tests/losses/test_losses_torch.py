"""infoloss.losses against PyTorch: its losses, its autograd, and the deliberate differences."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from infoloss.losses import (
    logit_squared_error,
    sigmoid_binary_cross_entropy,
    sigmoid_squared_error,
    softmax_cross_entropy,
    softmax_squared_error,
)
from tests._helpers import torch_close, torch_logits

torch = pytest.importorskip("torch")
F = torch.nn.functional

N, C = 6, 5
DTYPES = [torch.float32, torch.float64]
REDUCTIONS = ["mean", "sum", "none"]


def labels(ignore: int | None) -> Any:
    y = torch.tensor([0, 4, 2, 1, 2, 3])
    if ignore is not None:
        y[3] = ignore
    return y


def distributions(dtype: Any, seed: int = 1) -> Any:
    g = torch.Generator().manual_seed(seed)
    p = torch.softmax(3 * torch.randn((N, C), generator=g, dtype=torch.float64), dim=-1)
    p[0] = torch.eye(C, dtype=torch.float64)[2]
    return p.to(dtype)


def weight(dtype: Any) -> Any:
    return torch.tensor([0.5, 2.0, 1.0, 0.25, 3.0], dtype=dtype)


def torch_grad(fn: Any, z: Any) -> tuple[Any, Any]:
    """PyTorch's value of ``fn(z)`` and the gradient of its sum."""
    z = z.detach().clone().requires_grad_(True)
    value = fn(z)
    value.sum().backward()
    return value.detach(), z.grad


# --------------------------------------------------------------------------------------
# torch.nn.functional.cross_entropy
# --------------------------------------------------------------------------------------

CE_GRID = list(itertools.product(DTYPES, [False, True], [0.0, 0.15], [None, -100, 1], REDUCTIONS))


@pytest.mark.parametrize(("dtype", "weighted", "eps", "ignore", "reduction"), CE_GRID)
def test_cross_entropy_labels_match_torch(
    dtype: Any, weighted: bool, eps: float, ignore: Any, reduction: str
) -> None:
    z = torch_logits((N, C), dtype)
    y = labels(ignore)
    w = weight(dtype) if weighted else None
    kwargs: dict[str, Any] = {"weight": w, "label_smoothing": eps, "reduction": reduction}
    ignore_kw = {} if ignore is None else {"ignore_index": ignore}
    expected, expected_grad = torch_grad(lambda t: F.cross_entropy(t, y, **kwargs, **ignore_kw), z)
    value, grad = softmax_cross_entropy(z, y, return_grad=True, **kwargs, **ignore_kw)
    torch_close(value, expected, dtype)
    torch_close(grad, expected_grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [0.0, 0.3])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities_match_torch(dtype: Any, eps: float, reduction: str) -> None:
    z = torch_logits((N, C), dtype)
    p = distributions(dtype)
    opts = {"label_smoothing": eps, "reduction": reduction}
    expected, expected_grad = torch_grad(lambda t: F.cross_entropy(t, p, **opts), z)
    value, grad = softmax_cross_entropy(z, p, return_grad=True, **opts)
    torch_close(value, expected, dtype)
    torch_close(grad, expected_grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_spatial_axis_matches_torch(dtype: Any) -> None:
    # PyTorch's class axis is 1 for (N, C, d1, d2) input
    z = torch_logits((2, C, 3, 4), dtype)
    y = torch.randint(0, C, (2, 3, 4), generator=torch.Generator().manual_seed(3))
    expected, expected_grad = torch_grad(
        lambda t: F.cross_entropy(t, y, weight=weight(dtype), label_smoothing=0.1), z
    )
    value, grad = softmax_cross_entropy(
        z, y, axis=1, weight=weight(dtype), label_smoothing=0.1, return_grad=True
    )
    torch_close(value, expected, dtype)
    torch_close(grad, expected_grad, dtype)


def test_grad_out_on_torch() -> None:
    z = torch_logits((N, C), torch.float64)
    out = torch.empty_like(z)
    _, grad = softmax_cross_entropy(z, labels(None), return_grad=True, grad_out=out)
    assert grad is out
    _, expected = torch_grad(lambda t: F.cross_entropy(t, labels(None)), z)
    torch_close(out, expected, torch.float64)


# --------------------------------------------------------------------------------------
# torch.nn.functional.binary_cross_entropy_with_logits
# --------------------------------------------------------------------------------------

BCE_GRID = list(itertools.product(DTYPES, [None, "elementwise", "per-label"], [False, True]))


@pytest.mark.parametrize(("dtype", "weight_kind", "use_pos"), BCE_GRID)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_torch(
    dtype: Any, weight_kind: Any, use_pos: bool, reduction: str
) -> None:
    g = torch.Generator().manual_seed(4)
    z = torch_logits((N, C), dtype, seed=5)
    y = torch.rand((N, C), generator=g, dtype=torch.float64).to(dtype)
    y[0] = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0])
    w = {
        None: None,
        "elementwise": torch.rand((N, C), generator=g, dtype=torch.float64).to(dtype) + 0.1,
        "per-label": torch.rand(C, generator=g, dtype=torch.float64).to(dtype) + 0.1,
    }[weight_kind]
    pw = torch.tensor([1.0, 3.0, 0.5, 0.0, 2.0], dtype=dtype) if use_pos else None
    expected, expected_grad = torch_grad(
        lambda t: F.binary_cross_entropy_with_logits(
            t, y, weight=w, pos_weight=pw, reduction=reduction
        ),
        z,
    )
    value, grad = sigmoid_binary_cross_entropy(
        z, y, weight=w, pos_weight=pw, reduction=reduction, return_grad=True
    )
    if reduction == "mean" and w is not None:
        # the deliberate difference: we divide by the total weight, PyTorch by N * C
        factor = torch.broadcast_to(w, z.shape).sum() / z.numel()
        value, grad = value * factor, grad * factor
    torch_close(value, expected, dtype)
    torch_close(grad, expected_grad, dtype)


# --------------------------------------------------------------------------------------
# torch.nn.functional.mse_loss on softmax probabilities
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind", ["labels", "probs"])
def test_softmax_squared_error_matches_mse_loss(dtype: Any, reduction: str, kind: str) -> None:
    z = torch_logits((N, C), dtype)
    target = labels(None) if kind == "labels" else distributions(dtype)
    dense = F.one_hot(target, C).to(dtype) if kind == "labels" else target

    def mse(t: Any) -> Any:
        per = F.mse_loss(torch.softmax(t, dim=-1), dense, reduction="none")
        # ½ Σ_c per sample; PyTorch's "mean" would average over all N·C entries
        return {"none": 0.5 * per.sum(-1), "sum": 0.5 * per.sum(), "mean": 0.5 * per.sum() / N}[
            reduction
        ]

    expected, expected_grad = torch_grad(mse, z)
    value, grad = softmax_squared_error(z, target, reduction=reduction, return_grad=True)
    torch_close(value, expected, dtype)
    torch_close(grad, expected_grad, dtype)
    if reduction == "mean":
        torch_mean = F.mse_loss(torch.softmax(z, dim=-1), dense)
        torch_close(value, torch_mean * C / 2, dtype)


# --------------------------------------------------------------------------------------
# Autograd of our own implementation, run on torch tensors, for every loss
# --------------------------------------------------------------------------------------

SOFTMAX_LOSSES = [softmax_cross_entropy, softmax_squared_error, logit_squared_error]
AUTOGRAD_GRID = list(
    itertools.product(
        SOFTMAX_LOSSES,
        DTYPES,
        ["labels", "probs"],
        [False, True],
        [0.0, 0.2],
        [None, 1],
        REDUCTIONS,
    )
)


@pytest.mark.parametrize(
    ("loss", "dtype", "kind", "weighted", "eps", "ignore", "reduction"),
    AUTOGRAD_GRID,
    ids=[
        f"{f.__name__}-{str(d)[6:]}-{k}-w{w}-ls{e}-ig{i}-{r}"
        for f, d, k, w, e, i, r in AUTOGRAD_GRID
    ],
)
def test_softmax_losses_gradient_equals_autograd(
    loss: Any, dtype: Any, kind: str, weighted: bool, eps: float, ignore: Any, reduction: str
) -> None:
    z = torch_logits((N, C), dtype)
    target = labels(ignore) if kind == "labels" else distributions(dtype)
    opts: dict[str, Any] = {
        "weight": weight(dtype) if weighted else None,
        "label_smoothing": eps,
        "ignore_index": ignore,
        "reduction": reduction,
    }
    if loss is logit_squared_error:
        opts.update(k=2.5, M=4.0)
    expected, expected_grad = torch_grad(lambda t: loss(t, target, **opts), z)
    value, grad = loss(z, target, return_grad=True, **opts)
    assert isinstance(value, torch.Tensor)
    torch_close(value, expected, dtype)
    torch_close(grad, expected_grad, dtype)


SIGMOID_GRID = list(
    itertools.product(
        [sigmoid_binary_cross_entropy, sigmoid_squared_error],
        DTYPES,
        [False, True],
        [0.0, 0.1],
        [None, -1.0],
        REDUCTIONS,
    )
)


@pytest.mark.parametrize(("loss", "dtype", "weighted", "eps", "ignore", "reduction"), SIGMOID_GRID)
def test_sigmoid_losses_gradient_equals_autograd(
    loss: Any, dtype: Any, weighted: bool, eps: float, ignore: Any, reduction: str
) -> None:
    g = torch.Generator().manual_seed(7)
    z = torch_logits((N, C), dtype, seed=8)
    y = torch.rand((N, C), generator=g, dtype=torch.float64).to(dtype)
    if ignore is not None:
        y[1, 2] = y[4, 0] = ignore
    opts: dict[str, Any] = {
        "weight": torch.rand(C, generator=g, dtype=torch.float64).to(dtype) if weighted else None,
        "label_smoothing": eps,
        "ignore_index": ignore,
        "reduction": reduction,
    }
    if loss is sigmoid_binary_cross_entropy:
        opts["pos_weight"] = torch.tensor([1.0, 3.0, 0.5, 0.0, 2.0], dtype=dtype)
    expected, expected_grad = torch_grad(lambda t: loss(t, y, **opts), z)
    value, grad = loss(z, y, return_grad=True, **opts)
    torch_close(value, expected, dtype)
    torch_close(grad, expected_grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_squared_error_matches_torch_formula(dtype: Any) -> None:
    z = torch_logits((N, C), dtype, seed=9)
    y = torch.rand((N, C), generator=torch.Generator().manual_seed(9), dtype=dtype)
    expected, expected_grad = torch_grad(
        lambda t: 0.5 * F.mse_loss(torch.sigmoid(t), y, reduction="none"), z
    )
    value, grad = sigmoid_squared_error(z, y, reduction="none", return_grad=True)
    torch_close(value, expected, dtype)
    torch_close(grad, expected_grad, dtype)


# --------------------------------------------------------------------------------------
# The deliberate differences from PyTorch, one test each (both values asserted)
# --------------------------------------------------------------------------------------


def test_difference_probability_targets_with_weight_mean() -> None:
    z = torch_logits((N, C), torch.float64)
    p = distributions(torch.float64)
    w = weight(torch.float64)
    total = F.cross_entropy(z, p, weight=w, reduction="sum")
    torch_mean = F.cross_entropy(z, p, weight=w)
    torch_close(torch_mean, total / N, torch.float64)  # PyTorch: divide by the sample count
    ours = softmax_cross_entropy(z, p, weight=w)
    torch_close(ours, total / (p @ w).sum(), torch.float64)  # ours: by the total sample weight
    # ... which is what PyTorch does for the same targets given as labels
    y = p.argmax(-1)
    onehot = F.one_hot(y, C).to(torch.float64)
    torch_close(
        softmax_cross_entropy(z, onehot, weight=w), F.cross_entropy(z, y, weight=w), torch.float64
    )


def test_difference_everything_ignored_mean() -> None:
    z = torch_logits((N, C), torch.float64)
    y = torch.full((N,), -100)
    assert torch.isnan(F.cross_entropy(z, y))  # 0 / 0
    value, grad = softmax_cross_entropy(z, y, ignore_index=-100, return_grad=True)
    assert value.item() == 0.0
    assert (grad == 0).all()


def test_difference_empty_batch_mean() -> None:
    z = torch.zeros((0, C), dtype=torch.float64)
    y = torch.zeros(0, dtype=torch.int64)
    assert torch.isnan(F.cross_entropy(z, y))
    assert softmax_cross_entropy(z, y).item() == 0.0


def test_difference_ignore_index_with_probability_targets() -> None:
    z = torch_logits((N, C), torch.float64)
    y = labels(1)  # sample 3 has label 1
    onehot = F.one_hot(torch.where(y < 0, 0, y), C).to(torch.float64)
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        F.cross_entropy(z, onehot, ignore_index=1)
    ours = softmax_cross_entropy(z, onehot, ignore_index=1, label_smoothing=0.1)
    torch_close(ours, F.cross_entropy(z, y, ignore_index=1, label_smoothing=0.1), torch.float64)


def test_difference_binary_weighted_mean() -> None:
    z = torch_logits((N, C), torch.float64)
    y = torch.sigmoid(torch_logits((N, C), torch.float64, seed=3))
    w = torch.rand((N, C), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    total = F.binary_cross_entropy_with_logits(z, y, weight=w, reduction="sum")
    torch_close(
        F.binary_cross_entropy_with_logits(z, y, weight=w), total / z.numel(), torch.float64
    )
    torch_close(sigmoid_binary_cross_entropy(z, y, weight=w), total / w.sum(), torch.float64)


def test_difference_no_log_clamping() -> None:
    z = torch.tensor([-200.0, 300.0], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0], dtype=torch.float64)
    clamped = F.binary_cross_entropy(torch.sigmoid(z), y, reduction="none")
    torch_close(clamped, torch.tensor([100.0, 100.0], dtype=torch.float64), torch.float64)
    ours = sigmoid_binary_cross_entropy(z, y, reduction="none")
    torch_close(ours, torch.tensor([200.0, 300.0], dtype=torch.float64), torch.float64)


def test_difference_minus_inf_logit_with_zero_target_probability() -> None:
    z = torch.tensor([[-math.inf, 1.0, 0.0]], dtype=torch.float64)
    p = torch.tensor([[0.0, 0.5, 0.5]], dtype=torch.float64)
    assert torch.isnan(F.cross_entropy(z, p))
    value, grad = softmax_cross_entropy(z, p, return_grad=True)
    expected = -(0.5 * torch.log_softmax(z, -1)[0, 1:]).sum()
    torch_close(value, expected, torch.float64)
    assert torch.isfinite(grad).all()


def test_results_stay_on_torch() -> None:
    z = torch_logits((N, C), torch.float32)
    for loss in SOFTMAX_LOSSES:
        value, grad = loss(z, labels(None), return_grad=True)
        assert isinstance(value, torch.Tensor)
        assert value.dtype == grad.dtype == torch.float32
        assert grad.device == z.device
    value, grad = sigmoid_squared_error(z, torch.sigmoid(z), return_grad=True)
    assert isinstance(grad, torch.Tensor)
    np.testing.assert_allclose(value.item(), 0.0, atol=1e-12)


def test_a_tensor_reaches_the_operators_without_importing_the_adapter():
    # The adapter is loaded by the loader of infoloss._frameworks on the first tensor.
    code = (
        "import sys, torch, infoloss as il\n"
        "assert 'infoloss.torch' not in sys.modules\n"
        "z = torch.randn(64, 512, dtype=torch.float64, requires_grad=True)\n"
        "il.softmax_cross_entropy(z, torch.randint(0, 512, (64,))).backward()\n"
        "assert 'infoloss.torch' in sys.modules\n"
        "assert z.grad is not None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
