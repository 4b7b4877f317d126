r"""Linear cross-entropy: a linear layer and the softmax cross-entropy, fused, without the
N×V logits.

``linear_cross_entropy(hidden, weight, targets)`` is
``softmax_cross_entropy(hidden @ weight.T + bias, targets)`` for hidden states (N, D), an
output layer (V, D) and labels (N,), computed in chunks of rows.  Per chunk of ``r`` rows
it forms the chunk's logits (one BLAS product into a buffer reused for every chunk), runs
the fused kernel (:func:`infoloss._kernels.softmax.xent_fused`: the per-sample losses and
the chunk's gradient with respect to the logits, already scaled by the reduction's factor,
which the labels give in advance), and adds the chunk's share of the gradients::

    grad_hidden[rows] = dlogits @ weight        grad_weight += dlogitsᵀ @ hidden[rows]
    grad_bias        += Σ_rows dlogits

so the memory beyond the inputs and the gradients is two (r, V) buffers (on NumPy, whose
matmul has no ``C += A B``, also a 16 MiB buffer through which grad_weight is accumulated).  The backward
with a per-sample upstream gradient (``reduction="none"`` under autograd) takes each
row's log-sum-exp from the forward and recomputes the chunk's logits
(:func:`linear_xent_backward`).

The chunk loop is written once, on NumPy arrays, and takes its three matrix products from
an :class:`MatmulOps`: NumPy's BLAS here, PyTorch's in :mod:`infoloss.torch`, which runs
the same loop on views of the tensors' memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import numpy as np

from .. import _math
from .._kernels import enabled
from .._options import LossSpec, loss_spec, parse_bool
from .._validate import Check, enforce
from .._xp import result
from ._routes import kernel_options
from ._targets import _labels, _nonneg_check, _value_at

__all__ = [
    "NUMPY_OPS",
    "LinearLossAndGrads",
    "MatmulOps",
    "linear_cross_entropy",
    "linear_xent_backward",
    "linear_xent_forward",
]

Reduction = Literal["mean", "sum", "none"]

# A chunk's logits take about this many bytes (two such buffers with gradients).
CHUNK_BYTES = 32 << 20
# grad_weight is accumulated in blocks of classes of about this many bytes (at D=1024 on
# the 2-core machine, blocks of 1024 classes ran the products about 3× slower than 4096).
_BLOCK_BYTES = 16 << 20


class LinearLossAndGrads(NamedTuple):
    """The loss of :func:`linear_cross_entropy` and its gradients with respect to
    ``hidden`` (N, D), ``weight`` (V, D) and ``bias`` (V,) (None without a bias);
    unpacks as ``loss, grad_hidden, grad_weight, grad_bias``."""

    loss: Any
    grad_hidden: Any
    grad_weight: Any
    grad_bias: Any


class MatmulOps(NamedTuple):
    """The chunk loop's three products, on NumPy arrays (views of the caller's memory or
    buffers the loop owns); each writes into its ``out`` / ``acc`` argument."""

    logits: Callable[[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray], None]
    """(h (r, D), W (V, D), b (V,) or None, out (r, V)): out = h Wᵀ + b"""
    grad_hidden: Callable[[np.ndarray, np.ndarray, np.ndarray], None]
    """(g (r, V), W (V, D), out (r, D)): out = g W"""
    grad_weight: Callable[[np.ndarray, np.ndarray, np.ndarray, bool], None]
    """(g (r, V), h (r, D), acc (V, D), first): acc = gᵀ h if first else acc + gᵀ h"""


def _np_logits(h: np.ndarray, w: np.ndarray, b: np.ndarray | None, out: np.ndarray) -> None:
    # Overflow is counted by the kernels and reported as a data error, not warned about.
    with np.errstate(over="ignore", invalid="ignore"):
        np.matmul(h, w.T, out=out)
        if b is not None:
            out += b


def _np_grad_hidden(g: np.ndarray, w: np.ndarray, out: np.ndarray) -> None:
    np.matmul(g, w, out=out)


def _np_grad_weight(g: np.ndarray, h: np.ndarray, acc: np.ndarray, first: bool) -> None:
    if first:
        np.matmul(g.T, h, out=acc)
        return
    # NumPy's matmul has no "C += A B": add in blocks of classes through a small buffer
    # (gemm with β = 1 reads and writes C once per product too, so this costs about the same).
    v, d = acc.shape
    step = max(1, min(v, _BLOCK_BYTES // max(1, d * acc.itemsize)))
    tmp = np.empty((step, d), acc.dtype)
    for v0 in range(0, v, step):
        v1 = min(v0 + step, v)
        part = tmp[: v1 - v0]
        np.matmul(g[:, v0:v1].T, h, out=part)
        acc[v0:v1] += part


NUMPY_OPS = MatmulOps(_np_logits, _np_grad_hidden, _np_grad_weight)


def default_chunk(n_rows: int, n_classes: int, itemsize: int) -> int:
    """Rows per chunk: a chunk's logits take about :data:`CHUNK_BYTES`."""
    return max(1, min(n_rows, CHUNK_BYTES // max(1, n_classes * itemsize)))


# ------------------------------------------------------------------ the chunk loop


class _Args(NamedTuple):
    """The kernels' per-call arguments: labels (ignored samples carry ``ignore_index``,
    bad labels 0), class weights (float64) or None, smoothing, ignore_index, and the
    keyword options soft-capping and z-loss."""

    y: np.ndarray
    w: np.ndarray | None
    smoothing: float
    ignore_index: int | None
    softcap: float | None = None
    lse_square_scale: float = 0.0

    def options(self) -> dict[str, Any]:
        return kernel_options(self.softcap, self.lse_square_scale)


class LinearForward(NamedTuple):
    loss: np.ndarray  # (N,) float64 per-sample losses
    lse: np.ndarray  # (N,) float64 log-sum-exp of each row of logits
    bad_rows: tuple[int, int] | None  # the first chunk whose logits the kernels counted bad
    grad_hidden: np.ndarray | None
    grad_weight: np.ndarray | None
    grad_bias: np.ndarray | None


def _grads(
    h: np.ndarray, w: np.ndarray, b: np.ndarray | None, want: tuple[bool, bool, bool]
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    gh = np.empty(h.shape, h.dtype) if want[0] else None
    gw = np.empty(w.shape, w.dtype) if want[1] else None
    gb = np.zeros(w.shape[0], np.float64) if want[2] and b is not None else None
    return gh, gw, gb


def _accumulate(
    ops: MatmulOps,
    dl: np.ndarray,
    h: np.ndarray,
    w: np.ndarray,
    r0: int,
    r1: int,
    grads: tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None],
) -> None:
    gh, gw, gb = grads
    if gh is not None:
        ops.grad_hidden(dl, w, gh[r0:r1])
    if gw is not None:
        ops.grad_weight(dl, h[r0:r1], gw, r0 == 0)
    if gb is not None:
        gb += dl.sum(axis=0, dtype=np.float64)


def linear_xent_forward(
    h: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    args: _Args,
    chunk: int,
    ops: MatmulOps = NUMPY_OPS,
    *,
    scale: float = 1.0,
    want: tuple[bool, bool, bool] = (False, False, False),
) -> LinearForward:
    """Per-sample losses and log-sum-exps of ``h @ w.T + b`` against ``args``, in chunks
    of ``chunk`` rows; with ``want`` (hidden, weight, bias) also ``scale`` times the
    gradients of the summed loss, from the fused kernel in the same pass."""
    from .._kernels import xent_forward, xent_fused

    n = h.shape[0]
    v = w.shape[0]
    loss = np.empty(n)
    lse = np.empty(n)
    grads = _grads(h, w, b, want)
    fused = any(g is not None for g in grads)
    rows = min(chunk, n) if n else 1
    buf = np.empty((rows, v), h.dtype)
    dbuf = np.empty((rows, v), h.dtype) if fused else None
    bad: tuple[int, int] | None = None
    for r0 in range(0, n, rows):
        r1 = min(r0 + rows, n)
        z = buf[: r1 - r0]
        ops.logits(h[r0:r1], w, b, z)
        kargs = (z, args.y[r0:r1], args.w, args.smoothing, args.ignore_index)
        if dbuf is None:
            f = xent_forward(*kargs, **args.options())
        else:
            dl = dbuf[: r1 - r0]
            f = xent_fused(*kargs, dl, scale, **args.options())
            _accumulate(ops, dl, h, w, r0, r1, grads)
        loss[r0:r1] = f.loss
        lse[r0:r1] = f.lse
        if f.nbad and bad is None:
            bad = (r0, r1)
    gh, gw, gb = grads
    if gw is not None and n == 0:
        gw[...] = 0
    if gb is not None:
        gb = gb.astype(h.dtype)
    return LinearForward(loss, lse, bad, gh, gw, gb)


def linear_xent_backward(
    h: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    args: _Args,
    chunk: int,
    lse: np.ndarray,
    upstream: np.ndarray,
    ops: MatmulOps = NUMPY_OPS,
    *,
    want: tuple[bool, bool, bool] = (True, True, True),
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """The gradients of ``Σ_i upstream_i ℓ_i`` for a per-sample ``upstream`` (N,), from
    the forward's ``lse``: each chunk's logits recomputed, then the kernels' backward."""
    from .._kernels import xent_backward

    n = h.shape[0]
    v = w.shape[0]
    grads = _grads(h, w, b, want)
    rows = min(chunk, n) if n else 1
    buf = np.empty((rows, v), h.dtype)
    dbuf = np.empty((rows, v), h.dtype)
    up = np.ascontiguousarray(upstream, dtype=np.float64)
    for r0 in range(0, n, rows):
        r1 = min(r0 + rows, n)
        z = buf[: r1 - r0]
        dl = dbuf[: r1 - r0]
        ops.logits(h[r0:r1], w, b, z)
        kargs = (z, args.y[r0:r1], args.w, args.smoothing, args.ignore_index)
        xent_backward(*kargs, lse[r0:r1], up[r0:r1], dl, **args.options())
        _accumulate(ops, dl, h, w, r0, r1, grads)
    gh, gw, gb = grads
    if gw is not None and n == 0:
        gw[...] = 0
    if gb is not None:
        gb = gb.astype(h.dtype)
    return gh, gw, gb


# ---------------------------------------------------------------- arguments, checks


class Prepared(NamedTuple):
    """Parsed and checked arguments: arrays (NumPy, one float dtype), the kernels'
    arguments, the sample weights ``s`` (N,) float64, the rows per chunk and the data
    checks still to enforce."""

    h: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
    args: _Args
    s: np.ndarray
    chunk: int
    checks: list[Check]


def _finite_check(x: np.ndarray, name: str) -> Check | None:
    """A check that ``x`` is finite, or None when one sum shows it is (NaN and ±inf
    survive a sum; a sum that overflows only sends us to the entry check)."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(x, dtype=np.float64)):
            return None

    def message(where: str, value: float | None) -> str:
        return f"`{name}` must be finite; got {value}{where}"

    return Check(lambda: ~np.isfinite(x), message, _value_at(np, x))


def _float_array(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind == "c":
        raise ValueError(f"`{name}` must be real; got complex dtype {a.dtype}")
    if a.dtype.kind not in "fiub":
        raise ValueError(f"`{name}` must be a numeric array; got dtype {a.dtype}")
    return a


def _parse_chunk(chunk_size: Any, n: int, v: int, itemsize: int) -> int:
    if chunk_size is None:
        return default_chunk(n, v, itemsize)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise ValueError(f"`chunk_size` must be a positive integer or None; got {chunk_size!r}")
    if chunk_size < 1:
        raise ValueError(f"`chunk_size` must be a positive integer or None; got {chunk_size!r}")
    return int(chunk_size)


def _matrices(hidden: Any, weight: Any, bias: Any) -> tuple[Any, Any, Any]:
    """``hidden``, ``weight`` and ``bias`` at one float32/float64 dtype, shapes checked."""
    h = _float_array(hidden, "hidden")
    w = _float_array(weight, "weight")
    b = None if bias is None else _float_array(bias, "bias")
    floats = [a.dtype for a in (h, w, b) if a is not None and a.dtype.kind == "f"]
    dtype = np.result_type(*floats) if floats else np.dtype(np.float64)
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float32 if dtype.itemsize < 4 else np.float64)
    h, w = h.astype(dtype, copy=False), w.astype(dtype, copy=False)
    b = None if b is None else b.astype(dtype, copy=False)
    if h.ndim != 2:
        raise ValueError(f"`hidden` must be a 2-D array (N, D); got shape {h.shape}")
    d = h.shape[1]
    if w.ndim != 2 or w.shape[1] != d:
        raise ValueError(f"`weight` must have shape (V, {d}), matching `hidden`'s D; got {w.shape}")
    v = w.shape[0]
    if v == 0:
        raise ValueError("`weight` has no classes: its first axis has length 0")
    if b is not None and b.shape != (v,):
        raise ValueError(f"`bias` must have shape ({v},), one per class; got {b.shape}")
    return h, w, b


def _label_pieces(
    targets: Any, class_weight: Any, n: int, v: int, dtype: Any, spec: LossSpec
) -> tuple[_Args, Any, list[Check]]:
    """The kernels' label arguments, the sample weights and the labels' and class
    weights' checks (the softmax losses' own, on a logits stand-in that takes no memory)."""
    y = np.asarray(targets)
    if y.dtype.kind not in "iu":
        raise ValueError(f"`targets` must be integer class labels; got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(
            f"`targets` must have shape ({n},), one label per row of `hidden`; got {y.shape}"
        )
    stand_in = np.broadcast_to(np.zeros((), dtype), (n, v))
    tg, checks = _labels(np, y, stand_in, spec)
    assert tg.labels is not None
    keep = np.asarray(tg.keep)
    labels = np.ascontiguousarray(tg.labels, dtype=np.int64)
    ign = None if spec.ignore_index is None else int(spec.ignore_index)
    if ign is not None:
        labels = np.where(keep > 0, labels, ign)
    cw = None
    s = keep.astype(np.float64)
    if class_weight is not None:
        cw = _float_array(class_weight, "class_weight").astype(np.float64)
        if cw.shape != (v,):
            raise ValueError(
                f"`class_weight` must have shape ({v},), one weight per class; got {cw.shape}"
            )
        checks.append(_nonneg_check(np, cw, "class_weight"))
        s = s * cw[np.asarray(tg.labels)]
    args = _Args(labels, cw, spec.smoothing, ign, spec.softcap, spec.lse_square_scale)
    return args, s, checks


def linear_spec(
    label_smoothing: float,
    ignore_index: int | None,
    reduction: str,
    validate: bool,
    softcap: float | None = None,
    lse_square_scale: float = 0.0,
) -> LossSpec:
    """The options of a linear cross-entropy, parsed (class axis last)."""
    return loss_spec(
        axis=-1,
        reduction=reduction,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        validate=validate,
        softcap=softcap,
        lse_square_scale=lse_square_scale,
    )


def prepare_linear(
    hidden: Any,
    weight: Any,
    targets: Any,
    bias: Any,
    class_weight: Any,
    spec: LossSpec,
    chunk_size: Any,
) -> Prepared:
    """Arrays, shapes (errors naming the argument, raised now) and the data checks."""
    h, w, b = _matrices(hidden, weight, bias)
    (n, _), v = h.shape, w.shape[0]
    chunk = _parse_chunk(chunk_size, n, v, h.dtype.itemsize)
    checks: list[Check] = []
    if spec.validate:
        for x, name in ((h, "hidden"), (w, "weight"), (b, "bias")):
            c = None if x is None else _finite_check(x, name)
            if c is not None:
                checks.append(c)
    args, s, label_checks = _label_pieces(targets, class_weight, n, v, h.dtype, spec)
    checks += label_checks
    return Prepared(h, w, b, args, s, chunk, checks if spec.validate else [])


def logits_error(
    h: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    rows: tuple[int, int],
    *,
    capped: bool = False,
) -> ValueError:
    """The error for logits the kernels counted bad (NaN, +inf, a row of all -inf; only
    NaN when they are soft-``capped``) from finite ``hidden`` and ``weight``: the product
    overflowed."""
    r0, r1 = rows
    with np.errstate(over="ignore", invalid="ignore"):
        z = h[r0:r1] @ w.T
        if b is not None:
            z = z + b
    bad = np.isnan(z) if capped else np.isnan(z) | (z == np.inf)
    if not capped:
        bad |= np.all(z == -np.inf, axis=1, keepdims=True)
    bad_rows = np.flatnonzero(bad.any(axis=1))
    at = r0 + int(bad_rows[0]) if bad_rows.size else r0
    expr = "hidden @ weight.T" + ("" if b is None else " + bias")
    return ValueError(
        f"the logits `{expr}` overflowed (NaN, +inf, or a row of all -inf) from finite "
        f"`hidden` and `weight` (first at row {at})"
    )


def reduction_scale(s: np.ndarray, reduction: str) -> float:
    """The factor of every sample's gradient: 1, or 1 / Σ s for "mean" (0 when Σ s = 0)."""
    if reduction != "mean":
        return 1.0
    total = float(np.sum(s, dtype=np.float64))
    return 1.0 / total if total > 0 else 0.0


def reduced(loss: np.ndarray, reduction: str, scale: float) -> np.ndarray:
    if reduction == "none":
        return loss
    total = loss.sum()
    return np.asarray(total if reduction == "sum" else total * scale)


# ------------------------------------------------------------------ the public loss


def linear_cross_entropy(
    hidden: Any,
    weight: Any,
    targets: Any,
    /,
    *,
    bias: Any = None,
    class_weight: Any = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    lse_square_scale: float = 0.0,
    softcap: float | None = None,
    chunk_size: int | None = None,
    return_grad: bool = False,
    validate: bool = True,
) -> Any:
    r"""Softmax cross-entropy of the logits ``hidden @ weight.T + bias`` against labels,
    computed in chunks of rows without the N×V logits.

    Equal to ``softmax_cross_entropy(hidden @ weight.T + bias, targets,
    weight=class_weight, label_smoothing=..., ignore_index=..., reduction=...)`` (same
    options, same meaning; see :func:`infoloss.softmax_cross_entropy`), and with
    ``return_grad=True`` its gradients with respect to ``hidden``, ``weight`` and
    ``bias``, from the same pass: per chunk the logits, the fused kernel's loss and
    gradient :math:`G` with respect to the logits (already scaled by the reduction),
    then :math:`\nabla_{\text{hidden}} = G W`, :math:`\nabla_W \mathrel{+}= G^\top H`,
    :math:`\nabla_b \mathrel{+}= \sum_i G_i`.  The extra memory is two chunk buffers of
    ``chunk_size`` × V (one without ``return_grad``) besides the gradients.

    Parameters
    ----------
    hidden : array (N, D)
        Hidden states, finite.
    weight : array (V, D)
        The output layer's weights, finite (the logits are ``hidden @ weight.T``).
    targets : integer array (N,)
        Class labels in ``[0, V)`` (or ``ignore_index``).
    bias : array (V,), optional
        Added to the logits.
    class_weight : array (V,), optional
        Non-negative class weights (``weight`` of :func:`softmax_cross_entropy`).
    label_smoothing, ignore_index, reduction, lse_square_scale, softcap, validate
        As in :func:`infoloss.softmax_cross_entropy` (z-loss and soft-capping of the
        logits ``hidden @ weight.T + bias``, inside the chunk loop).
    chunk_size : int, optional
        Rows per chunk; by default a chunk's logits take about 32 MiB.
    return_grad : bool
        Also return the gradients (for ``"none"``, of the sum of the per-sample losses).

    Returns
    -------
    loss : array
        A scalar, or one value per sample for ``reduction="none"``, of the inputs' dtype.
    LinearLossAndGrads
        With ``return_grad=True``: ``(loss, grad_hidden, grad_weight, grad_bias)``,
        ``grad_bias`` None without ``bias``.

    Notes
    -----
    Bad input raises a ``ValueError`` naming the argument: NaN or infinite ``hidden``,
    ``weight`` or ``bias``, shapes other than (N, D), (V, D), (N,), (V,), labels out of
    range, negative class weights; and logits that overflow from finite inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from infoloss.losses import linear_cross_entropy, softmax_cross_entropy
    >>> rng = np.random.default_rng(0)
    >>> h, w, y = rng.normal(size=(5, 4)), rng.normal(size=(7, 4)), np.array([0, 3, 6, 2, 2])
    >>> loss, gh, gw, gb = linear_cross_entropy(h, w, y, chunk_size=2, return_grad=True)
    >>> ref, g = softmax_cross_entropy(h @ w.T, y, return_grad=True)
    >>> bool(np.isclose(loss, ref)), np.allclose(gh, g @ w), np.allclose(gw, g.T @ h), gb
    (True, True, True, None)
    """
    return_grad = parse_bool(return_grad, "return_grad")
    spec = linear_spec(
        label_smoothing, ignore_index, reduction, validate, softcap, lse_square_scale
    )
    p = prepare_linear(hidden, weight, targets, bias, class_weight, spec, chunk_size)
    if p.checks:
        enforce(np, np.zeros(()), p.checks)
    scale = reduction_scale(p.s, spec.reduction)
    want = (True, True, p.b is not None) if return_grad else (False, False, False)
    if enabled():
        fwd = linear_xent_forward(p.h, p.w, p.b, p.args, p.chunk, scale=scale, want=want)
    else:
        fwd = _array_api_forward(p, scale, want)
    if spec.validate and fwd.bad_rows is not None:
        raise logits_error(p.h, p.w, p.b, fwd.bad_rows, capped=spec.softcap is not None)
    value = result(np, reduced(fwd.loss, spec.reduction, scale).astype(p.h.dtype))
    if not return_grad:
        return value
    return LinearLossAndGrads(value, fwd.grad_hidden, fwd.grad_weight, fwd.grad_bias)


def _array_api_forward(p: Prepared, scale: float, want: tuple[bool, bool, bool]) -> LinearForward:
    """With the kernels switched off: the same chunks through the array-API code of
    :func:`infoloss.softmax_cross_entropy` (per-sample values and gradients)."""
    from .softmax import softmax_cross_entropy

    n, v = p.h.shape[0], p.w.shape[0]
    loss = np.empty(n)
    lse = np.empty(n)
    grads = _grads(p.h, p.w, p.b, want)
    fused = any(g is not None for g in grads)
    bad = None
    y = p.args.y  # in range, or ignore_index
    for r0 in range(0, n, p.chunk):
        r1 = min(r0 + p.chunk, n)
        z = np.empty((r1 - r0, v), p.h.dtype)
        NUMPY_OPS.logits(p.h[r0:r1], p.w, p.b, z)
        with np.errstate(all="ignore"):
            out = softmax_cross_entropy(
                z,
                y[r0:r1],
                weight=p.args.w,
                label_smoothing=p.args.smoothing,
                ignore_index=p.args.ignore_index,
                reduction="none",
                lse_square_scale=p.args.lse_square_scale,
                softcap=p.args.softcap,
                return_grad=fused,
                validate=False,
            )
            zc = z if p.args.softcap is None else _math.softcap(np, z, p.args.softcap)
            m = np.max(zc, axis=1)
            lse[r0:r1] = m + np.log(np.sum(np.exp(zc - m[:, None]), axis=1))
        per = out[0] if fused else out
        loss[r0:r1] = per
        if bad is None and (
            np.isnan(zc).any() or (zc == np.inf).any() or np.all(zc == -np.inf, 1).any()
        ):
            bad = (r0, r1)
        if fused:
            dl = np.asarray(out[1] * scale, dtype=p.h.dtype)
            _accumulate(NUMPY_OPS, dl, p.h, p.w, r0, r1, grads)
    gh, gw, gb = grads
    if gw is not None and n == 0:
        gw[...] = 0
    if gb is not None:
        gb = gb.astype(p.h.dtype)
    return LinearForward(loss, lse, bad, gh, gw, gb)
