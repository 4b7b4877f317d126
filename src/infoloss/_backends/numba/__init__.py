"""The numba backend: fused CPU kernels that read the data once, with no N×C temporaries.

Importing this package does not import numba; each kernel module is imported, and each
kernel compiled (``cache=True``, so once per machine), on first use.  The pipeline
(:mod:`infoloss.measures`, :mod:`infoloss.losses`) parses options, converts arrays and
selects this backend for NumPy-viewable CPU float32/float64 data; the kernels neither
parse options nor raise on bad data: they *count* it, and the one validator
(:mod:`infoloss._validate`) turns the counts into the error.

Switches: ``INFOLOSS_DISABLE_KERNELS=1`` in the environment turns the kernels off;
``with use_kernels(False): ...`` does so for a block (per thread), and
``use_kernels(True)`` turns them back on (unless numba is missing).

Contract (every array 2-D or 3-D NumPy, float32 or float64, any strides; arguments of one
call share a dtype; every returned value is float64, in nats; results are named tuples)::

    measure_rows(kind, xs, forms, normalize) -> MeasureRows(value, stats)
        kind: "entropy" | "cross_entropy" | "kl" | "js"; xs: one (N, C) array for
        "entropy", two for the others; forms: one of "probs", "log_probs", "logits" per
        array; normalize: renormalise probs / log_probs rows (logits always are).
    joint_rows(kind, x, form, normalize) -> MeasureRows(value, stats)
        kind: "joint_entropy" | "conditional_entropy" | "mutual_information"; x (N, X, Y):
        tables P(x, y) normalised over the last two axes together; H(Y | X), I(X; Y).

    MeasureRows.value  (N,) per-row value; NaN in a row whose argument has bad entries.
    MeasureRows.stats  one ArgStats per array argument, in order:
    ArgStats.nbad      entries that are bad for the form: NaN, +inf, and for "probs"
                       negative; for "logits" also each row that is entirely -inf.
    ArgStats.log_mass  (N,) log of each row's total mass: log Σ p for "probs", logsumexp
                       for "log_probs" and "logits"; -inf for a row with no mass.  The
                       validator checks |expm1(log_mass)| against the tolerance (when not
                       normalising) or log_mass > -inf (when normalising).

Softmax cross-entropy (see :mod:`.softmax` for the loss's definition): a forward that
returns per-sample values plus what the backward needs, a backward, and the fused pair
for a gradient buffer the caller does not own::

    xent_forward(z, target, weight, smoothing, ignore_index) -> XentForward
        XentForward(loss (N,), lse (N,), sample_weight (N,), nbad, target_stats)
    xent_backward(z, target, weight, smoothing, ignore_index, lse, upstream, out) -> None
        writes upstream_i · ∂ℓ_i/∂z_i into out (N, C); upstream (N,) float64
    xent_fused(z, target, weight, smoothing, ignore_index, out, scale) -> XentForward
        forward and ``scale · ∂ℓ_i/∂z_i`` into ``out`` in one pass (``out`` fresh memory)

Each of the three also takes keyword-only ``softcap=None`` (the loss reads c·tanh(z/c)) and
``lse_square_scale=0.0`` (the z-loss λ·s_i·lse_i² added per sample); with both at their
defaults the kernels run exactly as without them.

``target`` is int64 labels (N,) or float probabilities (N, C) of the logits' dtype;
``weight`` None or C float64 >= 0; ``ignore_index`` None or an int.  ``target_stats`` is
an ArgStats for probability targets (None for labels); ``nbad`` counts bad logits.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "count_rows",
    "enabled",
    "joint_rows",
    "measure_rows",
    "use_kernels",
    "xent_backward",
    "xent_forward",
    "xent_fused",
]

_HOME = {
    "count_rows": "counting",
    "measure_rows": "info",
    "joint_rows": "joint",
    "xent_forward": "softmax",
    "xent_backward": "softmax",
    "xent_fused": "softmax",
}

from ..._kernels import enabled, use_kernels  # noqa: E402  (one switch for both, while both exist)


def drop_stale_caches(folder: Path) -> bool:
    """Delete numba's cache indexes in ``folder/__pycache__`` if any ``*.py`` of ``folder``
    changed since the last call (a stamp file there records mtimes and sizes); True if
    they were dropped.

    numba keys a kernel's on-disk cache on its own source file only, and the kernels of
    every module here inline ``_exp.py`` and ``_rows.py``: after an edit of those, a kernel
    whose own file is unchanged would load code compiled from the old helpers.  An install
    writes every file anew, so this matters for edited checkouts; without an index numba
    compiles afresh and writes a new one.  (Not applied under ``NUMBA_CACHE_DIR``, whose
    layout is numba's.)"""
    stamp = "\n".join(
        f"{f.name} {st.st_mtime_ns} {st.st_size}"
        for f in sorted(folder.glob("*.py"))
        for st in [f.stat()]
    )
    mark = folder / "__pycache__" / "infoloss-sources.stamp"
    try:
        if mark.read_text() == stamp:
            return False
    except OSError:
        pass
    try:
        for index in mark.parent.glob("*.nbi"):
            index.unlink(missing_ok=True)
        mark.parent.mkdir(exist_ok=True)
        mark.write_text(stamp)
    except OSError:  # a read-only install: nothing to keep fresh there
        return False
    return True


@functools.cache
def fresh_caches() -> None:
    """:func:`drop_stale_caches` for this package, once per process (called by ``_exp``,
    which every module whose kernels inline other modules' code imports first)."""
    if not os.environ.get("NUMBA_CACHE_DIR"):
        drop_stale_caches(Path(__file__).parent)


def __getattr__(name: str) -> Any:
    if name in _HOME:
        module = importlib.import_module(f".{_HOME[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
