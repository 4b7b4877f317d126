"""What a row costs beside its entries: the per-row overhead of the log-sum-exp kernels.

On one core (``numba.set_num_threads(1)``), over arrays of about 2^18 entries (1 MB of
float32, held in L2), at row lengths from 125 to 2048 (``CHUNK``), in ns per entry:

* ``loop``: the shared chunk loop alone (``_rows.chunk_sums_next``, the pipelined
  log-sum-exp loop of rows of at most ``CHUNK`` entries) called row after row;
* ``entropy``: the entropy of logits (``measure_rows``);
* ``softmax-ce``: the softmax cross-entropy forward with labels (``xent_forward``).

Each column is then fitted as a + b / C by least squares: a is the cost per entry, b the
cost per row (the vector loop's set-up, reductions and scalar remainder, the call, the
row's finish).  From memory a short-row kernel pays b per row on top of the read.

    python benchmarks/row_cost.py                  # float32 and float64, 30 repeats
    python benchmarks/row_cost.py --l1             # one row held in L1, called repeatedly
    python benchmarks/row_cost.py --dtypes float32 --repeats 50
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

LENGTHS = [125, 250, 500, 1000, 2048]  # rows of at most CHUNK entries: the pipelined path


@functools.cache
def _loop() -> Callable[[np.ndarray, np.ndarray], None]:
    from numba import njit

    from infoloss._backends.numba._exp import FASTMATH
    from infoloss._backends.numba._rows import chunk_sums_next, max_bits, max_from

    @njit(fastmath=FASTMATH, error_model="numpy")
    def rows(z: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - numba
        hi, lo = max_bits(z[0])
        n = z.shape[0]
        for i in range(n):
            row = z[i]
            nxt = z[i + 1] if i + 1 < n else row
            m = max_from(hi, lo)
            rest, k, t, hi, lo = chunk_sums_next(row, m, nxt)
            out[i] = rest + k + t

    return rows


@functools.cache
def _l1_loop() -> Callable[[np.ndarray, Any, int], float]:
    from numba import njit

    from infoloss._backends.numba._exp import FASTMATH
    from infoloss._backends.numba._rows import chunk_sums_next

    @njit(fastmath=FASTMATH, error_model="numpy")
    def calls(x: np.ndarray, m: Any, reps: int) -> float:  # pragma: no cover - numba
        s = 0.0
        for _ in range(reps):
            rest, k, t, hi, lo = chunk_sums_next(x, m, x)
            s += rest + k + t + hi + lo
        return s

    return calls


def l1_table(dtypes: list[str], repeats: int) -> None:
    """The shared loop over one row held in L1 (its own next row), ns per call: no memory
    stall, so what it costs beyond C times its per-entry cost is its own per-row work (the
    vector loop's set-up, reductions and remainder, the call).  Lengths around 1000 show
    the remainder (C mod 16 entries in float32)."""
    calls = _l1_loop()
    rng = np.random.default_rng(0)
    reps = 20000
    for dtype in dtypes:
        print(f"\n{dtype}, one row in L1, ns per call\n")
        print("| C | ns per call | ns per entry |")
        print("|---:|---:|---:|")
        for c in (992, 1000, 1008, 1015, 2048):
            x = (rng.standard_normal(c) * 2).astype(dtype)
            m = x.max()
            t = _best(lambda x=x, m=m: calls(x, m, reps), repeats) / reps * 1e9
            print(f"| {c} | {t:.1f} | {t / c:.3f} |", flush=True)


def _best(f: Callable[[], Any], repeats: int) -> float:
    import time

    f()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    import numba

    from infoloss._kernels import measure_rows, xent_forward

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--l1", action="store_true", help="one row held in L1 (see l1_table)")
    args = ap.parse_args()
    numba.set_num_threads(1)
    if args.l1:
        l1_table(args.dtypes.split(","), min(args.repeats, 15))
        return
    rng = np.random.default_rng(0)
    loop = _loop()
    names = ["loop", "entropy", "softmax-ce"]
    for dtype in args.dtypes.split(","):
        print(f"\n{dtype}, one core, ns per entry\n")
        print("| C | " + " | ".join(names) + " |")
        print("|---:|" + "---:|" * len(names))
        per: dict[str, list[float]] = {k: [] for k in names}
        for c in LENGTHS:
            n = max((1 << 18) // c, 2)
            z = (rng.standard_normal((n, c)) * 2).astype(dtype)
            y = rng.integers(0, c, n)
            out = np.empty(n)
            fns = {
                "loop": lambda z=z, out=out: loop(z, out),
                "entropy": lambda z=z: measure_rows("entropy", (z,), ("logits",), False),
                "softmax-ce": lambda z=z, y=y: xent_forward(z, y, None, 0.0, None),
            }
            row = [1e9 * _best(fns[k], args.repeats) / z.size for k in names]
            for k, v in zip(names, row, strict=True):
                per[k].append(v)
            print(f"| {c} | " + " | ".join(f"{v:.3f}" for v in row) + " |", flush=True)
        design = np.stack([np.ones(len(LENGTHS)), 1.0 / np.array(LENGTHS)], axis=1)
        fits = {k: np.linalg.lstsq(design, np.array(v), rcond=None)[0] for k, v in per.items()}
        print("| a (ns/entry) | " + " | ".join(f"{fits[k][0]:.3f}" for k in names) + " |")
        print("| b (ns/row) | " + " | ".join(f"{fits[k][1]:.0f}" for k in names) + " |")


if __name__ == "__main__":
    main()
