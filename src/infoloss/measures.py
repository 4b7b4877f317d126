"""Information measures, computed exactly at every edge.

Every measure takes its distribution arguments in one of three forms, chosen with the
keyword ``form``:

``"probs"`` (default)
    probabilities; each distribution sums to 1 along ``axis``.
``"log_probs"``
    natural-log probabilities (``-inf`` is probability 0); each distribution's
    ``logsumexp`` is 0.
``"logits"``
    unnormalised log-probabilities; the measure uses ``log q = z - logsumexp(z)``.

Two-argument measures accept one form for both arguments or a pair, e.g.
``form=("probs", "logits")`` for a target distribution against a model's logits.
Log-probabilities and logits are worked on in log space throughout: no softmax is taken
only to be logged again.

The conventions of the mathematics hold exactly: ``0 log 0 = 0``; a term with ``P = 0`` is
0 even where ``Q = 0``; a term with ``P > 0`` and ``Q = 0`` is ``+inf``; the Jensen-Shannon
divergence is always finite.  Results are never NaN where the value is defined.

Bad input raises :class:`ValueError` naming the argument; nothing is silently renormalised
or clamped (``normalize=True`` opts in to renormalisation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from . import _validate
from ._array import Array, as_float_arrays, namespace, result, sum_last
from ._backends.numba import dispatch

__all__ = [
    "conditional_entropy",
    "cross_entropy",
    "entropy",
    "joint_entropy",
    "js_divergence",
    "kl_divergence",
    "mutual_information",
    "perplexity",
    "self_information",
]

Form = str | tuple[str, str]
Base = float | str | None

_F = TypeVar("_F", bound=Callable[..., Any])

_PARAMS = {
    "<<axis>>": """axis : int, default -1
        The outcome axis: each distribution lies along it.""",
    "<<base>>": """base : float, "bits", "nats" or None, default None
        Base of the logarithm: None (or "nats") for nats, 2 (or "bits") for bits, 10, or
        any positive number other than 1.""",
    "<<form>>": """form : {"probs", "log_probs", "logits"} or a pair of them, default "probs"
        How the distribution arguments are given (see the module docstring).  A pair
        gives the form of each argument in turn.""",
    "<<normalize>>": """normalize : bool, default False
        Renormalise each distribution (probabilities divided by their sum,
        log-probabilities shifted by their ``logsumexp``) instead of requiring it to be
        normalised.  Logits are always normalised.""",
    "<<validate>>": """validate : bool, default True
        Check the input and raise :class:`ValueError` on bad values.  ``False`` skips the
        data-dependent checks (needed inside ``jax.jit``); results on bad input are then
        undefined.""",
}


def _fill_doc(func: _F) -> _F:
    doc = func.__doc__ or ""
    for key, text in _PARAMS.items():
        doc = doc.replace(key, text)
    func.__doc__ = doc
    return func


# --------------------------------------------------------------------------- helpers


class _Dist:
    """One distribution argument, outcome axis last: probabilities and log-probabilities.

    ``logp`` is ``-inf`` exactly where ``p == 0`` (up to underflow of ``exp``).
    ``from_probs`` records whether ``p`` is the user's exact probabilities, which lets
    ratio-based formulas avoid a round trip through the logarithm.
    """

    __slots__ = ("from_probs", "logp", "p")

    def __init__(self, p: Array, logp: Array, *, from_probs: bool) -> None:
        self.p = p
        self.logp = logp
        self.from_probs = from_probs


def _check_axis(axis: Any, ndim: int, name: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"`axis` must be an integer; got {axis!r}")
    if ndim == 0:
        raise ValueError(f"`{name}` must have at least one dimension (the outcome axis)")
    if not -ndim <= axis < ndim:
        raise ValueError(f"`axis` {axis} is out of bounds for `{name}` with {ndim} dimension(s)")
    return axis % ndim


def _forms(form: Form, n: int) -> tuple[str, ...]:
    if isinstance(form, str):
        return (_validate.check_form(form),) * n
    if isinstance(form, tuple) and len(form) == n:
        return tuple(_validate.check_form(f) for f in form)
    raise ValueError(
        f"`form` must be one of {_validate.FORMS} or a tuple of {n} of them; got {form!r}"
    )


def _masked_log(xp: Any, p: Array) -> Array:
    """``log p`` with ``-inf`` at zeros, without evaluating ``log 0`` (no warnings, no NaN)."""
    pos = p > 0
    return xp.where(pos, xp.log(xp.where(pos, p, xp.ones_like(p))), -xp.inf)


def _logsumexp(xp: Any, z: Array) -> Array:
    """``log sum exp`` over the last axis with keepdims, stable for +-1e308 and -inf."""
    m, log_s = _shifted_lse(xp, z)
    return m + log_s


def _log_softmax(xp: Any, z: Array) -> Array:
    """``z - logsumexp(z)`` as ``(z - max) - log(sum)``: the shift is exact near the max."""
    m, log_s = _shifted_lse(xp, z)
    with np.errstate(over="ignore"):
        return (z - m) - log_s


def _shifted_lse(xp: Any, z: Array) -> tuple[Array, Array]:
    """The row maximum ``m`` and ``log sum exp(z - m)``, both with keepdims.

    The sum is ``k + rest`` with ``k`` the number of maxima and ``rest`` the sum over the
    other entries, and its log is ``log1p((k - 1) + rest)``: when one logit dominates,
    ``rest`` is tiny and keeps its relative accuracy, and so does the entropy built on it.
    """
    m = xp.max(z, axis=-1, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    with np.errstate(over="ignore"):  # z - m < -max only where exp gives 0 anyway
        shifted = z - m
    at_max = shifted == 0
    zero = xp.zeros_like(shifted)
    rest = xp.sum(xp.where(at_max, zero, xp.exp(shifted)), axis=-1, keepdims=True)
    ties = xp.sum(xp.astype(at_max, z.dtype), axis=-1, keepdims=True)
    some = ties > 0  # no maximum only in an all -inf row (no mass; validation refuses it)
    log_s = xp.log1p(xp.where(some, ties - 1 + rest, zero))
    return m, xp.where(some, log_s, zero - xp.inf)


def _to_dist(xp: Any, x: Array, form: str, name: str, *, normalize: bool, validate: bool) -> _Dist:
    n = x.shape[-1]
    if n == 0:
        raise ValueError(f"`{name}` has empty distributions: the outcome axis has length 0")
    if form == "probs":
        if validate:
            _validate.check_probs(xp, x, name)
            sums = sum_last(xp, x)
            _validate.check_row_sums(xp, sums, name, dtype=x.dtype, n=n, normalize=normalize)
        if normalize:
            x = x / xp.sum(x, axis=-1, keepdims=True)
        return _Dist(x, _masked_log(xp, x), from_probs=True)
    if form == "log_probs":
        if validate:
            _validate.check_log_probs(xp, x, name)
        if validate:
            lse = _logsumexp(xp, x)
            _validate.check_row_sums(
                xp, xp.exp(lse[..., 0]), name, dtype=x.dtype, n=n, normalize=normalize
            )
        logp = _log_softmax(xp, x) if normalize else x
        return _Dist(xp.exp(logp), logp, from_probs=False)
    if validate:
        _validate.check_logits(xp, x, name)
    logp = _log_softmax(xp, x)
    return _Dist(xp.exp(logp), logp, from_probs=False)


def _prepare(
    arrays: tuple[Any, ...],
    names: tuple[str, ...],
    *,
    form: Form,
    axis: int,
    normalize: bool,
    validate: bool,
) -> tuple[Any, list[_Dist]]:
    """Namespace, dtype, broadcasting and axis handling, then validation per argument."""
    forms = _forms(form, len(arrays))
    if not isinstance(normalize, bool):
        raise ValueError(f"`normalize` must be True or False; got {normalize!r}")
    xp = namespace(*arrays)
    xs = as_float_arrays(xp, *arrays, names=names)
    if len(xs) > 1:
        try:
            xs = list(xp.broadcast_arrays(*xs))
        except (ValueError, RuntimeError, TypeError) as exc:
            shapes = " and ".join(
                f"`{n}` {tuple(x.shape)}" for n, x in zip(names, xs, strict=False)
            )
            raise ValueError(f"shapes do not broadcast: {shapes}") from exc
    ax = _check_axis(axis, xs[0].ndim, names[0])
    if ax != xs[0].ndim - 1:
        xs = [xp.moveaxis(x, ax, -1) for x in xs]
    dists = [
        _to_dist(xp, x, f, n, normalize=normalize, validate=validate)
        for x, f, n in zip(xs, forms, names, strict=False)
    ]
    return xp, dists


def _fast(kind: str, arrays: tuple[Any, ...], **opts: Any) -> Array | None:
    """The fused-kernel result for large NumPy float inputs (nats), or None.

    The scalar options are checked first so that both paths refuse the same things.
    """
    _validate.log_base(opts.pop("base"))
    if not isinstance(opts["normalize"], bool):
        raise ValueError(f"`normalize` must be True or False; got {opts['normalize']!r}")
    if not all(type(a) is np.ndarray for a in arrays):
        return None
    kernels: dict[str, Callable[..., Array | None]] = {
        "entropy": dispatch.entropy,
        "cross_entropy": dispatch.cross_entropy,
        "kl": dispatch.kl_divergence,
        "js": dispatch.js_divergence,
    }
    return kernels[kind](*arrays, **opts)


def _measure(
    kind: str,
    arrays: tuple[Any, ...],
    rows: Callable[..., Array],
    *,
    base: Base,
    axis: int,
    form: Form,
    normalize: bool,
    validate: bool,
) -> Array:
    """Run a measure: the fused kernel where it applies, else ``rows(xp, *dists)``."""
    opts: dict[str, Any] = {
        "axis": axis,
        "form": form,
        "normalize": normalize,
        "validate": validate,
    }
    fast = _fast(kind, arrays, base=base, **opts)
    if fast is not None:
        return result(np, _in_base(np, fast, base))
    names = ("p", "q")[: len(arrays)]
    xp, dists = _prepare(arrays, names, **opts)
    return result(xp, _in_base(xp, rows(xp, *dists), base))


def _in_base(xp: Any, value: Array, base: Base) -> Array:
    log_b = _validate.log_base(base)
    return value if log_b is None else value / log_b


def _log_ratio(xp: Any, a: Array, b: Array) -> Array:
    """``log(a / b)`` for positive probability arrays, to a few ulp wherever it is finite.

    ``log1p((a - b) / b)`` near a = b, where ``a - b`` is exact (Sterbenz); ``log(a / b)``
    while the ratio is a normal number; ``log a - log b`` where it would overflow or
    underflow.
    """
    one = xp.ones_like(a)
    d = xp.log(a) - xp.log(b)
    lim = 0.5 * math.log(float(xp.finfo(a.dtype).max))
    safe = xp.abs(d) < lim
    r = a / xp.where(safe, b, a)
    near = safe & (r >= 0.5) & (r <= 2.0)
    an = xp.where(near, a, one)
    bn = xp.where(near, b, one)
    return xp.where(near, xp.log1p((an - bn) / bn), xp.where(safe, xp.log(r), d))


def _log_ratio_on(xp: Any, A: _Dist, B: _Dist, mask: Array) -> Array:
    """``log(A/B)`` where ``mask`` (both positive there), 0 elsewhere; never NaN."""
    one = xp.ones_like(A.p)
    if A.from_probs and B.from_probs:
        lr = _log_ratio(xp, xp.where(mask, A.p, one), xp.where(mask, B.p, one))
    else:
        zero = xp.zeros_like(A.p)
        lr = xp.where(mask, A.logp, zero) - xp.where(mask, B.logp, zero)
    return xp.where(mask, lr, xp.zeros_like(lr))


def _positive(xp: Any, D: _Dist) -> Array:
    return D.p > 0 if D.from_probs else D.logp > -xp.inf


def _xlogy_neg(xp: Any, P: _Dist, Q: _Dist) -> Array:
    """Terms ``-p log q``: 0 off the support of P (even where q = 0), +inf where p > 0 = q."""
    pos = _positive(xp, P)
    qpos = _positive(xp, Q)
    t = -P.p * xp.where(pos & qpos, Q.logp, xp.zeros_like(Q.logp))
    return xp.where(pos & ~qpos, xp.inf, t)


def _kl_terms(xp: Any, P: _Dist, Q: _Dist) -> Array:
    """Terms ``p log(p/q)``: 0 off the support of P, +inf where p > 0 = q."""
    pos = _positive(xp, P)
    qpos = _positive(xp, Q)
    t = P.p * _log_ratio_on(xp, P, Q, pos & qpos)
    return xp.where(pos & ~qpos, xp.inf, t)


def _kl_rows(xp: Any, P: _Dist, Q: _Dist) -> Array:
    return sum_last(xp, _kl_terms(xp, P, Q))


def _mixture(xp: Any, P: _Dist, Q: _Dist) -> _Dist:
    m = (P.p + Q.p) / 2
    if P.from_probs and Q.from_probs:
        return _Dist(m, _masked_log(xp, m), from_probs=True)
    logm = xp.logaddexp(P.logp, Q.logp) - math.log(2.0)
    return _Dist(m, logm, from_probs=False)


def _entropy_rows(xp: Any, P: _Dist) -> Array:
    return sum_last(xp, _xlogy_neg(xp, P, P))


def _cross_entropy_rows(xp: Any, P: _Dist, Q: _Dist) -> Array:
    return sum_last(xp, _xlogy_neg(xp, P, Q))


def _js_rows(xp: Any, P: _Dist, Q: _Dist) -> Array:
    M = _mixture(xp, P, Q)
    return (_kl_rows(xp, P, M) + _kl_rows(xp, Q, M)) / 2


# --------------------------------------------------------------------------- measures


@_fill_doc
def self_information(
    p: Any,
    /,
    *,
    base: Base = None,
    form: str = "probs",
    axis: int = -1,
    validate: bool = True,
) -> Array:
    r"""Self-information (surprisal) of outcomes: :math:`I(x) = -\log P(x)`.

    Parameters
    ----------
    p : array_like
        Probabilities of outcomes (elementwise, any shape; they need not form a
        distribution), log-probabilities, or logits (normalised along ``axis``).
    <<base>>
    form : {"probs", "log_probs", "logits"}, default "probs"
        How ``p`` is given.
    axis : int, default -1
        Only for ``form="logits"``: the axis along which the logits are normalised.
    <<validate>>

    Returns
    -------
    array
        :math:`-\log P(x)` with the shape of ``p``: 0 where P = 1, ``+inf`` where P = 0.

    Examples
    --------
    The sun rises in the east: P(east) = 1, P(west) = 0.

    >>> import infoloss as il
    >>> il.self_information([1.0, 0.0])
    array([ 0., inf])
    >>> float(il.self_information(0.5, base=2))
    1.0
    """
    log_b = _validate.log_base(base)
    _validate.check_form(form)
    xp = namespace(p)
    (x,) = as_float_arrays(xp, p, names=("p",))
    if form == "probs":
        if validate:
            _validate.check_probs(xp, x, "p", rows=False)
            big = x > 1
            if bool(xp.any(big)):
                raise ValueError("`p` contains probabilities greater than 1")
        out = -_masked_log(xp, x)
    elif form == "log_probs":
        if validate:
            if bool(xp.any(xp.isnan(x))):
                raise ValueError("`p` contains NaN")
            if bool(xp.any(x > 0)):
                raise ValueError("`p` contains log-probabilities greater than 0")
        out = -x
    else:
        ax = _check_axis(axis, x.ndim, "p")
        z = xp.moveaxis(x, ax, -1)
        if validate:
            _validate.check_logits(xp, z, "p")
        out = xp.moveaxis(-_log_softmax(xp, z), -1, ax)
    out = out + xp.zeros_like(out)  # a fresh array: -0.0 becomes 0.0
    return result(xp, out if log_b is None else out / log_b)


@_fill_doc
def entropy(
    p: Any,
    /,
    *,
    axis: int = -1,
    base: Base = None,
    form: str = "probs",
    normalize: bool = False,
    validate: bool = True,
) -> Array:
    r"""Shannon entropy of each distribution: :math:`H(P) = -\sum_i P_i \log P_i`.

    Parameters
    ----------
    p : array_like
        Distributions along ``axis``.
    <<axis>>
    <<base>>
    form : {"probs", "log_probs", "logits"}, default "probs"
        How ``p`` is given.
    <<normalize>>
    <<validate>>

    Returns
    -------
    array
        One entropy per distribution (``p``'s shape without ``axis``).

    Notes
    -----
    :math:`0 \log 0 = 0` (the limit), so :math:`0 \le H(P) \le \log n`, with the maximum
    exactly at the uniform distribution and 0 exactly at a point mass.

    Examples
    --------
    >>> import infoloss as il
    >>> float(il.entropy([1.0, 0.0]))  # the sun always rises in the east
    0.0
    >>> float(il.entropy([0.5, 0.5], base=2))
    1.0
    >>> p, q = [0.2, 0.8], [0.5, 0.5]
    >>> bool(abs(il.cross_entropy(p, q) - (il.entropy(p) + il.kl_divergence(p, q))) < 1e-15)
    True
    """
    return _measure(
        "entropy",
        (p,),
        _entropy_rows,
        base=base,
        axis=axis,
        form=form,
        normalize=normalize,
        validate=validate,
    )


@_fill_doc
def cross_entropy(
    p: Any,
    q: Any,
    /,
    *,
    axis: int = -1,
    base: Base = None,
    form: Form = "probs",
    normalize: bool = False,
    validate: bool = True,
) -> Array:
    r"""Cross-entropy of Q relative to P: :math:`H(P, Q) = -\sum_i P_i \log Q_i`.

    Parameters
    ----------
    p, q : array_like
        Distributions along ``axis``; they broadcast against each other.
    <<axis>>
    <<base>>
    <<form>>
    <<normalize>>
    <<validate>>

    Returns
    -------
    array
        One value per pair of distributions.

    Notes
    -----
    A term with :math:`P_i = 0` is 0 even where :math:`Q_i = 0`; a term with
    :math:`P_i > 0, Q_i = 0` is :math:`+\infty`.  Gibbs' inequality
    :math:`H(P, Q) \ge H(P)` holds with equality exactly at :math:`P = Q`.

    Examples
    --------
    >>> import infoloss as il
    >>> p, q = [0.25, 0.75], [0.5, 0.5]
    >>> float(il.cross_entropy(p, q, base=2))
    1.0
    >>> bool(il.cross_entropy(p, q) >= il.entropy(p))  # Gibbs' inequality
    True
    """
    return _measure(
        "cross_entropy",
        (p, q),
        _cross_entropy_rows,
        base=base,
        axis=axis,
        form=form,
        normalize=normalize,
        validate=validate,
    )


@_fill_doc
def kl_divergence(
    p: Any,
    q: Any,
    /,
    *,
    axis: int = -1,
    base: Base = None,
    form: Form = "probs",
    normalize: bool = False,
    validate: bool = True,
) -> Array:
    r"""Kullback-Leibler divergence :math:`D(P \| Q) = \sum_i P_i \log (P_i / Q_i)`.

    Parameters
    ----------
    p, q : array_like
        Distributions along ``axis``; they broadcast against each other.  The order is
        the mathematics': ``kl_divergence(p, q)`` is :math:`D(P \| Q)` (PyTorch's
        ``kl_div(input, target)`` takes them the other way round, and ``input`` in log
        space).
    <<axis>>
    <<base>>
    <<form>>
    <<normalize>>
    <<validate>>

    Returns
    -------
    array
        One divergence per pair: :math:`\ge 0`, 0 exactly where P = Q, :math:`+\infty`
        where P puts mass where Q has none.

    Notes
    -----
    Computed term by term as :math:`P_i \log(P_i/Q_i)` (with ``log1p`` near
    :math:`P_i = Q_i`), never as the difference :math:`H(P, Q) - H(P)` of two large
    numbers, although the identity holds.  Not symmetric.

    Examples
    --------
    >>> import infoloss as il
    >>> p, q = [0.9, 0.1], [0.5, 0.5]
    >>> round(float(il.kl_divergence(p, q)), 6), round(float(il.kl_divergence(q, p)), 6)
    (0.368064, 0.510826)
    >>> float(il.kl_divergence(p, p))
    0.0
    """
    return _measure(
        "kl",
        (p, q),
        _kl_rows,
        base=base,
        axis=axis,
        form=form,
        normalize=normalize,
        validate=validate,
    )


@_fill_doc
def js_divergence(
    p: Any,
    q: Any,
    /,
    *,
    axis: int = -1,
    base: Base = None,
    form: Form = "probs",
    normalize: bool = False,
    validate: bool = True,
) -> Array:
    r"""Jensen-Shannon divergence :math:`\tfrac12 D(P \| M) + \tfrac12 D(Q \| M)`.

    :math:`M = \tfrac12 (P + Q)`.

    Parameters
    ----------
    p, q : array_like
        Distributions along ``axis``; they broadcast against each other.
    <<axis>>
    <<base>>
    <<form>>
    <<normalize>>
    <<validate>>

    Returns
    -------
    array
        One value per pair: symmetric, always finite, :math:`0 \le JS \le \log 2`
        (1 bit), 0 exactly where P = Q.  (SciPy's ``jensenshannon`` returns the square
        root of this, the Jensen-Shannon *distance*.)

    Examples
    --------
    >>> import infoloss as il
    >>> float(il.js_divergence([1.0, 0.0], [0.0, 1.0], base=2))
    1.0
    """
    return _measure(
        "js",
        (p, q),
        _js_rows,
        base=base,
        axis=axis,
        form=form,
        normalize=normalize,
        validate=validate,
    )


@_fill_doc
def perplexity(
    p: Any,
    q: Any = None,
    /,
    *,
    axis: int = -1,
    form: Form = "probs",
    normalize: bool = False,
    validate: bool = True,
) -> Array:
    r"""Perplexity :math:`e^{H(P)}`, or :math:`e^{H(P, Q)}` of a model Q against data P.

    Perplexity does not depend on the base of the logarithm
    (:math:`b^{H_b} = e^{H_e}`), so it takes none: it is the effective number of equally
    likely outcomes.

    Parameters
    ----------
    p : array_like
        Distributions along ``axis``.
    q : array_like, optional
        Model distributions; when given, the result is :math:`e^{H(P, Q)}`.
    <<axis>>
    <<form>>
    <<normalize>>
    <<validate>>

    Examples
    --------
    >>> import infoloss as il
    >>> float(il.perplexity([0.25, 0.25, 0.25, 0.25]))
    4.0
    """
    opts: dict[str, Any] = {
        "axis": axis,
        "form": form,
        "normalize": normalize,
        "validate": validate,
    }
    if q is None:
        if not isinstance(form, str):
            raise ValueError(f"`form` must be a single form when `q` is not given; got {form!r}")
        h = entropy(p, **opts)
    else:
        h = cross_entropy(p, q, **opts)
    xp = namespace(h)
    return result(xp, xp.exp(xp.asarray(h)))


# ------------------------------------------------------------------ joint distributions


def _prepare_joint(
    pxy: Any, axes: Any, *, form: str, normalize: bool, validate: bool
) -> tuple[Any, _Dist, tuple[int, ...]]:
    """The joint table with X on axis -2 and Y on axis -1, normalised over both."""
    _validate.check_form(form)
    xp = namespace(pxy)
    (x,) = as_float_arrays(xp, pxy, names=("pxy",))
    if (
        not isinstance(axes, (tuple, list))
        or len(axes) != 2
        or any(isinstance(a, bool) or not isinstance(a, int) for a in axes)
    ):
        raise ValueError(f"`axes` must be a pair of integers; got {axes!r}")
    if x.ndim < 2:
        raise ValueError(f"`pxy` must have at least two dimensions; got shape {tuple(x.shape)}")
    ax = tuple(_check_axis(a, x.ndim, "pxy") for a in axes)
    if ax[0] == ax[1]:
        raise ValueError(f"`axes` must name two different axes; got {axes!r}")
    x = xp.moveaxis(x, ax, (-2, -1))
    nx, ny = x.shape[-2], x.shape[-1]
    if nx == 0 or ny == 0:
        raise ValueError("`pxy` has an empty joint table")
    batch = tuple(x.shape[:-2])
    flat = xp.reshape(x, (*batch, nx * ny))
    D = _to_dist(xp, flat, form, "pxy", normalize=normalize, validate=validate)
    shape = (*batch, nx, ny)
    return xp, _Dist(xp.reshape(D.p, shape), xp.reshape(D.logp, shape), from_probs=D.from_probs), ax


def _marginal(xp: Any, J: _Dist, axis: int) -> _Dist:
    if J.from_probs:
        m = xp.sum(J.p, axis=axis, keepdims=True)
        return _Dist(m, _masked_log(xp, m), from_probs=True)
    logm = xp.moveaxis(_logsumexp(xp, xp.moveaxis(J.logp, axis, -1)), -1, axis)
    return _Dist(xp.exp(logm), logm, from_probs=False)


def _sum_table(xp: Any, terms: Array) -> Array:
    batch = tuple(terms.shape[:-2])
    return sum_last(xp, xp.reshape(terms, (*batch, terms.shape[-2] * terms.shape[-1])))


@_fill_doc
def joint_entropy(
    pxy: Any,
    /,
    *,
    axes: tuple[int, int] = (-2, -1),
    base: Base = None,
    form: str = "probs",
    normalize: bool = False,
    validate: bool = True,
) -> Array:
    r"""Joint entropy :math:`H(X, Y) = -\sum_{x,y} P(x, y) \log P(x, y)` of a joint table.

    Parameters
    ----------
    pxy : array_like
        Joint distributions: ``pxy[..., i, j] = P(X = x_i, Y = y_j)`` along ``axes``.
    axes : pair of int, default (-2, -1)
        The axes of X and Y.
    <<base>>
    form : {"probs", "log_probs", "logits"}, default "probs"
        How ``pxy`` is given; the table is normalised over both axes together.
    <<normalize>>
    <<validate>>

    Examples
    --------
    >>> import infoloss as il
    >>> float(il.joint_entropy([[0.25, 0.25], [0.25, 0.25]], base=2))
    2.0
    """
    xp, J, _ = _prepare_joint(pxy, axes, form=form, normalize=normalize, validate=validate)
    h = _sum_table(xp, _xlogy_neg(xp, J, J))
    return result(xp, _in_base(xp, h, base))


@_fill_doc
def conditional_entropy(
    pxy: Any,
    /,
    *,
    axes: tuple[int, int] = (-2, -1),
    base: Base = None,
    form: str = "probs",
    normalize: bool = False,
    validate: bool = True,
) -> Array:
    r"""Conditional entropy :math:`H(Y \mid X) = -\sum_{x,y} P(x, y) \log P(y \mid x)`.

    The entropy of the second variable (``axes[1]``) given the first (``axes[0]``); pass
    ``axes=(-1, -2)`` for :math:`H(X \mid Y)`.  Computed term by term as
    :math:`P(x, y) \log (P(x) / P(x, y))`, each term non-negative, so
    :math:`H(Y \mid X) = H(X, Y) - H(X)` holds without cancellation.

    Parameters
    ----------
    pxy : array_like
        Joint distributions: ``pxy[..., i, j] = P(X = x_i, Y = y_j)`` along ``axes``.
    axes : pair of int, default (-2, -1)
        The axes of the conditioning variable X and of Y.
    <<base>>
    form : {"probs", "log_probs", "logits"}, default "probs"
        How ``pxy`` is given.
    <<normalize>>
    <<validate>>

    Examples
    --------
    Y is a copy of X: knowing X leaves nothing to learn about Y.

    >>> import infoloss as il
    >>> float(il.conditional_entropy([[0.5, 0.0], [0.0, 0.5]]))
    0.0
    """
    xp, J, _ = _prepare_joint(pxy, axes, form=form, normalize=normalize, validate=validate)
    PX = _marginal(xp, J, -1)
    shape = J.p.shape
    PXb = _Dist(
        xp.broadcast_to(PX.p, shape), xp.broadcast_to(PX.logp, shape), from_probs=PX.from_probs
    )
    # P(x, y) log(P(x)/P(x, y)): P(x) >= P(x, y), so every term is >= 0.
    terms = J.p * _log_ratio_on(xp, PXb, J, J.p > 0)
    return result(xp, _in_base(xp, _sum_table(xp, terms), base))


@_fill_doc
def mutual_information(
    pxy: Any,
    /,
    *,
    axes: tuple[int, int] = (-2, -1),
    base: Base = None,
    form: str = "probs",
    normalize: bool = False,
    validate: bool = True,
) -> Array:
    r"""Mutual information :math:`I(X; Y) = D(P_{XY} \| P_X \otimes P_Y)`.

    :math:`= \sum_{x,y} P(x, y) \log \frac{P(y \mid x)}{P(y)}`, computed from the ratio of
    the conditional to the marginal (never as a difference of entropies), so it is
    :math:`\ge 0` and exactly 0 for an independent table such as an outer product of
    dyadic probabilities.

    Parameters
    ----------
    pxy : array_like
        Joint distributions: ``pxy[..., i, j] = P(X = x_i, Y = y_j)`` along ``axes``.
    axes : pair of int, default (-2, -1)
        The axes of X and Y.
    <<base>>
    form : {"probs", "log_probs", "logits"}, default "probs"
        How ``pxy`` is given.
    <<normalize>>
    <<validate>>

    Examples
    --------
    >>> import infoloss as il
    >>> float(il.mutual_information([[0.5, 0.0], [0.0, 0.5]], base=2))
    1.0
    """
    xp, J, _ = _prepare_joint(pxy, axes, form=form, normalize=normalize, validate=validate)
    PX = _marginal(xp, J, -1)
    PY = _marginal(xp, J, -2)
    shape = J.p.shape
    pos = J.p > 0
    if J.from_probs:
        one = xp.ones_like(J.p)
        px = xp.broadcast_to(PX.p, shape)
        py = xp.broadcast_to(PY.p, shape)
        # P(y|x) <= 1 cannot overflow; its ratio to P(y) goes through the careful log.
        # P(y) is divided by the table's total as P(y|x) is by P(x), so rounding in a
        # total slightly off 1 cancels and an independent table gives exactly 0.
        total = xp.sum(PX.p, axis=-2, keepdims=True)
        cond = xp.where(pos, J.p, one) / xp.where(pos, px, one)
        marg = xp.where(pos, py, one) / xp.where(pos, xp.broadcast_to(total, shape), one)
        lr = _log_ratio(xp, cond, marg)
    else:
        zero = xp.zeros_like(J.p)
        lr = (
            xp.where(pos, J.logp, zero)
            - xp.where(pos, xp.broadcast_to(PX.logp, shape), zero)
            - xp.where(pos, xp.broadcast_to(PY.logp, shape), zero)
        )
    terms = J.p * xp.where(pos, lr, xp.zeros_like(lr))
    return result(xp, _in_base(xp, _sum_table(xp, terms), base))
