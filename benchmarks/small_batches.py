"""The drop-ins against what they replace, from tiny batches to (4096, 32000).

For each size (N, C), float32 logits (2·N(0, 1)) and int64 labels, ``"mean"`` reduction,
in one process, interleaved rounds (every round calls every method once; medians of the
per-round ratios):

* ``torch fwd``: ``infoloss.torch.cross_entropy`` under ``torch.no_grad()`` vs
  ``torch.nn.functional.cross_entropy``;
* ``torch fwd+bwd``: ``loss = f(z, y); loss.backward()`` for both (the gradient cleared
  by ``z.grad = None`` in each call); at sizes where the drop-in hands the call to PyTorch
  (``infoloss.torch._eager._native_size``), a row "(kernels, no native path)" times the fused
  kernels there too, in rounds of their own, which places the crossover;
* ``jax fwd``: ``jax.jit(infoloss.jax.softmax_cross_entropy)`` vs
  ``jax.jit(lambda z, y: optax.softmax_cross_entropy_with_integer_labels(z, y).mean())``;
* ``jax fwd+grad``: ``jax.jit(jax.value_and_grad(...))`` of the same (each call ends in
  ``block_until_ready``; with ``--jax-calls K``, K calls in a row are one sample, the last
  one blocking, as in a loop of training steps);
* ``mlp step``: one SGD step of a 64 → 64 → 10 MLP on 1797 samples (the digits data's
  shape) with each loss, in PyTorch and (jitted) in JAX.

    python benchmarks/small_batches.py [--sizes 256x10,1797x10] [--no-jax] [--no-torch]
                                       [--jax-calls 20]

A ratio below 1 means the drop-in is faster.  Without optax installed the JAX rows are
skipped.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from _common import machine, rounds

SIZES = "64x10,256x10,1797x10,256x1000,4096x1000,4096x32000"


def _repeats(n: int, c: int, base: int) -> int:
    work = n * c
    return max(5, min(base, int(base * 20_000 / max(work, 1))) if work > 20_000 else base)


def _report(name: str, size: str, times: dict[str, list[float]], a: str, b: str) -> None:
    ratios = [p / q for p, q in zip(times[a], times[b], strict=True)]
    ta, tb = statistics.median(times[a]), statistics.median(times[b])
    print(
        f"| {size} | {name} | {ta * 1e3:.3f} | {tb * 1e3:.3f} | {statistics.median(ratios):.2f} |",
        flush=True,
    )


def torch_rows(n: int, c: int, repeats: int) -> None:
    import torch
    import torch.nn.functional as F

    import infoloss.torch as ilt

    gen = torch.Generator().manual_seed(0)
    z = (2 * torch.randn(n, c, generator=gen)).requires_grad_()
    y = torch.randint(0, c, (n,), generator=gen)

    def fwd(f: Callable[..., Any]) -> Callable[[], Any]:
        def run() -> Any:
            with torch.no_grad():
                return f(z, y)

        return run

    def fwd_bwd(f: Callable[..., Any]) -> Callable[[], Any]:
        def run() -> Any:
            z.grad = None
            f(z, y).backward()

        return run

    from infoloss.torch import _eager

    def kernels_only(*a: Any) -> Any:
        # the drop-in with its native path for small batches turned off: the crossover
        saved, _eager.NATIVE_MAX = _eager.NATIVE_MAX, 0
        try:
            return ilt.cross_entropy(*a)
        finally:
            _eager.NATIVE_MAX = saved

    size = f"{n}×{c}"
    for name, wrap in (("torch fwd", fwd), ("torch fwd+bwd", fwd_bwd)):
        t = rounds({"il": wrap(ilt.cross_entropy), "torch": wrap(F.cross_entropy)}, repeats)
        _report(name, size, t, "il", "torch")
        if _eager._native_size(n, c, name == "torch fwd+bwd"):
            # Rounds of their own: a call right after the kernels' (OpenMP) pass runs
            # slower, so sharing rounds would charge that to whichever method follows it.
            t = rounds({"kernels": wrap(kernels_only), "torch": wrap(F.cross_entropy)}, repeats)
            _report(name + " (kernels, no native path)", size, t, "kernels", "torch")


def jax_rows(n: int, c: int, repeats: int, calls: int = 1) -> None:
    try:
        import optax
    except ImportError:
        print(f"| {n}×{c} | jax | optax not installed: skipped | | |")
        return
    import jax
    import jax.numpy as jnp

    import infoloss.jax as ilj

    rng = np.random.default_rng(0)
    z = jnp.asarray((2 * rng.standard_normal((n, c))).astype(np.float32))
    y = jnp.asarray(rng.integers(0, c, n).astype(np.int32))

    def ox(z: Any, y: Any) -> Any:
        return optax.softmax_cross_entropy_with_integer_labels(z, y).mean()

    def il(z: Any, y: Any) -> Any:
        return ilj.softmax_cross_entropy(z, y)

    def block(f: Callable[..., Any]) -> Callable[[], Any]:
        def run() -> Any:
            for _ in range(calls - 1):
                f(z, y)
            return jax.block_until_ready(f(z, y))

        return run

    def per_call(t: dict[str, list[float]]) -> dict[str, list[float]]:
        return {k: [v / calls for v in vs] for k, vs in t.items()}

    size = f"{n}×{c}" if calls == 1 else f"{n}×{c} ({calls} calls a sample)"
    t = rounds({"il": block(jax.jit(il)), "optax": block(jax.jit(ox))}, repeats)
    _report("jax fwd", size, per_call(t), "il", "optax")
    vg = jax.value_and_grad
    t = rounds({"il": block(jax.jit(vg(il))), "optax": block(jax.jit(vg(ox)))}, repeats)
    _report("jax fwd+grad", size, per_call(t), "il", "optax")


def mlp_rows(repeats: int) -> None:
    import torch
    import torch.nn.functional as F

    import infoloss.torch as ilt

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1797, 64, generator=gen)
    y = torch.randint(0, 10, (1797,), generator=gen)

    def stepper(loss_fn: Callable[..., Any]) -> Callable[[], Any]:
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)
        )
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

        def step() -> Any:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()

        return step

    t = rounds({"il": stepper(ilt.cross_entropy), "torch": stepper(F.cross_entropy)}, repeats)
    _report("torch MLP SGD step", "1797×64→64→10", t, "il", "torch")


def jax_mlp_rows(repeats: int, calls: int = 1) -> None:
    """One jitted SGD step of the same MLP in JAX, with each loss (``calls`` steps a
    sample, the last one blocking)."""
    try:
        import optax
    except ImportError:
        return
    import jax
    import jax.numpy as jnp

    import infoloss.jax as ilj

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((1797, 64)).astype(np.float32))
    y = jnp.asarray(rng.integers(0, 10, 1797).astype(np.int32))

    def stepper(loss_fn: Callable[..., Any]) -> Callable[[], Any]:
        init = np.random.default_rng(1)
        params = {
            "w1": jnp.asarray(0.1 * init.standard_normal((64, 64)), jnp.float32),
            "b1": jnp.zeros(64, jnp.float32),
            "w2": jnp.asarray(0.1 * init.standard_normal((64, 10)), jnp.float32),
            "b2": jnp.zeros(10, jnp.float32),
        }

        def loss(p: Any) -> Any:
            h = jax.nn.relu(x @ p["w1"] + p["b1"])
            return loss_fn(h @ p["w2"] + p["b2"], y)

        @jax.jit
        def update(p: Any) -> Any:
            grad = jax.grad(loss)(p)
            return jax.tree.map(lambda a, g: a - 0.01 * g, p, grad)

        state = [params]

        def step() -> Any:
            for _ in range(calls):
                state[0] = update(state[0])
            return jax.block_until_ready(state[0])

        return step

    def ox(z: Any, t: Any) -> Any:
        return optax.softmax_cross_entropy_with_integer_labels(z, t).mean()

    t = rounds({"il": stepper(ilj.softmax_cross_entropy), "optax": stepper(ox)}, repeats)
    t = {k: [v / calls for v in vs] for k, vs in t.items()}
    _report("jax MLP SGD step", "1797×64→64→10", t, "il", "optax")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default=SIZES)
    ap.add_argument("--repeats", type=int, default=300)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-jax", action="store_true")
    ap.add_argument(
        "--jax-calls",
        type=int,
        default=1,
        help="time this many consecutive JAX calls as one sample (1: each call alone)",
    )
    args = ap.parse_args()
    print(f"{machine()}; {time.strftime('%Y-%m-%d')}\n")
    print("| N×C | what | infoloss (ms) | peer (ms) | ratio |")
    print("|---|---|---|---|---|")
    for size in args.sizes.split(","):
        n, c = (int(v) for v in size.split("x"))
        reps = _repeats(n, c, args.repeats)
        if not args.no_torch:
            torch_rows(n, c, reps)
        if not args.no_jax:
            jax_rows(n, c, reps, args.jax_calls)
    if not args.no_torch:
        mlp_rows(args.repeats)
    if not args.no_jax:
        jax_mlp_rows(args.repeats, args.jax_calls)


if __name__ == "__main__":
    main()
