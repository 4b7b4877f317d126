"""Options, parsed once into small frozen specs, with one wording for every error.

Every public function hands its keyword options to one ``*_spec`` function here before it
touches an array; no other module parses or re-checks them.  Each error is a
:class:`ValueError` that names the argument and says what is allowed.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "FORMS",
    "REDUCTIONS",
    "LossSpec",
    "MeasureSpec",
    "default_window",
    "loss_spec",
    "measure_spec",
    "parse_alphabet_size",
    "parse_axes",
    "parse_axis",
    "parse_base",
    "parse_bool",
    "parse_confidence_level",
    "parse_form",
    "parse_jitter",
    "parse_k",
    "parse_method",
    "parse_positive_int",
    "parse_rng",
    "parse_window",
]

FORMS = ("probs", "log_probs", "logits")
REDUCTIONS = ("mean", "sum", "none")

_BASE_HELP = "`base` must be a positive number other than 1, 'bits', 'nats' or None"
_NAMED_BASES = {"bits": 2.0, "bit": 2.0, "nats": None, "nat": None, "dits": 10.0}
_NAMED_BASES |= {"bans": 10.0, "hartleys": 10.0}


@dataclass(frozen=True, slots=True)
class MeasureSpec:
    """How a measure reads its arguments: one form per argument, the outcome axis (or the
    pair of table axes), the log base, and whether to renormalise and to check data."""

    names: tuple[str, ...]
    forms: tuple[str, ...]
    axis: int | tuple[int, int]
    log_base: float | None  # log(base); None for nats
    normalize: bool
    validate: bool


@dataclass(frozen=True, slots=True)
class LossSpec:
    """The options every loss shares, checked and in canonical types."""

    axis: int | None  # the class axis (None for the elementwise sigmoid losses)
    reduction: str
    smoothing: float
    ignore_index: float | None  # an int for softmax losses
    validate: bool
    k: float = 1.0  # logit squared error only
    M: float = 1.0
    softcap: float | None = None  # softmax cross-entropy only: logits become c·tanh(z/c)
    lse_square_scale: float = 0.0  # softmax cross-entropy only: z-loss λ·s·lse²


def _as_int(value: Any) -> int | None:
    """``value`` as an int (NumPy integers included), None for a bool or a non-integer."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse_bool(value: Any, name: str) -> bool:
    if value is True or value is False:
        return value
    raise ValueError(f"`{name}` must be True or False; got {value!r}")


def parse_axis(axis: Any, name: str = "axis") -> int:
    ax = _as_int(axis)
    if ax is None:
        raise ValueError(f"`{name}` must be an integer; got {axis!r}")
    return ax


def parse_axes(axes: Any) -> tuple[int, int]:
    if not isinstance(axes, (tuple, list)) or len(axes) != 2:
        raise ValueError(f"`axes` must be a pair of integers; got {axes!r}")
    a, b = (_as_int(v) for v in axes)
    if a is None or b is None:
        raise ValueError(f"`axes` must be a pair of integers; got {axes!r}")
    return a, b


def resolve_axis(axis: int, ndim: int, array: str, option: str = "axis") -> int:
    """``axis`` as an index in ``range(ndim)``, or an error naming ``option`` and ``array``."""
    if ndim == 0:
        raise ValueError(f"`{array}` must have at least one dimension (the outcome axis)")
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"`{option}` {axis} is out of bounds for `{array}` with {ndim} dimension(s)"
        )
    return axis % ndim


def parse_base(base: Any) -> float | None:
    """``log(base)``, or None for nats."""
    if base is None:
        return None
    if isinstance(base, str):
        if base not in _NAMED_BASES:
            raise ValueError(f"{_BASE_HELP}; got {base!r}")
        b = _NAMED_BASES[base]
        return None if b is None else math.log(b)
    b = _as_number(base)
    if b is None or not (math.isfinite(b) and b > 0 and b != 1):
        raise ValueError(f"{_BASE_HELP}; got {base!r}")
    return None if b == math.e else math.log(b)


