"""Entropy of an integer column larger than memory, through Dask, chunk by chunk.

The column is generated lazily by Dask, chunk by chunk, and never materialised:
``v = floor(u^2 / K)`` with ``u`` uniform on ``0 .. K-1`` (int64), a skewed distribution
on ``0 .. K-1`` whose exact entropy is known (printed beside the estimates).  Each
estimator call is one pass over the column: the counting of
:func:`infoloss.estimators.entropy` is a chunked reduction (per-chunk counts merged in a
tree) with one ``compute``; the estimate is then computed from the counts.

    python benchmarks/estimators_out_of_core.py --gb 32      # larger than a 24 GB machine
    python benchmarks/estimators_out_of_core.py --gb 2       # a modest run

``--check-gb`` also builds the same column in memory (NumPy) up to that size and checks
that the Dask estimates equal the in-memory ones exactly.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np


def _column(n: int, k: int, chunk: int, seed: int):  # type: ignore[no-untyped-def]
    import dask.array as da

    u = da.random.default_rng(seed).integers(0, k, size=n, chunks=chunk, dtype=np.int64)
    return (u * u) // k


def _true_entropy(k: int) -> float:
    """The exact entropy of floor(u^2 / K), u uniform on 0 .. K-1."""
    u = np.arange(k, dtype=np.int64)
    p = np.bincount((u * u) // k) / k
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _peak_rss_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=32.0, help="column size in GB (int64)")
    parser.add_argument("--k", type=int, default=1000, help="alphabet size K")
    parser.add_argument("--chunk-mb", type=float, default=32.0, help="chunk size in MB")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--methods", default="miller_madow,nsb", help="comma-separated estimators to run"
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also time col.max().compute(): generating the column with a trivial reduction",
    )
    parser.add_argument(
        "--check-gb",
        type=float,
        default=0.0,
        help="also compare with NumPy in memory on a column of this size (GB)",
    )
    args = parser.parse_args()

    import dask

    from infoloss.estimators import entropy, entropy_nsb

    n = int(args.gb * 1e9) // 8
    chunk = max(1, int(args.chunk_mb * 1e6) // 8)
    col = _column(n, args.k, chunk, args.seed)
    print(
        f"column: {n:,} int64 samples = {n * 8 / 1e9:.2f} GB in {math.ceil(n / chunk)} chunks "
        f"of {chunk * 8 / 1e6:.0f} MB; K = {args.k}; CPUs: {os.cpu_count()}; "
        f"dask scheduler: {dask.config.get('scheduler', 'threads')}"
    )
    print(f"true entropy: {_true_entropy(args.k):.6f} nats")
    # Load the compiled counting kernels (both the per-row and the split-row one) before
    # any timing.
    entropy(np.zeros(1 << 18, np.int64), method="miller_madow")
    if args.baseline:
        t0 = time.perf_counter()
        col.max().compute()
        dt = time.perf_counter() - t0
        print(f"{'generate + max':>14}: {dt:7.1f} s  ({dt / (n * 8 / 1e9):.2f} s/GB)", flush=True)
    for method in args.methods.split(","):
        t0 = time.perf_counter()
        if method == "nsb":
            r = entropy_nsb(col, alphabet_size=args.k)
            text = f"{float(r.estimate):.6f} ± {float(r.std):.6f}"
        else:
            text = f"{float(entropy(col, method=method)):.6f}"
        dt = time.perf_counter() - t0
        print(
            f"{method:>14}: {text} nats  {dt:7.1f} s  ({dt / (n * 8 / 1e9):.2f} s/GB, "
            f"{n * 8 / 1e9 / dt:.2f} GB/s); peak RSS so far {_peak_rss_gb():.2f} GB",
            flush=True,
        )

    if args.check_gb > 0:
        m = int(args.check_gb * 1e9) // 8
        small = _column(m, args.k, chunk, args.seed)
        mem = small.compute()
        for method in args.methods.split(","):
            if method == "nsb":
                lazy = entropy_nsb(small, alphabet_size=args.k)
                eager = entropy_nsb(mem, alphabet_size=args.k)
            else:
                lazy = entropy(small, method=method)
                eager = entropy(mem, method=method)
            same = bool(np.array_equal(np.asarray(lazy), np.asarray(eager)))
            print(f"check {m * 8 / 1e9:.2f} GB, {method}: Dask == NumPy exactly: {same}")


if __name__ == "__main__":
    main()
