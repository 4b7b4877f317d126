"""Softmax cross-entropy on JAX arrays under ``jax.jit``: infoloss against optax.

Usage::

    python benchmarks/jax_bench.py                     # (4096, 32000) and (1024, 32000)
    python benchmarks/jax_bench.py --quick             # a small shape, a smoke test
    python benchmarks/jax_bench.py --rounds 15 --shapes 4096x32000

Methods, on the same float32 logits (2·N(0, 1)) and integer labels, ``"mean"`` reduction,
in one process:

* ``infoloss jax fwd``: ``jax.jit(infoloss.jax.softmax_cross_entropy)``, and
  ``infoloss jax fwd+grad``: ``jax.jit(jax.value_and_grad(...))`` of the same;
* ``optax fwd`` / ``optax fwd+grad``: the same with
  ``optax.softmax_cross_entropy_with_integer_labels(...).mean()``; without optax installed,
  a hand-written ``jax.nn.logsumexp`` cross-entropy stands in (named ``jnp logsumexp …``);
* ``infoloss numpy fwd`` / ``fwd+grad``: :func:`infoloss.softmax_cross_entropy` on the same
  memory as a NumPy array (``return_grad=True`` for the gradient);
* ``read floor (2 threads)``: an OpenMP sum over the array (one read on every
  core), beside NumPy's ``x.sum()``.

Every JAX call ends in ``block_until_ready()``.  Timing is interleaved (every round calls
every method once, after one warm-up call each) so that load from other processes affects
all alike; the tables give medians and the medians of per-round ratios.  The target:
infoloss under jit at least 2× faster than optax under jit, forward and forward+grad.
"""

from __future__ import annotations

import argparse
import os
import statistics
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from _common import machine, ratio, read_floor, rounds

FULL = [(4096, 32000), (1024, 32000)]
QUICK = [(256, 4000)]

Method = Callable[[], Any]


def _peer() -> tuple[str, Callable[[Any, Any], Any]]:
    """optax's integer-label cross-entropy (mean), or a logsumexp one where optax is absent."""
    try:
        import optax
    except ImportError:
        import jax
        import jax.numpy as jnp

        def by_hand(z: Any, y: Any) -> Any:
            picked = jnp.take_along_axis(z, y[:, None], axis=-1)[:, 0]
            return jnp.mean(jax.nn.logsumexp(z, axis=-1) - picked)

        return "jnp logsumexp", by_hand

    def peer(z: Any, y: Any) -> Any:
        return optax.softmax_cross_entropy_with_integer_labels(z, y).mean()

    return "optax", peer


def jax_methods(x: np.ndarray, y: np.ndarray) -> dict[str, Method]:
    """The JAX rows: infoloss and its peer under ``jax.jit``, forward and forward+grad."""
    import jax
    import jax.numpy as jnp

    import infoloss.jax as ilj

    z, labels = jnp.asarray(x), jnp.asarray(y)
    name, peer = _peer()

    def run(f: Callable[[Any, Any], Any]) -> Method:
        with warnings.catch_warnings():  # traced here, once
            # JAX without x64 warns where the library asks for int64/float64 (labels, checks).
            warnings.filterwarnings("ignore", message="Explicitly requested dtype")
            jax.block_until_ready(f(z, labels))
        return lambda: jax.block_until_ready(f(z, labels))

    return {
        "infoloss jax fwd": run(jax.jit(ilj.softmax_cross_entropy)),
        "infoloss jax fwd+grad": run(jax.jit(jax.value_and_grad(ilj.softmax_cross_entropy))),
        f"{name} fwd": run(jax.jit(peer)),
        f"{name} fwd+grad": run(jax.jit(jax.value_and_grad(peer))),
    }


def numpy_methods(x: np.ndarray, y: np.ndarray) -> dict[str, Method]:
    import infoloss as il

    read = read_floor()
    return {
        "x.sum()": x.sum,
        "read floor (2 threads)": lambda: read(x),
        "infoloss numpy fwd": lambda: il.softmax_cross_entropy(x, y),
        "infoloss numpy fwd+grad": lambda: il.softmax_cross_entropy(x, y, return_grad=True),
    }


def _report(shape: tuple[int, int], times: dict[str, list[float]], peer: str) -> None:
    n, c = shape
    print(f"\n### ({n}, {c}) float32, {n * c * 4 / 1e6:.0f} MB\n")
    print("| method | median ms | × `x.sum()` |")
    print("|---|---:|---:|")
    for name, ts in times.items():
        ms = statistics.median(ts) * 1e3
        print(f"| {name} | {ms:.1f} | {ratio(times, name, 'x.sum()'):.2f} |")
    print("\n| comparison | ratio | target | met |")
    print("|---|---:|---|---|")
    for part in ("fwd", "fwd+grad"):
        r = ratio(times, f"{peer} {part}", f"infoloss jax {part}")
        met = "yes" if r >= 2.0 else "no"
        print(f"| {peer} {part} ÷ infoloss jax {part} | {r:.2f} | ≥ 2× | {met} |")
    for part in ("fwd", "fwd+grad"):
        r = ratio(times, f"infoloss jax {part}", f"infoloss numpy {part}")
        print(f"| infoloss jax {part} ÷ infoloss numpy {part} | {r:.2f} | (none) | |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small shape (a smoke test)")
    ap.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    ap.add_argument("--shapes", nargs="*", help="shapes as NxC (default: the full set)")
    args = ap.parse_args()
    shapes = QUICK if args.quick else FULL
    if args.shapes:
        shapes = [(int(s.split("x")[0]), int(s.split("x")[1])) for s in args.shapes]

    import jax

    peer = _peer()[0]
    print(
        f"{machine()}; jax {jax.__version__} "
        f"({jax.default_backend()}), peer {peer}, load average {os.getloadavg()[0]:.2f}, "
        f"{args.rounds} rounds"
    )
    rng = np.random.default_rng(0)
    for n, c in shapes:
        x = 2 * rng.standard_normal((n, c), dtype=np.float32)
        y = rng.integers(0, c, n)
        methods = numpy_methods(x, y) | jax_methods(x, y)
        _report((n, c), rounds(methods, args.rounds), peer)


if __name__ == "__main__":
    main()
