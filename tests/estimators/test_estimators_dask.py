"""Dask: counting is a chunked reduction with one compute, and every estimate equals the
in-memory (NumPy) one exactly."""

from __future__ import annotations

import numpy as np
import pytest

from infoloss import estimators as est
from infoloss.estimators import _estimate

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

METHODS = list(_estimate.METHODS)


class CountingScheduler:
    """The synchronous scheduler, counting how often it is asked to compute."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, dsk, keys, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        return dask.get(dsk, keys, **kwargs)


def _data(seed=0, shape=(3, 997)):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, size=shape)
    y = (x // 3 + rng.integers(0, 3, size=shape)) % 7
    z = rng.integers(-2, 2, size=shape)
    return x, y, z


@pytest.mark.parametrize("method", METHODS)
def test_entropy_equals_numpy_exactly(method):
    x, _, _ = _data()
    want = est.entropy(x, method=method)
    for chunks in [(1, 100), (2, 333), (3, 997)]:
        got = est.entropy(da.from_array(x, chunks=chunks), method=method)
        assert isinstance(got, np.ndarray)
        assert np.array_equal(got, want), chunks
    col = x[0]
    assert est.entropy(da.from_array(col, chunks=64), method=method) == est.entropy(
        col, method=method
    )
    assert np.array_equal(
        est.entropy(da.from_array(x.T, chunks=(50, 2)), axis=0, method=method), want
    )


def test_floats_strings_and_wide_integers():
    x, _, _ = _data(1, shape=(2, 500))
    want = est.entropy(x)
    for values in (
        x * 0.25 - 3.0,
        x.astype(np.int64) * 10**15,
        np.array(list("abcdefghij"))[x % 10],
    ):
        got = est.entropy(da.from_array(values, chunks=(1, 77)))
        assert np.array_equal(got, est.entropy(values))
    assert np.array_equal(est.entropy(da.from_array(x, chunks=(1, 77))), want)


@pytest.mark.parametrize("method", ["plugin", "miller_madow", "chao_wang_jost", "nsb"])
def test_mutual_information_and_conditionals_equal_numpy(method):
    x, y, z = _data(2)
    dx = da.from_array(x, chunks=(2, 150))
    dy = da.from_array(y, chunks=(1, 200))  # different chunks: aligned before counting
    dz = da.from_array(z, chunks=(3, 97))
    assert np.array_equal(
        est.mutual_information(dx, dy, method=method), est.mutual_information(x, y, method=method)
    )
    assert np.array_equal(
        est.conditional_entropy(dx, dz, method=method),
        est.conditional_entropy(x, z, method=method),
    )
    assert np.array_equal(
        est.conditional_mutual_information(dx, dy, dz, method=method),
        est.conditional_mutual_information(x, y, z, method=method),
    )


def test_one_compute_per_call():
    x, y, _ = _data(3)
    sched = CountingScheduler()
    with dask.config.set(scheduler=sched):
        est.entropy(da.from_array(x, chunks=(1, 100)))
        assert sched.calls == 1
        est.mutual_information(da.from_array(x, chunks=(1, 100)), da.from_array(y, chunks=50))
        assert sched.calls == 2


def test_never_materialised_column_counts_exactly():
    # A column built chunk by chunk from a formula: the counts (and so every estimate)
    # match the same column built in memory.
    n, chunk = 200_000, 16_384
    col = (da.arange(n, chunks=chunk, dtype=np.int64) * 7919) % 1009 % 97
    mem = (np.arange(n, dtype=np.int64) * 7919) % 1009 % 97
    for method in ("miller_madow", "nsb"):
        assert est.entropy(col, method=method) == est.entropy(mem, method=method)


def test_nan_raises_after_the_single_compute():
    x = np.arange(1000, dtype=np.float64)
    x[777] = np.nan
    with pytest.raises(ValueError, match="`samples` contains NaN"):
        est.entropy(da.from_array(x, chunks=100))
    with pytest.raises(ValueError, match="`y` contains NaN"):
        est.mutual_information(da.arange(1000, chunks=100), da.from_array(x, chunks=100))


def test_bad_dask_input():
    with pytest.raises(ValueError, match="`samples` is empty"):
        est.entropy(da.zeros((0,), chunks=1))
    with pytest.raises(ValueError, match="`y` must have the shape of `x`"):
        est.mutual_information(da.zeros(10, chunks=5), da.zeros(11, chunks=5))
    with pytest.raises(ValueError, match="Python objects are not supported"):
        est.entropy(da.from_array(np.array([1, "a"], dtype=object), chunks=1))


def test_bootstrap_and_counts_from_dask():
    x, y, _ = _data(4, shape=(2, 600))
    dx = da.from_array(x, chunks=(1, 100))
    a = est.bootstrap_interval(dx, method="miller_madow", n_resamples=200, rng=5)
    b = est.bootstrap_interval(x, method="miller_madow", n_resamples=200, rng=5)
    for u, v in zip(a, b, strict=True):
        assert np.array_equal(u, v)
    a = est.bootstrap_interval(dx, y=da.from_array(y, chunks=(2, 300)), n_resamples=100, rng=6)
    b = est.bootstrap_interval(x, y=y, n_resamples=100, rng=6)
    for u, v in zip(a, b, strict=True):
        assert np.array_equal(u, v)
    counts = np.stack([np.bincount(r) for r in x])
    assert np.array_equal(est.entropy(counts=da.from_array(counts, chunks=5)), est.entropy(x))
