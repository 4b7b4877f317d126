"""Continuous estimators: spacing and Kozachenko–Leonenko entropy, KSG mutual information.

Oracles: SciPy's ``differential_entropy`` (same samples, same definitions) and the R
package vsgoftest's values quoted in SciPy's tests; Noughabi (2015), Tables 1 and 2;
closed-form entropies and mutual informations; brute-force O(n^2) neighbour searches
written here with NumPy; scikit-learn's KSG on the same standardised data.
"""

from __future__ import annotations

import doctest
import math
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special, stats

from infoloss._kernels import knn as _knn
from infoloss.estimators import (
    _continuous,
    _spacing,
    continuous_mutual_information,
    differential_entropy,
)
from tests._helpers import to_numpy

SPACING = list(_spacing.METHODS)
NORMAL_H = 0.5 * math.log(2 * math.pi * math.e)


def _psi(v):
    return special.digamma(v)


# --------------------------------------------------------------------------- spacing


@pytest.mark.parametrize("method", SPACING)
def test_spacing_equals_scipy(method):
    rng = np.random.default_rng(1)
    x = rng.gamma(2.0, size=(4, 300))
    for m in (None, 1, 5, 149):
        ours = differential_entropy(x, method=method, window_length=m)
        ref = stats.differential_entropy(x, method=method, window_length=m, axis=-1)
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=0)


def test_vasicek_matches_vsgoftest():
    # R's vsgoftest::entropy.estimate on these samples, as quoted in SciPy's tests
    x = np.random.RandomState(0).standard_normal(100)
    for m, ref in ((None, 1.342551187000946), (1, 1.122044177725947), (8, 1.349401487550325)):
        assert differential_entropy(x, method="vasicek", window_length=m) == pytest.approx(
            ref, rel=1e-13
        )


# Noughabi (2015), Table 1 (normal) and Table 2 (exponential), n = 50, m = 7: (RMSE, STD);
# SciPy's tolerances: RMSE within 0.005, STD within 0.002.
NOUGHABI = {
    "norm": {
        "vasicek": (0.198, 0.109),
        "van es": (0.212, 0.110),
        "correa": (0.135, 0.112),
        "ebrahimi": (0.128, 0.109),
    },
    "expon": {
        "vasicek": (0.194, 0.148),
        "van es": (0.179, 0.149),
        "correa": (0.155, 0.152),
        "ebrahimi": (0.151, 0.148),
    },
}


@pytest.mark.parametrize("method", SPACING)
@pytest.mark.parametrize("dist", ["norm", "expon"])
def test_rmse_std_noughabi_table(method, dist):
    law = getattr(stats, dist)
    rvs = law.rvs(size=(10000, 50), random_state=0)
    res = differential_entropy(rvs, method=method, window_length=7)
    rmse, std = NOUGHABI[dist][method]
    assert abs(math.sqrt(np.mean((res - law.entropy()) ** 2)) - rmse) <= 0.005
    assert abs(np.std(res) - std) <= 0.002


@pytest.mark.parametrize(
    ("n", "method"),
    [(5, "van es"), (10, "van es"), (11, "ebrahimi"), (1000, "ebrahimi"), (1001, "vasicek")],
)
def test_auto_rule(n, method):
    x = np.random.default_rng(n).standard_normal(n)
    auto = differential_entropy(x)
    assert auto == differential_entropy(x, method=method)
    assert auto == pytest.approx(stats.differential_entropy(x), rel=1e-12)


def test_auto_is_kozachenko_leonenko_for_vectors():
    x = np.random.default_rng(2).standard_normal((500, 2))
    auto = differential_entropy(x, axis=0, feature_axis=1)
    assert auto == differential_entropy(x, axis=0, feature_axis=1, method="kozachenko_leonenko")


def test_default_window_is_floor_sqrt_n_plus_half():
    x = np.random.default_rng(3).standard_normal(90)  # sqrt(90) + 0.5 = 9.99
    assert differential_entropy(x, method="vasicek") == differential_entropy(
        x, method="vasicek", window_length=9
    )


@pytest.mark.parametrize("method", SPACING)
def test_spacing_consistent(method):
    # SciPy's consistency check, on the same samples
    rvs = stats.norm.rvs(size=10000 if method == "correa" else 1000000, random_state=0)
    assert differential_entropy(rvs, method=method) == pytest.approx(NORMAL_H, rel=0.005)


# --------------------------------------------------------------------------- Kozachenko–Leonenko


