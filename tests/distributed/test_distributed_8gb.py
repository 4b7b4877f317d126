"""The 8 GB target: entropy, mutual information and the NSB estimate of two integer
columns of 4 GB each, generated on the workers and never materialised, give exactly the
estimates of their counts, known in closed form, with no worker near its memory limit.

The columns, for sample i of N = 4096 * PERIODS (a whole number of periods of 4096):
``v = (40503 * i) mod 1024`` takes every value of 0 .. 1023 once per 1024 samples (40503
is odd) and ``b = (i // 1024) mod 4`` every value of 0 .. 3 once per 4096, so every pair
(v, b) occurs exactly PERIODS times.  ``x = v * v // 1024`` (skewed over 0 .. 1022) and
``y = (x + b) mod 4`` (dependent on x): the counts of x, y and (x, y) are those of the
4096 pairs, each times PERIODS.  Powers of two keep the generator to shifts and masks.

The three calls read 16 GB in all (x three times, y once): 32 s on two otherwise idle
cores, 71 s on the same two cores shared with other work.
"""

from __future__ import annotations

import os
import resource
from typing import Any

import numpy as np
import pytest

from infoloss import estimators as est

da = pytest.importorskip("dask.array")
pytest.importorskip("dask.distributed")

PERIODS = 122_071
N = 4096 * PERIODS  # 500,002,816 int64 samples: 4.0 GB per column
CHUNK = 1 << 22


def _index(block_info: Any) -> np.ndarray:
    ((lo, hi),) = block_info[None]["array-location"]
    return np.arange(lo, hi, dtype=np.int64)


def _x_of(i: np.ndarray) -> np.ndarray:
    v = (i * 40503) & 1023
    return (v * v) >> 10


def _x(block_info: Any = None) -> np.ndarray:
    return _x_of(_index(block_info))


def _y(block_info: Any = None) -> np.ndarray:
    i = _index(block_info)
    return (_x_of(i) + ((i >> 10) & 3)) & 3


def _exact_counts() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The counts of x, y and (x, y) from the 4096 pairs (v, b)."""
    v, b = np.meshgrid(np.arange(1024), np.arange(4), indexing="ij")
    x = (v * v >> 10).ravel()
    y = (x + b.ravel()) & 3
    joint = np.bincount(x * 4 + y) * PERIODS
    return np.bincount(x) * PERIODS, np.bincount(y) * PERIODS, joint[joint > 0]


def _peak_rss() -> int:
    """The worker's peak resident memory since its program started (VmHWM): not
    ``ru_maxrss``, which keeps the peak of the process it was forked from, and the
    worker may be forked from a test process that has grown large."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@pytest.mark.slow
def test_eight_gigabytes_counted_exactly(cluster_client):
    chunks = (da.core.normalize_chunks(CHUNK, (N,))[0],)
    x = da.map_blocks(_x, chunks=chunks, dtype=np.int64)
    y = da.map_blocks(_y, chunks=chunks, dtype=np.int64)
    assert x.nbytes + y.nbytes >= 8 * 10**9
    pids = cluster_client.run(os.getpid)
    h = est.entropy(x, method="plugin")
    mi = est.mutual_information(x, y)
    nsb = est.entropy(x, method="nsb")
    cx, cy, cxy = _exact_counts()
    assert h == est.entropy(counts=cx, method="plugin")
    assert nsb == est.entropy(counts=cx, method="nsb")
    plugin = [est.entropy(counts=c, method="plugin") for c in (cx, cy, cxy)]
    assert mi == plugin[0] + plugin[1] - plugin[2]
    # No worker was restarted (a nanny restarts one that passes its limit) and none came
    # near the limit: each held a few chunks at a time, never a column.
    assert cluster_client.run(os.getpid) == pids
    limit = min(w["memory_limit"] for w in cluster_client.scheduler_info()["workers"].values())
    assert max(cluster_client.run(_peak_rss).values()) < 0.8 * limit
