"""The lab's two models, their losses, and gradient descent, in plain NumPy.

The models are softmax regression (``linear``: z = XW + b) and a one-hidden-layer perceptron
with tanh units (``mlp``: z = tanh(XW₁ + b₁)W₂ + b₂).  The loss and its gradient with respect
to the logits come from infoloss (``return_grad=True``); the chain rule from the logits to
the weights is written out below, so no autograd framework is involved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BINARY_LOSSES",
    "LOSSES",
    "MODELS",
    "History",
    "Params",
    "accuracy",
    "backward",
    "fit",
    "forward",
    "init_params",
    "loss_and_logit_grad",
    "mean_loss",
    "param_grads",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Params = dict[str, FloatArray]

MODELS = ("linear", "mlp")
#: Softmax losses compared on every dataset: cross-entropy, squared error on the
#: probabilities, squared error on the logits (Hui & Belkin 2021, k = M = 1).
LOSSES = ("ce", "mse", "mse-logits")
#: Single-logit (sigmoid) losses, the binary setting of the gradient argument.
BINARY_LOSSES = ("bce", "bse")
HIDDEN = 32
# A logit this large means the step size has blown the weights up; stop before overflow.
DIVERGED_LOGIT = 1e6


def check_model(model: str) -> str:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {MODELS}")
    return model


def check_loss(loss: str) -> str:
    if loss not in LOSSES + BINARY_LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose from {LOSSES}")
    return loss


def init_params(
    model: str, n_features: int, n_outputs: int, rng: np.random.Generator, *, hidden: int = HIDDEN
) -> Params:
    """Small random weights: N(0, 0.01²) for ``linear``; LeCun-normal for the tanh ``mlp``."""
    if model == "linear":
        return {
            "W": 0.01 * rng.standard_normal((n_features, n_outputs)),
            "b": np.zeros(n_outputs),
        }
    return {
        "W1": rng.standard_normal((n_features, hidden)) / np.sqrt(n_features),
        "b1": np.zeros(hidden),
        "W2": rng.standard_normal((hidden, n_outputs)) / np.sqrt(hidden),
        "b2": np.zeros(n_outputs),
    }


def forward(params: Mapping[str, FloatArray], X: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Logits (n × outputs) and the hidden activations (empty for the linear model)."""
    if "W" in params:
        return X @ params["W"] + params["b"], np.empty((0, 0))
    h = np.tanh(X @ params["W1"] + params["b1"])
    return h @ params["W2"] + params["b2"], h


def backward(
    params: Mapping[str, FloatArray], X: FloatArray, h: FloatArray, G: FloatArray
) -> Params:
    """∂L/∂θ from G = ∂L/∂z by the chain rule (G already carries the 1/n of the mean)."""
    if "W" in params:
        return {"W": X.T @ G, "b": G.sum(axis=0)}
    # tanh' = 1 − tanh², evaluated from the stored activations.
    dA = (G @ params["W2"].T) * (1.0 - h * h)
    return {
        "W1": X.T @ dA,
        "b1": dA.sum(axis=0),
        "W2": h.T @ G,
        "b2": G.sum(axis=0),
    }


def _loss_fn(loss: str) -> Callable[..., Any]:
    from infoloss import losses

    fns: dict[str, Callable[..., Any]] = {
        "ce": losses.softmax_cross_entropy,
        "mse": losses.softmax_squared_error,
        "mse-logits": losses.logit_squared_error,
        "bce": losses.sigmoid_binary_cross_entropy,
        "bse": losses.sigmoid_squared_error,
    }
    return fns[loss]