def _brute_kl(x, k):
    """The KL estimate with the k-th neighbour distance found by sorting all distances."""
    n, d = x.shape
    dist = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    eps = np.sort(dist, axis=1)[:, k - 1]
    log_ball = d / 2 * math.log(math.pi) - special.gammaln(d / 2 + 1)
    return _psi(n) - _psi(k) + log_ball + d * np.mean(np.log(eps))


@pytest.mark.parametrize("d", [1, 2, 3, 5])
@pytest.mark.parametrize("k", [1, 3, 7])
def test_kl_equals_brute_force(d, k):
    x = np.random.default_rng(10 * d + k).standard_t(3, size=(300, d))
    ours = differential_entropy(x, axis=0, feature_axis=1, method="kozachenko_leonenko", k=k)
    assert ours == pytest.approx(_brute_kl(x, k), rel=1e-12)
    if d == 1:  # scalar samples take the sorted path
        scalar = differential_entropy(x[:, 0], method="kozachenko_leonenko", k=k)
        assert scalar == pytest.approx(ours, rel=1e-12)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_kl_gaussian_closed_form(d):
    rng = np.random.default_rng(20 + d)
    a = rng.standard_normal((d, d)) + 2 * np.eye(d)
    cov = a @ a.T
    x = rng.multivariate_normal(np.zeros(d), cov, size=50000)
    exact = 0.5 * math.log((2 * math.pi * math.e) ** d * np.linalg.det(cov))
    est = differential_entropy(x, axis=0, feature_axis=1, method="kozachenko_leonenko")
    assert est == pytest.approx(exact, abs=0.02 * d)


@pytest.mark.parametrize("d", [1, 2])
def test_kl_uniform_closed_form(d):
    # uniform on [0, 2]^d: h = d log 2; the edges bias KL by O(n^(-1/d))
    x = np.random.default_rng(30 + d).uniform(0, 2, size=(50000, d))
    est = differential_entropy(x, axis=0, feature_axis=1, method="kozachenko_leonenko", k=1)
    assert est == pytest.approx(d * math.log(2), abs=0.02)


# --------------------------------------------------------------------------- neighbour kernels


@given(
    st.integers(2, 60).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.integers(1, 3),
            st.integers(1, min(n - 1, 6)),
            st.integers(0, 2**32 - 1),
            st.sampled_from([3, 1000]),
        )
    )
)
def test_tree_search_equals_brute_force(case):
    # small integer grids make many exact distance ties, the case the rules are about
    n, d, k, seed, spread = case
    rng = np.random.default_rng(seed)
    x = rng.integers(0, spread, size=(n, d)).astype(np.float64)
    diff = np.abs(x[:, None, :] - x[None, :, :])
    tree = _knn.build_tree(x)
    for metric, dist in (
        (_knn.MAX_NORM, diff.max(-1)),
        (_knn.EUCLIDEAN, np.sqrt((diff**2).sum(-1))),
    ):
        off = dist.copy()
        np.fill_diagonal(off, np.inf)
        eps, nbr = _knn.knn_tree(tree, k, metric)
        np.testing.assert_allclose(eps, np.sort(off, axis=1)[:, k - 1], rtol=1e-15)
        picked = off[np.arange(n)[:, None], tree.idx[nbr]]
        np.testing.assert_allclose(picked.max(axis=1), eps, rtol=1e-15)
    cheb = diff.max(-1)
    radii = rng.integers(0, spread, size=n).astype(np.float64)
    for strict in (True, False):
        ref = ((cheb < radii[:, None]) if strict else (cheb <= radii[:, None])).sum(1)
        ref -= (radii > 0) if strict else 1
        np.testing.assert_array_equal(_knn.count_within(tree, radii, strict), ref)
        if d == 1:
            order = np.argsort(x[:, 0])
            got = _knn.count_within_sorted(x[order, 0], order, radii, strict)
            np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("d", [1, 2, 4])
def test_deep_tree_with_ties_equals_brute_force(d):
    # thousands of points on a small grid: many levels, nodes of coincident points
    rng = np.random.default_rng(50 + d)
    x = rng.integers(0, 12, size=(1500, d)).astype(np.float64)
    x[:100] = x[0]  # one point repeated 101 times: a leaf larger than the leaf size
    diff = np.abs(x[:, None, :] - x[None, :, :])
    cheb = diff.max(-1)
    off = cheb.copy()
    np.fill_diagonal(off, np.inf)
    tree = _knn.build_tree(x)
    for k in (1, 5, 120):
        eps, _ = _knn.knn_tree(tree, k, _knn.MAX_NORM)
        np.testing.assert_array_equal(eps, np.sort(off, axis=1)[:, k - 1])
    radii = rng.integers(0, 6, size=1500).astype(np.float64)
    for strict in (True, False):
        ref = ((cheb < radii[:, None]) if strict else (cheb <= radii[:, None])).sum(1)
        ref -= (radii > 0) if strict else 1
        np.testing.assert_array_equal(_knn.count_within(tree, radii, strict), ref)


