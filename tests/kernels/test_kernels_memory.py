"""The fused forwards allocate no (N, C) temporary: their peak of NumPy allocations during a
call is a few row-sized arrays, far below one copy of the input (deterministic: tracemalloc
counts bytes, it does not time anything)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import infoloss as il

N, C = 512, 2048


def _peak_bytes(f: Callable[[], Any]) -> int:
    f()  # caches and first-use allocations are not part of a call
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        f()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _cases(dtype: Any) -> dict[str, Callable[[], Any]]:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((N, C)).astype(dtype)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p = (p / p.sum(axis=1, keepdims=True)).astype(dtype)
    q, lp, zr = p[::-1].copy(), np.log(p), z[::-1].copy()
    y = rng.integers(0, C, N)
    return {
        "entropy probs": lambda: il.entropy(p),
        "entropy logits": lambda: il.entropy(z, form="logits"),
        "cross_entropy probs": lambda: il.cross_entropy(p, q),
        "cross_entropy logits": lambda: il.cross_entropy(z, zr, form="logits"),
        "kl probs": lambda: il.kl_divergence(p, q),
        "kl log_probs": lambda: il.kl_divergence(lp, lp[::-1], form="log_probs"),
        "js probs": lambda: il.js_divergence(p, q),
        "js logits": lambda: il.js_divergence(z, zr, form="logits"),
        "softmax_cross_entropy labels": lambda: il.softmax_cross_entropy(z, y),
        "softmax_cross_entropy smoothing": lambda: il.softmax_cross_entropy(
            z, y, label_smoothing=0.1
        ),
        "softmax_cross_entropy probabilities": lambda: il.softmax_cross_entropy(z, p),
        "softmax_cross_entropy none": lambda: il.softmax_cross_entropy(z, y, reduction="none"),
        "softmax_squared_error labels": lambda: il.softmax_squared_error(z, y),
        "softmax_squared_error probabilities": lambda: il.softmax_squared_error(
            z, p, label_smoothing=0.1
        ),
        "logit_squared_error labels": lambda: il.logit_squared_error(z, y, k=2.0, M=3.0),
        "logit_squared_error probabilities": lambda: il.logit_squared_error(z, p, reduction="none"),
        "sigmoid_binary_cross_entropy": lambda: il.sigmoid_binary_cross_entropy(
            z, p, pos_weight=p[0], label_smoothing=0.1
        ),
        "sigmoid_binary_cross_entropy ignored": lambda: il.sigmoid_binary_cross_entropy(
            z, p, weight=2.0, ignore_index=0.0
        ),
        "sigmoid_squared_error": lambda: il.sigmoid_squared_error(z, p, weight=p[:, :1]),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_forwards_allocate_no_n_by_c_temporary(dtype: Any) -> None:
    cases = _cases(dtype)
    one_copy = N * C * np.dtype(dtype).itemsize
    peaks = {name: _peak_bytes(f) for name, f in cases.items()}
    assert {k: v for k, v in peaks.items() if v > one_copy // 16} == {}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "loss", [il.softmax_cross_entropy, il.softmax_squared_error, il.logit_squared_error]
)
def test_value_and_grad_allocates_the_gradient_only(dtype: Any, loss: Any) -> None:
    rng = np.random.default_rng(1)
    z = rng.standard_normal((N, C)).astype(dtype)
    y = rng.integers(0, C, N)
    peak = _peak_bytes(lambda: il.value_and_grad(loss)(z, y))
    assert z.nbytes <= peak <= z.nbytes * 17 // 16


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", [il.sigmoid_binary_cross_entropy, il.sigmoid_squared_error])
def test_sigmoid_loss_and_grad_allocates_the_gradient_only(dtype: Any, loss: Any) -> None:
    rng = np.random.default_rng(2)
    z = rng.standard_normal((N, C)).astype(dtype)
    y = rng.uniform(0, 1, (N, C)).astype(dtype)
    peak = _peak_bytes(lambda: loss(z, y, weight=y[0], return_grad=True))
    assert z.nbytes <= peak <= z.nbytes * 17 // 16
