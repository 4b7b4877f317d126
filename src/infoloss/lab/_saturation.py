"""Saturation: start a linear classifier confidently wrong and watch who recovers.

A reference model is first fitted with cross-entropy from zero.  Its weights, negated and
scaled, give a start that is wrong on nearly every sample with a chosen *margin* s: the
median over the training samples of how far the wrong prediction leads.

* binary (the setting of the usual gradient argument): one logit, margin = −(2y − 1)·z, losses sigmoid
  cross-entropy (``bce``) and sigmoid squared error ``½(σ(z) − y)²`` (``bse``);
* multi-class: softmax logits, margin = max_j z_j − z_y, losses ``ce``, ``mse``,
  ``mse-logits``.

Each loss gets, at each margin, the learning rate from the shared grid that recovers fastest
(the most generous choice for the slow loss).  "Recovered" means test accuracy ≥ 90 %.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._data import Dataset, Split, split
from ._experiment import LR_GRID, Ticker, nan_mean_std, r6
from ._models import FloatArray, Params, fit, forward

__all__ = ["RECOVERED_ACC", "run_saturation"]

RECOVERED_ACC = 0.9


def _reference(part: Split, binary: bool) -> Params:
    n_out = 1 if binary else part.n_classes
    params = {
        "W": np.zeros((part.X_train.shape[1], n_out)),
        "b": np.zeros(n_out),
    }
    fit("bce" if binary else "ce", params, part.X_train, part.y_train, lr=1.0, epochs=100)
    return params


def _wrong_start(ref: Params, part: Split, binary: bool, margin: float) -> Params:
    flipped = {k: -v for k, v in ref.items()}
    if margin == 0:
        return {k: np.zeros_like(v) for k, v in flipped.items()}
    z, _ = forward(flipped, part.X_train)
    if binary:
        lead = -(2.0 * part.y_train - 1.0) * z[:, 0]
    else:
        lead = z.max(axis=1) - z[np.arange(z.shape[0]), part.y_train]
    scale = margin / float(np.median(lead))
    return {k: scale * v for k, v in flipped.items()}


def _recovery_epoch(curve: Sequence[float]) -> int | None:
    for epoch, acc in enumerate(curve):
        if acc >= RECOVERED_ACC:
            return epoch
    return None


def _try_rate(
    loss: str,
    starts: Mapping[int, Params],
    parts: Mapping[int, Split],
    lr: float,
    epochs: int,
) -> tuple[tuple[float, float], dict[str, Any]]:
    """Train from every seed's wrong start at one rate: (sort key, summary).

    The key orders rates by mean epochs to recover (a seed that never does counts as
    ``epochs + 1``), then by higher final accuracy.
    """
    acc_curves: list[list[float]] = []
    grad_curves: list[list[float]] = []
    for s, part in parts.items():
        params = {k: v.copy() for k, v in starts[s].items()}
        hist = fit(
            loss,
            params,
            part.X_train,
            part.y_train,
            lr=lr,
            epochs=epochs,
            eval_sets={"test": (part.X_test, part.y_test)},
        )
        acc_curves.append(hist.eval_acc["test"])
        grad_curves.append(hist.grad_norm)
    rec = [_recovery_epoch(c) for c in acc_curves]
    acc = np.asarray(acc_curves)
    grad: FloatArray = np.asarray(grad_curves)
    grad_mean, _ = nan_mean_std(grad)
    recovered = [r for r in rec if r is not None]
    cost = float(np.mean([epochs + 1 if r is None else r for r in rec]))
    return (cost, -float(acc[:, -1].mean())), {
        "lr": lr,
        "recovered_seeds": len(recovered),
        "epochs_to_recover_by_seed": rec,
        "epochs_to_recover_mean": (
            r6(float(np.mean(recovered))) if len(recovered) == len(rec) else None
        ),
        "initial_grad_norm": r6(float(grad[:, 0].mean())),
        "initial_test_acc": r6(float(acc[:, 0].mean())),
        "final_test_acc_mean": r6(float(acc[:, -1].mean())),
        "test_acc_mean": [r6(float(v)) for v in acc.mean(axis=0)],
        "test_acc_std": [r6(float(v)) for v in acc.std(axis=0)],
        "grad_norm_mean": [r6(float(v)) for v in grad_mean],
    }


def run_saturation(
    data: Dataset,
    *,
    binary: bool,
    losses: Sequence[str],
    margins: Sequence[float],
    seeds: Sequence[int],
    epochs: int,
    lr_grid: Sequence[float] = LR_GRID,
    ticker: Ticker | None = None,
) -> dict[str, Any]:
    """Recovery from a confidently wrong start, per loss and starting margin.

    ``ticker.update()`` is called once per loss and margin.
    """
    parts = {s: split(data, seed=s) for s in seeds}
    refs = {s: _reference(parts[s], binary) for s in seeds}
    runs: dict[str, dict[str, Any]] = {}
    for loss in losses:
        runs[loss] = {}
        for margin in margins:
            starts = {s: _wrong_start(refs[s], parts[s], binary, margin) for s in seeds}
            tried = [_try_rate(loss, starts, parts, lr, epochs) for lr in lr_grid]
            # The first of equally good rates wins, as the grid is tried in order.
            runs[loss][f"{margin:g}"] = min(tried, key=lambda t: t[0])[1]
            if ticker is not None:
                ticker.update()
    return {
        "dataset": data.name,
        "setting": "binary, one sigmoid logit" if binary else "multi-class, softmax",
        "losses": list(losses),
        "margins": [float(m) for m in margins],
        "seeds": list(seeds),
        "epochs": epochs,
        "lr_grid": list(lr_grid),
        "recovered_acc": RECOVERED_ACC,
        "runs": runs,
    }