def _brute_plane(x, y, k):
    off = np.maximum(np.abs(x[:, None] - x[None, :]), np.abs(y[:, None] - y[None, :]))
    np.fill_diagonal(off, np.inf)
    return np.sort(off, axis=1)[:, k - 1]


@given(
    st.integers(2, 80).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.integers(1, min(n - 1, 6)),
            st.integers(0, 2**32 - 1),
            st.sampled_from([2, 5, 1000]),
            st.sampled_from([1.0, 1e-9]),
        )
    )
)
def test_plane_search_equals_brute_force(case):
    # integer grids tie many distances exactly; a scale of 1e-9 on x makes its slabs
    # narrower than y's, so the slabs are cut along y
    n, k, seed, spread, scale = case
    rng = np.random.default_rng(seed)
    x = rng.integers(0, spread, size=n) * scale + (rng.random(n) < 0.5) * rng.random(n)
    y = rng.integers(0, spread, size=n).astype(np.float64)
    ref = _brute_plane(x, y, k)
    np.testing.assert_array_equal(_knn.knn_plane(x, y, k), ref)
    capped = _knn.knn_plane(x, y, k, budget=1)
    assert capped is None or np.array_equal(capped, ref)
    radii = rng.integers(0, spread, size=n) * rng.choice([scale, 1.0])
    for v in (x, y):
        cheb = np.abs(v[:, None] - v[None, :])
        for strict in (True, False):
            ref_c = ((cheb < radii[:, None]) if strict else (cheb <= radii[:, None])).sum(1)
            ref_c -= (radii > 0) if strict else 1
            got = _knn.count_ranked(v, np.argsort(v, kind="stable"), radii, strict)
            np.testing.assert_array_equal(got, ref_c)


@pytest.mark.parametrize("swap", [False, True])
def test_plane_search_many_slabs_with_ties_equals_brute_force(swap):
    # thousands of points on a small grid, one repeated 101 times: ties across slabs
    rng = np.random.default_rng(61)
    x = rng.integers(0, 12, size=1500).astype(np.float64)
    y = rng.standard_normal(1500).round(1)
    x[:100], y[:100] = x[0], y[0]
    x, y = (y, x) if swap else (x, y)
    for k in (1, 5, 120):
        np.testing.assert_array_equal(_knn.knn_plane(x, y, k), _brute_plane(x, y, k))


def _tree_ksg1(x, y, k):
    """KSG 1 of scalar x, y through the k-d tree and the sweep counts."""
    eps, _ = _knn.knn_tree(_knn.build_tree(np.stack([x, y], axis=1)), k, _knn.MAX_NORM)
    counts = []
    for v in (x, y):
        order = np.argsort(v)
        counts.append(_knn.count_within_sorted(v[order], order, eps, True))
    return _continuous._ksg_value(_knn, x.size, k, 1, counts)


@pytest.mark.parametrize("kind", ["normal", "related", "grid", "constant"])
def test_ksg1_of_scalars_equals_the_tree_to_the_bit(kind, monkeypatch):
    rng = np.random.default_rng(70)
    n = 100_000 if kind == "constant" else 5000
    y = rng.standard_normal(n)
    x = {
        "normal": rng.standard_normal(n),
        "related": y + 0.01 * rng.standard_normal(n),
        "grid": rng.integers(0, 4, n) + 1e-10 * rng.standard_normal(n),
        "constant": 1e-10 * rng.standard_normal(n),
    }[kind]
    ref = _tree_ksg1(x, y, 3)
    plane = _knn.knn_plane(x, y, 3, budget=_continuous._PLANE_BUDGET)
    # a constant plus noise beside a spread y: every slab along x is within the k-th
    # distance, every point of a slab along y within it in x: over the budget, and the
    # tree answers
    assert (plane is None) == (kind == "constant")
    if plane is not None:  # the plane answers alone: no tree is built
        monkeypatch.setattr(_knn, "build_tree", None)
    assert _continuous._ksg(x[:, None], y[:, None], 3, 1) == ref


@given(st.lists(st.integers(-5, 5), min_size=1, max_size=300), st.data())
def test_select_is_the_kth_smallest(values, data):
    a = np.asarray(values, dtype=np.float64)
    kth = data.draw(st.integers(0, a.size - 1))
    assert _knn._select(a.copy(), kth) == np.sort(a)[kth]


