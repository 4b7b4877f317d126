"""The squared-error losses on their compiled kernels against their array-API code, side by
side: time (interleaved rounds, medians) and peak NumPy allocation (tracemalloc) of the loss
and of the loss with its gradient, beside the read floor of the logits.

    python benchmarks/squared_error.py [--shapes 4096x1000,65536x31] [--repeats 15]

The array-API code is the same function with ``infoloss._kernels.use_kernels(False)``;
it is what the losses ran before they had kernels of their own.  A ratio below 1 means
the kernels are faster.
"""

from __future__ import annotations

import argparse
import statistics
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

import infoloss as il
from _common import machine, ratio, read_floor, rounds
from infoloss._kernels import use_kernels

LOSSES = ("softmax_squared_error", "logit_squared_error")


def _off(f: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with use_kernels(False):
            return f()

    return run


def _peak_mib(f: Callable[[], Any]) -> float:
    f()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        f()
        return (tracemalloc.get_traced_memory()[1] - base) / 2**20
    finally:
        tracemalloc.stop()


def _row(name: str, shape: tuple[int, int], dtype: Any, repeats: int) -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal(shape).astype(dtype)
    y = rng.integers(0, shape[1], shape[0])
    loss = getattr(il, name)
    floor = read_floor()
    cases = {
        "loss": lambda: loss(z, y),
        "loss+grad": lambda: loss(z, y, return_grad=True),
    }
    for what, f in cases.items():
        t = rounds({"on": f, "off": _off(f), "read": lambda: floor(z)}, repeats)
        ms = {k: statistics.median(v) * 1e3 for k, v in t.items()}
        mem = (_peak_mib(f), _peak_mib(_off(f)))
        print(
            f"| {name} | {shape[0]}×{shape[1]} {np.dtype(dtype).name} | {what} "
            f"| {ms['on']:.2f} | {ms['off']:.2f} | {ratio(t, 'on', 'off'):.3f} "
            f"| {ms['read']:.2f} | {mem[0]:.2f} / {mem[1]:.2f} | {z.nbytes / 2**20:.2f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", default="4096x1000,65536x31")
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    print(f"{machine()}; numpy {np.__version__}\n")
    print(
        "| loss | shape | call | kernels (ms) | array-API (ms) | ratio | read floor (ms) "
        "| peak MiB: kernels / array-API | input MiB |"
    )
    print("|---|---|---|---:|---:|---:|---:|---|---:|")
    for name in LOSSES:
        for shape in shapes:
            for dtype in (np.float32, np.float64):
                _row(name, shape, dtype, args.repeats)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
