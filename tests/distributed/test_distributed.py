"""infoloss on ``dask.distributed`` worker processes: every Dask path gives the answer of
the same graph run in this process (bit for bit) and of NumPy, gathers only small results
to the client, and reports bad data with the eager path's error, leaving the cluster usable.

The data is generated on the workers (``map_blocks`` from the block index), so the client
never holds a column; the references compute the same arrays in this process.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import infoloss as il
from infoloss import estimators as est
from infoloss.estimators import _estimate

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
pytest.importorskip("dask.distributed")

N, CHUNK = 40_000, 6_000


def _ints(n: int, chunk: int, k: int, seed: int) -> Any:
    """Integers in 0 .. k-1, skewed, generated per block on the workers."""

    def block(block_info: Any = None) -> np.ndarray:
        ((lo, hi),) = block_info[None]["array-location"]
        u = np.random.default_rng([seed, lo]).integers(0, k, size=hi - lo)
        return (u * u) // k

    return da.map_blocks(block, chunks=(da.core.normalize_chunks(chunk, (n,))[0],), dtype=np.int64)


def _floats(rows: int, cols: int, chunk: int, seed: int) -> Any:
    def block(block_info: Any = None) -> np.ndarray:
        (lo, hi), _ = block_info[None]["array-location"]
        return np.random.default_rng([seed, lo]).normal(size=(hi - lo, cols))

    chunks = (da.core.normalize_chunks(chunk, (rows,))[0], (cols,))
    return da.map_blocks(block, chunks=chunks, dtype=np.float64)


def _local(value: Any) -> Any:
    """The same graph computed in this process (the synchronous scheduler)."""
    with dask.config.set(scheduler="sync"):
        return dask.compute(value)[0]


class Gathered:
    """Every result that ``dask.compute`` hands to the client, by size in bytes."""

    def __init__(self) -> None:
        self.sizes: list[int] = []


@pytest.fixture
def gathered(monkeypatch: pytest.MonkeyPatch) -> Gathered:
    import dask.base
    from dask.sizeof import sizeof

    record = Gathered()
    compute = dask.base.compute

    def counting(*args: Any, **kwargs: Any) -> Any:
        out = compute(*args, **kwargs)
        record.sizes.append(int(sizeof(out)))
        return out

    monkeypatch.setattr(dask.base, "compute", counting)
    return record


def test_the_fixture_runs_on_two_worker_processes(cluster_client):
    import os

    pids = cluster_client.run(os.getpid)
    assert len(set(pids.values())) == 2
    assert os.getpid() not in pids.values()


def _kernels_in_worker() -> bool:
    from infoloss import _kernels

    return bool(_kernels.available() and _kernels.enabled())


def test_the_compiled_kernels_load_in_every_worker(cluster_client):
    assert set(cluster_client.run(_kernels_in_worker).values()) == {True}


# --------------------------------------------------------------------------- measures


def test_measures_of_probs_and_logits(cluster_client):
    z, w = _floats(3000, 12, 1000, 1), _floats(3000, 12, 1000, 2)
    p, q = (da.exp(a) / da.exp(a).sum(axis=-1, keepdims=True) for a in (z, w))
    graphs = {
        "entropy": il.entropy(p),
        "cross_entropy": il.cross_entropy(p, q),
        "kl": il.kl_divergence(p, q),
        "js": il.js_divergence(p, q),
        "entropy logits": il.entropy(z, form="logits"),
        "kl logits": il.kl_divergence(z, w, form="logits"),
        "cross_entropy logits": il.cross_entropy(p, w, form=("probs", "logits")),
    }
    got = dask.compute(graphs)[0]
    want = _local(graphs)
    nz, nw, np_p, np_q = _local((z, w, p, q))
    eager = {
        "entropy": il.entropy(np_p),
        "cross_entropy": il.cross_entropy(np_p, np_q),
        "kl": il.kl_divergence(np_p, np_q),
        "js": il.js_divergence(np_p, np_q),
        "entropy logits": il.entropy(nz, form="logits"),
        "kl logits": il.kl_divergence(nz, nw, form="logits"),
        "cross_entropy logits": il.cross_entropy(np_p, nw, form=("probs", "logits")),
    }
    for name in graphs:
        assert got[name].shape == (3000,), name
        assert np.array_equal(got[name], want[name]), name
        np.testing.assert_allclose(got[name], eager[name], rtol=1e-12, atol=1e-14, err_msg=name)


# --------------------------------------------------------------------------- losses


@pytest.mark.parametrize(
    "loss",
    [il.softmax_cross_entropy, il.softmax_squared_error],
)
def test_losses_forward_and_gradient(cluster_client, loss):
    z = _floats(2000, 9, 450, 3)
    y = _ints(2000, 450, 9, 4)
    value = loss(z, y)
    both = il.value_and_grad(loss)(z, y, reduction="sum")
    got = dask.compute(value, both.loss, both.grad)
    want = _local((value, both.loss, both.grad))
    for g, w in zip(got, want, strict=True):
        assert np.array_equal(g, w)
    nz, ny = _local((z, y))
    np.testing.assert_allclose(got[0], loss(nz, ny), rtol=1e-12)
    ref = il.value_and_grad(loss)(nz, ny, reduction="sum")
    np.testing.assert_allclose(got[1], ref.loss, rtol=1e-12)
    np.testing.assert_allclose(got[2], ref.grad, rtol=1e-10, atol=1e-15)


def test_sigmoid_loss_and_gradient(cluster_client):
    z = _floats(1500, 4, 400, 5)
    t = (_floats(1500, 4, 400, 6) > 0).astype(np.float64)
    both = il.value_and_grad(il.sigmoid_binary_cross_entropy)(z, t)
    got = dask.compute(both.loss, both.grad)
    want = _local((both.loss, both.grad))
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
    ref = il.value_and_grad(il.sigmoid_binary_cross_entropy)(*_local((z, t)))
    np.testing.assert_allclose(got[0], ref.loss, rtol=1e-12)
    np.testing.assert_allclose(got[1], ref.grad, rtol=1e-10, atol=1e-15)


# --------------------------------------------------------------------------- estimators


@pytest.mark.parametrize("method", list(_estimate.METHODS))
def test_every_discrete_method(cluster_client, method):
    x, y = _ints(N, CHUNK, 50, 7), _ints(N, CHUNK // 2, 9, 8)
    nx, ny = _local((x, y))
    assert np.array_equal(est.entropy(x, method=method), est.entropy(nx, method=method))
    assert np.array_equal(
        est.mutual_information(x, y, method=method), est.mutual_information(nx, ny, method=method)
    )


def test_two_and_three_columns(cluster_client):
    x, y, z = _ints(N, CHUNK, 30, 9), _ints(N, CHUNK, 11, 10), _ints(N, 5_000, 4, 11)
    nx, ny, nz = _local((x, y, z))
    assert np.array_equal(est.mutual_information(x, y), est.mutual_information(nx, ny))
    assert np.array_equal(est.conditional_entropy(x, z), est.conditional_entropy(nx, nz))
    assert np.array_equal(
        est.conditional_mutual_information(x, y, z), est.conditional_mutual_information(nx, ny, nz)
    )
    assert np.array_equal(
        est.entropy_nsb(x, alphabet_size=30), est.entropy_nsb(nx, alphabet_size=30)
    )


def test_counting_gathers_only_the_counts(cluster_client, gathered):
    # 1.6 MB per column; the client receives the distinct tuples and their counts only.
    n = 200_000
    x, y, z = _ints(n, 20_000, 40, 12), _ints(n, 20_000, 6, 13), _ints(n, 20_000, 3, 14)
    est.conditional_mutual_information(x, y, z)
    est.entropy(x, method="nsb")
    assert len(gathered.sizes) == 2
    distinct = 40 * 6 * 3
    assert max(gathered.sizes) < 4 * 8 * distinct + 4096 < n * 8 // 50


def test_bootstrap_interval(cluster_client):
    x, y = _ints(N, CHUNK, 20, 15), _ints(N, CHUNK, 5, 16)
    nx, ny = _local((x, y))
    for kwargs in ({}, {"y": y}):
        local = dict.fromkeys(kwargs, ny)
        a = est.bootstrap_interval(x, n_resamples=200, rng=3, **kwargs)
        b = est.bootstrap_interval(nx, n_resamples=200, rng=3, **local)
        for u, v in zip(a, b, strict=True):
            assert np.array_equal(u, v)


# --------------------------------------------------------------------------- bad input


def _bad_probs(kind: str) -> Any:
    p = _floats(2400, 5, 600, 17)
    p = da.exp(p) / da.exp(p).sum(axis=-1, keepdims=True)
    spot = np.zeros((2400, 5))
    spot[1900, 2] = 1.0  # in the fourth partition only
    mark = da.from_array(spot, chunks=(600, 5))
    if kind == "nan":
        return da.where(mark > 0, np.nan, p)
    return p + (0.01 if kind == "mass" else 0.0) * mark


@pytest.mark.parametrize(
    ("kind", "call", "message"),
    [
        ("nan", lambda p: il.entropy(p), "`p` contains NaN"),
        ("nan", lambda p: il.kl_divergence(p, p), "`p` contains NaN"),
        ("mass", lambda p: il.entropy(p), "`p` has rows that do not sum to 1"),
        (
            "mass",
            lambda p: il.cross_entropy(_bad_probs("none"), p),
            "`q` has rows that do not sum to 1",
        ),
        (
            "nan",
            lambda z: il.softmax_cross_entropy(z, da.zeros(2400, chunks=600, dtype=int)),
            "`logits` contains NaN",
        ),
        (
            "nan",
            lambda z: (
                il.value_and_grad(il.softmax_cross_entropy)(
                    z, da.zeros(2400, chunks=600, dtype=int)
                ).grad
            ),
            "`logits` contains NaN",
        ),
    ],
)
def test_bad_partition_raises_at_compute(cluster_client, kind, call, message):
    graph = call(_bad_probs(kind))
    with pytest.raises(ValueError, match=message):
        graph.compute()
    with pytest.raises(ValueError, match=message):
        _local(graph)
    after = il.entropy(_bad_probs("mass"), normalize=True)
    assert np.array_equal(after.compute(), _local(after))


def test_nan_sample_in_one_partition(cluster_client):
    x = _ints(N, CHUNK, 10, 18).astype(np.float64)
    bad = da.where(da.arange(N, chunks=CHUNK) == 31_000, np.nan, x)
    with pytest.raises(ValueError, match=r"`y` contains NaN \(1 sample"):
        est.mutual_information(x, bad)
    with pytest.raises(ValueError, match="`samples` contains NaN"):
        est.entropy(bad, method="nsb")
    assert est.entropy(x) == est.entropy(_local(x))


# --------------------------------------------------------------------------- permutation test


def test_permutation_test_is_a_global_shuffle(cluster_client, gathered):
    # Two values of x and y, two samples each, over two partitions: a global shuffle
    # leaves the pairs together with probability 1/6 + 1/6 (MI = log 2), while a shuffle
    # within each partition (holding one sample of each) would do so with probability 1/4.
    x = da.from_array(np.array([0, 1, 0, 1]), chunks=2)
    r = est.permutation_test(x, x, n_resamples=6000, rng=0)
    assert len(gathered.sizes) == 1  # one pass over the data: the statistic's counting
    share = np.mean(r.null_distribution > 0.5)
    assert abs(share - 1 / 3) < 0.02
    assert r.statistic == np.log(2)


def test_permutation_test_null_matches_numpy(cluster_client, gathered):
    from scipy.stats import ks_2samp

    x, noise = _ints(N, CHUNK, 12, 19), _ints(N, CHUNK, 5, 20)
    y = (x + noise) % 7
    nx, ny = _local((x, y))
    gathered.sizes.clear()
    on_dask = est.permutation_test(x, y, n_resamples=1500, rng=1, method="miller_madow")
    assert len(gathered.sizes) == 1
    assert max(gathered.sizes) < 8 * N // 20
    in_memory = est.permutation_test(nx, ny, n_resamples=1500, rng=2, method="miller_madow")
    assert on_dask.statistic == in_memory.statistic
    assert on_dask.pvalue == in_memory.pvalue == 1 / 1501
    assert ks_2samp(on_dask.null_distribution, in_memory.null_distribution).pvalue > 0.01


def test_permutation_test_of_batched_sets(cluster_client):
    x, y = _ints(6000, 1000, 5, 21).reshape(2, 3000), _ints(6000, 1500, 3, 22).reshape(2, 3000)
    r = est.permutation_test(x, y, n_resamples=40, rng=3)
    assert r.null_distribution.shape == (2, 40)
    assert np.array_equal(r.statistic, est.mutual_information(*_local((x, y))))
    assert np.all((r.pvalue > 0) & (r.pvalue <= 1))


def test_permutation_test_refuses_sets_beyond_the_hypergeometric_range():
    from infoloss.estimators import _counts, _resample

    half = np.array([5 * 10**8, 5 * 10**8])
    groups = _counts.Groups(
        np.zeros(2, np.int64), (np.array([0, 1]), np.array([1, 0])), half, (0, 0)
    )
    with pytest.raises(ValueError, match="`x` has a set of 1000000000 samples"):
        _resample._null_of_groups(groups, 1, "plugin", 10, np.random.default_rng(0))


# --------------------------------------------------------------------------- feature ranking


@pytest.mark.parametrize("method", ["plugin", "miller_madow", "nsb"])
def test_feature_ranking_of_a_dask_table(cluster_client, gathered, method):
    n, d = 30_000, 6
    y = _ints(n, 4_000, 5, 23)
    cols = [y, y % 2, y * 0, _ints(n, 4_000, 40, 24), (y + _ints(n, 4_000, 3, 25)) % 7]
    X = da.concatenate([da.stack(cols, axis=1), _ints(n, 4_000, 9, 26)[:, None]], axis=1)
    assert X.shape == (n, d)
    got = est.feature_mutual_information(X, y, method=method)
    assert len(gathered.sizes) == 1  # one pass over every column at once
    assert max(gathered.sizes) < n * d * 8 // 20
    nX, ny = _local((X, y))
    assert np.array_equal(got, est.feature_mutual_information(nX, ny, method=method))


def test_feature_ranking_with_continuous_columns_reads_the_table(cluster_client):
    X = _floats(3_000, 3, 1_000, 27)
    y = _ints(3_000, 1_000, 4, 28)
    nX, ny = _local((X, y))
    assert np.array_equal(
        est.feature_mutual_information(X, y), est.feature_mutual_information(nX, ny)
    )
    with pytest.raises(ValueError, match="`y` has 2999 samples but `X` has 3000 rows"):
        est.feature_mutual_information(_ints(3_000, 1_000, 4, 29)[:, None], y[1:])


# --------------------------------------------------------------------------- graph shape


def _readers_per_block(graph: Any, source: Any) -> float:
    """How many tasks of the optimised ``graph`` read each block of ``source``."""
    from dask.core import flatten, get_dependencies

    (optimised,) = dask.optimize(graph)
    tasks = dict(optimised.__dask_graph__())
    blocks = set(flatten(source.__dask_keys__()))
    return sum(len(get_dependencies(tasks, k) & blocks) for k in tasks) / len(blocks)


def test_checks_of_an_argument_read_each_block_together():
    # On a cluster every task that reads a block may run on another worker than the one
    # holding it; the per-entry checks of the logits (NaN, +inf) are counted by one task
    # per block, and the rows of all -inf by one more.
    z = da.map_blocks(lambda b: b + 0.0, _floats(8_000, 20, 1_000, 30), dtype=np.float64)
    checked = _readers_per_block(il.entropy(z, form="logits"), z)
    unchecked = _readers_per_block(il.entropy(z, form="logits", validate=False), z)
    assert checked - unchecked <= 2
