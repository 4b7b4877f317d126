"""The loss comparison: one dataset, one model, several losses, several seeds.

Method (the same for every loss, so the comparison is fair):

1. For each seed s a stratified 75/25 train/test split is drawn and standardised on its
   training part; the weights are initialised from s too, identically for every loss.
2. Learning rate: the training part is split again 80/20 into fit and validation parts.
   Each loss is trained on the fit part with every rate of the same grid, for the same
   number of epochs, on every seed.  The rate with the best mean final validation accuracy
   wins; ties go to the lower mean final training loss.  A rate under which any seed
   diverges is not eligible.  If the winner is the grid's smallest or largest rate, the
   grid is widened on that side by the next rate of the 1–3–10 ladder and the choice made
   again, until the winner has a tried rate on each side (or the ladder ends, which the
   results record).  The test part is never looked at here.
3. With its chosen rate each loss is trained on the whole training part, and the test
   accuracy is recorded after every epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ._data import Dataset, Split, load_dataset, split
from ._format import count, fmt
from ._models import (
    HIDDEN,
    History,
    check_loss,
    check_model,
    fit,
    init_params,
)

__all__ = [
    "DEFAULT_EPOCHS",
    "LR_GRID",
    "LR_LADDER",
    "Ticker",
    "nan_mean_std",
    "r6",
    "run_experiment",
    "train",
    "train_table",
]

#: The learning rates every loss starts choosing from: 1 and 3 times powers of ten.
LR_GRID = (0.1, 0.3, 1.0, 3.0)
#: Where the grid may grow when a loss's best rate sits at its edge: 1e-4, 3e-4, …, 3e3.
LR_LADDER = tuple(float(f"{m}e{k}") for k in range(-4, 4) for m in (1, 3))
#: Full-batch epochs per built-in dataset; a user's file gets 100.
DEFAULT_EPOCHS = {"digits": 150, "breast_cancer": 100, "wine": 100, "iris": 150, "synthetic": 200}
FALLBACK_EPOCHS = 100


class Ticker(Protocol):
    def update(self, n: int = 1) -> Any: ...


def r6(x: float) -> float | None:
    """``x`` to 6 significant digits; None for NaN (JSON has no NaN)."""
    if not math.isfinite(x):
        return None
    # "+ 0.0" turns −0.0 (e.g. −log 1) into 0.0.
    return float(f"{x:.6g}") + 0.0


def nan_mean_std(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over axis 0, skipping NaN; NaN where all are NaN."""
    finite = np.isfinite(a)
    count = finite.sum(axis=0)
    safe = np.maximum(count, 1)
    mean = np.where(finite, a, 0.0).sum(axis=0) / safe
    var = np.where(finite, (a - mean) ** 2, 0.0).sum(axis=0) / safe
    empty = count == 0
    return np.where(empty, np.nan, mean), np.where(empty, np.nan, np.sqrt(var))


def _curve(values: np.ndarray) -> list[float | None]:
    return [r6(float(v)) for v in values]


def _seeds(seed: int, seeds: int) -> list[int]:
    if seeds < 1:
        raise ValueError(f"`seeds` must be at least 1; got {seeds}")
    return [seed + i for i in range(seeds)]


def _init_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, 2])


def _run(
    model: str,
    loss: str,
    part: Split,
    seed: int,
    lr: float,
    epochs: int,
    batch_size: int | None,
) -> tuple[History, float]:
    params = init_params(model, part.X_train.shape[1], part.n_classes, _init_rng(seed))
    hist = fit(
        loss,
        params,
        part.X_train,
        part.y_train,
        lr=lr,
        epochs=epochs,
        eval_sets={"test": (part.X_test, part.y_test)},
        batch_size=batch_size,
        rng=np.random.default_rng([seed, 3]),
    )
    return hist, hist.eval_acc["test"][-1]


def _first_epoch_at(curve: Sequence[float | None], target: float) -> int | None:
    for epoch, value in enumerate(curve):
        if value is not None and value >= target:
            return epoch
    return None


def _best(selection: Sequence[dict[str, Any]]) -> dict[str, Any]:
    eligible = [row for row in selection if row["diverged"] == 0] or list(selection)
    return max(
        eligible,
        key=lambda row: (
            row["val_acc_mean"] or 0.0,
            -(row["fit_loss_mean"] if row["fit_loss_mean"] is not None else math.inf),
        ),
    )


def _choose_rate(
    trial: Any, lr_grid: Sequence[float]
) -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
    """Try every rate of the grid, widening it until the best rate is not at an edge.

    Returns the tried rates' rows in increasing order of rate, the best row, and whether
    the best rate is still at an edge because the ladder ended.
    """
    rows = {float(lr): trial(float(lr)) for lr in lr_grid}
    while True:
        ordered = [rows[lr] for lr in sorted(rows)]
        best = _best(ordered)
        lr = float(best["lr"])
        if len(ordered) < 2:
            return ordered, best, True
        lo, hi = min(rows), max(rows)
        if lo < lr < hi:
            return ordered, best, False
        # A rate above the best that diverged counts as tried: the best is interior.
        step = _ladder_step(lo, down=True) if lr == lo else _ladder_step(hi, down=False)
        if step is None:
            return ordered, best, True
        rows[step] = trial(step)


