"""The sigmoid losses on their compiled kernel against their array-API code, side by side:
time (interleaved rounds, medians) and peak NumPy allocation (tracemalloc) of the loss and
of the loss with its gradient, beside ``x.sum()`` and the read floor of the logits.

    python benchmarks/sigmoid.py [--shapes 2000x1000,65536x31] [--repeats 15]

The array-API code is the same function with ``infoloss._kernels.use_kernels(False)``; it
is what the losses ran before they had a kernel.  The targets are probabilities of the
logits' shape, a third of them 0 or 1.  A ratio below 1 means the kernel is faster;
"÷ sum" is the kernel's time over NumPy's ``z.sum()`` in the same rounds.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

import numpy as np

import infoloss as il
from _common import machine, ratio, read_floor, rounds
from squared_error import _off, _peak_mib

LOSSES = ("sigmoid_binary_cross_entropy", "sigmoid_squared_error")


def _row(name: str, shape: tuple[int, int], dtype: Any, repeats: int) -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal(shape).astype(dtype)
    y = rng.uniform(0, 1, shape)
    y[:, ::3] = y[:, ::3] > 0.5
    y = y.astype(dtype)
    loss = getattr(il, name)
    floor = read_floor()
    cases = {
        "loss": lambda: loss(z, y),
        "loss+grad": lambda: loss(z, y, return_grad=True),
    }
    for what, f in cases.items():
        methods = {"on": f, "off": _off(f), "sum": z.sum, "read": lambda: floor(z)}
        t = rounds(methods, repeats)
        ms = {k: statistics.median(v) * 1e3 for k, v in t.items()}
        mem = (_peak_mib(f), _peak_mib(_off(f)))
        print(
            f"| {name} | {shape[0]}×{shape[1]} {np.dtype(dtype).name} | {what} "
            f"| {ms['on']:.2f} | {ms['off']:.2f} | {ratio(t, 'on', 'off'):.3f} "
            f"| {ms['sum']:.2f} | {ratio(t, 'on', 'sum'):.1f} | {ms['read']:.2f} "
            f"| {mem[0]:.2f} / {mem[1]:.2f} | {z.nbytes / 2**20:.2f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", default="2000x1000,65536x31")
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    print(f"{machine()}; numpy {np.__version__}\n")
    print(
        "| loss | shape | call | kernel (ms) | array-API (ms) | ratio | z.sum() (ms) "
        "| ÷ sum | read floor (ms) | peak MiB: kernel / array-API | input MiB |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for name in LOSSES:
        for shape in shapes:
            for dtype in (np.float32, np.float64):
                _row(name, shape, dtype, args.repeats)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
