"""The arithmetic floor beside the read floor: what one exp, or one log, per entry costs.

Each floor is the read floor's loop (an OpenMP sum over the array on every core, SIMD
within a block; ``infoloss._kernels._vmath.floor``) with one of the kernels' own
per-entry functions of ``vmath.h`` applied before the add: ``il_exp_low(-v²)`` (the exp of
every log-sum-exp loop) and ``il_log(v² + 1)`` (the log of every measure of
probabilities).  A kernel that needs k such functions per entry cannot run in less than
about k times the floor, however its memory traffic is arranged: where the exp floor alone
exceeds the read, a target stated as a multiple of the read is out of reach on that machine
for that dtype.

A second table checks that these functions are not the weak link: one core, a block of
4096 entries that stays in L1, ns per entry for ``il_exp`` and ``il_log`` (elementwise into
a new array, as NumPy does) beside NumPy's own SIMD ``np.exp`` and ``np.log``.

    python benchmarks/compute_floor.py              # the benchmark shapes, 9 rounds
    python benchmarks/compute_floor.py --rounds 5
    python benchmarks/compute_floor.py --shapes 65536x31 --dtypes float32

Prints the machine and a markdown table of medians (ms) and each floor ÷ the 2-thread read.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from _common import machine, read_floor, repeated, rounds

SHAPES = [(2048, 32000), (65536, 1000), (256, 262144)]


def per_entry(dtype: str, repeats: int) -> dict[str, float]:
    """ns per entry on one core over an L1-resident block: ours against NumPy's."""
    from infoloss._kernels import _vmath

    x = (np.random.default_rng(1).random(4096) + 1e-3).astype(dtype)
    neg = -10 * x
    buf = np.empty_like(x)
    fns = {
        "il_exp": lambda: _vmath.exp(neg),
        "np.exp": lambda: np.exp(neg, out=buf),
        "il_log": lambda: _vmath.log(x),
        "np.log": lambda: np.log(x, out=buf),
    }
    inner = 200
    t = rounds({k: repeated(f, inner) for k, f in fns.items()}, repeats)
    return {k: 1e9 * min(v) / inner / x.size for k, v in t.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--shapes", nargs="+", help="these shapes only, e.g. 65536x31")
    args = ap.parse_args()
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes] if args.shapes else SHAPES
    from infoloss._kernels import _vmath

    read = read_floor()
    print(f"Machine: {machine()}\n")
    rng = np.random.default_rng(0)
    print("| dtype | shape | x.sum() ms | read ms | one exp ms (÷ read) | one log ms (÷ read) |")
    print("|---|---|---:|---:|---:|---:|")
    for dtype in args.dtypes.split(","):
        for shape in shapes:
            x = np.abs(rng.standard_normal(shape)).astype(dtype)
            fns = {
                "sum": x.sum,
                "read": lambda x=x: read(x),
                "exp": lambda x=x: _vmath.floor(x, "exp"),
                "log": lambda x=x: _vmath.floor(x, "log"),
            }
            t = {k: 1e3 * statistics.median(v) for k, v in rounds(fns, args.rounds).items()}
            rd = t["read"]
            print(
                f"| {dtype} | {shape[0]}×{shape[1]} | {t['sum']:.1f} | {rd:.1f} | "
                f"{t['exp']:.1f} ({t['exp'] / rd:.2f}) | {t['log']:.1f} ({t['log'] / rd:.2f}) |",
                flush=True,
            )
    print()
    print("| dtype | il_exp ns | np.exp ns | il_log ns | np.log ns |")
    print("|---|---:|---:|---:|---:|")
    for dtype in args.dtypes.split(","):
        e = per_entry(dtype, max(args.rounds, 5))
        print(
            f"| {dtype} | {e['il_exp']:.3f} | {e['np.exp']:.3f} | {e['il_log']:.3f} | "
            f"{e['np.log']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
