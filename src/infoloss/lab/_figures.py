"""The report's figures, drawn from the results dict and returned as base64 PNG.

Figures are drawn on the Agg canvas directly (``matplotlib.figure.Figure`` with
``FigureCanvasAgg``), so pyplot's global backend is never touched.  Colours are the
Okabe–Ito palette, and each loss also has its own line style, so the plots read in grey.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._format import count, fmt

__all__ = ["LOSS_LABEL", "LOSS_STYLE", "figure_set"]

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
LOSS_STYLE: dict[str, tuple[str, str]] = {
    "ce": (OKABE_ITO["blue"], "-"),
    "bce": (OKABE_ITO["blue"], "-"),
    "mse": (OKABE_ITO["vermillion"], "--"),
    "bse": (OKABE_ITO["vermillion"], "--"),
    "mse-logits": (OKABE_ITO["green"], "-."),
}
LOSS_LABEL = {
    "ce": "cross-entropy",
    "bce": "cross-entropy (sigmoid)",
    "mse": "squared error on probabilities",
    "bse": "squared error on σ(z)",
    "mse-logits": "squared error on logits",
}


def _new(nrows: int, ncols: int, size: tuple[float, float]) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.grid(True, alpha=0.3)
    return fig, axes


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _arr(values: Sequence[float | None]) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)


def fig_examples(ex: Mapping[str, Any]) -> str:
    fig, axes = _new(1, 3, (12.0, 3.6))
    ax = axes[0, 0]
    sun = ex["sunrise"]
    ax.bar(["east", "west"], [sun["P_east"], sun["P_west"]], color=OKABE_ITO["orange"])
    ax.set_ylim(0, 1.25)
    ax.set_ylabel("probability P(x)")
    ax.set_title(f"Sun-rise direction: H = {fmt(sun['H_bits'])} bits")
    for i, value in enumerate((sun["I_east_bits"], sun["I_west_bits"])):
        ax.annotate(f"I = {fmt(value)} bits", (i, 1.08), ha="center")

    ax = axes[0, 1]
    be = ex["binary_entropy"]
    ax.plot(be["p"], be["H_bits"], color=OKABE_ITO["blue"])
    ax.plot([be["argmax_p"]], [be["max_bits"]], "o", color=OKABE_ITO["vermillion"])
    ax.annotate(
        f"max {fmt(be['max_bits'])} bit at p = {fmt(be['argmax_p'])}",
        (be["argmax_p"], be["max_bits"]),
        xytext=(0.5, 0.55),
        ha="center",
        arrowprops={"arrowstyle": "->"},
    )
    ax.set_xlabel("p = P(x = 1)")
    ax.set_ylabel("H(p) [bits]")
    ax.set_title("Binary entropy")

    ax = axes[0, 2]
    kl = ex["kl_asymmetry"]
    x = np.arange(3)
    ax.bar(x - 0.2, kl["P"], 0.4, label="P", color=OKABE_ITO["blue"])
    ax.bar(x + 0.2, kl["Q"], 0.4, label="Q", color=OKABE_ITO["sky"], hatch="//")
    ax.set_xticks(x, ["x₁", "x₂", "x₃"])
    ax.set_ylabel("probability")
    # Two short lines: one long line ran past the panel and was clipped.
    ax.set_title(
        f"KL is not symmetric (bits):\nD(P‖Q) = {fmt(kl['D_PQ_bits'])},  "
        f"D(Q‖P) = {fmt(kl['D_QP_bits'])}"
    )
    ax.legend()
    return _png(fig)


def fig_gibbs(g: Mapping[str, Any]) -> str:
    fig, axes = _new(1, 1, (8.0, 3.6))
    ax = axes[0, 0]
    gap = _arr(g["gap_nats"])
    ax.hist(gap, bins=80, color=OKABE_ITO["blue"])
    ax.axvline(
        0.0, color=OKABE_ITO["vermillion"], linestyle="--", label="0 (attained only at P = Q)"
    )
    ax.set_xlabel("H(P, Q) − H(P) = D(P‖Q)  [nats]")
    ax.set_ylabel("number of pairs")
    ax.set_title(
        f"Gibbs' inequality on {g['n_pairs'] - g['n_infinite']} random pairs: "
        f"min {fmt(g['min_gap_nats'])} nats"
    )
    ax.legend()
    return _png(fig)


def fig_gradients(gc: Mapping[str, Any]) -> str:
    fig, axes = _new(2, 2, (11.0, 6.4))
    z = _arr(gc["z"])
    for row, y in enumerate((1, 0)):
        d = gc[f"y{y}"]
        edge = d["below_1pct_from"]
        for col, (kind, unit) in enumerate(
            (("", "loss L [nats for cross-entropy]"), ("grad_", "∂L/∂z"))
        ):
            ax = axes[row, col]
            for name, key in (("bce", "ce"), ("bse", "se")):
                colour, style = LOSS_STYLE[name]
                ax.plot(
                    z, _arr(d[kind + key]), color=colour, linestyle=style, label=LOSS_LABEL[name]
                )
            if y == 1:
                ax.axvspan(-10, edge, color=OKABE_ITO["yellow"], alpha=0.35)
            else:
                ax.axvspan(edge, 10, color=OKABE_ITO["yellow"], alpha=0.35)
            ax.axvline(edge, color=OKABE_ITO["black"], linewidth=0.8)
            ax.set_xlabel("logit z")
            ax.set_ylabel(unit)
            what = "loss" if not kind else "gradient wrt the logit"
            ax.set_title(f"y = {y}: {what}")
            if col == 1:
                ax.annotate(
                    f"|SE′| < 1% of |CE′|\nbeyond z = {fmt(edge)}",
                    (edge, 0.0),
                    xytext=(-9.5 if y == 1 else 5.2, -0.5 if y == 1 else 0.35),
                    fontsize=9,
                )
        axes[row, 0].legend(fontsize=8)
    return _png(fig)


def fig_training(dataset: str, per_model: Mapping[str, Mapping[str, Any]]) -> str:
    models = list(per_model)
    fig, axes = _new(2, len(models), (5.6 * len(models), 6.4))
    for col, model in enumerate(models):
        res = per_model[model]
        for loss, v in res["losses"].items():
            colour, style = LOSS_STYLE[loss]
            mean = _arr(v["test_acc_mean"])
            std = _arr(v["test_acc_std"])
            epochs = np.arange(mean.size)
            ax = axes[0, col]
            ax.plot(
                epochs,
                mean,
                color=colour,
                linestyle=style,
                label=f"{LOSS_LABEL[loss]} (lr {fmt(v['lr'])})",
            )
            ax.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.18, linewidth=0)
            g = _arr(v["grad_norm_mean"])
            gs = _arr(v["grad_norm_std"])
            ax = axes[1, col]
            ax.plot(epochs, g, color=colour, linestyle=style, label=LOSS_LABEL[loss])
            ax.fill_between(
                epochs, np.maximum(g - gs, 1e-12), g + gs, color=colour, alpha=0.18, linewidth=0
            )
        axes[0, col].axhline(
            res["target_acc_95"], color=OKABE_ITO["black"], linewidth=0.8, linestyle=":"
        )
        axes[0, col].set_ylim(max(0.0, float(res["target_acc_95"]) - 0.35), 1.0)
        axes[0, col].set_xlabel("epoch")
        axes[0, col].set_ylabel("test accuracy")
        axes[0, col].set_title(f"{dataset}: {res['model_desc']}")
        axes[0, col].legend(fontsize=8, loc="lower right")
        axes[1, col].set_yscale("log")
        axes[1, col].set_xlabel("epoch")
        axes[1, col].set_ylabel("mean ‖∂ℓ/∂z‖ per sample")
        axes[1, col].set_title("gradient reaching the logits (training set)")
    return _png(fig)


def fig_saturation(sats: Sequence[Mapping[str, Any]], show_margin: str) -> str:
    fig, axes = _new(len(sats), 2, (11.0, 3.4 * len(sats)))
    for row, sat in enumerate(sats):
        ax = axes[row, 0]
        for loss in sat["losses"]:
            run = sat["runs"][loss][show_margin]
            colour, style = LOSS_STYLE[loss]
            mean = _arr(run["test_acc_mean"])
            std = _arr(run["test_acc_std"])
            epochs = np.arange(mean.size)
            ax.plot(
                epochs,
                mean,
                color=colour,
                linestyle=style,
                label=f"{LOSS_LABEL[loss]} (lr {fmt(run['lr'])})",
            )
            ax.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.18, linewidth=0)
        ax.axhline(sat["recovered_acc"], color=OKABE_ITO["black"], linewidth=0.8, linestyle=":")
        ax.set_xscale("symlog", linthresh=10)
        ax.set_xlim(0, sat["epochs"])
        ax.set_ylim(0, 1)
        ax.set_xlabel("epoch (log scale beyond 10)")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"{sat['dataset']} ({sat['setting']}): start wrong by margin {show_margin}")
        ax.legend(fontsize=8, loc="lower right")

        ax = axes[row, 1]
        margins = [f"{m:g}" for m in sat["margins"]]
        cap = sat["epochs"] + 1
        width = 0.8 / len(sat["losses"])
        for k, loss in enumerate(sat["losses"]):
            colour, _ = LOSS_STYLE[loss]
            vals = []
            for m in margins:
                run = sat["runs"][loss][m]
                v = run["epochs_to_recover_mean"]
                vals.append(cap if v is None else max(float(v), 0.5))
            xs = np.arange(len(margins)) + (k - (len(sat["losses"]) - 1) / 2) * width
            bars = ax.bar(xs, vals, width, color=colour, label=LOSS_LABEL[loss])
            for bar, m in zip(bars, margins, strict=True):
                if sat["runs"][loss][m]["epochs_to_recover_mean"] is None:
                    bar.set_hatch("xx")
                    bar.set_alpha(0.5)
        ax.axhline(cap, color=OKABE_ITO["black"], linewidth=0.8, linestyle=":")
        ax.set_yscale("log")
        ax.set_xticks(np.arange(len(margins)), margins)
        ax.set_xlabel("initial wrong margin (logit units)")
        ax.set_ylabel("epochs to 90% test accuracy")
        ax.set_title(f"recovery time; hatched = not within {count(sat['epochs'], 'epoch')}")
        ax.legend(fontsize=8, loc="upper left")
    return _png(fig)


def figure_set(results: Mapping[str, Any]) -> dict[str, str]:
    """Every figure of the report, keyed by name, as base64-encoded PNG."""
    figs = {
        "examples": fig_examples(results["examples"]),
        "gibbs": fig_gibbs(results["gibbs"]),
        "gradients": fig_gradients(results["gradients"]),
    }
    for dataset, per_model in results["training"].items():
        figs[f"training_{dataset}"] = fig_training(dataset, per_model)
    sats = [
        results["saturation"][k] for k in ("binary", "multiclass") if k in results["saturation"]
    ]
    figs["saturation"] = fig_saturation(sats, results["saturation"]["show_margin"])
    return figs
