"""Correa's m-spacing entropy kernel (``src/spacing.c``) and its contract.

``correa_logs(xs, m)``: for rows of sorted samples ``xs`` (B, n), the sum over i of
log b_i, b_i the least-squares slope of rank on value over the window i - m .. i + m
(order statistics clamped at the ends) divided by n.  :mod:`infoloss.estimators._spacing`
checks the values (no zero spacing); this module lays the array out.
"""

from __future__ import annotations

import numpy as np

from . import _spacing

__all__ = ["correa_logs"]


def correa_logs(xs: np.ndarray, m: int) -> np.ndarray:
    """Per row of sorted ``xs`` (B, n), the sum of log b_i (see the module)."""
    x = np.ascontiguousarray(xs, dtype=np.float64)
    if x.ndim != 2:
        raise TypeError(f"correa_logs needs a 2-D array; got {x.ndim}-D")
    out = np.empty(x.shape[0])
    _spacing.correa_logs(x.ctypes.data, x.shape[0], x.shape[1], m, out.ctypes.data)
    return out