def test_tree_build_is_not_quadratic_on_ordered_data():
    # reversed data once made the median-of-ends quickselect quadratic (minutes at 1e6)
    n = 200_000
    _knn.build_tree(np.zeros((20, 1)))
    for column in (
        np.arange(n)[::-1],
        np.arange(n),
        np.r_[np.arange(n // 2), np.arange(n // 2)[::-1]],
    ):
        start = time.perf_counter()
        tree = _knn.build_tree(column.astype(np.float64)[:, None])
        assert time.perf_counter() - start < 3  # about 0.05 s
        eps, _ = _knn.knn_tree(tree, 2, _knn.MAX_NORM)
        ref = _knn.knn_sorted(np.sort(column.astype(np.float64))[None], 2)[0]
        np.testing.assert_array_equal(np.sort(eps), np.sort(ref))


def test_digamma_kernel():
    v = np.arange(1, 3000, dtype=np.int64)
    ours = np.array([_knn.digamma_mean(np.array([i], np.int64), 0) for i in v[:200]])
    np.testing.assert_allclose(ours, special.digamma(v[:200]), rtol=1e-14, atol=1e-15)
    assert _knn.digamma_mean(v, 1) == pytest.approx(np.mean(special.digamma(v + 1)), rel=1e-14)


# --------------------------------------------------------------------------- KSG


def _brute_ksg(x, y, k, variant):
    """KSG from the paper's definitions with O(n^2) max-norm distances."""
    n = len(x)
    dx = np.abs(x[:, None, :] - x[None, :, :]).max(-1)
    dy = np.abs(y[:, None, :] - y[None, :, :]).max(-1)
    dz = np.maximum(dx, dy)
    np.fill_diagonal(dz, np.inf)
    nn = np.argsort(dz, axis=1, kind="stable")[:, :k]
    rows = np.arange(n)[:, None]
    if variant == 1:
        eps = dz[rows[:, 0], nn[:, -1]][:, None]
        nx = (dx < eps).sum(1) - 1
        ny = (dy < eps).sum(1) - 1
        return _psi(k) + _psi(n) - np.mean(_psi(nx + 1) + _psi(ny + 1))
    ex = dx[rows, nn].max(1)[:, None]
    ey = dy[rows, nn].max(1)[:, None]
    nx = (dx <= ex).sum(1) - 1
    ny = (dy <= ey).sum(1) - 1
    return _psi(k) - 1 / k + _psi(n) - np.mean(_psi(nx) + _psi(ny))


def _standardise(v):
    return (v - v.mean(0)) / v.std(0)


@pytest.mark.parametrize("method", ["ksg1", "ksg2"])
@pytest.mark.parametrize(("dx", "dy"), [(1, 1), (2, 1), (2, 3)])
def test_ksg_equals_brute_force(method, dx, dy):
    rng = np.random.default_rng(40 + 3 * dx + dy)
    x = rng.standard_normal((400, dx))
    y = x[:, :1] ** 2 + rng.standard_normal((400, dy))
    ours = continuous_mutual_information(x, y, method=method, k=4, axis=0, feature_axis=1, jitter=0)
    ref = _brute_ksg(_standardise(x), _standardise(y), 4, 1 if method == "ksg1" else 2)
    assert ours == pytest.approx(ref, rel=1e-12)


def _sklearn_sample():
    # scikit-learn's test_compute_mi_cc: sigma 1 and 10, correlation 0.5, n = 1000
    cov = np.array([[1.0, 5.0], [5.0, 100.0]])
    z = np.random.RandomState(0).multivariate_normal(np.zeros(2), cov, size=1000)
    return z[:, 0], z[:, 1], -0.5 * math.log(1 - 0.25)


@pytest.mark.parametrize("method", ["ksg1", "ksg2"])
@pytest.mark.parametrize("k", [3, 5, 7])
def test_ksg_bivariate_normal(method, k):
    x, y, exact = _sklearn_sample()
    assert exact == pytest.approx(0.1438, abs=5e-5)
    est = continuous_mutual_information(x, y, method=method, k=k)
    assert round(float(est), 1) == round(exact, 1) == 0.1


def test_ksg1_equals_scikit_learn():
    pytest.importorskip("sklearn")
    from sklearn.feature_selection._mutual_info import _compute_mi

    x, y, _ = _sklearn_sample()
    for k in (3, 5, 7):
        ref = _compute_mi(_standardise(x), _standardise(y), False, False, n_neighbors=k)
        assert continuous_mutual_information(x, y, k=k) == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("method", ["ksg1", "ksg2"])
def test_ksg_constant_feature_million(method):
    # scikit-learn issue 30772: 0.21 nats there; the truth is 0
    n = 1_000_000
    y = np.random.default_rng(7).standard_normal(n)
    x = np.full(n, 1234.5)
    start = time.perf_counter()
    est = continuous_mutual_information(x, y, method=method)
    assert abs(est) <= 1e-3
    assert time.perf_counter() - start < 30  # about 2 s on an idle 2-core machine


def test_ksg_constant_feature_without_jitter_by_hand():
    # x constant, y distinct: n_x = n - 1 for every point and n_y = k - 1 (KSG 1,
    # strict) or k (KSG 2, inclusive), so I1 = 0 exactly and I2 = -1/k + 1/(n - 1)
    n, k = 2000, 3
    y = np.random.default_rng(8).standard_normal(n)
    x = np.full(n, -7.0)
    i1 = continuous_mutual_information(x, y, k=k, jitter=0)
    i2 = continuous_mutual_information(x, y, k=k, jitter=0, method="ksg2")
    assert abs(i1) < 1e-12
    assert i2 == pytest.approx(-1 / k + 1 / (n - 1), abs=1e-12)


@pytest.mark.parametrize("method", ["ksg1", "ksg2"])
def test_ksg_independent_is_near_zero(method):
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal(20000), rng.exponential(size=20000)
    assert abs(continuous_mutual_information(x, y, method=method)) < 0.01


@pytest.mark.parametrize("method", ["ksg1", "ksg2"])
def test_ksg_roughly_invariant_to_monotone_maps(method):
    rng = np.random.default_rng(11)
    z = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=5000)
    exact = -0.5 * math.log(1 - 0.64)
    plain = continuous_mutual_information(z[:, 0], z[:, 1], method=method)
    mapped = continuous_mutual_information(np.exp(z[:, 0]), z[:, 1] ** 3, method=method)
    assert plain == pytest.approx(exact, abs=0.03)
    assert mapped == pytest.approx(exact, abs=0.1)


def test_ksg_discrete_target_with_jitter():
    # a constant feature against a rare binary label (the mutual_info_classif case)
    n = 200_000
    label = np.zeros(n)
    label[np.random.default_rng(12).choice(n, 20, replace=False)] = 1.0
    assert abs(continuous_mutual_information(np.full(n, 5.0), label)) < 1e-3


# --------------------------------------------------------------------------- layout, base, dtype


@pytest.mark.parametrize("method", [*SPACING, "kozachenko_leonenko"])
def test_entropy_axis_equals_moveaxis(method):
    x = np.random.default_rng(13).standard_normal((3, 80, 2))
    out = differential_entropy(x, method=method, axis=1)
    ref = differential_entropy(np.moveaxis(x, 1, -1), method=method)
    np.testing.assert_array_equal(out, ref)
    assert out.shape == (3, 2)
    for i in range(3):
        # a row alone and in a batch may differ in the last bit (NumPy's summation order)
        one = differential_entropy(x[i, :, 0], method=method)
        assert out[i, 0] == pytest.approx(one, rel=1e-14)


def test_entropy_feature_axis_equals_moveaxis():
    x = np.random.default_rng(14).standard_normal((2, 3, 100))  # (batch, d, n)
    out = differential_entropy(x, axis=-1, feature_axis=1)
    ref = differential_entropy(np.moveaxis(x, 1, -1), axis=1, feature_axis=2)
    np.testing.assert_array_equal(out, ref)
    assert out.shape == (2,)


def test_mi_axis_batch_and_broadcast():
    rng = np.random.default_rng(15)
    x = rng.standard_normal((3, 200))
    y = x + rng.standard_normal((2, 1, 200))
    out = continuous_mutual_information(x, y)
    assert out.shape == (2, 3)
    for b in range(2):
        for i in range(3):
            assert out[b, i] == continuous_mutual_information(x[i], y[b, i])
    moved = continuous_mutual_information(x.T, np.moveaxis(y, -1, 0), axis=0)
    assert moved.shape == (2, 3)
    np.testing.assert_array_equal(moved, out)


@pytest.mark.parametrize("base", [2, "bits", 10])
def test_base(base):
    rng = np.random.default_rng(16)
    x = rng.standard_normal(500)
    y = x + rng.standard_normal(500)
    log_b = math.log(2 if base == "bits" else base)
    for method in ("ebrahimi", "kozachenko_leonenko"):
        nats = differential_entropy(x, method=method)
        assert differential_entropy(x, method=method, base=base) == pytest.approx(nats / log_b)
    nats = continuous_mutual_information(x, y)
    assert continuous_mutual_information(x, y, base=base) == pytest.approx(nats / log_b)


def test_dtypes_and_scalars():
    x = np.random.default_rng(17).standard_normal(300)
    r64 = differential_entropy(x)
    assert isinstance(r64, np.float64)
    r32 = differential_entropy(x.astype(np.float32))
    assert r32.dtype == np.float32
    assert isinstance(differential_entropy(x.tolist()), np.float64)
    assert differential_entropy(np.arange(50)) == pytest.approx(
        stats.differential_entropy(np.arange(50.0))
    )


def test_other_array_libraries(xp):
    rng = np.random.default_rng(18)
    x = rng.standard_normal(300)
    y = x + rng.standard_normal(300)
    h = differential_entropy(xp.asarray(x))
    if type(xp.asarray(x)).__module__.startswith("dask"):
        # KSG on Dask arrays needs subsample= (tests/distributed/test_distributed_continuous.py)
        with pytest.raises(ValueError, match="`subsample=`"):
            continuous_mutual_information(xp.asarray(x), xp.asarray(y))
        mi = continuous_mutual_information(x, y)
    else:
        mi = continuous_mutual_information(xp.asarray(x), xp.asarray(y))
    assert type(h).__module__.split(".")[0] == type(xp.asarray(x)).__module__.split(".")[0]
    assert float(to_numpy(h)) == pytest.approx(differential_entropy(x), rel=1e-12)
    assert float(to_numpy(mi)) == pytest.approx(continuous_mutual_information(x, y), rel=1e-12)


# --------------------------------------------------------------------------- ties and jitter


@pytest.mark.parametrize("method", SPACING)
def test_spacing_ties_raise_and_jitter_resolves(method):
    x = np.repeat(np.arange(10.0), 8)  # runs of 8 equal values: longer than the windows
    with pytest.raises(ValueError, match=r"`samples` has a run of equal values.*jitter"):
        differential_entropy(x, method=method, window_length=3 if method != "van es" else 7)
    a = differential_entropy(x, method=method, jitter=1e-6)
    b = differential_entropy(x, method=method, jitter=1e-6)
    assert np.isfinite(a)
    assert a == b


def test_tie_errors_name_the_batch_entry():
    x = np.random.default_rng(21).standard_normal((3, 80))
    x[1, :30] = 0.5
    with pytest.raises(ValueError, match=r"batch entry at index \(1,\)"):
        differential_entropy(x, method="vasicek")
    with pytest.raises(ValueError, match=r"batch entry at index \(1,\)"):
        differential_entropy(x, method="kozachenko_leonenko")


def test_kl_ties_raise_and_jitter_resolves():
    x = np.repeat(np.arange(20.0), 4)
    with pytest.raises(ValueError, match=r"`samples` has points whose k-th nearest.*jitter"):
        differential_entropy(x, method="kozachenko_leonenko")
    assert np.isfinite(differential_entropy(x, method="kozachenko_leonenko", k=4))
    jit = differential_entropy(x, method="kozachenko_leonenko", jitter=1e-8, rng=5)
    assert np.isfinite(jit)
    assert jit == differential_entropy(
        x, method="kozachenko_leonenko", jitter=1e-8, rng=np.random.default_rng(5)
    )


def test_rng_takes_what_the_resampling_functions_take():
    # One parser of ``rng`` for every estimator: a seed sequence seeds the jitter as it
    # seeds a bootstrap, and a bool is refused by both.
    x = np.random.default_rng(8).standard_normal(200)
    kw = {"method": "kozachenko_leonenko", "jitter": 1e-8}
    seeded = differential_entropy(x, rng=np.random.SeedSequence(5), **kw)
    assert seeded == differential_entropy(
        x, rng=np.random.default_rng(np.random.SeedSequence(5)), **kw
    )
    with pytest.raises(ValueError, match="`rng` must be"):
        differential_entropy(x, rng=True, **kw)


def test_many_coincident_points_raise_quickly():
    # a leaf of 100 000 equal points must not be scanned once per point
    x = np.zeros((100_000, 2))
    x[:10] = np.arange(20.0).reshape(10, 2)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="distance 0"):
        differential_entropy(x, axis=0, feature_axis=1)
    with pytest.raises(ValueError, match="distance 0"):
        continuous_mutual_information(x[:, 0], x[:, 1], jitter=0)
    assert time.perf_counter() - start < 10  # about 0.1 s


