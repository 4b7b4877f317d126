"""The one validator: every data check, with one wording, eager or lazy.

A check is a boolean array that is true where the data is bad, and a message.  The
implementations do not raise: they hand over what the checks need (the compiled kernels
count bad entries and return row masses from the pass that computes the values; the
array-API code builds the masks), and :func:`enforce` turns the first failing check into
a :class:`ValueError` that names the argument and, for eager arrays, the first bad index.

Nothing here forces a lazy array.  On Dask the checks become one small reduction that
travels with the result and raises the same error when the user computes it; under
``jax.jit`` (traced arrays, whose values are unknown) and inside ``torch.func`` transforms
(where branching on a value is data-dependent control flow) a failing check turns the
affected result into NaN, as documented for ``validate=True`` there.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._xp import Array, is_lazy, to_numpy

__all__ = [
    "Check",
    "enforce",
    "entry_checks",
    "mass_bounds",
    "mass_check",
    "moved_rows",
    "sum_tolerance",
]


@dataclass(frozen=True, slots=True)
class Check:
    """``bad`` is true where the check fails (or a function that builds that mask, so an
    implementation that counted bad entries itself need not build it); ``message(where,
    detail)`` words the error from the location suffix (" (first at index (i, j))", or ""
    when unknown) and a number for the message, or None.  ``detail(mask, at)`` gives that
    number: it is called only once the check has failed, with ``at`` the first bad index
    (eager arrays) or None (lazy arrays, where it must return a reduction).  ``kind`` is
    "entry" for the per-entry checks of an argument, "mass" for its row sums, else
    "value"; ``what`` names the condition where callers pick checks ("nan", "negative",
    "inf", "+inf", "no finite"), "" elsewhere."""

    bad: Array | Callable[[], Array]
    message: Callable[[str, float | None], str]
    detail: Callable[[Array, tuple[int, ...] | None], Any] | None = None
    kind: str = "value"
    what: str = ""

    def mask(self) -> Array:
        return self.bad() if callable(self.bad) else self.bad


def sum_tolerance(xp: Any, dtype: Any, n: int) -> float:
    """How far a row sum of ``n`` probabilities of ``dtype`` may be from 1.

    ``sqrt(eps)`` of the dtype (1.5e-8 for float64, 3.5e-4 for float32), widened for very
    long rows by the worst-case growth of a pairwise sum.
    """
    eps = float(xp.finfo(dtype).eps)
    return max(math.sqrt(eps), 4.0 * eps * max(1.0, math.log2(max(n, 1))) * 16)


def _fixed(text: str) -> Callable[[str, float | None], str]:
    return lambda where, _detail: f"{text}{where}"


def entry_checks(xp: Any, x: Array, name: str, form: str) -> list[Check]:
    """The per-entry checks of an argument in ``form`` (outcome axis last), in order."""

    def entry(what: str, bad: Callable[[], Array], text: str) -> Check:
        return Check(bad, _fixed(text), kind="entry", what=what)

    checks = [entry("nan", lambda: xp.isnan(x), f"`{name}` contains NaN")]
    if form == "probs":
        checks.append(entry("negative", lambda: x < 0, f"`{name}` contains negative probabilities"))
        checks.append(
            entry("inf", lambda: xp.isinf(x), f"`{name}` contains infinite probabilities")
        )
        return checks
    kind = "logits" if form == "logits" else "log-probabilities"
    checks.append(entry("+inf", lambda: x == xp.inf, f"`{name}` contains +inf {kind}"))
    if form == "logits":
        text = f"`{name}` has a row whose logits are all -inf: it has no probability mass"
        checks.append(entry("no finite", lambda: xp.all(x == -xp.inf, axis=-1), text))
    return checks


def mass_bounds(xp: Any, dtype: Any, n: int) -> tuple[float, float]:
    """The log-masses of rows whose sum is 1 within :func:`sum_tolerance`: [lo, hi]."""
    if xp is np:
        return _numpy_mass_bounds(np.dtype(dtype), n)
    tol = sum_tolerance(xp, dtype, n)
    return math.log1p(-tol), math.log1p(tol)


@functools.lru_cache(maxsize=256)
def _numpy_mass_bounds(dtype: np.dtype, n: int) -> tuple[float, float]:
    tol = sum_tolerance(np, dtype, n)
    return math.log1p(-tol), math.log1p(tol)


def mass_check(
    xp: Any, log_mass: Array, name: str, *, dtype: Any, n: int, normalize: bool, hint: bool
) -> Check:
    """Rows must have mass 1 within :func:`sum_tolerance` (or, when ``normalize``, some
    mass).  ``log_mass`` is the log of each row's total, batch-shaped."""
    if normalize:
        text = f"`{name}` has a distribution with no mass (all zeros); it cannot be normalised"
        return Check(~(log_mass > -xp.inf), _fixed(text), kind="mass")
    tol = sum_tolerance(xp, dtype, n)
    # |sum - 1| > tol, as bounds on the log: two comparisons, no exp of every row (which
    # the message's largest deviation computes only once a row fails)
    lo, hi = mass_bounds(xp, dtype, n)
    bad = (log_mass < lo) | (log_mass > hi)
    tail = "; pass normalize=True to renormalise them" if hint else ""

    def message(where: str, worst: float | None) -> str:
        dev_text = "" if worst is None else f"largest deviation {worst:.3g}, "
        return (
            f"`{name}` has rows that do not sum to 1 ({dev_text}tolerance {tol:.3g} "
            f"for {str(dtype).rsplit('.', 1)[-1]}){where}{tail}"
        )

    return Check(bad, message, lambda _m, _at: xp.max(xp.abs(xp.expm1(log_mass))), kind="mass")


