"""The arithmetic floor beside the read floor: what one exp, or one log, per entry costs.

Each floor is the read floor's loop (``_common.block_sum``: a numba ``prange`` sum over
the rows in 8 blocks, SIMD within a row) with one of the kernels' own per-entry functions
applied before the add: ``fexp_low(-|x|)`` (the exp of every log-sum-exp loop) and
``flog(x)`` for x > 0 (the log of every measure of probabilities).  A kernel that needs k
such functions per entry cannot run in less than about k times the floor, however its
memory traffic is arranged: where the exp floor alone exceeds the read, a target stated
as a multiple of the read is out of reach on that machine for that dtype.

A second table checks that these functions are not the weak link: one core, a block of
4096 entries that stays in L1, ns per entry for ``fexp_low`` and ``flog`` (summed in a
loop) beside NumPy's own SIMD ``np.exp`` and ``np.log`` (into a preallocated buffer).

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


@functools.cache
def _serial() -> tuple[Callable[[np.ndarray], Any], Callable[[np.ndarray], Any]]:
    from numba import njit

    from infoloss._backends.numba._exp import FASTMATH, fexp_low, flog

    def loop_of(f: Any) -> Callable[[np.ndarray], Any]:
        @njit(fastmath=FASTMATH, error_model="numpy")
        def run(x: np.ndarray) -> Any:  # pragma: no cover - numba
            s = x[0] - x[0]  # in the dtype of x (x[0] * 0 would be float64)
            for j in range(x.shape[0]):
                s += f(x[j])
            return s

        return run

    return loop_of(fexp_low), loop_of(flog)


def per_entry(dtype: str, repeats: int) -> dict[str, float]:
    """ns per entry on one core over an L1-resident block: ours against NumPy's."""
    sexp, slog = _serial()
    x = (np.random.default_rng(1).random(4096) + 1e-3).astype(dtype)
    neg = -10 * x
    buf = np.empty_like(x)
    fns = {
        "fexp_low": lambda: sexp(neg),
        "np.exp": lambda: np.exp(neg, out=buf),
        "flog": lambda: slog(x),
        "np.log": lambda: np.log(x, out=buf),
    }
    inner = 200

    def batch(f: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(inner):
                f()

        return run

    t = rounds({k: batch(f) for k, f in fns.items()}, repeats)
    return {k: 1e9 * min(v) / inner / x.size for k, v in t.items()}


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
    print()
    print("| dtype | fexp_low ns | np.exp ns | flog ns | np.log ns |")
    print("|---|---:|---:|---:|---:|")
    for dtype in args.dtypes.split(","):
        e = per_entry(dtype, max(args.rounds, 5))
        print(
            f"| {dtype} | {e['fexp_low']:.3f} | {e['np.exp']:.3f} | {e['flog']:.3f} | "
            f"{e['np.log']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