def parse_form(form: Any, n: int) -> tuple[str, ...]:
    """One form per argument from a form or a tuple of ``n`` forms."""
    if isinstance(form, str) and form in FORMS:
        return (form,) * n
    if n > 1 and isinstance(form, tuple) and len(form) == n and all(f in FORMS for f in form):
        return tuple(form)
    allowed = f"one of {FORMS}" + (f" or a tuple of {n} of them" if n > 1 else "")
    raise ValueError(f"`form` must be {allowed}; got {form!r}")


def measure_spec(
    names: tuple[str, ...],
    *,
    form: Any,
    axis: Any,
    base: Any,
    normalize: Any = False,
    validate: Any = True,
    joint: bool = False,
) -> MeasureSpec:
    return MeasureSpec(
        names=names,
        forms=parse_form(form, len(names)),
        axis=parse_axes(axis) if joint else parse_axis(axis),
        log_base=parse_base(base),
        normalize=parse_bool(normalize, "normalize"),
        validate=parse_bool(validate, "validate"),
    )


def _parse_reduction(reduction: Any) -> str:
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"`reduction` must be one of {REDUCTIONS}; got {reduction!r}")
    return reduction


def _parse_smoothing(value: Any) -> float:
    eps = _as_number(value)
    if eps is None or not 0.0 <= eps <= 1.0:
        raise ValueError(f"`label_smoothing` must be a number in [0, 1]; got {value!r}")
    return eps


def _parse_positive(value: Any, name: str) -> float:
    v = _as_number(value)
    if v is None or not (math.isfinite(v) and v > 0):
        raise ValueError(f"`{name}` must be a positive finite number; got {value!r}")
    return v


def _as_real(value: Any) -> float | None:
    """``value`` as a float, None for a bool, a string or anything else not a number."""
    return None if isinstance(value, (str, bytes)) else _as_number(value)


def _parse_lse_square_scale(value: Any) -> float:
    v = _as_real(value)
    if v is None or not (math.isfinite(v) and v >= 0):
        raise ValueError(f"`lse_square_scale` must be a finite number >= 0; got {value!r}")
    return v + 0.0  # -0.0 as 0.0


def _parse_softcap(value: Any) -> float | None:
    if value is None:
        return None
    v = _as_real(value)
    if v is None or not (math.isfinite(v) and v > 0):
        raise ValueError(f"`softcap` must be a positive finite number or None; got {value!r}")
    return v


def _parse_ignore_index(value: Any, *, integer: bool) -> float | None:
    if value is None:
        return None
    v: float | None
    if integer:
        v, allowed = _as_int(value), "an int"
    else:
        v, allowed = _as_number(value), "a finite number"
        if v is not None and not math.isfinite(v):
            v = None
    if v is None:
        raise ValueError(f"`ignore_index` must be {allowed} or None; got {value!r}")
    return v


# ``loss_spec``'s ``axis`` for the elementwise (sigmoid) losses, which have no class axis; a
# user's ``axis=None`` is then an error of its own, not a switch to elementwise.
ELEMENTWISE: Any = object()


def loss_spec(
    *,
    axis: Any = ELEMENTWISE,
    reduction: Any = "mean",
    label_smoothing: Any = 0.0,
    ignore_index: Any = None,
    validate: Any = True,
    k: Any = 1.0,
    M: Any = 1.0,
    softcap: Any = None,
    lse_square_scale: Any = 0.0,
) -> LossSpec:
    """The spec of a loss: ``axis`` left out for the elementwise (sigmoid) losses (the
    spec's ``axis`` is then None); ``softcap`` and ``lse_square_scale`` are the softmax
    cross-entropy's options."""
    elementwise = axis is ELEMENTWISE
    return LossSpec(
        axis=None if elementwise else parse_axis(axis),
        reduction=_parse_reduction(reduction),
        smoothing=_parse_smoothing(label_smoothing),
        ignore_index=_parse_ignore_index(ignore_index, integer=not elementwise),
        validate=parse_bool(validate, "validate"),
        k=_parse_positive(k, "k"),
        M=_parse_positive(M, "M"),
        softcap=_parse_softcap(softcap),
        lse_square_scale=_parse_lse_square_scale(lse_square_scale),
    )


