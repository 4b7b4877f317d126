"""Softmax cross-entropy on the frameworks' own arrays, against the frameworks' own losses.

Usage::

    python benchmarks/frameworks.py                    # (4096, 32000) and (1024, 32000), float32
    python benchmarks/frameworks.py --quick            # small shapes, a smoke test
    python benchmarks/frameworks.py --rounds 11 --shapes 4096x32000
    python benchmarks/frameworks.py --skip F.cross_entropy   # leave out rows by name
    python benchmarks/frameworks.py --jax              # add the JAX rows (see ``jax_methods``)

Methods, on the same float32 logits and int64 labels (no options, ``reduction="mean"``),
in one process:

* ``infoloss numpy``: :func:`infoloss.softmax_cross_entropy` on the NumPy array (forward),
  and with ``return_grad=True`` (forward and gradient);
* ``infoloss torch``: :func:`infoloss.torch.cross_entropy` on a CPU tensor sharing that
  memory (forward), and forward plus ``loss.backward()`` through autograd;
  ``il.softmax_cross_entropy(tensor)``: the same through the public function's route;
* ``F.cross_entropy``: PyTorch's own, forward and forward plus ``loss.backward()``;
* ``read floor (2 threads)``: an OpenMP sum over the array, one read of it on
  every core (the floor a one-pass loss is measured against), beside NumPy's ``x.sum()``.

Timing is interleaved: every round calls every method once, in turn, after one warm-up call
each, so that load from other processes affects all alike.  The table gives each method's
median time and its median per-round ratio to ``x.sum()``; the speed targets are
medians of per-round ratios between the methods they compare.

One interaction to know: on the 2-core reference machine, after ``F.cross_entropy``'s
forward and backward (which allocate and free about 1.5 GB per call) NumPy's fused
forward-and-gradient path slows several-fold for the rest of the run, while the other
rows barely move.  Compare infoloss on torch with infoloss on NumPy in a run with
``--skip F.cross_entropy`` as well (docs/torch.md gives both).

JAX: ``--jax`` adds the rows that :func:`jax_methods` returns (none yet).  Whoever writes
``infoloss.jax`` fills that function in (and only it) with ``infoloss.jax`` and optax under
``jax.jit``, forward and forward-plus-grad, named ``infoloss jax …`` and ``optax …``.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable
from typing import Any

import numpy as np

from _common import machine, ratio, read_floor, rounds

FULL = [(4096, 32000), (1024, 32000)]
QUICK = [(256, 4000)]

Method = Callable[[], Any]


# ------------------------------------------------------------- NumPy and PyTorch


def numpy_methods(x: np.ndarray, y: np.ndarray) -> dict[str, Method]:
    import infoloss as il

    read = read_floor()
    return {
        "x.sum()": x.sum,
        "read floor (2 threads)": lambda: read(x),
        "infoloss numpy fwd": lambda: il.softmax_cross_entropy(x, y),
        "infoloss numpy fwd+grad": lambda: il.softmax_cross_entropy(x, y, return_grad=True),
    }


def _backward(loss_fn: Callable[[Any, Any], Any], z: Any, y: Any) -> Method:
    def step() -> None:
        loss_fn(z, y).backward()
        z.grad = None

    return step


def torch_methods(x: np.ndarray, y: np.ndarray) -> dict[str, Method]:
    import torch

    import infoloss as il
    import infoloss.torch as ilt

    F = torch.nn.functional
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)  # the same memory as the NumPy rows
    z = xt.detach().requires_grad_(True)
    return {
        "infoloss torch fwd": lambda: ilt.cross_entropy(xt, yt),
        "infoloss torch fwd+bwd": _backward(ilt.cross_entropy, z, yt),
        "il.softmax_cross_entropy(tensor) fwd": lambda: il.softmax_cross_entropy(xt, yt),
        "il.softmax_cross_entropy(tensor) fwd+bwd": _backward(il.softmax_cross_entropy, z, yt),
        "F.cross_entropy fwd": lambda: F.cross_entropy(xt, yt),
        "F.cross_entropy fwd+bwd": _backward(F.cross_entropy, z, yt),
    }


# ------------------------------------------------------------------------ JAX


def jax_methods(x: np.ndarray, y: np.ndarray) -> dict[str, Method]:
    """The JAX rows (``--jax``): none yet.  To be filled in with ``infoloss.jax`` and optax
    under ``jax.jit`` (forward, and forward plus grad), each call ending in
    ``.block_until_ready()``; add their targets to ``JAX_TARGETS``."""
    return {}


JAX_TARGETS: list[tuple[str, str, float]] = []


# ---------------------------------------------------------------------- timing


# (slower, faster, the least slower/faster ratio asked; ≤ for "within", ≥ for "faster")
TORCH_TARGETS: list[tuple[str, str, float]] = [
    ("infoloss torch fwd", "infoloss numpy fwd", 1.2),
    ("infoloss torch fwd+bwd", "infoloss numpy fwd+grad", 1.2),
    ("F.cross_entropy fwd", "infoloss torch fwd", 5.0),
    ("F.cross_entropy fwd+bwd", "infoloss torch fwd+bwd", 5.0),
]


def _report(shape: tuple[int, int], times: dict[str, list[float]], jax: bool) -> None:
    n, c = shape
    print(f"\n### ({n}, {c}) float32, {n * c * 4 / 1e6:.0f} MB\n")
    print("| method | median ms | × `x.sum()` |")
    print("|---|---:|---:|")
    for name, ts in times.items():
        ms = statistics.median(ts) * 1e3
        print(f"| {name} | {ms:.1f} | {ratio(times, name, 'x.sum()'):.2f} |")
    print("\n| comparison | ratio | target | met |")
    print("|---|---:|---|---|")
    targets = TORCH_TARGETS + (JAX_TARGETS if jax else [])
    for a, b, bound in targets:
        if a not in times or b not in times:
            continue
        r = ratio(times, a, b)
        within = a.startswith("infoloss")
        want = f"≤ {bound}×" if within else f"≥ {bound}×"
        met = r <= bound if within else r >= bound
        print(f"| {a} ÷ {b} | {r:.2f} | {want} | {'yes' if met else 'no'} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small shapes (a smoke test)")
    ap.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    ap.add_argument("--shapes", nargs="*", help="shapes as NxC (default: the full set)")
    ap.add_argument("--skip", nargs="*", default=[], help="leave out rows whose name has this")
    ap.add_argument("--jax", action="store_true", help="add the rows of jax_methods()")
    args = ap.parse_args()
    shapes = QUICK if args.quick else FULL
    if args.shapes:
        shapes = [(int(s.split("x")[0]), int(s.split("x")[1])) for s in args.shapes]

    import torch

    print(
        f"{machine()}; torch threads {torch.get_num_threads()}, "
        f"torch {torch.__version__}, load average {os.getloadavg()[0]:.2f}, "
        f"{args.rounds} rounds"
    )
    rng = np.random.default_rng(0)
    for n, c in shapes:
        x = 2 * rng.standard_normal((n, c), dtype=np.float32)
        y = rng.integers(0, c, n)
        methods = numpy_methods(x, y) | torch_methods(x, y)
        if args.jax:
            methods |= jax_methods(x, y)
        methods = {
            k: f for k, f in methods.items() if k == "x.sum()" or not any(s in k for s in args.skip)
        }
        times = rounds(methods, args.rounds)
        _report((n, c), times, args.jax)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