def _ladder_step(lr: float, *, down: bool) -> float | None:
    """The ladder's next rate below (or above) ``lr``; None past its end."""
    if down:
        lower = [r for r in LR_LADDER if r < lr * (1 - 1e-9)]
        return lower[-1] if lower else None
    higher = [r for r in LR_LADDER if r > lr * (1 + 1e-9)]
    return higher[0] if higher else None


def _trial(
    model: str,
    loss: str,
    inner: Mapping[int, Split],
    epochs: int,
    batch_size: int | None,
) -> Callable[[float], dict[str, Any]]:
    """Validation accuracy of one learning rate over every seed, for :func:`_choose_rate`."""

    def trial(lr: float) -> dict[str, Any]:
        val_acc, fit_loss, diverged = [], [], 0
        for s, part in inner.items():
            hist, final_val = _run(model, loss, part, s, lr, epochs, batch_size)
            val_acc.append(final_val)
            fit_loss.append(hist.train_loss[-1])
            diverged += hist.diverged_at is not None
        return {
            "lr": lr,
            "val_acc_mean": r6(float(np.mean(val_acc))),
            "fit_loss_mean": r6(float(np.mean(fit_loss))) if not diverged else None,
            "diverged": diverged,
        }

    return trial


def _final(
    model: str,
    loss: str,
    outer: Mapping[int, Split],
    lr: float,
    epochs: int,
    batch_size: int | None,
) -> dict[str, Any]:
    """Train on every seed's whole training part with the chosen rate; summarise the curves."""
    acc_curves, grad_curves, loss_curves, finals, diverged_seeds = [], [], [], [], 0
    for s, part in outer.items():
        hist, final = _run(model, loss, part, s, lr, epochs, batch_size)
        acc_curves.append(hist.eval_acc["test"])
        grad_curves.append(hist.grad_norm)
        loss_curves.append(hist.train_loss)
        finals.append(final)
        diverged_seeds += hist.diverged_at is not None
    acc = np.asarray(acc_curves)
    grad_mean, grad_std = nan_mean_std(np.asarray(grad_curves))
    loss_mean, _ = nan_mean_std(np.asarray(loss_curves))
    acc_mean = acc.mean(axis=0)
    return {
        "test_acc_mean": _curve(acc_mean),
        "test_acc_std": _curve(acc.std(axis=0)),
        "grad_norm_mean": _curve(grad_mean),
        "grad_norm_std": _curve(grad_std),
        "train_loss_mean": _curve(loss_mean),
        "final_test_acc_mean": r6(float(np.mean(finals))),
        "final_test_acc_std": r6(float(np.std(finals))),
        "final_test_acc_by_seed": [r6(float(f)) for f in finals],
        "best_test_acc_mean": r6(float(acc_mean.max())),
        "diverged_seeds": diverged_seeds,
    }


def _dataset_info(data: Dataset, some: Split) -> dict[str, Any]:
    return {
        "name": data.name,
        "n_samples": int(data.X.shape[0]),
        "n_features": int(data.X.shape[1]),
        "n_classes": data.n_classes,
        "n_train": int(some.X_train.shape[0]),
        "n_test": int(some.X_test.shape[0]),
    }


def run_experiment(
    data: Dataset,
    *,
    model: str,
    losses: Sequence[str],
    seeds: Sequence[int],
    epochs: int,
    lr_grid: Sequence[float] = LR_GRID,
    batch_size: int | None = None,
    ticker: Ticker | None = None,
) -> dict[str, Any]:
    """Choose each loss's learning rate, train on every seed, and summarise the curves.

    ``ticker.update()`` is called once per loss, when its rate is chosen and its training
    done, so a progress total can be known before the run (a widened grid adds fits).
    """
    outer = {s: split(data, seed=s) for s in seeds}
    inner = {s: split(outer[s], seed=s, validation=True) for s in seeds}
    per_loss: dict[str, Any] = {}
    for loss in losses:
        trial = _trial(model, loss, inner, epochs, batch_size)
        selection, best, at_edge = _choose_rate(trial, lr_grid)
        lr = float(best["lr"])
        per_loss[loss] = {
            "lr": lr,
            "lr_at_edge": at_edge,
            "lr_grid": [row["lr"] for row in selection],
            "selection": selection,
            **_final(model, loss, outer, lr, epochs, batch_size),
        }
        if ticker is not None:
            ticker.update()
    best_acc = max(float(v["best_test_acc_mean"] or 0.0) for v in per_loss.values())
    target = 0.95 * best_acc
    for v in per_loss.values():
        v["epochs_to_95"] = _first_epoch_at(v["test_acc_mean"], target)
    return {
        "dataset": _dataset_info(data, outer[seeds[0]]),
        "model": model,
        "model_desc": (
            "softmax regression" if model == "linear" else f"MLP, {HIDDEN} tanh hidden units"
        ),
        "epochs": epochs,
        "seeds": list(seeds),
        "lr_grid": list(lr_grid),
        "batch_size": batch_size,
        "best_test_acc_any_loss": r6(best_acc),
        "target_acc_95": r6(target),
        "losses": per_loss,
    }


