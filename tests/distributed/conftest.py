"""The Dask cluster that every test of ``tests/distributed`` shares.

One cluster per session: starting worker processes costs seconds, and the tests here check
that infoloss's graphs run on separate processes, not how a fresh cluster behaves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def cluster_client() -> Iterator[Any]:
    """A ``dask.distributed.Client`` on two single-threaded worker processes of 1 GiB each."""
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
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
