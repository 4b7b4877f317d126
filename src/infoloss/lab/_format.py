"""The one number formatter of the lab's report, its HTML page and its printed summaries.

Every number the lab shows goes through :func:`fmt`, so the same kind of quantity always has
the same precision wherever it appears:

========  ==========================================================  ==================
kind      for                                                         examples
========  ==========================================================  ==================
``g``     exact inputs and computed values: 4 significant figures,    0.7856, −8, 1.016
          trailing zeros dropped
``grad``  measured gradient norms: 3 significant figures, kept        0.0634, 0.0200
``pct``   accuracies (fractions) in percent, one decimal              95.8, 100.0
``pp``    accuracy differences in percentage points: one decimal, or  15.3, 1.4, 0.028
          two significant figures where that is finer
``ep``    mean epochs, one decimal (whole counts stay whole)          2.3, 1.8, 12
``s``     durations in seconds, one decimal                           0.1, 23.4
========  ==========================================================  ==================

Negative numbers carry a true minus sign (−), magnitudes beyond 10⁵ or below 10⁻⁴ are written
as a × 10ⁿ with a superscript exponent, ``None`` is shown as ``never`` (or a dash) and the
strings ``"inf"``/``"-inf"`` that stand for infinities in ``results.json`` as ±∞.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["KINDS", "count", "fmt", "lead", "plural"]

KINDS = ("g", "grad", "pct", "pp", "ep", "s")
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _sig(x: float, digits: int, keep_zeros: bool) -> str:
    if x == 0:
        return "0"
    exponent = math.floor(math.log10(abs(x)))
    if -4 <= exponent < 5:
        decimals = max(digits - 1 - exponent, 0)
        text = f"{x:.{decimals}f}"
        if not keep_zeros and "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    mantissa = _sig(x / 10.0**exponent, digits, keep_zeros)
    if mantissa.lstrip("-") == "10":
        mantissa, exponent = mantissa.replace("10", "1"), exponent + 1
    return f"{mantissa} × 10{str(exponent).translate(_SUPERSCRIPT)}"


def _points(x: float) -> str:
    """Percentage points: one decimal, or two significant figures where that is finer."""
    if x == 0 or abs(x) >= 1:
        return f"{x:.1f}"
    return _sig(x, 2, keep_zeros=True)


def fmt(value: Any, kind: str = "g", *, none: str = "never") -> str:
    """``value`` as the report shows it; ``kind`` is one of :data:`KINDS`.

    Fractions given with ``kind="pct"`` or ``"pp"`` are multiplied by 100.
    """
    if kind not in KINDS:
        raise ValueError(f"`kind` must be one of {KINDS}; got {kind!r}")
    if value is None:
        return none
    if isinstance(value, str):
        return {"inf": "+∞", "-inf": "−∞"}.get(value, value)
    if isinstance(value, bool):
        raise ValueError(f"`value` must be a number, None or a string; got {value!r}")
    if isinstance(value, int) and kind in ("g", "ep"):
        text = str(value)
    elif kind == "pct":
        text = f"{100 * float(value):.1f}"
    elif kind == "pp":
        text = _points(100 * float(value))
    elif kind in ("ep", "s"):
        text = f"{float(value):.1f}"
    else:
        text = _sig(float(value), 3 if kind == "grad" else 4, keep_zeros=kind == "grad")
    if text.startswith("-"):
        # A negative number that rounds to zero is shown as a plain zero.
        text = text[1:] if set(text[1:]) <= set("0.") else "−" + text[1:]
    return text


def plural(n: float, one: str, many: str | None = None) -> str:
    """The unit word that goes with ``n``: singular only for exactly the integer 1."""
    if isinstance(n, int) and n == 1:
        return one
    return many if many is not None else one + "s"


def count(n: int, one: str, many: str | None = None) -> str:
    """``n`` with its unit word: ``count(1, "seed")`` is ``"1 seed"``."""
    return f"{fmt(n)} {plural(n, one, many)}"


def lead(value: float | None, kind: str = "pp") -> tuple[str, str]:
    """A signed difference as (magnitude, direction): ``(1.4, "above")`` or ``(0.3, "below")``."""
    if value is None:
        return fmt(None, kind, none="—"), ""
    direction = "below" if value < 0 else "above"
    return fmt(abs(value), kind), direction
