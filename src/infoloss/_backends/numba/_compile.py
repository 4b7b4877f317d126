# mypy: ignore-errors
# (numba's dispatchers and llvmlite carry no type information)
"""Compiling the kernels whose loops are short: masked remainders instead of scalar ones.

LLVM's loop vectoriser runs a loop in steps of VF·UF entries (64 float32 entries for the
exp loops here: 16 lanes, 4 vectors in flight) and leaves the remainder to a scalar copy of
the body.  A table row of 31 entries never reaches the vector loop: every entry of a
(N, 31, 31) table takes the scalar path.  With LLVM's
``prefer-predicate-over-epilogue`` the vectoriser folds the remainder into the vector loop
instead: the last step runs on masked vectors (AVX-512 and AVX2 have masked loads), so a
31-entry row is two masked steps.  On long rows the masks cost about a quarter more, so kernels
for short rows get a second, tail-folded compilation (:func:`tail_folded`) beside the plain
one, and the caller picks by row length.

The option is a process-wide LLVM setting; it is switched on only while numba's compiler
lock is held and the kernel is compiled (or loaded from numba's cache, where it was compiled
the same way), and switched back to LLVM's default straight after, so no other code
compiled in the process sees it.
"""

from __future__ import annotations

import types
from typing import Any

import llvmlite.binding as llvm
from numba import njit, typeof
from numba.core.compiler_lock import global_compiler_lock

__all__ = ["SHORT_ROWS", "for_rows", "tail_folded"]

# Rows shorter than this run tail-folded kernels: the plain vector loops step 64 float32 /
# 32 float64 entries at a time and leave such rows mostly or wholly to the scalar remainder.
SHORT_ROWS = 64

_OPTION = "--prefer-predicate-over-epilogue"
_DEFAULT = "scalar-epilogue"  # LLVM's default
_FOLDED = "predicate-else-scalar-epilogue"


class _TailFolded:
    """A second dispatcher of a kernel's Python function, compiled with tail folding."""

    def __init__(self, kernel: Any) -> None:
        f = kernel.py_func
        # Its own name, so that numba caches it apart from the plain kernel (the cache is
        # keyed by the function's qualified name, then by its code and argument types).
        g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
        g.__qualname__ = f"{f.__qualname__}_tail_folded"
        g.__module__ = f.__module__
        options = {k: v for k, v in kernel.targetoptions.items() if k != "nopython"}
        self._kernel = njit(**options)(g)
        self._ready: set[tuple[Any, ...]] = set()

    def __call__(self, *args: Any) -> Any:
        sig = tuple(typeof(a) for a in args)
        if sig not in self._ready:
            with global_compiler_lock:
                llvm.set_option("infoloss", f"{_OPTION}={_FOLDED}")
                try:
                    self._kernel.compile(sig)
                finally:
                    llvm.set_option("infoloss", f"{_OPTION}={_DEFAULT}")
            self._ready.add(sig)
        return self._kernel(*args)


_twins: dict[Any, _TailFolded] = {}


def tail_folded(kernel: Any) -> _TailFolded:
    """``kernel`` (a numba dispatcher) compiled with its vector loops' remainders folded
    into masked steps, for the argument types of each call (see the module docstring)."""
    twin = _twins.get(kernel)
    if twin is None:
        twin = _twins.setdefault(kernel, _TailFolded(kernel))
    return twin


def for_rows(kernel: Any, c: int) -> Any:
    """The kernel to run on rows of ``c`` entries: its tail-folded twin for short rows."""
    return tail_folded(kernel) if c < SHORT_ROWS else kernel