# --------------------------------------------------------------------- estimators


def parse_method(method: Any, allowed: tuple[str, ...], *, ignore_case: bool = False) -> str:
    """``method`` if it is one of ``allowed`` (compared in lower case with
    ``ignore_case``: the continuous estimators' names are case-insensitive)."""
    name = method if isinstance(method, str) else None
    if name is not None and ignore_case:
        name = name.lower()
    if name not in allowed:
        raise ValueError(f"`method` must be one of {allowed}; got {method!r}")
    return name


def parse_alphabet_size(value: Any) -> int | None:
    """None, or a positive integer (bools and non-integer numbers are refused)."""
    k = None if value is None else _as_int(value)
    if value is not None and (k is None or k < 1):
        raise ValueError(f"`alphabet_size` must be a positive integer or None; got {value!r}")
    return k


def parse_jitter(value: Any) -> float:
    v = _as_number(value)
    if v is None or not (math.isfinite(v) and v >= 0):
        raise ValueError(f"`jitter` must be a finite number >= 0; got {value!r}")
    return v


def parse_rng(value: Any, default_seed: tuple[int, ...] | None = None) -> np.random.Generator:
    """A generator: ``value`` itself, or one seeded by ``value`` (a non-negative int, a
    sequence of them, a ``SeedSequence`` or a bit generator); None seeds one with
    ``default_seed`` (None: fresh entropy from the system)."""
    if value is None:
        return np.random.default_rng(default_seed)
    if isinstance(value, np.random.Generator):
        return value
    if not (isinstance(value, (bool, str, bytes)) or type(value).__name__ == "bool_"):
        try:
            return np.random.default_rng(value)
        except (TypeError, ValueError):
            pass
    raise ValueError(
        f"`rng` must be None, a non-negative integer seed or a numpy.random.Generator; "
        f"got {value!r}"
    )


def parse_positive_int(value: Any, name: str) -> int:
    v = _as_int(value)
    if v is None or v < 1:
        raise ValueError(f"`{name}` must be a positive integer; got {value!r}")
    return v


def parse_confidence_level(value: Any) -> float:
    v = _as_number(value)
    if v is None or not 0.0 < v < 1.0:
        raise ValueError(f"`confidence_level` must be a number in (0, 1); got {value!r}")
    return v


def parse_k(value: Any, n: int) -> int:
    """The number of neighbours, ``1 <= k < n`` for ``n`` samples."""
    k = _as_int(value)
    if k is None or not 1 <= k < n:
        raise ValueError(
            f"`k` must be an integer with 1 <= k < n, the number of samples along `axis` "
            f"(n = {n}); got {value!r}"
        )
    return k


def default_window(n: int) -> int:
    """floor(sqrt(n) + 0.5), SciPy's default (Grzegorzewski and Wieczorkowski 1999)."""
    return math.floor(math.sqrt(n) + 0.5)


def parse_window(value: Any, n: int) -> int:
    """The spacing estimators' window, ``1 <= m < n / 2`` (None: :func:`default_window`)."""
    m = default_window(n) if value is None else _as_int(value)
    if m is None or not 1 <= m < n / 2:
        given = f"{value!r}" if value is not None else f"{m} (the default for n = {n})"
        raise ValueError(
            f"`window_length` must be an integer with 1 <= window_length < n / 2, n the "
            f"number of samples along `axis` (n = {n}); got {given}"
        )
    return m
