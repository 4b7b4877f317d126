"""NumPy views of tensors and the kernels' arguments per block of rows."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from .._kernels import _layout

_FLOATS = (torch.float32, torch.float64)


# ------------------------------------------------------------------ NumPy views


def _numpy(t: torch.Tensor) -> np.ndarray:
    """The tensor's memory as a NumPy array (no copy); the kernels only read it."""
    return t.detach().resolve_conj().resolve_neg().numpy()


class _Part(NamedTuple):
    args: tuple[Any, ...]  # (z, target, weight, smoothing, ignore_index) for the kernels
    rows: slice  # the part's rows among all rows, C order


def _safe_labels(y: np.ndarray, n_classes: int, ignore_index: int | None) -> tuple[np.ndarray, int]:
    """Labels the kernels may index with (bad ones become 0), and how many were bad."""
    ok = (y >= 0) & (y < n_classes)
    if ignore_index is not None:
        ok |= y == ignore_index
    nbad = int(ok.size - np.count_nonzero(ok))
    y = np.ascontiguousarray(y.reshape(-1), dtype=np.int64)
    return (np.where(ok.reshape(-1), y, 0) if nbad else y), nbad


def _check_shapes(z: np.ndarray, t: np.ndarray, w: np.ndarray | None) -> None:
    """The shape promises the kernels rely on (the pipeline words the user's errors)."""
    c = z.shape[-1] if z.ndim else 0
    want = z.shape[:-1] if t.dtype.kind in "iu" else z.shape
    if c == 0 or t.shape != want or (w is not None and w.shape != (c,)):
        raise ValueError(
            f"softmax_xent: logits (..., C) with C > 0, target {want} and weight ({c},) "
            f"expected; got logits {z.shape}, target {t.shape} and weight "
            f"{None if w is None else w.shape}"
        )


def _parts(
    z: np.ndarray,
    t: np.ndarray,
    w: np.ndarray | None,
    smoothing: float,
    ignore_index: int | None,
    grad: np.ndarray | None = None,
) -> tuple[list[_Part], list[np.ndarray | None], int]:
    """The kernels' arguments per block of rows, the gradient block each writes, and the
    number of bad labels (0 for probability targets)."""
    c = z.shape[-1]
    labels = t.dtype.kind in "iu"
    if not labels and t.dtype != z.dtype:
        t = t.astype(z.dtype)
    xs = [z] if labels else [z, t]
    if grad is not None:
        xs.append(grad)
    # ``row_blocks`` declines small arrays (a performance rule of the pipeline); the
    # operators run at every size, on one (N, C) view, a copy only where none exists.
    blocks = _layout.row_blocks(*xs) or [[np.reshape(x, (-1, c))] for x in xs]
    ends = np.cumsum([0] + [len(b) for b in blocks[0]]).tolist()
    rows = [slice(a, b) for a, b in itertools.pairwise(ends)]
    nbad = 0
    if labels:
        y, nbad = _safe_labels(t, c, ignore_index)
        targets: Sequence[np.ndarray] = [y[r] for r in rows]
    else:
        targets = blocks[1]
    weight = None if w is None else np.ascontiguousarray(w, dtype=np.float64)
    parts = [
        _Part((zb, tb, weight, float(smoothing), ignore_index), r)
        for zb, tb, r in zip(blocks[0], targets, rows, strict=True)
    ]
    grads: list[np.ndarray | None] = list(blocks[-1]) if grad is not None else [None] * len(parts)
    return parts, grads, nbad