def loss_and_logit_grad(
    loss: str, logits: FloatArray, y: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Per-sample losses ℓᵢ and per-sample gradients ∂ℓᵢ/∂zᵢ, computed by infoloss.

    For the single-logit losses ``bce`` and ``bse`` the logits have shape (n, 1) and the
    labels are 0/1; the gradient comes back with the logits' shape.
    """
    fn = _loss_fn(loss)
    if loss in BINARY_LOSSES:
        values, grad = fn(logits[:, 0], y.astype(np.float64), reduction="none", return_grad=True)
        return np.asarray(values, dtype=np.float64), np.asarray(grad, dtype=np.float64)[:, None]
    values, grad = fn(logits, y, reduction="none", return_grad=True)
    return np.asarray(values, dtype=np.float64), np.asarray(grad, dtype=np.float64)


def mean_loss(loss: str, params: Mapping[str, FloatArray], X: FloatArray, y: IntArray) -> float:
    """The training objective: the mean loss over the samples, as infoloss reduces it."""
    logits, _ = forward(params, X)
    fn = _loss_fn(loss)
    if loss in BINARY_LOSSES:
        return float(fn(logits[:, 0], y.astype(np.float64), reduction="mean"))
    return float(fn(logits, y, reduction="mean"))


def param_grads(loss: str, params: Mapping[str, FloatArray], X: FloatArray, y: IntArray) -> Params:
    """∂(mean loss)/∂θ by backpropagation: the gradient the trainer descends."""
    logits, h = forward(params, X)
    _, G = loss_and_logit_grad(loss, logits, y)
    return backward(params, X, h, G / X.shape[0])


def predict(logits: FloatArray) -> IntArray:
    if logits.shape[1] == 1:
        return np.asarray(logits[:, 0] > 0, dtype=np.int64)
    return np.asarray(np.argmax(logits, axis=1), dtype=np.int64)


def accuracy(logits: FloatArray, y: IntArray) -> float:
    return float(np.mean(predict(logits) == y))


@dataclass
class History:
    """Per-epoch records; entry e is the state after e updates (entry 0: the start)."""

    train_loss: list[float] = field(default_factory=list)
    #: mean over training samples of ‖∂ℓᵢ/∂zᵢ‖₂, the gradient that reaches the logits
    grad_norm: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    eval_acc: dict[str, list[float]] = field(default_factory=dict)
    diverged_at: int | None = None


def _bounded(logits: FloatArray) -> bool:
    return bool(np.all(np.isfinite(logits)) and np.max(np.abs(logits)) < DIVERGED_LOGIT)


def fit(
    loss: str,
    params: Params,
    X: FloatArray,
    y: IntArray,
    *,
    lr: float,
    epochs: int,
    eval_sets: Mapping[str, tuple[FloatArray, IntArray]] | None = None,
    batch_size: int | None = None,
    rng: np.random.Generator | None = None,
) -> History:
    """Gradient descent on the mean loss; updates ``params`` in place.

    Full-batch when ``batch_size`` is None; otherwise shuffled mini-batches (``rng``) and one
    epoch is one pass over the data.  A run whose logits leave ±1e6 is stopped and marked
    diverged: its later accuracies are recorded as 0 and its later losses as NaN.
    """
    evals = dict(eval_sets or {})
    hist = History(eval_acc={k: [] for k in evals})
    n = X.shape[0]
    if rng is None:
        rng = np.random.default_rng(0)
    for epoch in range(epochs + 1):
        logits, h = forward(params, X)
        if not _bounded(logits):
            hist.diverged_at = epoch
            break
        values, G = loss_and_logit_grad(loss, logits, y)
        hist.train_loss.append(float(values.mean()))
        hist.grad_norm.append(float(np.mean(np.sqrt(np.sum(G * G, axis=1)))))
        hist.train_acc.append(accuracy(logits, y))
        for key, (X_e, y_e) in evals.items():
            hist.eval_acc[key].append(accuracy(forward(params, X_e)[0], y_e))
        if epoch == epochs:
            break
        if batch_size is None or batch_size >= n:
            grads = backward(params, X, h, G / n)
            for key, g in grads.items():
                params[key] -= lr * g
            continue
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            logits_b, h_b = forward(params, X[idx])
            if not _bounded(logits_b):
                break
            _, G_b = loss_and_logit_grad(loss, logits_b, y[idx])
            grads = backward(params, X[idx], h_b, G_b / idx.size)
            for key, g in grads.items():
                params[key] -= lr * g
    if hist.diverged_at is not None:
        missing = epochs + 1 - len(hist.train_loss)
        hist.train_loss += [float("nan")] * missing
        hist.grad_norm += [float("nan")] * missing
        hist.train_acc += [0.0] * missing
        for key in evals:
            hist.eval_acc[key] += [0.0] * missing
    return hist