def train(
    dataset: str | Path,
    *,
    model: str = "linear",
    losses: Sequence[str] = ("ce", "mse", "mse-logits"),
    seeds: int = 5,
    epochs: int | None = None,
    seed: int = 0,
    progress: bool = False,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Compare losses on one dataset with one model, over several seeds.

    Parameters
    ----------
    dataset
        A built-in name (``digits``, ``breast_cancer``, ``wine``, ``iris``, ``synthetic``)
        or a path to a ``.csv`` or ``.npz`` file; see :func:`infoloss.lab.load_dataset` for
        how the label column is found.
    model
        ``"linear"`` (softmax regression) or ``"mlp"`` (one hidden layer of 32 tanh units).
    losses
        Any of ``"ce"`` (softmax cross-entropy), ``"mse"`` (½‖softmax(z) − onehot‖²) and
        ``"mse-logits"`` (squared error on the logits, Hui & Belkin 2021).
    seeds
        How many seeds (``seed``, ``seed + 1``, …); each fixes a split and an initialisation.
    epochs
        Gradient-descent epochs; by default 100–200 depending on the dataset.
    seed
        The first seed.
    progress
        Report progress on stderr: a bar on a terminal, one line at the end otherwise.
    batch_size
        None for full-batch gradient descent, else the mini-batch size.

    Returns
    -------
    dict
        JSON-ready results: the chosen learning rate per loss with the validation accuracies
        behind the choice, test-accuracy curves (mean and standard deviation over seeds),
        mean ‖∂ℓ/∂z‖ per epoch, final accuracies and epochs to reach 95 % of the best
        accuracy.  :func:`train_table` formats them.
    """
    check_model(model)
    losses = tuple(losses)
    if not losses:
        raise ValueError("`losses` must name at least one loss")
    for loss in losses:
        check_loss(loss)
        if loss in ("bce", "bse"):
            raise ValueError(f"unknown loss {loss!r}; choose from ('ce', 'mse', 'mse-logits')")
    if epochs is not None and epochs < 1:
        raise ValueError(f"`epochs` must be at least 1; got {epochs}")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"`batch_size` must be at least 1 or None; got {batch_size}")
    seed_list = _seeds(seed, seeds)
    data = load_dataset(dataset)
    n_epochs = epochs if epochs is not None else DEFAULT_EPOCHS.get(str(dataset), FALLBACK_EPOCHS)
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    from ._progress import Progress

    # Small matrices: one BLAS thread is faster here, and makes runs repeatable.
    with (
        threadpool_limits(limits=1, user_api="blas"),
        Progress(f"{data.name}/{model}", len(losses), 1, enabled=progress) as bar,
        bar.stage("training", "train_s"),
    ):
        return run_experiment(
            data,
            model=model,
            losses=losses,
            seeds=seed_list,
            epochs=n_epochs,
            batch_size=batch_size,
            ticker=bar,
        )


def train_table(results: dict[str, Any]) -> str:
    """A plain-text table of :func:`train` results, one row per loss."""
    ds = results["dataset"]
    head = (
        f"{ds['name']} ({ds['n_samples']} samples, {ds['n_features']} features, "
        f"{ds['n_classes']} classes) · {results['model_desc']} · "
        f"{count(results['epochs'], 'epoch')} · {count(len(results['seeds']), 'seed')}"
    )
    cols = ("loss", "lr", "final test acc %", "best mean acc %", "epochs to 95%", "|dL/dz| end")
    rows = [cols]
    for name, v in results["losses"].items():
        mean, std = v["final_test_acc_mean"], v["final_test_acc_std"]
        e95 = v["epochs_to_95"]
        grad_end = v["grad_norm_mean"][-1]
        rows.append(
            (
                name,
                fmt(v["lr"]),
                f"{fmt(mean, 'pct', none='—')} ± {fmt(std, 'pct', none='—')}",
                fmt(v["best_test_acc_mean"], "pct", none="—"),
                fmt(e95, "ep"),
                fmt(grad_end, "grad", none="—"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    lines = [head]
    for k, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    target = results["target_acc_95"]
    lines.append(
        f"(95% target: {fmt(target, 'pct', none='—')}% = 0.95 × best mean test accuracy of any loss)"
    )
    return "\n".join(lines)