def test_ksg_zero_distance_without_jitter_raises():
    x = np.repeat(np.arange(10.0), 5)
    with pytest.raises(ValueError, match=r"`x` and `y` have points.*jitter"):
        continuous_mutual_information(x, x, jitter=0)
    assert np.isfinite(continuous_mutual_information(x, x))


def test_default_jitter_seed_is_not_the_data_seed():
    # noise drawn from default_rng(0) would be a copy of a y drawn from default_rng(0)
    n = 100_000
    y = np.random.default_rng(0).standard_normal(n)
    for method in ("ksg1", "ksg2"):
        assert abs(continuous_mutual_information(np.zeros(n), y, method=method)) < 1e-2


# --------------------------------------------------------------------------- bad input


GOOD = np.random.default_rng(19).standard_normal(40)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "ekki"}, "`method`"),
        ({"method": 3}, "`method`"),
        ({"window_length": 0}, "`window_length`"),
        ({"window_length": 20}, "`window_length`"),
        ({"window_length": -1}, "`window_length`"),
        ({"window_length": 2.5}, "`window_length`"),
        ({"method": "kozachenko_leonenko", "k": 0}, "`k`"),
        ({"method": "kozachenko_leonenko", "k": 40}, "`k`"),
        ({"method": "kozachenko_leonenko", "k": 2.5}, "`k`"),
        ({"method": "kozachenko_leonenko", "k": True}, "`k`"),
        ({"method": "kozachenko_leonenko", "window_length": 3}, "`window_length`"),
        ({"method": "vasicek", "k": 3}, "`k`"),
        ({"k": 3}, r"`k` applies to .* \(chosen by method='auto' for n = 40\)"),
        ({"base": -2}, "`base`"),
        ({"base": 1}, "`base`"),
        ({"jitter": -1.0}, "`jitter`"),
        ({"jitter": float("nan")}, "`jitter`"),
        ({"rng": -1}, "`rng`"),
        ({"rng": "seed"}, "`rng`"),
        ({"axis": 1}, "`axis`"),
        ({"axis": 0.5}, "`axis`"),
        ({"feature_axis": 0}, "`samples` must have at least 2 dimension"),
    ],
)
def test_entropy_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        differential_entropy(GOOD, **kwargs)


