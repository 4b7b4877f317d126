"""The measure kernels (``src/info.c``) and their contract: entropy, cross-entropy, KL and
Jensen–Shannon of rows, and the joint, conditional entropy and mutual information of
tables, every form (see the package docstring for the contract and ``src/info.c`` for how
the kernels are shaped).

The callers (:mod:`infoloss.measures`) parse options and check values; this module checks
layouts: arrays arrive here 2-D (rows) or 3-D (tables), float32 or float64, any strides,
and leave as addresses and strides in elements.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from . import _info
from ._results import ArgStats, MeasureRows, merged

__all__ = ["joint_rows", "measure_rows"]

# info.h's enums.
_KINDS = {"entropy": 0, "cross_entropy": 1, "kl": 2, "js": 3}
_JOINT = {"conditional_entropy": 0, "mutual_information": 1}
_FORMS = {"probs": 0, "log_probs": 1, "logits": 2}
_P_RAW, _P_SCL, _L_RAW, _L_EXACT = range(4)
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _mode(form: str, normalize: bool) -> int:
    if form == "probs":
        return _P_SCL if normalize else _P_RAW
    if form == "log_probs":
        return _L_EXACT if normalize else _L_RAW
    if form == "logits":
        return _L_EXACT
    raise ValueError(f"unknown form {form!r}")


def _native(a: np.ndarray, ndim: int) -> np.ndarray:
    """``a`` as a native-order float array whose strides are whole elements."""
    if a.ndim != ndim or a.dtype not in _FLOATS:
        raise TypeError(f"the measure kernels need {ndim}-D float32/float64 arrays")
    if a.dtype.byteorder not in "=|":
        a = a.astype(a.dtype.newbyteorder("="))
    if any(s % a.dtype.itemsize for s in a.strides):
        a = np.ascontiguousarray(a)
    return a


def _steps(a: np.ndarray) -> list[int]:
    return [s // a.dtype.itemsize for s in a.strides]


# Rows a call without per-row results runs at a time (see measure_rows): its scratch.
_BLOCK = 1 << 16
_local = threading.local()


def _scratch(n: int) -> tuple[int, int, int, int]:
    """The addresses of this thread's per-row scratch for ``n`` rows (n <= _BLOCK): two
    counts, two log-masses, allocated once (the kernels write them, nothing reads them
    back)."""
    held = getattr(_local, "held", None)
    if held is None or held[0] < n:
        m = min(max(n, 1024), _BLOCK)
        bufs = (np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m), np.empty(m))
        at = (bufs[0].ctypes.data, bufs[1].ctypes.data, bufs[2].ctypes.data, bufs[3].ctypes.data)
        held = _local.held = (m, bufs, at)
    at_: tuple[int, int, int, int] = held[2]
    return at_


def measure_rows(
    kind: str,
    xs: Sequence[np.ndarray],
    forms: Sequence[str],
    normalize: bool,
    *,
    rows: bool = True,
) -> MeasureRows:
    """Per-row ``kind`` in nats and an :class:`ArgStats` per argument (see the package
    docstring for the contract).  ``rows=False``: the arguments' totals only
    (``ArgStats.log_mass`` None); the kernels then run ``_BLOCK`` rows at a time on this
    thread's scratch, and no per-row count or log-mass is allocated or read."""
    if kind not in _KINDS:
        raise ValueError(f"unknown measure {kind!r}")
    arrays = [_native(x, 2) for x in xs]
    if len(arrays) != (1 if kind == "entropy" else 2) or len(forms) != len(arrays):
        raise ValueError(f"{kind} takes {1 if kind == 'entropy' else 2} arrays and forms")
    p = arrays[0]
    q = arrays[-1]
    if q.shape != p.shape or q.dtype != p.dtype:
        raise ValueError("the arrays of one measure share a shape and a dtype")
    n, c = p.shape
    out = np.empty(n)
    modes = [_mode(f, bool(normalize)) for f in forms]
    logits = [f == "logits" for f in forms]
    sp, sq = _steps(p), _steps(q)
    f64 = p.dtype == np.float64
    code = _KINDS[kind]
    size = p.dtype.itemsize
    if rows:
        nbs = [np.empty(n, np.int64) for _ in arrays]
        lms = [np.empty(n) for _ in arrays]
        at = tuple(a.ctypes.data for a in (nbs[0], nbs[-1], lms[0], lms[-1]))
        spans = [(0, n)]
    else:
        step = min(max(n, 1), _BLOCK)
        at = _scratch(step)
        spans = [(r0, min(step, n - r0)) for r0 in range(0, max(n, 1), step)]
    parts: list[list[ArgStats]] = [[] for _ in arrays]
    pa, qa, oa = p.ctypes.data, q.ctypes.data, out.ctypes.data
    for r0, m in spans:
        status, *sums = _info.measure_rows(
            f64, code,
            pa + r0 * sp[0] * size, modes[0], logits[0], sp[0], sp[1],
            qa + r0 * sq[0] * size, modes[-1], logits[-1], sq[0], sq[1],
            m, c, oa + 8 * r0, *at, rows,
        )  # fmt: skip
        if status == -1:
            raise MemoryError(f"{kind}: no memory for the kernels' per-thread row buffers")
        for a, (nb, lo, hi) in enumerate((sums[:3], sums[3:])[: len(arrays)]):
            parts[a].append(ArgStats(int(nb), lms[a] if rows else None, float(lo), float(hi)))
    return MeasureRows(out, tuple(merged(part) for part in parts))


def joint_rows(kind: str, x: np.ndarray, form: str, normalize: bool) -> MeasureRows:
    """Per-table ``kind`` in nats and the table's :class:`ArgStats` (see the package
    docstring for the contract)."""
    x = _native(x, 3)
    n, nx, ny = x.shape
    if kind == "joint_entropy":
        try:
            flat = np.reshape(x, (n, nx * ny), copy=False)
        except ValueError:
            flat = np.ascontiguousarray(x).reshape(n, nx * ny)
        except TypeError:  # NumPy < 2.1 has no ``copy=``
            flat = x.reshape(n, nx * ny)
        return measure_rows("entropy", (flat,), (form,), normalize)
    if kind not in _JOINT:
        raise ValueError(f"unknown joint measure {kind!r}")
    if form not in _FORMS:
        raise ValueError(f"unknown form {form!r}")
    out = np.empty(n)
    nbad = np.empty(n, np.int64)
    lmass = np.empty(n)
    s = _steps(x)
    status, nb, lo, hi = _info.joint_rows(
        x.dtype == np.float64, _JOINT[kind], x.ctypes.data, _FORMS[form], bool(normalize),
        s[0], s[1], s[2], n, nx, ny, out.ctypes.data, nbad.ctypes.data, lmass.ctypes.data,
    )  # fmt: skip
    if status == -1:
        raise MemoryError(f"{kind}: no memory for the kernels' per-thread table buffers")
    return MeasureRows(out, (ArgStats(int(nb), lmass, float(lo), float(hi)),))
