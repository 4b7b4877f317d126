"""Cross-entropy, KL and JS of probability rows as given, at three levels, against
``(p.sum(), q.sum())`` on the same two arrays, in one process.

- ``kernel``: ``infoloss._kernels._info.measure_rows`` with the arguments' totals only
  (``rows=False``), on scratch allocated once (the compiled kernel alone);
- ``measure_rows``: ``infoloss._kernels.info.measure_rows(..., rows=False)``, the call the
  public functions make: the value array allocated, the totals returned;
- ``public``: ``il.cross_entropy`` / ``il.kl_divergence`` / ``il.js_divergence``, which add
  the conversion and layout checks, the validator's checks of those totals and the
  float64-to-dtype conversion.

Beside them, ``floor``: ``infoloss._kernels._info.floor_pair``, each entry's term of the
measure summed over both arrays, read once on every core, with no rows, no sums of mass and
no checks (what the measure's arithmetic and memory cost on this machine; no kernel of
rows can be faster).  Where the floor itself is above 1.2x the sums, the 1.2x target is
out of reach on that machine for that measure.

The target the kernels are held to is ``measure_rows`` / sums; the other two columns show
what a call costs below and above it.  Each round calls every method once, in rotating
order (``rounds``); the table gives the sums' median time and, for each level, the median
over rounds of its time over the sums'.

    python benchmarks/pair_rows.py                              # 65536x31 and 65536x10, float32
    python benchmarks/pair_rows.py --shapes 65536x31 --dtypes float32 float64 --rounds 21
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from typing import Any

import numpy as np

from _common import machine, ratio, repeated, rounds

_REPS = 10  # calls per timed sample

KINDS = {"cross_entropy": 1, "kl": 2, "js": 3}


def _rows(shape: tuple[int, int], dtype: Any, seed: int) -> np.ndarray:
    """Probability rows: a softmax of Gaussian logits of scale 3 (as ``before_after.py``)."""
    z = np.random.default_rng(seed).standard_normal(shape) * 3
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)).astype(dtype)


def cases(p: np.ndarray, q: np.ndarray, kind: str) -> dict[str, Callable[[], Any]]:
    import infoloss as il
    from infoloss._kernels import _info
    from infoloss._kernels import info as ck

    n, c = p.shape
    out, lmp, lmq = np.empty(n), np.empty(n), np.empty(n)
    nbp, nbq = np.zeros(n, np.int64), np.zeros(n, np.int64)
    public = {"cross_entropy": il.cross_entropy, "kl": il.kl_divergence, "js": il.js_divergence}

    def kernel() -> int:
        return int(
            _info.measure_rows(
                p.dtype == np.float64, KINDS[kind], p.ctypes.data, 0, False, c, 1,
                q.ctypes.data, 0, False, c, 1, n, c, out.ctypes.data, nbp.ctypes.data,
                nbq.ctypes.data, lmp.ctypes.data, lmq.ctypes.data, False,
            )[0]
        )  # fmt: skip

    return {
        "sums": lambda: (p.sum(), q.sum()),
        "floor": lambda: _info.floor_pair(
            p.dtype == np.float64, KINDS[kind], p.ctypes.data, q.ctypes.data, p.size
        ),
        "kernel": kernel,
        "measure_rows": lambda: ck.measure_rows(
            kind, (p, q), ("probs", "probs"), False, rows=False
        ),
        "public": lambda: public[kind](p, q),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", nargs="+", default=["65536x31", "65536x10"], metavar="NxC")
    parser.add_argument("--dtypes", nargs="+", default=["float32"])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    print(f"probability rows as given, each level's time / (p.sum(), q.sum()); {machine()}")
    print("| shape | dtype | measure | sums ms | floor | kernel | measure_rows | public |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for spec in args.shapes:
        shape = tuple(int(v) for v in spec.split("x"))
        assert len(shape) == 2, "shapes are NxC"
        for dt in args.dtypes:
            p, q = _rows(shape, dt, 1), _rows(shape, dt, 2)  # type: ignore[arg-type]
            for kind in KINDS:
                methods = cases(p, q, kind)
                # each timed sample repeats the call so that it lasts about a millisecond
                times = rounds({k: repeated(f, _REPS) for k, f in methods.items()}, args.rounds)
                med = {k: statistics.median(v) for k, v in times.items()}
                row = [spec, dt, kind, f"{med['sums'] * 1e3 / _REPS:.3f}"]
                row += [
                    f"{ratio(times, k, 'sums'):.2f}"
                    for k in ("floor", "kernel", "measure_rows", "public")
                ]
                print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
