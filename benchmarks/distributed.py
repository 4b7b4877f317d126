"""Softmax cross-entropy of Dask logits on a ``dask.distributed`` cluster, against a sum.

The logits (rows x classes, float32) and the labels are generated lazily on the workers,
chunk by chunk, from one seed per chunk, and never gathered: the loss graph and the
baseline ``x.sum()`` over the same array both pay for the generation, so their ratio is
what the loss adds to one read of data that had to be produced anyway.  The cluster is a
``LocalCluster`` of worker processes (one thread each) unless ``--address`` names a
running scheduler.

    python benchmarks/distributed.py                      # 10^7 x 1000: 40 GB generated
    python benchmarks/distributed.py --rows 200000        # a run of a minute on 2 cores
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

# This file's name is the package's: with its folder first on the path,
# ``import distributed`` (which dask.distributed does) would import this script.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]


def _chunk_logits(block_id: tuple[int, ...], rows: int, classes: int) -> np.ndarray:
    rng = np.random.default_rng(block_id[0])
    return rng.standard_normal((rows, classes), dtype=np.float32)


def _chunk_labels(block_id: tuple[int, ...], rows: int, classes: int) -> np.ndarray:
    rng = np.random.default_rng([block_id[0], 1])
    return rng.integers(0, classes, size=rows)


def data(rows: int, classes: int, chunk_rows: int) -> tuple[Any, Any]:
    """Lazily generated logits (rows, classes) float32 and labels (rows,) int64."""
    import dask.array as da

    chunks = da.core.normalize_chunks((chunk_rows,), (rows,))[0]
    z = da.map_blocks(
        lambda block_id=None: _chunk_logits(block_id, chunks[block_id[0]], classes),
        chunks=(chunks, (classes,)),
        dtype=np.float32,
    )
    y = da.map_blocks(
        lambda block_id=None: _chunk_labels(block_id, chunks[block_id[0]], classes),
        chunks=(chunks,),
        dtype=np.int64,
    )
    return z, y


def _check_a_slice(il: Any, z: Any, y: Any, rows: int) -> None:
    """The loss of the first and last ``rows`` rows on the cluster against NumPy's loss of
    the same rows, computed in memory (a wrong graph is not timed)."""
    for part in (slice(0, rows), slice(z.shape[0] - rows, None)):
        lazy = il.softmax_cross_entropy(z[part], y[part], reduction="sum")
        zs, ys = z[part].compute(), y[part].compute()
        got, want = float(lazy.compute()), float(il.softmax_cross_entropy(zs, ys, reduction="sum"))
        if abs(got - want) > 1e-5 * abs(want):
            raise SystemExit(f"the cluster's loss {got} differs from NumPy's {want} on {part}")
    print(f"loss of the first and last {rows} rows: the cluster's equals NumPy's")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10**7)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--chunk-rows", type=int, default=8192)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--address", default=None, help="a running scheduler's address")
    args = parser.parse_args()

    sys.path.insert(0, str(_HERE))
    from _common import machine  # type: ignore[import-not-found]

    sys.path.remove(str(_HERE))
    from dask.distributed import Client, LocalCluster

    import infoloss as il

    if args.address is None:
        cluster = LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(args.address)
    z, y = data(args.rows, args.classes, args.chunk_rows)
    _check_a_slice(il, z, y, args.chunk_rows)
    graphs = {"sum": z.sum(), "loss": il.softmax_cross_entropy(z, y)}
    times: dict[str, list[float]] = {name: [] for name in graphs}
    for _ in range(args.repeats):
        for name, graph in graphs.items():
            t0 = time.perf_counter()
            graph.compute()
            times[name].append(time.perf_counter() - t0)
    gb = args.rows * args.classes * 4 / 1e9
    print(f"{machine()}; {len(client.scheduler_info()['workers'])} worker processes")
    print(f"logits ({args.rows}, {args.classes}) float32, {gb:.2f} GB, chunks of {args.chunk_rows}")
    for name, t in times.items():
        print(f"{name:>5}: {statistics.median(t):8.2f} s  (median of {len(t)})")
    ratio = statistics.median(a / b for a, b in zip(times["loss"], times["sum"], strict=True))
    print(f"loss / sum: {ratio:.2f}x")
    client.close()


if __name__ == "__main__":
    main()
