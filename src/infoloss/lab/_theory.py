"""Worked examples of the information measures, Gibbs' inequality, and the binary gradient curves.

Every number is computed by infoloss's public measures and losses; the lab only arranges
the inputs and keeps the outputs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._experiment import r6

__all__ = ["bridge", "examples", "gibbs", "gradient_curves", "jsonable"]


def jsonable(x: float) -> float | str | None:
    """A float for JSON: ±∞ as the strings ``"inf"``/``"-inf"``, NaN as None."""
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return r6(x)


def examples() -> dict[str, Any]:
    """Sun-rise, binary entropy and KL asymmetry, in bits."""
    import infoloss as il

    sun = np.array([1.0, 0.0])  # P(east), P(west)
    info = np.asarray(il.self_information(sun, base=2), dtype=np.float64)
    h_sun = float(il.entropy(sun, base=2))

    p = np.linspace(0.0, 1.0, 201)
    rows = np.stack([p, 1.0 - p], axis=1)
    h_bin = np.asarray(il.entropy(rows, base=2), dtype=np.float64)
    i_max = int(np.argmax(h_bin))

    P = np.array([0.9, 0.05, 0.05])
    Q = np.full(3, 1.0 / 3.0)
    # A pair where one direction is infinite: Q puts mass where P has none.
    P0 = np.array([0.5, 0.5, 0.0])
    Q0 = np.array([0.4, 0.3, 0.3])
    kl = {
        "P": P.tolist(),
        "Q": [r6(v) for v in Q],
        "D_PQ_bits": r6(float(il.kl_divergence(P, Q, base=2))),
        "D_QP_bits": r6(float(il.kl_divergence(Q, P, base=2))),
        "JS_bits": r6(float(il.js_divergence(P, Q, base=2))),
        "H_P_bits": r6(float(il.entropy(P, base=2))),
        "H_PQ_bits": r6(float(il.cross_entropy(P, Q, base=2))),
        "P0": P0.tolist(),
        "Q0": Q0.tolist(),
        "D_P0Q0_bits": jsonable(float(il.kl_divergence(P0, Q0, base=2))),
        "D_Q0P0_bits": jsonable(float(il.kl_divergence(Q0, P0, base=2))),
    }
    return {
        "sunrise": {
            "P_east": 1.0,
            "P_west": 0.0,
            "I_east_bits": jsonable(float(info[0])),
            "I_west_bits": jsonable(float(info[1])),
            "H_bits": jsonable(h_sun),
        },
        "binary_entropy": {
            "p": [r6(float(v)) for v in p],
            "H_bits": [r6(float(v)) for v in h_bin],
            "argmax_p": r6(float(p[i_max])),
            "max_bits": r6(float(h_bin[i_max])),
            "H_at_0_bits": r6(float(h_bin[0])),
            "H_at_1_bits": r6(float(h_bin[-1])),
        },
        "kl_asymmetry": kl,
    }


def bridge() -> dict[str, Any]:
    """One worked number from the measures to the loss: −log q_y = H(onehot(y), q).

    Three classes with logits z = (2, −1, 0.5) and label y = 0 (the first class), and one
    sigmoid unit with logit −2 and label 1, each computed both as a measure and as a loss.
    """
    import infoloss as il
    from infoloss import losses

    z = np.array([2.0, -1.0, 0.5])
    y = 0
    onehot = np.eye(3)[y]
    q = np.exp(z - np.log(np.sum(np.exp(z))))
    loss = losses.softmax_cross_entropy(z[None, :], np.array([y]), reduction="none")
    h = il.cross_entropy(onehot, z, form=("probs", "logits"))
    zb, yb = -2.0, 1.0
    sig = 1.0 / (1.0 + math.exp(-zb))
    bce = losses.sigmoid_binary_cross_entropy(np.array([zb]), np.array([yb]), reduction="none")
    return {
        "logits": z.tolist(),
        "label": y,
        "q": [r6(float(v)) for v in q],
        "q_y": r6(float(q[y])),
        "margin": r6(float(z[y] - np.max(np.delete(z, y)))),
        "minus_log_q_y_nats": r6(-math.log(float(q[y]))),
        "loss_nats": r6(float(np.asarray(loss)[0])),
        "H_onehot_q_nats": r6(float(h)),
        "H_onehot_q_bits": r6(float(il.cross_entropy(onehot, z, form=("probs", "logits"), base=2))),
        "binary_z": zb,
        "binary_y": int(yb),
        "binary_sigma": r6(sig),
        "binary_margin": r6((2 * yb - 1) * zb),
        "binary_loss_nats": r6(float(np.asarray(bce)[0])),
    }


def gibbs(*, n_pairs: int, seed: int) -> dict[str, Any]:
    """H(P,Q) − H(P) over random pairs; and the equality case P = Q."""
    import infoloss as il

    rng = np.random.default_rng([seed, 10])
    n_outcomes = 6
    # Half the pairs dense (Dirichlet α = 1), half nearly sparse (α = 0.2): the sparse half
    # puts tiny probabilities in play, where a careless implementation goes wrong.
    alphas = np.where(np.arange(n_pairs) < n_pairs // 2, 1.0, 0.2)[:, None]
    P = rng.gamma(np.broadcast_to(alphas, (n_pairs, n_outcomes)))
    Q = rng.gamma(np.broadcast_to(alphas, (n_pairs, n_outcomes)))
    P /= P.sum(axis=1, keepdims=True)
    Q /= Q.sum(axis=1, keepdims=True)
    h_pq = np.asarray(il.cross_entropy(P, Q), dtype=np.float64)
    h_p = np.asarray(il.entropy(P), dtype=np.float64)
    kl = np.asarray(il.kl_divergence(P, Q), dtype=np.float64)
    gap = h_pq - h_p
    finite = np.isfinite(gap)
    same_gap = np.asarray(il.cross_entropy(P, P), dtype=np.float64) - h_p
    same_kl = np.asarray(il.kl_divergence(P, P), dtype=np.float64)
    return {
        "n_pairs": n_pairs,
        "n_outcomes": n_outcomes,
        "gap_nats": [r6(float(v)) for v in gap[finite]],
        "min_gap_nats": r6(float(gap[finite].min())),
        "median_gap_nats": r6(float(np.median(gap[finite]))),
        "n_negative": int(np.sum(gap[finite] < 0)),
        "n_infinite": int(np.sum(~finite)),
        "max_abs_gap_minus_kl": r6(float(np.max(np.abs(gap[finite] - kl[finite])))),
        "equal_max_abs_gap_nats": r6(float(np.max(np.abs(same_gap)))),
        "equal_max_kl_nats": r6(float(np.max(np.abs(same_kl)))),
    }


def gradient_curves(*, n_points: int = 801) -> dict[str, Any]:
    """Loss and ∂L/∂z of sigmoid cross-entropy and sigmoid squared error over z ∈ [−10, 10]."""
    from infoloss import losses

    z = np.linspace(-10.0, 10.0, n_points)
    out: dict[str, Any] = {"z": [r6(float(v)) for v in z]}
    for y in (1, 0):
        t = np.full_like(z, float(y))
        ce, g_ce = losses.sigmoid_binary_cross_entropy(z, t, reduction="none", return_grad=True)
        se, g_se = losses.sigmoid_squared_error(z, t, reduction="none", return_grad=True)
        g_ce = np.asarray(g_ce, dtype=np.float64)
        g_se = np.asarray(g_se, dtype=np.float64)
        ratio = np.abs(g_se) / np.abs(g_ce)
        # The confidently wrong side: z < 0 when y = 1, z > 0 when y = 0.
        wrong = z < 0 if y == 1 else z > 0
        small = wrong & (ratio < 0.01)
        edge = float(z[small].max() if y == 1 else z[small].min())
        i8 = int(np.argmin(np.abs(z - (-8.0 if y == 1 else 8.0))))
        out[f"y{y}"] = {
            "ce": [r6(float(v)) for v in np.asarray(ce)],
            "se": [r6(float(v)) for v in np.asarray(se)],
            "grad_ce": [r6(float(v)) for v in g_ce],
            "grad_se": [r6(float(v)) for v in g_se],
            "below_1pct_from": r6(edge),
            "z_wrong8": r6(float(z[i8])),
            "grad_ce_at_wrong8": r6(float(g_ce[i8])),
            "grad_se_at_wrong8": r6(float(g_se[i8])),
        }
    # σ(z)(1 − σ(z)) = 0.01 solved exactly: σ = (1 − √0.96)/2.
    s = (1.0 - math.sqrt(0.96)) / 2.0
    out["exact_1pct_abs_z"] = r6(-math.log(s / (1.0 - s)))
    return out
