"""Adapters from the public functions to the kernels.

Each adapter takes the public function's arguments (after its scalar options have been
checked) and returns None when the fast path does not apply — not NumPy arrays, not
float32/float64, a form the kernels do not cover, kernels disabled, or too small to be
worth a parallel launch (fewer than ``MIN_SIZE`` entries) — and otherwise the finished
result in nats, in the public function's shape and dtype (the caller divides by
``log(base)`` and applies ``_array.result``).

Validation costs no extra read: the kernels return bad-entry counts and row sums, and
only when those show a problem is the data re-read, by the same ``_validate`` checks the
array-API path runs, so the error messages are identical.  For the losses, whose
messages live in ``losses.py``, any problem found (bad logits, labels out of range, bad
targets or weights) makes the adapter return None, and the array-API path then raises
its own error.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _validate
from . import enabled

__all__ = [
    "MIN_SIZE",
    "cross_entropy",
    "entropy",
    "js_divergence",
    "kl_divergence",
    "softmax_cross_entropy",
]

# Below this many entries the array-API path is as fast (thread start-up and the
# Python-level set-up dominate); see docs/performance.md.
MIN_SIZE = 1 << 14

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _usable(*arrays: Any) -> bool:
    if not enabled():
        return False
    first = arrays[0]
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype not in _FLOATS or a.dtype != first.dtype:
            return False
        if a.ndim == 0 or a.shape[-1] == 0:
            return False
    return bool(first.size >= MIN_SIZE)


def _axis(axis: Any, ndim: int) -> int | None:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        return None
    ax = int(axis)
    if not -ndim <= ax < ndim:
        return None
    return ax % ndim


def _rows(x: np.ndarray) -> np.ndarray | None:
    """``x`` (outcome axis last) as an (N, C) view, or None where that needs a copy."""
    c = x.shape[-1]
    try:
        return np.reshape(x, (-1, c), copy=False)
    except ValueError:
        return None
    except TypeError:  # NumPy < 2.1 has no ``copy=``
        y = x.reshape(-1, c)
        return y if np.shares_memory(x, y) else None


def _blocks(*xs: np.ndarray) -> list[list[np.ndarray]] | None:
    """Each ``x`` (outcome axis last, equal shapes) as (N_b, C) views covering its rows in
    C order: one block when the leading axes merge into one, else one per index of as
    few leading axes as needed (a ``moveaxis`` view of a 3-D array gives one per batch).
    None where that would take more than ``_MAX_BLOCKS`` blocks."""
    nd = xs[0].ndim
    for k in range(max(nd - 1, 1)):
        lead = xs[0].shape[:k]
        if math.prod(lead) > _MAX_BLOCKS:
            return None
        out: list[list[np.ndarray]] = [[] for _ in xs]
        for idx in np.ndindex(*lead):
            views = [_rows(x[idx]) for x in xs]
            if any(v is None for v in views):
                break
            for o, v in zip(out, views, strict=True):
                o.append(v)  # type: ignore[arg-type]
        else:
            return out
    return None


_MAX_BLOCKS = 4096


def _cat(parts: list[Any]) -> Any:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _forms(form: Any, n: int) -> tuple[str, ...] | None:
    if isinstance(form, str):
        return (form,) * n
    if isinstance(form, tuple) and len(form) == n and all(isinstance(f, str) for f in form):
        return form
    return None


def _moved(arrays: tuple[Any, ...], axis: Any) -> list[np.ndarray] | None:
    """Broadcast (as views), move ``axis`` last; None unless a NumPy fast-path case."""
    if not all(type(a) is np.ndarray for a in arrays):
        return None
    xs = list(arrays)
    if len(xs) > 1 and len({a.shape for a in xs}) > 1:
        try:
            xs = list(np.broadcast_arrays(*xs))
        except ValueError:
            return None
    if not _usable(*xs):
        return None
    ax = _axis(axis, xs[0].ndim)
    if ax is None:
        return None
    if ax != xs[0].ndim - 1:
        xs = [np.moveaxis(x, ax, -1) for x in xs]
    return xs


def _finish(value: np.ndarray, moved: np.ndarray) -> np.ndarray:
    return value.reshape(moved.shape[:-1]).astype(moved.dtype, copy=False)


def _check_probs(x: np.ndarray, name: str, rowsum: np.ndarray, normalize: bool) -> None:
    sums = rowsum.reshape(x.shape[:-1]).astype(x.dtype)
    _validate.check_row_sums(np, sums, name, dtype=x.dtype, n=x.shape[-1], normalize=normalize)


def entropy(
    p: Any, *, axis: Any = -1, form: Any = "probs", normalize: bool = False, validate: bool = True
) -> np.ndarray | None:
    """H(P) in nats for the fast cases of :func:`infoloss.entropy`, else None."""
    forms = _forms(form, 1)
    xs = _moved((p,), axis)
    if forms is None or xs is None or forms[0] not in ("probs", "logits"):
        return None
    (x,) = xs
    blocks = _blocks(x)
    if blocks is None:
        return None
    from . import entropy_logits, entropy_probs

    if forms[0] == "logits":
        res = [entropy_logits(b) for b in blocks[0]]
        h = _cat([r[0] for r in res])
        if sum(r[1] for r in res) and validate:
            _validate.check_logits(np, x, "p")
        return _finish(h, x)
    res2 = [entropy_probs(b, normalize) for b in blocks[0]]
    h, rowsum, nbad = (
        _cat([r[0] for r in res2]),
        _cat([r[1] for r in res2]),
        sum(r[2] for r in res2),
    )
    if validate:
        if nbad:
            _validate.check_probs(np, x, "p")
        _check_probs(x, "p", rowsum, normalize)
    return _finish(h, x)


def _pair(
    kind: str, p: Any, q: Any, axis: Any, form: Any, normalize: bool, validate: bool
) -> np.ndarray | None:
    forms = _forms(form, 2)
    xs = _moved((p, q), axis)
    if forms is None or xs is None:
        return None
    x, y = xs
    blocks = _blocks(x, y)
    if blocks is None:
        return None
    if forms == ("logits", "logits") and kind == "kl":
        from . import kl_logits

        res = [kl_logits(a, b) for a, b in zip(*blocks, strict=True)]
        d = _cat([r[0] for r in res])
        if sum(r[1] for r in res) and validate:
            _validate.check_logits(np, x, "p")
            _validate.check_logits(np, y, "q")
        return _finish(d, x)
    if forms != ("probs", "probs"):
        return None
    from . import cross_entropy_probs, js_probs, kl_probs

    kernel = {"ce": cross_entropy_probs, "kl": kl_probs, "js": js_probs}[kind]
    res2 = [kernel(a, b, normalize) for a, b in zip(*blocks, strict=True)]
    v, psum, qsum = (_cat([r[i] for r in res2]) for i in range(3))
    nbad = sum(r[3] for r in res2)
    if validate:
        # The array-API path checks p fully before q; so do we.
        if nbad:
            _validate.check_probs(np, x, "p")
        _check_probs(x, "p", psum, normalize)
        if nbad:
            _validate.check_probs(np, y, "q")
        _check_probs(y, "q", qsum, normalize)
    return _finish(v, x)


def cross_entropy(
    p: Any,
    q: Any,
    *,
    axis: Any = -1,
    form: Any = "probs",
    normalize: bool = False,
    validate: bool = True,
) -> np.ndarray | None:
    """H(P, Q) in nats for probability pairs, else None."""
    return _pair("ce", p, q, axis, form, normalize, validate)


def kl_divergence(
    p: Any,
    q: Any,
    *,
    axis: Any = -1,
    form: Any = "probs",
    normalize: bool = False,
    validate: bool = True,
) -> np.ndarray | None:
    """D(P‖Q) in nats for probability pairs and logit pairs, else None."""
    return _pair("kl", p, q, axis, form, normalize, validate)


def js_divergence(
    p: Any,
    q: Any,
    *,
    axis: Any = -1,
    form: Any = "probs",
    normalize: bool = False,
    validate: bool = True,
) -> np.ndarray | None:
    """JS(P, Q) in nats for probability pairs, else None."""
    return _pair("js", p, q, axis, form, normalize, validate)


def _weights(weight: Any, c: int) -> np.ndarray | bool | None:
    """Float64 weights, None for none, or False when the array-API path must handle them."""
    if weight is None:
        return None
    if type(weight) is not np.ndarray or weight.shape != (c,):
        return False
    w = weight.astype(np.float64)
    if not bool(np.all((w >= 0) & (w < np.inf))):
        return False
    return w


def softmax_cross_entropy(
    logits: Any,
    targets: Any,
    *,
    axis: Any = -1,
    weight: Any = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    reduction: str = "mean",
    return_grad: bool = False,
    grad_out: Any = None,
    validate: bool = True,
) -> Any:
    """The result of :func:`infoloss.losses.softmax_cross_entropy` in its fast cases.

    Call after the scalar options (``reduction``, ``label_smoothing``, ``return_grad``,
    ``grad_out``'s shape and dtype) are checked.  Returns ``loss`` or ``(loss, grad)``
    as the public function does, or None.
    """
    if type(logits) is not np.ndarray or type(targets) is not np.ndarray:
        return None
    if not _usable(logits):
        return None
    ax = _axis(axis, logits.ndim)
    if ax is None:
        return None
    if ignore_index is not None and (
        isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer))
    ):
        return None
    last = logits.ndim - 1

    def move(a: np.ndarray) -> np.ndarray:
        return np.moveaxis(a, ax, -1) if ax != last else a

    z = move(logits)
    c = z.shape[-1]
    batch = z.shape[:-1]
    w = _weights(weight, c)
    if w is False:
        return None
    eps = float(label_smoothing)
    ign = None if ignore_index is None else int(ignore_index)
    views = [z]
    grad = None
    if return_grad:
        if grad_out is not None:
            if type(grad_out) is not np.ndarray:
                return None
            grad = grad_out
            views.append(move(grad_out))
        else:
            gm = np.empty(z.shape, z.dtype)
            grad = np.moveaxis(gm, -1, ax) if ax != last else gm
            views.append(gm)
    labels = np.issubdtype(targets.dtype, np.integer)
    if labels:
        if targets.shape != batch:
            return None
    elif targets.dtype == z.dtype:
        if targets.shape != logits.shape or (ign is not None and not 0 <= ign < c):
            return None
        views.append(move(targets))
    else:
        return None
    blocks = _blocks(*views)
    if blocks is None:
        return None
    zb = blocks[0]
    gb: list[Any] = blocks[1] if return_grad else [None] * len(zb)
    wv: Any = w

    from . import softmax_xent_labels, softmax_xent_probs

    if labels:
        y = np.ascontiguousarray(targets.reshape(-1), dtype=np.int64)
        keep = np.ones(y.shape, bool) if ign is None else y != ign
        if validate and bool(np.any(((y < 0) | (y >= c)) & keep)):
            return None
        wy = np.where(keep, 1.0 if wv is None else wv[np.clip(y, 0, c - 1)], 0.0)
        total = float(wy.sum())
        scale = _grad_scale(reduction, total)
        parts = []
        nbad = 0
        row = 0
        for zi, gi in zip(zb, gb, strict=True):
            li, nb = softmax_xent_labels(zi, y[row : row + zi.shape[0]], w, eps, ign, gi, scale)
            parts.append(li)
            nbad += nb
            row += zi.shape[0]
        loss = _cat(parts)
        if nbad and validate:
            return None
    else:
        res = [
            softmax_xent_probs(zi, ti, w, eps, ign, gi, 1.0)
            for zi, gi, ti in zip(zb, gb, blocks[-1], strict=True)
        ]
        loss, s, tsum = (_cat([r[i] for r in res]) for i in range(3))
        if validate:
            tol = _validate.sum_tolerance(np, z.dtype, c)
            if sum(r[3] for r in res) or not bool(np.all(np.abs(tsum - 1) <= tol)):
                return None
        total = float(s.sum())
        scale = _grad_scale(reduction, total)
        if return_grad and scale != 1.0:
            # The sample weights are known only after the pass: scale in place.
            for gi in gb:
                gi *= scale

    if reduction == "none":
        value: Any = loss.reshape(batch).astype(z.dtype, copy=False)
    elif reduction == "sum":
        value = np.asarray(loss.sum(), dtype=z.dtype)
    else:
        value = np.asarray(loss.sum() / total if total > 0 else 0.0, dtype=z.dtype)
    if return_grad:
        return value, grad
    return value


def _grad_scale(reduction: str, total: float) -> float:
    if reduction != "mean":
        return 1.0
    return 1.0 / total if total > 0 else 0.0
