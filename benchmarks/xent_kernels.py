"""Softmax cross-entropy numba kernels, timed at kernel level beside the floor of one read.

Usage::

    python benchmarks/xent_kernels.py                 # the full shapes (~4 GB RAM)
    python benchmarks/xent_kernels.py --quick         # small shapes, a smoke test
    python benchmarks/xent_kernels.py --rounds 15 --shapes 65536x1000

Methods, on the same arrays in one process (labels targets, no options):

* ``fwd``: :func:`infoloss._backends.numba.softmax.xent_forward`;
* ``fused``: ``xent_fused`` (loss and gradient in one pass, into a preallocated buffer);
* ``fwd+bwd``: ``xent_forward`` then ``xent_backward`` (the path for a caller's
  ``grad_out`` or a per-sample upstream);
* ``old fwd`` / ``old fused``: the round-1 kernels (``softmax_xent.py``), loaded from the
  working tree when it still has them, else from git history (commit ``OLD_COMMIT``),
  with the current ``_exp``/``_rows`` helpers;
* ``read``: a 2-thread numba ``prange`` sum over the logits (one read of the array: the
  floor the forward is measured against);
* ``x.sum()``: NumPy's single-threaded sum.

Timing is interleaved: each round calls every method once, in turn, after one warm-up
call each, so that load from other processes that comes and goes affects all alike; the
table gives each method's median time and its median per-round ratio to ``read``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from _common import ROOT, git_show, read_floor, rounds

OLD_PATH = "src/infoloss/_backends/numba/softmax_xent.py"
OLD_COMMIT = "f4c49d6"
FULL = [(4096, 32000), (65536, 1000), (256, 262144), (2048, 32000)]
QUICK = [(512, 4000), (8192, 250), (16, 64000)]


def _old_kernels() -> Any:
    """The round-1 module, from the tree or from git, compiled without numba's cache."""
    name = "infoloss._backends.numba._bench_old_softmax_xent"
    path = ROOT / OLD_PATH
    src = path.read_text() if path.exists() else git_show(OLD_COMMIT, OLD_PATH)
    mod = types.ModuleType(name)
    mod.__package__ = "infoloss._backends.numba"
    sys.modules[name] = mod
    code = compile(src.replace("cache=True", "cache=False"), "<old softmax_xent>", "exec")
    exec(code, mod.__dict__)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small shapes (a smoke test)")
    ap.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    ap.add_argument("--shapes", nargs="*", help="shapes as NxC (default: the full set)")
    ap.add_argument("--dtypes", nargs="*", default=["float32", "float64"])
    args = ap.parse_args()
    shapes = QUICK if args.quick else FULL
    if args.shapes:
        shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes]

    import numba

    from infoloss._kernels import softmax as new

    old = _old_kernels()
    read = read_floor()
    threads = numba.get_num_threads()
    load = os.getloadavg()[0]
    print(f"numba threads {threads}, load average {load:.2f}, {args.rounds} rounds")
    print()
    cols = ["fwd", "old fwd", "fused", "old fused", "fwd+bwd", "read", "x.sum()"]
    print("| shape | dtype | " + " | ".join(f"{c} ms (×read)" for c in cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    rng = np.random.default_rng(0)
    for n, c in shapes:
        for dt in args.dtypes:
            z = (rng.standard_normal((n, c), dtype=np.float32) * 2).astype(dt)
            y = rng.integers(0, c, n)
            g = np.empty_like(z)
            up = np.full(n, 1.0 / n)
            fwd = new.xent_forward(z, y, None, 0.0, None)

            def fwd_bwd(
                z: np.ndarray = z, y: np.ndarray = y, g: np.ndarray = g, up: np.ndarray = up
            ) -> None:
                f = new.xent_forward(z, y, None, 0.0, None)
                new.xent_backward(z, y, None, 0.0, None, f.lse, up, g)

            methods: dict[str, Callable[[], Any]] = {
                "fwd": lambda z=z, y=y: new.xent_forward(z, y, None, 0.0, None),
                "old fwd": lambda z=z, y=y: old.softmax_xent_labels(z, y),
                "fused": lambda z=z, y=y, g=g: new.xent_fused(z, y, None, 0.0, None, g, 1.0),
                "old fused": lambda z=z, y=y, g=g: old.softmax_xent_labels(z, y, grad_out=g),
                "fwd+bwd": fwd_bwd,
                "read": lambda z=z: read(z),
                "x.sum()": lambda z=z: z.sum(),
            }
            del fwd
            times = rounds(methods, args.rounds)
            cells = []
            for name in cols:
                ms = statistics.median(times[name]) * 1e3
                ratio = statistics.median(
                    t / r for t, r in zip(times[name], times["read"], strict=True)
                )
                cells.append(f"{ms:.1f} ({ratio:.2f})")
            print(f"| {n}×{c} | {dt} | " + " | ".join(cells) + " |", flush=True)
            del z, g
    print()
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    if importlib.util.find_spec("numba") is None:
        sys.exit("numba is not installed")
    main()