def _first(mask: Array) -> tuple[int, ...]:
    """The first index (C order) where an eager ``mask`` that has a true entry is true."""
    return tuple(int(i) for i in np.argwhere(to_numpy(mask))[0])


def _where(at: tuple[int, ...]) -> str:
    return f" (first at index {at})" if at else ""


_ROW_AT = re.compile(r"first at index \((\d+)")


def moved_rows(message: str, start: int) -> str:
    """An eager check's message about a block of rows that starts at row ``start`` of a
    larger array, reworded to count rows from the top of that array."""
    return _ROW_AT.sub(lambda m: f"first at index ({int(m[1]) + start}", message, count=1)


def _is_traced(x: Any) -> bool:
    """Whether ``x`` has no values to branch on: a traced JAX array (``jax.jit``,
    ``jax.vmap``), or a tensor inside a ``torch.func`` transform (``vmap``, ``grad``,
    ``jacrev``...), where ``bool(tensor)`` is data-dependent control flow that ``vmap``
    refuses."""
    module = type(x).__module__
    if module.startswith("jax"):
        return "Tracer" in type(x).__name__
    if module.startswith("torch"):
        import torch

        return bool(torch._C._functorch.is_functorch_wrapped_tensor(x))
    return False


def enforce(xp: Any, value: Array, checks: list[Check]) -> Array:
    """``value`` once ``checks`` pass: raise now (eager arrays), at compute time (Dask), or
    give NaN where any check fails (traced JAX arrays, tensors inside ``torch.func``
    transforms; under a ``vmap`` each mapped call is NaN or not on its own data)."""
    if not checks:
        return value
    masks = [c.mask() for c in checks]
    if is_lazy(value) or any(is_lazy(m) for m in masks):
        return _deferred(xp, value, checks, masks)
    if _is_traced(value) or any(_is_traced(m) for m in masks):
        failed = xp.any(xp.stack([xp.any(m) for m in masks]))
        return xp.where(failed, xp.nan, value)
    for c, m in zip(checks, masks, strict=True):
        if bool(xp.any(m)):
            at = _first(m)
            detail = None if c.detail is None else float(c.detail(m, at))
            raise ValueError(c.message(_where(at), detail))
    return value


def _deferred(xp: Any, value: Array, checks: list[Check], masks: list[Array]) -> Array:
    """Dask: one reduction of every check, computed with the value, raising on failure."""
    counts = _lazy_counts(masks)
    details = [
        xp.zeros((), dtype=xp.float64)
        if c.detail is None
        else xp.astype(c.detail(m, None), xp.float64)
        for c, m in zip(checks, masks, strict=True)
    ]
    verdict = xp.stack(counts + details).rechunk(-1).to_delayed().ravel()[0]
    messages = [(c.message, c.detail is not None) for c in checks]

    def raise_if_bad(block: np.ndarray, summary: np.ndarray) -> np.ndarray:
        n = len(messages)
        for i, (message, has_detail) in enumerate(messages):
            if summary[i] > 0:
                raise ValueError(message("", float(summary[n + i]) if has_detail else None))
        return block

    return value.map_blocks(raise_if_bad, verdict, dtype=value.dtype)


def _block_counts(*blocks: np.ndarray) -> np.ndarray:
    counts = np.array([np.count_nonzero(b) for b in blocks], dtype=np.float64)
    return counts.reshape((1,) * blocks[0].ndim + (len(blocks),))


def _lazy_counts(masks: list[Array]) -> list[Array]:
    """The number of true entries of each mask, as 0-d float64 Dask arrays.

    Masks of one chunking (the entry checks of one argument) are counted by one task per
    block that reads the block once: on a cluster, one task per check and block would
    each need the argument's block, moved between workers when they land apart.
    """
    import dask.array as da

    by_chunks: dict[Any, list[int]] = {}
    for i, m in enumerate(masks):
        by_chunks.setdefault(m.chunks if is_lazy(m) and m.ndim else None, []).append(i)
    out: list[Array] = [None] * len(masks)
    for chunks, members in by_chunks.items():
        if chunks is None:
            for i in members:
                mask = da.asarray(masks[i])  # type: ignore[no-untyped-call]
                out[i] = mask.astype(np.int64).sum().astype(np.float64)
            continue
        per_block = da.map_blocks(  # type: ignore[no-untyped-call]
            _block_counts,
            *(masks[i] for i in members),
            chunks=(*((1,) * len(c) for c in chunks), (len(members),)),
            new_axis=len(chunks),
            dtype=np.float64,
        )
        total = per_block.sum(axis=tuple(range(len(chunks))))
        for k, i in enumerate(members):
            out[i] = total[k]
    return out
