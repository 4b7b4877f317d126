"""The NSB entropy estimator's kernel (``src/nsb.c``) and its contract.

``nsb_rows(counts, k, finite) -> NSBRows(mean, sd)``: the posterior mean and standard
deviation (nats) of the entropy of each row of ``counts`` (2-D float64, non-negative whole
numbers, any strides), over the alphabet of size ``k``, or the unbounded-alphabet limit
where ``finite`` is False.  ``digamma``, ``trigamma`` and ``trigamma_tail`` (ψ₁(x) − 1/x)
are the kernel's special functions of one float, for tests.  The mathematics is in :mod:`infoloss.estimators._nsb`, which
checks the values; this module checks layouts.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _nsb

__all__ = ["NSBRows", "digamma", "nsb_rows", "trigamma", "trigamma_tail"]


class NSBRows(NamedTuple):
    """Per-row posterior ``mean`` and standard deviation ``sd`` of the entropy, nats."""

    mean: np.ndarray
    sd: np.ndarray


def nsb_rows(counts: np.ndarray, k: float, finite: bool) -> NSBRows:
    """NSB posterior mean and standard deviation of each row's entropy (see the module)."""
    c = np.asarray(counts, np.float64)
    if c.ndim != 2:
        raise TypeError(f"nsb_rows needs a 2-D array; got {c.ndim}-D")
    if c.strides[0] % 8 or c.strides[1] % 8:
        c = np.ascontiguousarray(c)
    mean = np.empty(c.shape[0], np.float64)
    sd = np.empty(c.shape[0], np.float64)
    status = _nsb.nsb_rows(
        c.ctypes.data, c.shape[0], c.shape[1], c.strides[0] // 8, c.strides[1] // 8,
        float(k), finite, mean.ctypes.data, sd.ctypes.data,
    )  # fmt: skip
    if status:
        raise MemoryError("nsb_rows: no memory for a row's fingerprint")
    return NSBRows(mean, sd)


def digamma(x: float) -> float:
    """ψ(x) for x > 0, as the kernel computes it."""
    return float(_nsb.digamma(x))


def trigamma_tail(x: float) -> float:
    """ψ₁(x) − 1/x for x > 0, as the kernel computes it (no cancellation)."""
    return float(_nsb.trigamma_tail(x))


def trigamma(x: float) -> float:
    """ψ₁(x) for x > 0."""
    return 1.0 / x + trigamma_tail(x)
