"""The verdict: each question the cross-entropy argument raises, beside the numbers that answer it.

Every number a row quotes is computed here from the results and stored under
``results["verdict"]["numbers"]``; a row's text refers to them as ``{name}`` or
``{name:form}`` (``pct`` a fraction in percent, ``grad`` a gradient norm, ``epochs`` a count
of epochs with its unit, ``lead`` a difference of accuracies in points with "above" or
"below"), and the report fills them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._experiment import r6

__all__ = ["GOLIK", "GOLIK_SHORT", "HUI_BELKIN", "HUI_BELKIN_SHORT", "verdict"]

GOLIK_SHORT = "Golik, Doetsch & Ney (2013)"
GOLIK = (
    f"{GOLIK_SHORT}, Cross-entropy vs. squared error training: a theoretical and "
    "experimental comparison, Interspeech 2013. Squared error trained from a random "
    "initialisation ends in worse optima than cross-entropy, but does as well once "
    "initialised by cross-entropy training."
)
HUI_BELKIN_SHORT = "Hui & Belkin (2021)"
HUI_BELKIN = (
    f"{HUI_BELKIN_SHORT}, Evaluation of neural architectures trained with square loss vs "
    "cross-entropy in classification tasks, ICLR 2021. Squared error on the logits, with no "
    "softmax, is as accurate as cross-entropy across many NLP, speech and vision tasks."
)


def _settings(training: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(f"{d}/{m}", res) for d, per in training.items() for m, res in per.items()]


def _compare(
    settings: list[tuple[str, Mapping[str, Any]]], other: str
) -> dict[str, float | int | str | None]:
    diffs, within, slower, worst, worst_name = [], 0, 0, -np.inf, ""
    for name, res in settings:
        ce, ot = res["losses"].get("ce"), res["losses"].get(other)
        if ce is None or ot is None:
            continue
        diff = float(ce["final_test_acc_mean"]) - float(ot["final_test_acc_mean"])
        spread = max(float(ce["final_test_acc_std"]), float(ot["final_test_acc_std"]))
        diffs.append(diff)
        within += abs(diff) <= spread
        e_ce, e_ot = ce["epochs_to_95"], ot["epochs_to_95"]
        slower += e_ot is None or (e_ce is not None and e_ot > e_ce)
        if diff > worst:
            worst, worst_name = diff, name
    if not diffs:
        return {}
    return {
        f"{other}_n": len(diffs),
        f"{other}_mean_gap": r6(float(np.mean(diffs))),
        f"{other}_within_spread": within,
        f"{other}_slower": slower,
        f"{other}_worst_gap": r6(worst),
        f"{other}_worst_setting": worst_name,
        f"{other}_better": int(np.sum(np.asarray(diffs) < 0)),
    }


def _recovery(sat: Mapping[str, Any], loss: str, margin: str) -> Any:
    run = sat["runs"][loss][margin]
    return run["epochs_to_recover_mean"]


def _measure_numbers(results: Mapping[str, Any]) -> dict[str, Any]:
    ex, gib, grad = results["examples"], results["gibbs"], results["gradients"]
    g_ce = float(grad["y1"]["grad_ce_at_wrong8"])
    g_se = float(grad["y1"]["grad_se_at_wrong8"])
    return {
        "I_east": ex["sunrise"]["I_east_bits"],
        "I_west": ex["sunrise"]["I_west_bits"],
        "H_sun": ex["sunrise"]["H_bits"],
        "H_max": ex["binary_entropy"]["max_bits"],
        "H_argmax": ex["binary_entropy"]["argmax_p"],
        "gibbs_pairs": gib["n_pairs"],
        "gibbs_min": gib["min_gap_nats"],
        "gibbs_negative": gib["n_negative"],
        "gibbs_equal": gib["equal_max_abs_gap_nats"],
        "D_PQ": ex["kl_asymmetry"]["D_PQ_bits"],
        "D_QP": ex["kl_asymmetry"]["D_QP_bits"],
        "D_P0Q0": ex["kl_asymmetry"]["D_P0Q0_bits"],
        "D_Q0P0": ex["kl_asymmetry"]["D_Q0P0_bits"],
        "z_wrong": grad["y1"]["z_wrong8"],
        "grad_ce_8": r6(g_ce),
        "grad_se_8": r6(g_se),
        "grad_ratio_8": r6(g_se / g_ce),
        "one_pct_z": grad["exact_1pct_abs_z"],
    }


def _binary_numbers(sat: Mapping[str, Any], m: str) -> dict[str, Any]:
    binary = sat["binary"]
    big = f"{max(binary['margins']):g}"
    runs = binary["runs"]
    return {
        "margin": m,
        "big_margin": big,
        "bin_dataset": binary["dataset"],
        "bin_epochs": binary["epochs"],
        "bce_rec": _recovery(binary, "bce", m),
        "bse_rec": _recovery(binary, "bse", m),
        "bce_rec_big": _recovery(binary, "bce", big),
        "bse_rec_big": _recovery(binary, "bse", big),
        "bse_grad0": runs["bse"][m]["initial_grad_norm"],
        "bce_grad0": runs["bce"][m]["initial_grad_norm"],
        "bse_final_big": runs["bse"][big]["final_test_acc_mean"],
    }


def _multi_numbers(multi: Mapping[str, Any]) -> dict[str, Any]:
    mbig = f"{max(multi['margins']):g}"
    return {
        "multi_dataset": multi["dataset"],
        "multi_big_margin": mbig,
        "multi_epochs": multi["epochs"],
        "multi_ce_rec": _recovery(multi, "ce", mbig),
        "multi_mse_rec": _recovery(multi, "mse", mbig),
        "multi_logit_rec": _recovery(multi, "mse-logits", mbig),
        "multi_mse_final": multi["runs"]["mse"][mbig]["final_test_acc_mean"],
    }


def _numbers(results: Mapping[str, Any]) -> dict[str, Any]:
    sat = results["saturation"]
    settings = _settings(results["training"])
    numbers = _measure_numbers(results)
    numbers.update(_binary_numbers(sat, sat["show_margin"]))
    numbers["n_settings"] = len(settings)
    numbers.update(_compare(settings, "mse"))
    numbers.update(_compare(settings, "mse-logits"))
    if sat.get("multiclass") is not None:
        numbers.update(_multi_numbers(sat["multiclass"]))
    # Rows refer to numbers by name, so names must be identifiers.
    return {k.replace("-", "_"): v for k, v in numbers.items()}


def _saturation_evidence(numbers: Mapping[str, Any]) -> str:
    text = (
        "Logistic regression on {bin_dataset} started wrong by margin {margin}; epochs to "
        "90 % test accuracy: cross-entropy {bce_rec:epochs}, squared error {bse_rec:epochs} "
        "(mean ‖∂ℓ/∂z‖ at the start {bce_grad0:grad} and {bse_grad0:grad})."
    )
    if numbers["big_margin"] != numbers["margin"]:
        text += (
            " From margin {big_margin}: cross-entropy {bce_rec_big:epochs}, squared error "
            "{bse_rec_big:epochs}, and it ends at {bse_final_big:pct} % after {bin_epochs:epochs}."
        )
    else:
        text += " Squared error ends at {bse_final_big:pct} % after {bin_epochs:epochs}."
    if "multi_dataset" in numbers:
        text += (
            " Softmax regression on {multi_dataset} from margin {multi_big_margin}: "
            "cross-entropy {multi_ce_rec:epochs}, squared error on probabilities "
            "{multi_mse_rec:epochs} (it ends at {multi_mse_final:pct} % after "
            "{multi_epochs:epochs}), squared error on the logits {multi_logit_rec:epochs}."
        )
    return text


def verdict(results: Mapping[str, Any]) -> dict[str, Any]:
    """Numbers and rows of the verdict table."""
    numbers = _numbers(results)
    rows = [dict(row) for row in _ROWS]
    for row in rows:
        if row["evidence"] is _SATURATION:
            row["evidence"] = _saturation_evidence(numbers)
    return {"numbers": numbers, "rows": rows}


# The one row whose evidence depends on which settings ran; filled in by verdict().
_SATURATION = "saturation"
_ROWS: tuple[dict[str, str], ...] = (
    {
        "claim": "Is self-information I(x) = −log P(x) zero for a certain event and infinite "
        "for an impossible one?",
        "evidence": "Sun rising in the east with P = 1, west with P = 0: "
        "I(east) = {I_east} bits, I(west) = {I_west} bits, H = {H_sun} bits.",
        "status": "supported",
        "literature": "",
    },
    {
        "claim": "Is entropy, the expected self-information, largest when every outcome is "
        "equally likely?",
        "evidence": "Binary entropy peaks at {H_max} bit, at p = {H_argmax}.",
        "status": "supported",
        "literature": "",
    },
    {
        "claim": "Is the cross-entropy H(P,Q) never below the entropy H(P), with equality "
        "exactly when Q = P (Gibbs' inequality; docs/lab.md gives the proof)?",
        "evidence": "Over {gibbs_pairs} random pairs the smallest H(P,Q) − H(P) is "
        "{gibbs_min} nats and {gibbs_negative} of them are negative; with Q = P the largest "
        "|H(P,P) − H(P)| is {gibbs_equal} nats.",
        "status": "supported",
        "literature": "",
    },
    {
        "claim": "Does D(P‖Q) = H(P,Q) − H(P), the KL divergence, measure how far Q is from "
        "P, as a distance would?",
        "evidence": "For P = (0.9, 0.05, 0.05) and uniform Q: D(P‖Q) = {D_PQ} bits but "
        "D(Q‖P) = {D_QP} bits. For P = (½, ½, 0), Q = (0.4, 0.3, 0.3): D(P‖Q) = "
        "{D_P0Q0} bits, D(Q‖P) = {D_Q0P0}. It grows as Q moves away from P, but it is not "
        "symmetric: \u201cfar\u201d depends on the direction.",
        "status": "qualified",
        "literature": "",
    },
    {
        "claim": "With a sigmoid output, does the squared-error gradient with respect to the "
        "logit carry an extra factor σ′(z) = ŷ(1 − ŷ), absent from the cross-entropy "
        "gradient ŷ − y, that makes it vanish when the model is confidently wrong?",
        "evidence": "At y = 1, z = {z_wrong}: ∂L/∂z is {grad_ce_8} for cross-entropy and "
        "{grad_se_8} for squared error (ratio {grad_ratio_8}); the squared-error gradient "
        "is under 1 % of the cross-entropy one for |z| > {one_pct_z}.",
        "status": "supported",
        "literature": "",
    },
    {
        "claim": "Does a confidently wrong model trained with squared error then barely learn?",
        "evidence": _SATURATION,
        "status": "supported",
        "literature": GOLIK,
    },
    {
        "claim": "Does cross-entropy therefore train classifiers better than squared error "
        "on probabilities?",
        "evidence": "From a small random start, over {n_settings} dataset/model settings, "
        "cross-entropy's final test accuracy is on average {mse_mean_gap:lead} squared "
        "error's, and {mse_worst_gap:lead} it in the setting most in its favour "
        "({mse_worst_setting}); the gap is within one seed standard deviation in "
        "{mse_within_spread} of {mse_n}. Squared error reaches 95 % of the best accuracy "
        "later than cross-entropy in {mse_slower} of {mse_n}.",
        "status": "qualified",
        "literature": GOLIK,
    },
    {
        "claim": "Is squared error a poor classification loss in general?",
        "evidence": "Cross-entropy's final test accuracy is on average "
        "{mse_logits_mean_gap:lead} that of squared error on the logits, and "
        "{mse_logits_worst_gap:lead} it in the setting most in cross-entropy's favour "
        "({mse_logits_worst_setting}); the gap is "
        "within one seed standard deviation in {mse_logits_within_spread} of {mse_logits_n}, "
        "and squared error on the logits is better in {mse_logits_better}.",
        "status": "qualified",
        "literature": HUI_BELKIN,
    },
)
