"""The named results of the measure and softmax kernels (see the package docstring)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["ArgStats", "MeasureRows", "merged"]


class ArgStats(NamedTuple):
    """What the validator needs about one array argument, without reading it again.

    ``nbad``: entries bad for the form (NaN, +inf, negative probabilities; all -inf logit
    rows).  ``log_mass`` (N,): log of each row's total mass (log Σ p, or logsumexp of
    log-probabilities and logits); -inf for a row with no mass; None where the call asked
    for totals only.  ``least`` and ``most``: bounds of those log-masses, the least and the
    largest or (where the kernel took the rows' sums, not their logs, together) one ulp of
    the data's type outside them; NaN where any log-mass is NaN, or where they were not
    taken.
    """

    nbad: int
    log_mass: np.ndarray | None
    least: float = math.nan
    most: float = math.nan


def merged(stats: Sequence[ArgStats]) -> ArgStats:
    """One argument's :class:`ArgStats` over consecutive blocks of its rows: the bad
    entries added, the least and the largest of the bounds (NaN where any is NaN), the
    per-row log-masses joined where every block has them."""
    if len(stats) == 1:
        return stats[0]
    least = [s.least for s in stats]
    most = [s.most for s in stats]
    unknown = any(math.isnan(v) for v in least + most)
    masses = [s.log_mass for s in stats]
    return ArgStats(
        sum(s.nbad for s in stats),
        None if any(m is None for m in masses) else np.concatenate(masses),  # type: ignore[arg-type]
        math.nan if unknown else min(least),
        math.nan if unknown else max(most),
    )


class MeasureRows(NamedTuple):
    """Per-row values (float64, nats; NaN in rows with bad entries) and one
    :class:`ArgStats` per array argument, in order."""

    value: np.ndarray
    stats: tuple[ArgStats, ...]


class XentForward(NamedTuple):
    """Softmax cross-entropy forward (see :mod:`.softmax`): per-sample ``loss`` (N,), the
    row's ``lse`` = logsumexp(z) (N,) that the backward uses, ``sample_weight`` s_i (N,),
    ``nbad`` bad logits (NaN, +inf, and one per all -inf row), and ``target_stats``: an
    :class:`ArgStats` of probability targets (None for labels)."""

    loss: np.ndarray
    lse: np.ndarray
    sample_weight: np.ndarray
    nbad: int
    target_stats: ArgStats | None


__all__ += ["XentForward"]


class SigmoidForward(NamedTuple):
    """One pass of a sigmoid loss's kernel (see :mod:`.sigmoid`): ``total`` = Σ w·ℓ and
    ``weight_sum`` = Σ w over the elements (float64), and ``nbad``, the entries that fail
    each data check: NaN logits, +inf logits, targets outside [0, 1] that are not ignored,
    weights and positive-class weights that are negative, infinite or NaN."""

    total: float
    weight_sum: float
    nbad: tuple[int, int, int, int, int]


__all__ += ["SigmoidForward"]
