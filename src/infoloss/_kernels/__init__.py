"""Fused CPU kernels (numba): one read of the data, no N×C temporaries.

Importing this package does not import numba; each kernel module is imported, and each
kernel compiled (``cache=True``, so once per machine), on first use.  The public
functions reach the kernels through :mod:`infoloss._kernels.dispatch`, which decides
whether the fast path applies and otherwise returns None.

Switches: ``INFOLOSS_DISABLE_KERNELS=1`` in the environment turns the kernels off;
``with use_kernels(False): ...`` does so for a block (per thread), and
``use_kernels(True)`` turns them back on (unless numba is missing).

Kernel API (2-D NumPy arrays (N, C), float32 or float64, any strides; pairs share a
dtype; every value is float64 of shape (N,), in nats; ``nbad`` is an int)::

    entropy_probs(p, normalize=False)          -> (h, rowsum, nbad)
    entropy_logits(z)                          -> (h, nbad)
    cross_entropy_probs(p, q, normalize=False) -> (h, psum, qsum, nbad)
    kl_probs(p, q, normalize=False)            -> (d, psum, qsum, nbad)
    js_probs(p, q, normalize=False)            -> (js, psum, qsum, nbad)
    kl_logits(zp, zq)                          -> (d, nbad)
    softmax_xent_labels(z, labels, weight=None, smoothing=0.0, ignore_index=None,
                        grad_out=None, grad_scale=1.0)     -> (loss, nbad)
    softmax_xent_probs(z, t, weight=None, smoothing=0.0, ignore_index=None,
                       grad_out=None, grad_scale=1.0)      -> (loss, s, tsum, nbad)

``nbad`` counts, for probabilities, entries that are NaN, negative or +inf (in p and q
together); for logits, entries that are NaN or +inf plus rows that are all −inf.  Rows
with bad entries have meaningless values (NaN for the measures); the caller raises.
``rowsum``/``psum``/``qsum``/``tsum`` are the sums of the raw rows (float64), for the
caller's sum-to-one check.  ``normalize=True`` measures each row divided by its sum.

``labels`` are int32/int64 of shape (N,), each in [0, C) or equal to ``ignore_index``
(unchecked: the caller checks, in O(N)).  ``weight`` is None or C non-negative floats.
``grad_out``, if given, is an (N, C) array of the logits' dtype (any strides) that
receives ``grad_scale · ∂ℓ_i/∂z_i``; ``s`` is the sample weight Σ_c w_c u_ic.  See
:mod:`infoloss._kernels.softmax_xent` for the loss's definition.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import os
import threading
from collections.abc import Iterator
from typing import Any

__all__ = [
    "cross_entropy_probs",
    "enabled",
    "entropy_logits",
    "entropy_probs",
    "js_probs",
    "kl_logits",
    "kl_probs",
    "softmax_xent_labels",
    "softmax_xent_probs",
    "use_kernels",
]

_HOME = {
    "cross_entropy_probs": "measures",
    "entropy_logits": "measures",
    "entropy_probs": "measures",
    "js_probs": "measures",
    "kl_logits": "measures",
    "kl_probs": "measures",
    "softmax_xent_labels": "softmax_xent",
    "softmax_xent_probs": "softmax_xent",
}

_state = threading.local()


@functools.cache
def _numba_available() -> bool:
    return importlib.util.find_spec("numba") is not None


def enabled() -> bool:
    """True when the kernels will be used: numba is installed and nothing turned them off."""
    flag = getattr(_state, "flag", None)
    if flag is None:
        flag = os.environ.get("INFOLOSS_DISABLE_KERNELS", "").strip() not in ("1", "true", "yes")
    return bool(flag) and _numba_available()


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
        module = importlib.import_module(f".{_HOME[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
