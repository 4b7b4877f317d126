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

from collections.abc import Callable
from typing import Any, TypeVar

from .. import _math, _validate
from .._options import measure_spec, parse_axis, parse_base, parse_form, resolve_axis
from .._xp import Array, as_float_arrays, namespace, result
from ._pipeline import run_joint, run_rows

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
    log_b = parse_base(base)
    (form,) = parse_form(form, 1)
    ax = parse_axis(axis)
    xp = namespace((p,), ("p",))
    (x,) = as_float_arrays(xp, (p,), ("p",))
    # +inf probabilities fail the "greater than 1" check below
    wanted = ("nan", "negative", "+inf")
    checks = [c for c in _validate.entry_checks(xp, x, "p", form) if c.what in wanted]
    checks = checks if form != "logits" else []
    if form == "probs":
        checks.append(
            _validate.Check(x > 1, lambda w, _: f"`p` contains probabilities greater than 1{w}")
        )
        out = -_math.masked_log(xp, x)
    elif form == "log_probs":
        checks = [
            checks[0],
            _validate.Check(
                x > 0, lambda w, _: f"`p` contains log-probabilities greater than 0{w}"
            ),
        ]
        out = -x
    else:
        a = resolve_axis(ax, x.ndim, "p")
        z = xp.moveaxis(x, a, -1)
        checks = _validate.entry_checks(xp, z, "p", "logits")
        out = xp.moveaxis(-_math.log_softmax(xp, z), -1, a)
    out = out + xp.zeros_like(out)  # a fresh array: -0.0 becomes 0.0
    if validate:
        out = _validate.enforce(xp, out, checks)
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
    spec = measure_spec(
        ("p",), form=form, axis=axis, base=base, normalize=normalize, validate=validate
    )
    return run_rows("entropy", (p,), spec)


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
    spec = measure_spec(
        ("p", "q"), form=form, axis=axis, base=base, normalize=normalize, validate=validate
    )
    return run_rows("cross_entropy", (p, q), spec)


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
    spec = measure_spec(
        ("p", "q"), form=form, axis=axis, base=base, normalize=normalize, validate=validate
    )
    return run_rows("kl", (p, q), spec)


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
    spec = measure_spec(
        ("p", "q"), form=form, axis=axis, base=base, normalize=normalize, validate=validate
    )
    return run_rows("js", (p, q), spec)


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
    if q is None:
        if not isinstance(form, str):
            raise ValueError(f"`form` must be a single form when `q` is not given; got {form!r}")
        h = entropy(p, axis=axis, form=form, normalize=normalize, validate=validate)
    else:
        h = cross_entropy(p, q, axis=axis, form=form, normalize=normalize, validate=validate)
    xp = namespace((h,), ("p",))
    return result(xp, xp.exp(xp.asarray(h)))


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
    spec = measure_spec(
        ("pxy",),
        form=form,
        axis=axes,
        base=base,
        normalize=normalize,
        validate=validate,
        joint=True,
    )
    return run_joint("joint_entropy", pxy, spec)


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
    spec = measure_spec(
        ("pxy",),
        form=form,
        axis=axes,
        base=base,
        normalize=normalize,
        validate=validate,
        joint=True,
    )
    return run_joint("conditional_entropy", pxy, spec)


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
    spec = measure_spec(
        ("pxy",),
        form=form,
        axis=axes,
        base=base,
        normalize=normalize,
        validate=validate,
        joint=True,
    )
    return run_joint("mutual_information", pxy, spec)
