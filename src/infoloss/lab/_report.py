"""The demo: run every experiment, write ``results.json`` and a self-contained ``index.html``.

The page is rendered from the results dict alone, by :func:`._html.render_html`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._data import load_dataset
from ._experiment import DEFAULT_EPOCHS, LR_GRID, LR_LADDER, run_experiment
from ._format import count, fmt
from ._html import render_html
from ._models import BINARY_LOSSES, HIDDEN, LOSSES
from ._progress import Progress
from ._saturation import run_saturation
from ._theory import bridge, examples, gibbs, gradient_curves
from ._verdict import verdict

__all__ = ["FULL", "QUICK", "render_html", "run_demo", "summary_table"]

FULL: dict[str, Any] = {
    "datasets": ["digits", "breast_cancer", "wine", "iris", "synthetic"],
    "models": ["linear", "mlp"],
    "seeds": 5,
    "epochs": {**DEFAULT_EPOCHS, "digits": 100},
    "gibbs_pairs": 2000,
    "saturation": {
        "binary": {
            "dataset": "breast_cancer",
            "margins": [0, 2, 4, 8, 16],
            "seeds": 5,
            "epochs": 300,
        },
        "multiclass": {"dataset": "digits", "margins": [0, 4, 8, 16], "seeds": 3, "epochs": 150},
        "show_margin": "8",
    },
}
QUICK: dict[str, Any] = {
    "datasets": ["iris", "wine"],
    "models": ["linear", "mlp"],
    "seeds": 2,
    "epochs": {"iris": 20, "wine": 20},
    "gibbs_pairs": 200,
    "saturation": {
        "binary": {"dataset": "breast_cancer", "margins": [0, 8], "seeds": 2, "epochs": 40},
        "multiclass": {"dataset": "wine", "margins": [0, 8], "seeds": 2, "epochs": 30},
        "show_margin": "8",
    },
}


def _n_runs(config: Mapping[str, Any]) -> int:
    """How many runs the demo reports: one per loss and setting, known before it starts."""
    main = len(config["datasets"]) * len(config["models"]) * len(LOSSES)
    sat = config["saturation"]
    n_b = len(BINARY_LOSSES) * len(sat["binary"]["margins"])
    n_m = len(LOSSES) * len(sat["multiclass"]["margins"])
    return int(main + n_b + n_m)


def _n_stages(config: Mapping[str, Any]) -> int:
    # The theory, one per dataset, the two saturation settings, the figures and the page.
    return len(config["datasets"]) + 4


def _meta(config: Mapping[str, Any], seed: int, quick: bool) -> dict[str, Any]:
    import infoloss

    return {
        "infoloss_version": infoloss.__version__,
        "seed": seed,
        "quick": quick,
        "config": config,
        "lr_grid": list(LR_GRID),
        "lr_ladder": [LR_LADDER[0], LR_LADDER[-1]],
        "hidden_units": HIDDEN,
    }


def _theory(config: Mapping[str, Any], seed: int) -> dict[str, Any]:
    return {
        "examples": examples(),
        "bridge": bridge(),
        "gibbs": gibbs(n_pairs=config["gibbs_pairs"], seed=seed),
        "gradients": gradient_curves(),
    }


def _training(config: Mapping[str, Any], seed: int, progress: Progress) -> dict[str, Any]:
    seeds = [seed + i for i in range(config["seeds"])]
    training: dict[str, dict[str, Any]] = {}
    for name in config["datasets"]:
        with progress.stage(f"training on {name}", f"train_{name}_s"):
            data = load_dataset(name)
            training[name] = {
                model: run_experiment(
                    data,
                    model=model,
                    losses=LOSSES,
                    seeds=seeds,
                    epochs=config["epochs"][name],
                    ticker=progress,
                )
                for model in config["models"]
            }
    return training


def _saturation(config: Mapping[str, Any], seed: int, progress: Progress) -> dict[str, Any]:
    sat_cfg = config["saturation"]
    saturation: dict[str, Any] = {"show_margin": sat_cfg["show_margin"]}
    for kind, losses in (("binary", BINARY_LOSSES), ("multiclass", LOSSES)):
        cfg = sat_cfg[kind]
        with progress.stage(f"saturation, {kind}", f"saturation_{kind}_s"):
            saturation[kind] = run_saturation(
                load_dataset(cfg["dataset"]),
                binary=kind == "binary",
                losses=losses,
                margins=cfg["margins"],
                seeds=[seed + i for i in range(cfg["seeds"])],
                epochs=cfg["epochs"],
                ticker=progress,
            )
    return saturation


def run_demo(
    out_dir: str | Path = "report",
    *,
    seed: int = 0,
    quick: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the whole lab and write ``index.html`` and ``results.json`` into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder for the report; created if missing.
    seed
        First seed; the experiments use ``seed``, ``seed + 1``, ….  The same seed gives the
        same ``results.json``, apart from the ``"timing"`` entry.
    quick
        A small configuration (two datasets, two seeds, few epochs) that runs in seconds;
        for tests and a first look.  Its numbers are not the findings.
    progress
        Report progress on stderr: a bar on a terminal, one line per stage otherwise.

    Returns
    -------
    dict
        Everything the report shows, as written to ``results.json``.
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    config = QUICK if quick else FULL
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results: dict[str, Any] = {"meta": _meta(config, seed, quick)}
    # The matrices are small (at most 1347 × 64): BLAS threads cost more than they save,
    # and one thread also makes every run bit-for-bit repeatable.
    with (
        threadpool_limits(limits=1, user_api="blas"),
        Progress("infoloss demo", _n_runs(config), _n_stages(config), enabled=progress) as bar,
    ):
        with bar.stage("theory", "theory_s"):
            results.update(_theory(config, seed))
        results["training"] = _training(config, seed, bar)
        results["saturation"] = _saturation(config, seed, bar)
        results["verdict"] = verdict(results)
        with bar.stage("figures and page", "figures_and_html_s"):
            page = render_html(results)
    timing = {**bar.timing, "total_s": time.perf_counter() - start}
    results["timing"] = {k: round(v, 3) for k, v in timing.items()}
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (out / "index.html").write_text(page, encoding="utf-8")
    return results


# --------------------------------------------------------------------------------------
# Plain-text summary
# --------------------------------------------------------------------------------------


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _training_rows(results: Mapping[str, Any]) -> list[list[str]]:
    losses = list(LOSSES)
    head = ["dataset", "model"] + [f"{loss} acc%" for loss in losses]
    rows = [head + [f"{loss} ep95" for loss in losses]]
    for name, per_model in results["training"].items():
        for model, res in per_model.items():
            v = res["losses"]
            accs = [
                f"{fmt(v[k]['final_test_acc_mean'], 'pct', none='—')}"
                f"±{fmt(v[k]['final_test_acc_std'], 'pct', none='—')}"
                for k in losses
            ]
            eps = [fmt(v[k]["epochs_to_95"], "ep") for k in losses]
            rows.append([name, model, *accs, *eps])
    return rows


def _saturation_lines(sat: Mapping[str, Any]) -> list[str]:
    m = sat["show_margin"]
    lines = [f"Saturation: epochs to 90% test accuracy from a start wrong by margin {m}:"]
    for kind in ("binary", "multiclass"):
        s = sat[kind]
        parts = []
        for loss in s["losses"]:
            run = s["runs"][loss][m]
            parts.append(f"{loss} {fmt(run['epochs_to_recover_mean'], 'ep')} (lr {fmt(run['lr'])})")
        lines.append(
            f"  {s['dataset']} ({s['setting']}, {count(s['epochs'], 'epoch')}): " + ", ".join(parts)
        )
    return lines


def summary_table(results: Mapping[str, Any]) -> str:
    """The demo's findings as a plain-text table (what ``infoloss demo`` prints)."""
    lines = ["Final test accuracy (mean ± sd over seeds) and epochs to 95% of the best:"]
    lines += _table(_training_rows(results))
    lines += ["", *_saturation_lines(results["saturation"])]
    total = results.get("timing", {}).get("total_s")
    if total is not None:
        lines += ["", f"Ran in {fmt(total, 's')} s."]
    return "\n".join(lines)
