"""The Dask cluster that every test of ``tests/distributed`` shares.

One cluster for the folder: starting worker processes costs seconds, and the tests here check
that infoloss's graphs run on separate processes, not how a fresh cluster behaves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="package")
def _cluster() -> Iterator[Any]:
    """The cluster of this folder's tests and a client that is not the process's default
    scheduler (closed when the folder's tests are done: its threads would otherwise run
    on beside later tests, whose allocations some of them measure)."""
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        memory_limit="1GiB",
        dashboard_address=None,
        # The scheduler's HTTP endpoints take port 8787 even without a dashboard, and warn
        # (an error in this suite) when another cluster on the machine holds it.
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    )
    # Not the default: the tests of other folders, run later by the same process, must
    # keep Dask's own scheduler.
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture
def cluster_client(_cluster: Any) -> Iterator[Any]:
    """A ``dask.distributed.Client`` on two single-threaded worker processes of 1 GiB each,
    the scheduler of every Dask computation during the test."""
    with _cluster.as_current():
        yield _cluster
