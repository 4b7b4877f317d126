# mypy: ignore-errors
"""Interim: the backend contract served by the round-1 kernels while the new ones land.

Covers the kind × form combinations the round-1 kernels have (entropy of probs/logits;
cross-entropy, KL, JS of probs; KL of logits; softmax cross-entropy) and answers None
for the rest, which the pipeline then computes with the array-API implementation.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["joint_rows", "measure_rows", "xent_backward", "xent_forward", "xent_fused"]


class ArgStats(NamedTuple):
    nbad: int
    log_mass: np.ndarray


class MeasureRows(NamedTuple):
    value: np.ndarray
    stats: tuple[ArgStats, ...]


class XentForward(NamedTuple):
    loss: np.ndarray
    lse: np.ndarray | None
    sample_weight: np.ndarray
    nbad: int
    target_stats: ArgStats | None


def _log(s):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(s)


def measure_rows(kind, xs, forms, normalize):
    from . import measures as k

    if kind == "entropy" and forms == ("probs",):
        h, s, nb = k.entropy_probs(xs[0], normalize)
        return MeasureRows(h, (ArgStats(nb, _log(s)),))
    if kind == "entropy" and forms == ("logits",):
        h, nb = k.entropy_logits(xs[0])
        return MeasureRows(h, (ArgStats(nb, np.zeros(len(h))),))
    if kind == "kl" and forms == ("logits", "logits"):
        v, nb = k.kl_logits(*xs)
        # The counts are per call; both arguments get them (the validator re-reads both).
        return MeasureRows(v, (ArgStats(nb, np.zeros(len(v))), ArgStats(nb, np.zeros(len(v)))))
    pair = {"cross_entropy": k.cross_entropy_probs, "kl": k.kl_probs, "js": k.js_probs}
    if kind in pair and forms == ("probs", "probs"):
        v, sp, sq, nb = pair[kind](xs[0], xs[1], normalize)
        return MeasureRows(v, (ArgStats(nb, _log(sp)), ArgStats(nb, _log(sq))))
    return None


def joint_rows(kind, x, form, normalize):
    return None


def _weights(weight, c):
    return np.ones(c) if weight is None else weight


def _forward(z, target, weight, smoothing, ignore_index, grad, scale):
    from . import softmax_xent as k

    if target.ndim == 1:
        loss, nb = k.softmax_xent_labels(z, target, weight, smoothing, ignore_index, grad, scale)
        w = _weights(weight, z.shape[1])
        keep = np.ones(len(target), bool) if ignore_index is None else target != ignore_index
        s = np.where(keep, w[np.where(keep, target, 0)], 0.0)
        return XentForward(loss, None, s, nb, None)
    loss, s, tsum, nb = k.softmax_xent_probs(z, target, weight, smoothing, None, grad, scale)
    # Probability targets: the kernel counts bad logits and bad targets together.
    return XentForward(loss, None, s, nb, ArgStats(nb, _log(tsum)))


def xent_forward(z, target, weight, smoothing, ignore_index):
    return _forward(z, target, weight, smoothing, ignore_index, None, 1.0)


def xent_fused(z, target, weight, smoothing, ignore_index, out, scale):
    return _forward(z, target, weight, smoothing, ignore_index, out, scale)


def xent_backward(z, target, weight, smoothing, ignore_index, lse, upstream, out):
    _forward(z, target, weight, smoothing, ignore_index, out, 1.0)
    out *= upstream.astype(out.dtype)[:, None]
