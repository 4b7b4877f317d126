"""Input checks and their messages.

Every check raises :class:`ValueError` naming the argument and what is wrong with it.
Nothing here changes data: the only transformation a user can ask for is ``normalize=True``,
and that lives with the measures.
"""

from __future__ import annotations

import math
from typing import Any

from ._array import Array

__all__ = [
    "FORMS",
    "REDUCTIONS",
    "check_form",
    "check_log_probs",
    "check_logits",
    "check_probs",
    "check_reduction",
    "check_row_sums",
    "log_base",
    "sum_tolerance",
]

FORMS = ("probs", "log_probs", "logits")
REDUCTIONS = ("mean", "sum", "none")


def log_base(base: float | str | None) -> float | None:
    """``log(base)``, or None for nats; raises for an invalid base."""
    if base is None:
        return None
    if isinstance(base, str):
        if base in ("bits", "bit"):
            return math.log(2.0)
        if base in ("nats", "nat"):
            return None
        if base in ("dits", "bans", "hartleys"):
            return math.log(10.0)
        raise ValueError(
            f"`base` must be a positive number other than 1, 'bits', 'nats' or None; got {base!r}"
        )
    if isinstance(base, bool) or not isinstance(base, (int, float)):
        try:
            base = float(base)
        except (TypeError, ValueError):
            raise ValueError(
                "`base` must be a positive number other than 1, 'bits', 'nats' or None; "
                f"got {base!r}"
            ) from None
    if not (math.isfinite(base) and base > 0 and base != 1):
        raise ValueError(
            f"`base` must be a positive number other than 1, 'bits', 'nats' or None; got {base!r}"
        )
    return None if base == math.e else math.log(base)


def check_form(form: str) -> str:
    if form not in FORMS:
        raise ValueError(f"`form` must be one of {FORMS}; got {form!r}")
    return form


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"`reduction` must be one of {REDUCTIONS}; got {reduction!r}")
    return reduction


def sum_tolerance(xp: Any, dtype: Any, n: int) -> float:
    """How far a row sum of ``n`` probabilities of ``dtype`` may be from 1.

    ``sqrt(eps)`` of the dtype (1.5e-8 for float64, 3.5e-4 for float32), widened for very
    long rows by the worst-case growth of a pairwise sum.
    """
    eps = float(xp.finfo(dtype).eps)
    return max(math.sqrt(eps), 4.0 * eps * max(1.0, math.log2(max(n, 1))) * 16)


def _any(xp: Any, mask: Array) -> bool:
    return bool(xp.any(mask))


def _first_bad(xp: Any, mask: Array) -> str:
    """A short description of where ``mask`` is first true (for error messages)."""
    try:
        import numpy as np

        idx = np.argwhere(np.asarray(array_to_numpy(xp, mask)))
        if idx.size and idx.shape[1]:
            return f" (first at index {tuple(int(i) for i in idx[0])})"
    except Exception:
        return ""
    return ""


def array_to_numpy(xp: Any, x: Array) -> Any:
    import numpy as np

    try:
        return np.asarray(x)
    except Exception:
        from array_api_compat import to_device

        return np.asarray(to_device(x, "cpu"))


def _check_nonempty(x: Array, name: str) -> None:
    if x.ndim == 0:
        raise ValueError(f"`{name}` must have at least one dimension (the outcome axis)")
    if x.shape[-1] == 0:
        raise ValueError(f"`{name}` has empty distributions: the outcome axis has length 0")


def check_probs(xp: Any, p: Array, name: str, *, rows: bool = True) -> None:
    """Entries of ``p`` (outcome axis last) must be finite, >= 0 and <= 1 (when ``rows``).

    Row sums are checked separately by :func:`check_row_sums` so that callers which already
    have them (the kernels) do not read the data twice.
    """
    if rows:
        _check_nonempty(p, name)
    nan = xp.isnan(p)
    if _any(xp, nan):
        raise ValueError(f"`{name}` contains NaN{_first_bad(xp, nan)}")
    neg = p < 0
    if _any(xp, neg):
        raise ValueError(f"`{name}` contains negative probabilities{_first_bad(xp, neg)}")
    inf = xp.isinf(p)
    if _any(xp, inf):
        raise ValueError(f"`{name}` contains infinite probabilities{_first_bad(xp, inf)}")


def check_row_sums(
    xp: Any, sums: Array, name: str, *, dtype: Any, n: int, normalize: bool = False
) -> None:
    """Row sums must be 1 within :func:`sum_tolerance`, or positive when ``normalize``."""
    if normalize:
        bad = ~(sums > 0)
        if _any(xp, bad):
            raise ValueError(
                f"`{name}` has a distribution with no mass (all zeros); "
                f"it cannot be normalised{_first_bad(xp, bad)}"
            )
        return
    tol = sum_tolerance(xp, dtype, n)
    bad = xp.abs(sums - 1) > tol
    if _any(xp, bad):
        worst = float(xp.max(xp.abs(sums - 1)))
        raise ValueError(
            f"`{name}` has rows that do not sum to 1 (largest deviation {worst:.3g}, "
            f"tolerance {tol:.3g} for {dtype}){_first_bad(xp, bad)}; "
            "pass normalize=True to renormalise them"
        )


def check_log_probs(xp: Any, logp: Array, name: str) -> None:
    """Log-probabilities: no NaN, no +inf (-inf is probability 0); row sums checked later."""
    _check_nonempty(logp, name)
    nan = xp.isnan(logp)
    if _any(xp, nan):
        raise ValueError(f"`{name}` contains NaN{_first_bad(xp, nan)}")
    pinf = logp == xp.inf
    if _any(xp, pinf):
        raise ValueError(f"`{name}` contains +inf log-probabilities{_first_bad(xp, pinf)}")


def check_logits(xp: Any, z: Array, name: str) -> None:
    """Logits: no NaN, no +inf; -inf is legal (probability 0) but not a whole row of it."""
    _check_nonempty(z, name)
    nan = xp.isnan(z)
    if _any(xp, nan):
        raise ValueError(f"`{name}` contains NaN{_first_bad(xp, nan)}")
    pinf = z == xp.inf
    if _any(xp, pinf):
        raise ValueError(f"`{name}` contains +inf logits{_first_bad(xp, pinf)}")
    dead = xp.all(z == -xp.inf, axis=-1)
    if _any(xp, dead):
        raise ValueError(
            f"`{name}` has a row whose logits are all -inf: it has no probability mass"
            f"{_first_bad(xp, dead)}"
        )
