"""The arithmetic floor beside the read floor: what one exp, or one log, per entry costs.

Each floor is the read floor's loop (``_common.block_sum``: a numba ``prange`` sum over
the rows in 8 blocks, SIMD within a row) with one of the kernels' own per-entry functions
applied before the add: ``fexp_low(-|x|)`` (the exp of every log-sum-exp loop) and
``flog(x)`` for x > 0 (the log of every measure of probabilities).  A kernel that needs k
such functions per entry cannot run in less than about k times the floor, however its
memory traffic is arranged: where the exp floor alone exceeds the read, a target stated
as a multiple of the read is out of reach on that machine for that dtype.

    python benchmarks/compute_floor.py              # the benchmark shapes, 9 rounds
    python benchmarks/compute_floor.py --rounds 5

Prints a markdown table of medians (ms) and each floor ÷ the 2-thread read.
"""

from __future__ import annotations

import argparse
import functools
import statistics
from collections.abc import Callable
from typing import Any

import numpy as np

from _common import block_sum, read_floor, rounds

SHAPES = [(2048, 32000), (65536, 1000), (256, 262144)]


@functools.cache
def _floors() -> tuple[Callable[[np.ndarray], float], Callable[[np.ndarray], float]]:
    from numba import njit

    from infoloss._backends.numba._exp import FASTMATH, cast_like, fexp_low, flog

    @njit(fastmath=FASTMATH, error_model="numpy", inline="always")
    def one_exp(v: Any) -> Any:  # pragma: no cover - numba
        return fexp_low(-abs(v))

    @njit(fastmath=FASTMATH, error_model="numpy", inline="always")
    def one_log(v: Any) -> Any:  # pragma: no cover - numba
        return flog(v if v > cast_like(0.0, v) else cast_like(1.0, v))

    return block_sum(one_exp, FASTMATH), block_sum(one_log, FASTMATH)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--dtypes", default="float32,float64")
    args = ap.parse_args()
    read = read_floor()
    exp_floor, log_floor = _floors()
    rng = np.random.default_rng(0)
    print("| dtype | shape | x.sum() ms | read ms | one exp ms (÷ read) | one log ms (÷ read) |")
    print("|---|---|---:|---:|---:|---:|")
    for dtype in args.dtypes.split(","):
        for shape in SHAPES:
            x = np.abs(rng.standard_normal(shape)).astype(dtype)
            fns = {
                "sum": x.sum,
                "read": lambda x=x: read(x),
                "exp": lambda x=x: exp_floor(x),
                "log": lambda x=x: log_floor(x),
            }
            t = {k: 1e3 * statistics.median(v) for k, v in rounds(fns, args.rounds).items()}
            rd = t["read"]
            print(
                f"| {dtype} | {shape[0]}×{shape[1]} | {t['sum']:.1f} | {rd:.1f} | "
                f"{t['exp']:.1f} ({t['exp'] / rd:.2f}) | {t['log']:.1f} ({t['log'] / rd:.2f}) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
