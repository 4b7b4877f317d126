"""Small NumPy inputs: the compiled kernels against the array-API code.

The measures and the losses take the kernels at any size
(``infoloss._kernels._layout.MEASURES_MIN_SIZE``, ``LOSSES_MIN_SIZE``); this times each
public call with the kernels on and off (``use_kernels``) in one process, interleaved
rounds, from one row of 2 entries to 16×1000 (the losses: to 64×255, with their
gradients), and prints the median times and the median per-round ratio kernels /
array-API.

    python benchmarks/small_inputs.py
    python benchmarks/small_inputs.py --losses
    python benchmarks/small_inputs.py --rounds 15
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from _common import machine, ratio, repeated, rounds

SHAPES = [(2,), (10,), (1000,), (8, 10), (256, 31), (64, 255), (16, 1000)]


def cases(shape: tuple[int, ...], dtype: Any) -> dict[str, Callable[[], Any]]:
    import infoloss as il

    rng = np.random.default_rng(1)
    p = rng.random(shape).astype(dtype)
    p /= p.sum(-1, keepdims=True)
    q = rng.random(shape).astype(dtype)
    q /= q.sum(-1, keepdims=True)
    z = rng.standard_normal(shape).astype(dtype)
    zq = z[..., ::-1].copy()
    return {
        "entropy": lambda: il.entropy(p),
        "kl_divergence": lambda: il.kl_divergence(p, q),
        "js_divergence (logits)": lambda: il.js_divergence(z, zq, form="logits"),
    }


LOSS_SHAPES = [(1, 2), (8, 10), (256, 10), (64, 255)]


def loss_cases(shape: tuple[int, ...], dtype: Any) -> dict[str, Callable[[], Any]]:
    import infoloss as il

    rng = np.random.default_rng(1)
    z = (2 * rng.standard_normal(shape)).astype(dtype)
    y = rng.integers(0, shape[-1], shape[0])
    e = np.exp(z - z.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    return {
        "softmax_cross_entropy (labels)": lambda: il.softmax_cross_entropy(z, y),
        "softmax_cross_entropy (labels, grad)": lambda: il.softmax_cross_entropy(
            z, y, return_grad=True
        ),
        "softmax_cross_entropy (probs, grad)": lambda: il.softmax_cross_entropy(
            z, p, return_grad=True
        ),
        "softmax_squared_error (grad)": lambda: il.softmax_squared_error(z, y, return_grad=True),
        "sigmoid_binary_cross_entropy (grad)": lambda: il.sigmoid_binary_cross_entropy(
            z, p, return_grad=True
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--losses", action="store_true", help="the losses, not the measures")
    args = parser.parse_args()
    import infoloss as il
    from infoloss._kernels import use_kernels

    def off(f: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with use_kernels(False):
                return f()

        return run

    print(f"small NumPy inputs, kernels against the array-API code; {machine()}")
    print("| call | shape | dtype | array-API µs | kernels µs | ratio |")
    print("|---|---|---|---:|---:|---:|")
    reps = 100
    rows: list[tuple[str, str, str, Callable[[], Any]]] = []
    for shape in LOSS_SHAPES if args.losses else SHAPES:
        for dt in (np.float32, np.float64):
            for name, f in (loss_cases if args.losses else cases)(shape, dt).items():
                rows.append((name, "×".join(map(str, shape)), np.dtype(dt).name, f))
    if not args.losses:
        t = np.random.default_rng(2).random((16, 8, 8))
        t /= t.sum((1, 2), keepdims=True)
        rows.append(("mutual_information", "16×8×8", "float64", lambda: il.mutual_information(t)))
    for name, shp, dt, f in rows:
        times = rounds({"on": repeated(f, reps), "off": repeated(off(f), reps)}, args.rounds)
        med = {k: sorted(v)[len(v) // 2] / reps * 1e6 for k, v in times.items()}
        print(
            f"| {name} | {shp} | {dt} | {med['off']:.1f} | {med['on']:.1f} "
            f"| {ratio(times, 'on', 'off'):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