@pytest.mark.parametrize(
    ("samples", "kwargs", "match"),
    [
        (np.array([1.0, np.nan, 2.0, 3.0]), {}, r"`samples` contains NaN \(first at index \(1,\)"),
        (np.array([1.0, 2.0, np.inf, 3.0]), {}, "`samples` contains infinite"),
        (np.array([]), {}, "at least 2 samples"),
        (np.array([1.0]), {"method": "kozachenko_leonenko"}, "at least 2 samples"),
        (np.zeros((3, 0)), {}, "at least 2 samples"),
        (np.float64(1.0), {}, "at least 1 dimension"),
        (np.array([1.0, 2.0]), {}, "`window_length`"),
        (np.zeros((5, 4)), {"feature_axis": 0, "axis": 0}, "`feature_axis` must differ"),
        (np.zeros((5, 4)), {"feature_axis": 3}, "`feature_axis` 3 is out of bounds"),
        (np.zeros((5, 0)), {"axis": 0, "feature_axis": 1}, "no coordinates"),
        (
            GOOD.reshape(20, 2),
            {"axis": 0, "feature_axis": 1, "method": "ebrahimi"},
            "kozachenko_leonenko",
        ),
        (["a", "b", "c"], {}, "`samples` must be numeric"),
    ],
)
def test_entropy_bad_samples(samples, kwargs, match):
    with pytest.raises(ValueError, match=match):
        differential_entropy(samples, **kwargs)


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "match"),
    [
        (GOOD, GOOD[:-1], {}, "same number of samples"),
        (GOOD, np.where(GOOD > 0, np.nan, GOOD), {}, "`y` contains NaN"),
        (np.full(40, np.inf), GOOD, {}, "`x` contains infinite"),
        (GOOD[:1], GOOD[:1], {}, "at least 2 samples"),
        (GOOD, GOOD, {"k": 40}, "`k`"),
        (GOOD, GOOD, {"k": 0}, "`k`"),
        (GOOD, GOOD, {"k": 1.5}, "`k`"),
        (GOOD, GOOD, {"method": "ksg3"}, "`method`"),
        (GOOD, GOOD, {"jitter": -1e-10}, "`jitter`"),
        (GOOD, GOOD, {"base": 0}, "`base`"),
        (np.zeros((2, 40)), np.zeros((3, 40)), {}, "batch shapes"),
    ],
)
def test_mi_bad_input(x, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        continuous_mutual_information(x, y, **kwargs)


def test_docstring_examples():
    failures, tried = doctest.testmod(
        _continuous, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    )
    assert tried > 5
    assert failures == 0


# --------------------------------------------------------------------------- subsamples


def test_subsample_of_every_point_is_the_full_estimate():
    rng = np.random.default_rng(31)
    x = rng.standard_normal((2, 400))
    y = x + rng.standard_normal((2, 400))
    full_h = differential_entropy(x, method="kozachenko_leonenko")
    r = differential_entropy(x, method="kozachenko_leonenko", subsample=400, repeats=3)
    assert isinstance(r, _continuous.SubsampleResult)
    assert r.estimates.shape == (3, 2)
    assert np.array_equal(r.estimates, np.broadcast_to(full_h, (3, 2)))
    assert np.array_equal(r.low, full_h)
    assert np.array_equal(r.high, full_h)
    full_mi = continuous_mutual_information(x, y, jitter=0)
    s = continuous_mutual_information(x, y, jitter=0, subsample=400, repeats=2)
    assert np.array_equal(s.estimates, np.broadcast_to(full_mi, (2, 2)))


def test_subsample_summary_and_seed():
    x = np.random.default_rng(32).standard_normal((3, 2000))
    r = differential_entropy(x, method="kozachenko_leonenko", subsample=300, rng=5)
    assert r.estimates.shape == (10, 3)
    assert np.allclose(r.estimate, r.estimates.mean(axis=0), rtol=1e-15, atol=0)
    spread = 2 * r.estimates.std(axis=0, ddof=1)
    assert np.allclose(r.high - r.estimate, spread)
    assert np.allclose(r.estimate - r.low, spread)
    again = differential_entropy(x, method="kozachenko_leonenko", subsample=300, rng=5)
    assert np.array_equal(again.estimates, r.estimates)
    other = differential_entropy(x, method="kozachenko_leonenko", subsample=300, rng=6)
    assert not np.array_equal(other.estimates, r.estimates)
    bits = differential_entropy(x, method="kozachenko_leonenko", subsample=300, rng=5, base=2)
    assert np.allclose(bits.estimates, r.estimates / math.log(2), rtol=1e-15, atol=0)


@pytest.mark.parametrize("method", ["ksg1", "ksg2"])
def test_subsample_interval_covers_the_full_estimate(method):
    z = np.random.default_rng(33).multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], 20_000)
    full = continuous_mutual_information(z[:, 0], z[:, 1], method=method)
    r = continuous_mutual_information(z[:, 0], z[:, 1], method=method, subsample=2000, rng=1)
    assert r.low < full < r.high
    assert r.high - r.low < 0.15
    h = differential_entropy(z[:, 0], method="kozachenko_leonenko")
    rh = differential_entropy(z[:, 0], method="kozachenko_leonenko", subsample=2000, rng=1)
    assert rh.low < h < rh.high


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"subsample": 100}, "`subsample` applies to method='kozachenko_leonenko' only"),
        ({"method": "vasicek", "subsample": 100}, "`subsample` applies"),
        (
            {"method": "kozachenko_leonenko", "subsample": 3},
            r"`subsample` must .*\(k = 3 neighbours",
        ),
        ({"method": "kozachenko_leonenko", "subsample": 401}, r"`subsample` .* n = 400"),
        ({"method": "kozachenko_leonenko", "subsample": True}, "`subsample`"),
        ({"method": "kozachenko_leonenko", "subsample": 50.0}, "`subsample`"),
        ({"method": "kozachenko_leonenko", "subsample": 50, "repeats": 1}, "`repeats`"),
        ({"method": "kozachenko_leonenko", "subsample": 50, "repeats": 0}, "`repeats`"),
    ],
)
def test_subsample_bad_options(kwargs, match):
    x = np.random.default_rng(34).standard_normal(400)
    with pytest.raises(ValueError, match=match):
        differential_entropy(x, **kwargs)


def test_mi_subsample_bad_options():
    x = np.random.default_rng(35).standard_normal(400)
    with pytest.raises(ValueError, match=r"`subsample` must .*\(k = 5 neighbours"):
        continuous_mutual_information(x, x, k=5, subsample=5)
    with pytest.raises(ValueError, match="`repeats`"):
        continuous_mutual_information(x, x, subsample=50, repeats=1)
    with pytest.raises(ValueError, match="same number of samples"):
        continuous_mutual_information(x, x[:-1], subsample=50)
