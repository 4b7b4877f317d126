"""The compiled kernels: fused CPU loops, built at install, that read the data once and
build no N×C temporary; and the one Python contract every caller uses.

Importing this package imports no extension; each family's module is imported on first
use.  The pipeline (:mod:`infoloss.measures`, :mod:`infoloss.losses`, the torch and JAX
adapters) parses options, converts arrays and selects the kernels for NumPy-viewable CPU
float32/float64 data (:mod:`._layout`); the kernels neither parse options nor raise on bad
data: they *count* it, and the one validator (:mod:`infoloss._validate`) turns the counts
into the error.

Switches: ``INFOLOSS_DISABLE_KERNELS=1`` in the environment (read at import) turns the
kernels off; ``with use_kernels(False): ...`` does so for a block (per thread), and
``use_kernels(True)`` turns them back on (unless the extension is missing).  Where the
extension was not built (no C compiler at install), :func:`enabled` is False and one
``RuntimeWarning`` says so; ``INFOLOSS_REQUIRE_KERNELS=1`` turns that into an
``ImportError`` (CI sets it).

Contract (every array 2-D or 3-D NumPy, float32 or float64, any strides; arguments of one
call share a dtype; every returned value is float64, in nats; results are named tuples
from :mod:`._results`)::

    measure_rows(kind, xs, forms, normalize, *, rows=True) -> MeasureRows(value, stats)
        kind: "entropy" | "cross_entropy" | "kl" | "js"; xs: one (N, C) array for
        "entropy", two for the others; forms: one of "probs", "log_probs", "logits" per
        array; normalize: renormalise probs / log_probs rows (logits always are);
        rows=False: each argument's totals only (no per-row log-masses).
    joint_rows(kind, x, form, normalize) -> MeasureRows(value, stats)
        kind: "joint_entropy" | "conditional_entropy" | "mutual_information"; x (N, X, Y):
        tables P(x, y) normalised over the last two axes together; H(Y | X), I(X; Y).

    MeasureRows.value  (N,) per-row value; NaN in a row whose argument has bad entries.
    MeasureRows.stats  one ArgStats per array argument, in order:
    ArgStats.nbad      entries that are bad for the form: NaN, +inf, and for "probs"
                       negative; for "logits" also each row that is entirely -inf.
    ArgStats.log_mass  (N,) log of each row's total mass: log Σ p for "probs", logsumexp
                       for "log_probs" and "logits"; -inf for a row with no mass
                       (None where rows=False).
    ArgStats.least, .most  bounds of those log-masses (the least and the largest, or one
                       ulp of the dtype outside them; NaN where any is NaN): what the
                       validator's mass check reads first.

Softmax cross-entropy: a forward that returns per-sample values plus what the backward
needs, a backward, and the fused pair for a gradient buffer the caller does not own::

    xent_forward(z, target, weight, smoothing, ignore_index) -> XentForward
        XentForward(loss (N,), lse (N,), sample_weight (N,), nbad, target_stats)
    xent_backward(z, target, weight, smoothing, ignore_index, lse, upstream, out) -> None
        writes upstream_i · ∂ℓ_i/∂z_i into out (N, C); upstream (N,) float64
    xent_fused(z, target, weight, smoothing, ignore_index, out, scale) -> XentForward
        forward and ``scale · ∂ℓ_i/∂z_i`` into ``out`` in one pass (``out`` fresh memory)

Each of the three also takes keyword-only ``softcap=None`` and ``lse_square_scale=0.0``.
The squared errors on probabilities and on logits, ``kind`` "softmax" or "logit" (the
formulas: :mod:`.softmax`), with the same arguments and result::

    sqerr_forward(kind, z, target, weight, smoothing, ignore_index, *, k=1.0, M=1.0)
    sqerr_fused(kind, z, target, weight, smoothing, ignore_index, out, scale, *, k=1.0, M=1.0)

The sigmoid losses per element, ``kind`` "bce" (binary cross-entropy) or "se" (squared
error of σ(z); the formulas: :mod:`.sigmoid`), over (N, C) logits with targets, weights and
positive-class weights of their shape (broadcast views allowed; None for ones)::

    sigmoid_forward(kind, z, target, weight, pos_weight, smoothing, ignore_index, *,
                    loss=None) -> SigmoidForward(total, weight_sum, nbad)
    sigmoid_fused(kind, z, target, weight, pos_weight, smoothing, ignore_index, out, scale,
                  *, loss=None) -> SigmoidForward
        w·ℓ per element into ``loss`` where given; ``scale·w·∂ℓ/∂z`` into ``out``

Estimators (each module's docstring has its contract): :mod:`.counting` (``count_rows(x,
lo, k)``: (B, k) int64 counts of the values lo .. lo + k − 1 in each row; compensated row
sums; the Chao–Wang–Jost tail), :mod:`.nsb` (the NSB posterior), :mod:`.knn` (k-d tree
neighbour searches and counts for KSG / Kozachenko–Leonenko), :mod:`.spacing` (Correa's
spacing estimator).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = [
    "available",
    "count_rows",
    "enabled",
    "joint_rows",
    "measure_rows",
    "sigmoid_forward",
    "sigmoid_fused",
    "sqerr_forward",
    "sqerr_fused",
    "use_kernels",
    "xent_backward",
    "xent_forward",
    "xent_fused",
]

# Where each contract function lives.
_HOME = {
    "count_rows": "counting",
    "measure_rows": "info",
    "joint_rows": "info",
    "xent_forward": "softmax",
    "xent_backward": "softmax",
    "xent_fused": "softmax",
    "sqerr_forward": "softmax",
    "sqerr_fused": "softmax",
    "sigmoid_forward": "sigmoid",
    "sigmoid_fused": "sigmoid",
}

_state = threading.local()


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


@functools.cache
def available() -> bool:
    """True when the compiled extension can be imported.  Where it cannot (the package was
    installed without a C compiler), one ``RuntimeWarning`` says so and every call takes
    the array-API path; with ``INFOLOSS_REQUIRE_KERNELS=1`` an ``ImportError`` is raised
    instead."""
    try:
        importlib.import_module("._vmath", __name__)
    except ImportError as exc:
        if _truthy("INFOLOSS_REQUIRE_KERNELS"):
            raise ImportError(
                "infoloss's compiled kernels are missing (INFOLOSS_REQUIRE_KERNELS=1): "
                f"{exc}. Reinstall with a C compiler: pip install -e ."
            ) from exc
        warnings.warn(
            "infoloss's compiled kernels are not built (no C compiler at install?), so "
            "every call takes the slower array-API path; reinstall with gcc to get them",
            RuntimeWarning,
            stacklevel=3,
        )
        return False
    return True


# The environment's switch, read once when the package is imported (every call of
# ``enabled`` reading ``os.environ`` cost two microseconds, a tenth of a small call).
_ENV_ON = not _truthy("INFOLOSS_DISABLE_KERNELS")


def enabled() -> bool:
    """True when the kernels will be used: built, and nothing turned them off."""
    flag = getattr(_state, "flag", None)
    return (_ENV_ON if flag is None else flag) and available()


@contextlib.contextmanager
def use_kernels(flag: bool) -> Iterator[None]:
    """Force the kernels on (``True``) or off (``False``) in this thread for a block."""
    old = getattr(_state, "flag", None)
    _state.flag = bool(flag)
    try:
        yield
    finally:
        _state.flag = old


def __getattr__(name: str) -> Any:
    if name in _HOME:
        # A module another thread is still importing is in sys.modules before its body has
        # run (its spec marked ``_initializing``): that one goes through the import system,
        # which waits for it (the threads of Dask's scheduler make a first call together).
        module = sys.modules.get(f"{__name__}.{_HOME[name]}")
        if module is None or getattr(module.__spec__, "_initializing", False):
            module = importlib.import_module(f".{_HOME[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
