"""Continuous estimators on Dask arrays, threaded and on the two-worker cluster.

The spacing estimators sort on the workers and must give the in-memory result (to 1e-12
relative: NumPy sums a row's log terms pairwise, the Dask path per bucket then exactly),
ties and the ends' clamping included, for any chunking, chunks shorter than the window
too.  The kNN estimators refuse a Dask array unless ``subsample=`` is given, and then
nothing larger than the estimates comes back from the workers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from infoloss.estimators import _spacing, continuous_mutual_information, differential_entropy

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
dask_base = pytest.importorskip("dask.base")


@pytest.fixture
def threads() -> Iterator[None]:
    """The threaded scheduler, whether or not the session's cluster is running."""
    with dask.config.set(scheduler="threads"):
        yield


@pytest.fixture(params=["threads", "cluster"])
def scheduler(request: pytest.FixtureRequest) -> Iterator[str]:
    """The threaded scheduler, or the session's two worker processes."""
    if request.param == "cluster":
        request.getfixturevalue("cluster_client")
        with dask.config.set(scheduler="dask.distributed"):
            yield request.param
    else:
        with dask.config.set(scheduler="threads"):
            yield request.param


def _tied(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """Normal samples rounded to a grid coarse enough for many ties, fine enough that
    no run of equal values fills a window."""
    return np.round(np.random.default_rng(seed).standard_normal(shape) * 40) / 7


def _compute_spy(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every value that ``dask.base.compute`` hands back, flattened."""
    seen: list[Any] = []
    real = dask_base.compute

    def spy(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        stack = [out]
        while stack:
            item = stack.pop()
            if isinstance(item, (list, tuple)):
                stack.extend(item)
            else:
                seen.append(item)
        return out

    monkeypatch.setattr(dask_base, "compute", spy)
    return seen


@pytest.fixture
def small_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    """One bucket per chunk, however small the chunks (the default merges tiny ones)."""
    monkeypatch.setattr(_spacing, "BUCKET", 1)


def _check(x: np.ndarray, chunks: Any, **kwargs: Any) -> None:
    want = differential_entropy(x, **kwargs)
    got = differential_entropy(da.from_array(x, chunks=chunks), **kwargs)
    assert type(got).__module__.startswith("dask")
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=0)


@pytest.mark.usefixtures("small_buckets")
@pytest.mark.parametrize("method", list(_spacing.METHODS))
@pytest.mark.usefixtures("threads")
def test_spacing_equals_numpy(method):
    x = _tied(1, (2, 601))
    assert len(np.unique(x[0])) < 300
    for chunks in [(1, 113), (2, 601)]:
        _check(x, chunks, method=method)
    _check(x.T, (250, 1), method=method, axis=0)
    small = _tied(2, 41)
    _check(small, 3, method=method)  # chunks shorter than the window (m = 6)
    _check(small, 4, method=method, window_length=9)


@pytest.mark.usefixtures("small_buckets")
@pytest.mark.parametrize("method", list(_spacing.METHODS))
@pytest.mark.usefixtures("threads")
def test_spacing_small_samples_and_ends(method):
    # n = 2m + 1 and n = 2m + 2: every spacing reaches a clamped end; 1-value chunks
    for n, m, chunks in [(7, 3, 1), (8, 3, 3), (11, 5, 2), (5, 2, 5)]:
        x = np.random.default_rng(n).permutation(np.arange(n, dtype=np.float64) ** 1.5)
        _check(x, chunks, method=method, window_length=m)


@pytest.mark.usefixtures("threads")
def test_default_buckets_merge_small_chunks():
    x = _tied(3, 700)
    _check(x, 7, method="ebrahimi")


@pytest.mark.parametrize("method", list(_spacing.METHODS))
@pytest.mark.usefixtures("small_buckets")
@pytest.mark.usefixtures("threads")
def test_spacing_ties_raise_like_numpy(method):
    x = np.concatenate([np.arange(40.0), np.full(9, 3.5), np.arange(40.0, 90.0)])
    x = np.stack([np.random.default_rng(2).permutation(np.arange(99.0)), x])
    m = 4 if method != "van es" else 8  # the run of 9 equal values fills a window
    with pytest.raises(ValueError, match="run of equal values") as numpy_error:
        differential_entropy(x, method=method, window_length=m)
    with pytest.raises(ValueError, match="run of equal values") as dask_error:
        differential_entropy(da.from_array(x, chunks=(1, 12)), method=method, window_length=m)
    assert str(dask_error.value) == str(numpy_error.value)
    assert "batch entry at index (1,)" in str(dask_error.value)
    _check(x, (1, 12), method=method, window_length=m + 1)


@pytest.mark.usefixtures("small_buckets")
def test_spacing_on_the_cluster(cluster_client):
    distributed = pytest.importorskip("dask.distributed")
    with (
        dask.config.set(scheduler="dask.distributed"),
        distributed.get_task_stream(cluster_client) as stream,
    ):
        x = _tied(11, (2, 61))
        for method in _spacing.METHODS:
            _check(x, (1, 5), method=method)  # chunks shorter than the window (m = 8)
        _check(x.T, (7, 2), method="correa", axis=0, window_length=3)
        _check(np.arange(7.0) ** 2, 1, method="ebrahimi", window_length=3)
        tied = np.concatenate([np.arange(30.0), np.full(9, 3.5)])
        with pytest.raises(ValueError, match="run of equal values") as numpy_error:
            differential_entropy(tied, window_length=4)
        with pytest.raises(ValueError, match="run of equal values") as dask_error:
            differential_entropy(da.from_array(tied, chunks=4), window_length=4)
        assert str(dask_error.value) == str(numpy_error.value)
    sums = [t["worker"] for t in stream.data if "_bucket_sum" in str(t["key"])]
    assert len(sums) > 10
    assert set(sums) <= set(cluster_client.scheduler_info()["workers"])


def test_spacing_brings_back_scalars_only(scheduler, monkeypatch):
    monkeypatch.setattr(_spacing, "BUCKET", 8192)
    x = np.round(np.random.default_rng(3).standard_normal(50_000), 4)
    want = differential_entropy(x)
    seen = _compute_spy(monkeypatch)
    got = differential_entropy(da.from_array(x, chunks=4096))
    assert math.isclose(float(got), want, rel_tol=1e-12)
    assert seen
    assert all(np.ndim(v) == 0 for v in seen)


@pytest.mark.usefixtures("threads")
def test_bad_dask_samples():
    x = _tied(4, (3, 200))
    x[2, 17] = np.nan
    with pytest.raises(ValueError, match=r"`samples` contains NaN \(first at index \(2, 17\)\)"):
        differential_entropy(da.from_array(x, chunks=(1, 50)))
    x[2, 17] = -np.inf
    with pytest.raises(ValueError, match=r"`samples` contains infinite values"):
        differential_entropy(da.from_array(x, chunks=(1, 50)), method="correa")
    with pytest.raises(ValueError, match="`jitter`"):
        differential_entropy(da.from_array(_tied(5, 300), chunks=50), jitter=1e-6)
    unknown = da.from_array(_tied(5, 300), chunks=50)
    unknown = unknown[unknown > -100]
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        differential_entropy(unknown)


@pytest.mark.usefixtures("threads")
def test_knn_refuses_to_gather():
    x = da.from_array(np.random.default_rng(6).standard_normal((500, 2)), chunks=(100, 2))
    with pytest.raises(ValueError, match=r"`samples` is a Dask array.*`subsample=`.*compute"):
        differential_entropy(x, method="kozachenko_leonenko", axis=0, feature_axis=1)
    with pytest.raises(ValueError, match=r"`samples` is a Dask array.*`subsample=`"):
        differential_entropy(x, axis=0, feature_axis=1)  # "auto" picks kNN for vectors
    with pytest.raises(ValueError, match=r"`x` is a Dask array.*`subsample=`"):
        continuous_mutual_information(x[:, 0], x[:, 1])


def test_knn_subsample_on_the_workers(scheduler, monkeypatch):
    z = np.random.default_rng(7).multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], 20_000)
    full_h = differential_entropy(z[:, 0], method="kozachenko_leonenko")
    full_mi = continuous_mutual_information(z[:, 0], z[:, 1])
    x, y = da.from_array(z[:, 0], chunks=3001), da.from_array(z[:, 1], chunks=4500)
    seen = _compute_spy(monkeypatch)
    h = differential_entropy(x, method="kozachenko_leonenko", subsample=2000, rng=1)
    mi = continuous_mutual_information(x, y, subsample=2000, rng=1)
    assert h.low < full_h < h.high
    assert h.high - h.low < 0.2
    assert mi.low < full_mi < mi.high
    assert mi.high - mi.low < 0.15
    assert h.estimates.shape == (10,)
    assert mi.estimates.shape == (10,)
    assert seen
    assert all(np.size(v) == 1 for v in seen)
    again = continuous_mutual_information(x, y, subsample=2000, rng=1)
    assert np.array_equal(np.asarray(again.estimates), np.asarray(mi.estimates))


@pytest.mark.usefixtures("threads")
def test_knn_subsample_batched_vectors():
    data = np.random.default_rng(8).standard_normal((2, 3000, 3))
    lazy = da.from_array(data, chunks=(1, 700, 3))
    r = differential_entropy(lazy, feature_axis=-1, axis=1, subsample=500, repeats=4, rng=2)
    assert np.asarray(r.estimates).shape == (4, 2)
    want = 1.5 * math.log(2 * math.pi * math.e)
    assert np.all(np.abs(np.asarray(r.estimate) - want) < 0.15)
    data[1, 5, 2] = np.nan
    lazy = da.from_array(data, chunks=(1, 700, 3))
    with pytest.raises(ValueError, match=r"`samples` contains NaN \(first at index \(1, 5, 2\)"):
        differential_entropy(lazy, feature_axis=-1, axis=1, subsample=500)
