"""Discrete estimators: every method against its published formula computed with mpmath,
the identities, batching and axis invariance, samples against counts, resampling, edges
and bad input."""

from __future__ import annotations

import doctest
import importlib
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from infoloss import estimators as est
from infoloss._kernels import counting, use_kernels
from infoloss.estimators import _counts, _estimate
from tests._helpers import to_numpy

# Every estimator with a closed form (NSB and "auto" are tested on their own).
METHODS = [m for m in _estimate.METHODS if m not in ("nsb", "auto")]
ALL = list(_estimate.METHODS)
DPS = 50

# Count vectors for the exact cases: small ones by hand, ndd's published example, and
# sets that drive the Chao-Wang-Jost series through both of its branches (c A <= 3 and
# c A > 3, with c = N - 1).
CASES = [
    [1],
    [3],
    [1, 1],
    [2, 1],
    [1, 1, 1, 1],
    [5, 3, 1, 1],
    [7, 0, 2, 1, 1],
    [10, 1],
    [2, 2, 2],
    [4, 12, 4, 5, 3, 1, 5, 1, 2, 2, 2, 2, 11, 3, 4, 12, 12, 1, 2],
    [150, 40, 8, 1, 1],  # f1 = 2, f2 = 0
    [120, 60, 17, 2, 1],  # f1 = 1, f2 = 1: (N - 1) A ~ 2
    [100, 60, 30, 2, 2, 2, 1],  # f1 = 1, f2 = 3: (N - 1) A ~ 6
    [30] * 5 + [2] * 20 + [1] * 3,
]


# --------------------------------------------------------------------- mpmath oracles


def _mp_plugin(n):
    big = sum(n)
    return -sum(mp.mpf(k) / big * mp.log(mp.mpf(k) / big) for k in n if k)


def _mp_grassberger(n):
    def g(k):
        k = mp.mpf(k)
        return mp.digamma(k) + (-1) ** int(k) / mp.mpf(2) * (
            mp.digamma((k + 1) / 2) - mp.digamma(k / 2)
        )

    big = sum(n)
    return mp.log(big) - sum(k * g(k) for k in n if k) / big


def _mp_chao_shen(n):
    big = sum(n)
    f1 = sum(1 for k in n if k == 1)
    if f1 == big:
        f1 = big - 1
    cov = 1 - mp.mpf(f1) / big
    total = mp.mpf(0)
    for k in n:
        if k:
            pa = cov * k / big
            total -= pa * mp.log(pa) / (1 - (1 - pa) ** big)
    return total


def _mp_chao_wang_jost(n):
    # Chao, Wang & Jost (2013), eq. (7), exactly as printed.
    big = sum(n)
    f1 = sum(1 for k in n if k == 1)
    f2 = sum(1 for k in n if k == 2)
    first = sum(
        mp.mpf(k) / big * sum(mp.mpf(1) / j for j in range(k, big)) for k in n if 1 <= k < big
    )
    if f2 > 0:
        a = mp.mpf(2 * f2) / ((big - 1) * f1 + 2 * f2)
    elif f1 > 0:
        a = mp.mpf(2) / ((big - 1) * (f1 - 1) + 2)
    else:
        a = mp.mpf(1)
    if f1 == 0 or a == 1:
        return first
    z = 1 - a
    second = mp.mpf(f1) / big * z ** (1 - big) * (-mp.log(a) - sum(z**r / r for r in range(1, big)))
    return first + second


def _mp_jackknife(n):
    # The definition: N H - (N - 1)/N Σ_j H_{-j}, leaving out each sample in turn.
    big = sum(n)
    loo = mp.mpf(0)
    for i, k in enumerate(n):
        if k:
            reduced = list(n)
            reduced[i] -= 1
            loo += k * _mp_plugin(reduced)
    return big * _mp_plugin(n) - mp.mpf(big - 1) / big * loo


def _mp_james_stein(n, alphabet=None):
    big = sum(n)
    seen = [k for k in n if k]
    size = len(seen) if alphabet is None else alphabet
    t = mp.mpf(1) / size
    p = [mp.mpf(k) / big for k in seen] + [mp.mpf(0)] * (size - len(seen))
    spread = sum((t - q) ** 2 for q in p)
    lam = mp.mpf(1) if spread == 0 else (1 - sum(q * q for q in p)) / ((big - 1) * spread)
    lam = min(mp.mpf(1), max(mp.mpf(0), lam))
    shrunk = [lam * t + (1 - lam) * q for q in p]
    return -sum(q * mp.log(q) for q in shrunk if q)


def _mp_zhang(n):
    # Zhang (2012): the series with its products, not the digamma form the code sums.
    big = sum(n)
    total = mp.mpf(0)
    for v in range(1, big):
        inner = mp.mpf(0)
        for k in n:
            if k:
                prod = mp.mpf(1)
                for j in range(v):
                    prod *= 1 - mp.mpf(k - 1) / (big - 1 - j)
                inner += mp.mpf(k) / big * prod
        total += inner / v
    return total


ORACLES = {
    "plugin": _mp_plugin,
    "miller_madow": lambda n: _mp_plugin(n) + mp.mpf(sum(1 for k in n if k) - 1) / (2 * sum(n)),
    "grassberger": _mp_grassberger,
    "chao_shen": _mp_chao_shen,
    "chao_wang_jost": _mp_chao_wang_jost,
    "jackknife": _mp_jackknife,
    "james_stein": _mp_james_stein,
    "zhang": _mp_zhang,
}


@pytest.mark.parametrize("method", METHODS)
def test_methods_match_mpmath(method):
    for n in CASES:
        if method in ("jackknife", "james_stein") and sum(n) < 2:
            continue
        if method == "zhang" and sum(n) > 60:
            continue  # the O(N^2 K) series is slow in mpmath; the digamma form is checked below
        with mp.workdps(DPS):
            want = float(ORACLES[method](n))
        got = est.entropy(counts=n, method=method)
        assert got == pytest.approx(want, rel=1e-13, abs=1e-14), (method, n)


def test_zhang_digamma_form_is_the_series_at_larger_n():
    # ψ(N) − ψ(n) = Σ_{v=1}^{N−n} (1/v) Π_{j<v} (1 − (n−1)/(N−1−j)), checked term by term.
    with mp.workdps(DPS):
        for big, k in [(200, 1), (200, 7), (200, 150), (97, 96)]:
            series = mp.mpf(0)
            prod = mp.mpf(1)
            for v in range(1, big - k + 1):
                prod *= 1 - mp.mpf(k - 1) / (big - 1 - (v - 1))
                series += prod / v
            got = float(_estimate.digamma(np.array([big]))[0] - _estimate.digamma(np.array([k]))[0])
            assert got == pytest.approx(float(series), rel=1e-13, abs=1e-15)


def test_james_stein_with_alphabet_size_matches_mpmath():
    for n, size in [([5, 3, 1, 1], 10), ([2, 2, 2], 3), ([2, 2, 2], 7), ([10, 1], 50)]:
        with mp.workdps(DPS):
            want = float(_mp_james_stein(n, size))
        got = est.entropy(counts=n, method="james_stein", alphabet_size=size)
        assert got == pytest.approx(want, rel=1e-13)


def test_digamma_matches_mpmath():
    x = np.array([1e-3, 0.5, 1.0, 1.5, 2.0, 3.0, 9.99, 10.0, 17.5, 1e3, 1e6, 1e12])
    got = _estimate.digamma(x)
    with mp.workdps(DPS):
        want = np.array([float(mp.digamma(mp.mpf(v))) for v in x])
    np.testing.assert_allclose(got, want, rtol=2e-15, atol=1e-15)


@pytest.mark.parametrize(
    ("a", "c"),
    [(0.5, 0.0), (0.3, 5.0), (1e-3, 199.0), (0.01, 199.0), (0.03, 199.0), (2e-7, 1e6),
     (1e-5, 1e6), (0.999, 10.0), (1e-9, 1e5)],
)  # fmt: skip
def test_cwj_series_matches_lerch_phi(a, c):
    # Σ_{m≥1} z^m/(c+m) = z Φ(z, 1, c + 1), both branches of the kernel.
    with mp.workdps(DPS):
        z = 1 - mp.mpf(a)
        want = float(z * mp.lerchphi(z, 1, c + 1))
    got = counting.cwj_tail(np.array([a]), np.array([c]))[0]
    assert got == pytest.approx(want, rel=1e-12)


def test_nsb_wrapper_on_ndd_published_example():
    counts = [4, 12, 4, 5, 3, 1, 5, 1, 2, 2, 2, 2, 11, 3, 4, 12, 12, 1, 2]
    r = est.entropy_nsb(counts=counts, alphabet_size=100)
    assert r.estimate == pytest.approx(2.8060922529931225, abs=1e-5)
    assert r.std == pytest.approx(0.11945501149743358, abs=1e-4)
    assert est.entropy(counts=counts, method="nsb", alphabet_size=100) == r.estimate
    bits = est.entropy_nsb(counts=counts, alphabet_size=100, base=2)
    assert bits.estimate == pytest.approx(r.estimate / math.log(2), rel=1e-15)
    assert bits.std == pytest.approx(r.std / math.log(2), rel=1e-15)


def test_auto_is_chao_wang_jost_or_nsb_with_a_known_alphabet():
    x = np.random.default_rng(3).integers(0, 30, size=(4, 50))
    assert np.array_equal(est.entropy(x), est.entropy(x, method="chao_wang_jost"))
    assert np.array_equal(
        est.entropy(x, alphabet_size=30), est.entropy(x, method="nsb", alphabet_size=30)
    )
    y = x[::-1]
    assert np.array_equal(
        est.mutual_information(x, y, method="auto"),
        est.mutual_information(x, y, method="chao_wang_jost"),
    )


# --------------------------------------------------------------------- identities


def _pairs(seed, shape=(3, 200), kx=5, ky=4, kz=3):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, kx, size=shape)
    z = rng.integers(0, kz, size=shape)
    y = (x + z + rng.integers(0, 2, size=shape)) % ky
    return x, y, z


def test_plugin_mi_is_the_entropy_sum_and_matches_sklearn():
    from sklearn.metrics import mutual_info_score

    x, y, _ = _pairs(0)
    mi = est.mutual_information(x, y)
    joint = x * 10 + y
    h = lambda a: est.entropy(a, method="plugin")  # noqa: E731
    np.testing.assert_allclose(mi, h(x) + h(y) - h(joint), rtol=0, atol=1e-15)
    for row in range(x.shape[0]):
        assert mi[row] == pytest.approx(mutual_info_score(x[row], y[row]), rel=1e-12)


@pytest.mark.parametrize("method", [*METHODS, "nsb"])
def test_chain_rule_and_conditional_entropy(method):
    # I(X; (Y, Z)) = I(X; Z) + I(X; Y | Z) and H(X | Z) = H(X, Z) − H(Z), for every method
    # (they are identities of the entropy decompositions the estimates are built from).
    x, y, z = _pairs(1)
    yz = y * 10 + z
    lhs = est.mutual_information(x, yz, method=method)
    rhs = est.mutual_information(x, z, method=method) + est.conditional_mutual_information(
        x, y, z, method=method
    )
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-12)
    ce = est.conditional_entropy(x, z, method=method)
    h = lambda a: est.entropy(a, method=method)  # noqa: E731
    np.testing.assert_allclose(ce, h(x * 10 + z) - h(z), rtol=0, atol=1e-12)


def test_plugin_mi_of_independent_and_identical():
    x = np.repeat(np.arange(4), 6)
    y = np.tile(np.arange(3), 8)
    assert abs(est.mutual_information(x, y)) < 1e-15
    assert est.mutual_information(x, x, base=2) == pytest.approx(2.0, rel=1e-15)
    assert est.conditional_entropy(x, x) == pytest.approx(0.0, abs=1e-15)


# --------------------------------------------------------------------- invariances


@pytest.mark.parametrize("method", ALL)
def test_batching_and_axis_are_exact(method):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 12, size=(3, 40, 4))
    moved = est.entropy(np.moveaxis(x, 1, -1), method=method)
    assert np.array_equal(est.entropy(x, axis=1, method=method), moved)
    assert np.array_equal(est.entropy(x, axis=-2, method=method), moved)
    one = np.array([[est.entropy(x[i, :, j], method=method) for j in range(4)] for i in range(3)])
    if method == "nsb":
        np.testing.assert_allclose(moved, one, rtol=1e-12)
    else:
        assert np.array_equal(moved, one)


@pytest.mark.parametrize("method", ALL)
def test_samples_and_counts_agree_and_labels_do_not_matter(method):
    rng = np.random.default_rng(4)
    x = rng.integers(0, 9, size=(5, 60))
    counts = np.stack([np.bincount(r, minlength=12) for r in x])
    want = est.entropy(x, method=method)
    assert np.array_equal(est.entropy(counts=counts, method=method), want)
    assert np.array_equal(est.entropy(counts=counts.T, axis=0, method=method), want)
    labels = np.array(["a", "bb", "c", "d", "e", "f", "g", "h", "i"])
    assert np.array_equal(est.entropy(labels[x], method=method), want)
    assert np.array_equal(est.entropy(x * 1e9 - 0.5, method=method), want)
    obj = np.array([("t", v) for v in x.ravel()] + [None], dtype=object)[:-1]
    assert np.array_equal(est.entropy(obj.reshape(x.shape), method=method), want)
    assert np.array_equal(est.entropy(x.astype(np.int8) - 100, method=method), want)
    top = x.astype(np.uint64) + np.uint64(2**64 - 20)  # a small range at the top of uint64
    assert np.array_equal(est.entropy(top, method=method), want)
    wide = x.astype(np.uint64) * np.uint64(2**59) + np.uint64(2**63)  # a range too wide to table
    assert np.array_equal(est.entropy(wide, method=method), want)


@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=30).filter(lambda v: sum(v) > 1),
    st.sampled_from([*METHODS, "nsb"]),
)
def test_permuting_counts_changes_nothing_and_never_nan(counts, method):
    c = np.array(counts)
    h = est.entropy(counts=c, method=method)
    assert np.isfinite(h)
    assert est.entropy(counts=c[::-1], method=method) == h


def test_counting_paths_agree():
    rng = np.random.default_rng(5)
    small = rng.integers(-3, 50, size=(2, 300_000))  # split across threads per row
    wide = small.astype(np.int64) * 10**12  # sorted, not counted through a table
    want = np.stack([np.bincount(r + 3, minlength=53) for r in small])
    np.testing.assert_array_equal(counting.count_rows(small, -3, 53), want)
    tables = [
        _counts.table(*_counts.regroup(_counts.block_groups((a,)), (0,)), 2)
        for a in (small, wide, small.astype(np.float32))
    ]
    with use_kernels(False):
        g = _counts.block_groups((small,))
        tables.append(_counts.table(g.rows, g.counts, 2))
    for t in tables[1:]:
        assert np.array_equal(t, tables[0])
    b = rng.random((3, 1000)) < 0.3
    np.testing.assert_array_equal(
        counting.count_rows(b, 0, 2), np.stack([np.bincount(r, minlength=2) for r in b])
    )


def test_row_sum_ignores_trailing_zeros():
    terms = np.random.default_rng(6).random((4, 37))
    padded = np.concatenate([terms, np.zeros((4, 50))], axis=1)
    assert np.array_equal(counting.row_sum(terms), counting.row_sum(padded))
    with mp.workdps(DPS):
        want = [float(mp.fsum(mp.mpf(v) for v in row)) for row in terms]
    np.testing.assert_allclose(counting.row_sum(terms), want, rtol=1e-16)


# --------------------------------------------------------------------- edges


@pytest.mark.parametrize("method", ALL)
def test_edges_are_finite(method):
    cases = {"singletons": [1] * 50, "one category": [40], "two": [1, 1]}
    if method not in _estimate.NEEDS_TWO:
        cases["N = 1"] = [1]
    for name, c in cases.items():
        h = est.entropy(counts=c, method=method)
        assert np.isfinite(h), (method, name)
    if method not in ("grassberger", "nsb"):
        assert est.entropy(counts=[40], method=method) == 0.0


def test_chao_shen_all_singletons_uses_the_coverage_fix():
    # f1 = N would make the coverage 0; with f1 = N − 1 the coverage is 1/N.
    n = 20
    pa = (1.0 / n) * (1.0 / n)
    want = -n * pa * math.log(pa) / -math.expm1(n * math.log1p(-pa))
    assert est.entropy(counts=[1] * n, method="chao_shen") == pytest.approx(want, rel=1e-14)


def test_large_grid_is_finite_and_vectorised():
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(1000))
    c = rng.multinomial(100_000, p, size=8)
    for method in [*METHODS, "nsb"]:
        h = est.entropy(counts=c, method=method)
        assert h.shape == (8,)
        assert np.isfinite(h).all()
        assert np.abs(h - (-(p * np.log(p)).sum())).max() < 0.05, method


@pytest.mark.parametrize("base", [2, "bits", 10, 0.5])
def test_base(base):
    c = [5, 3, 2, 2, 1]
    nats = est.entropy(counts=c, method="miller_madow")
    b = 2.0 if base == "bits" else base
    assert est.entropy(counts=c, method="miller_madow", base=base) == pytest.approx(
        nats / math.log(b), rel=1e-15
    )
    x, y, _ = _pairs(8)
    np.testing.assert_allclose(
        est.mutual_information(x, y, base=base),
        est.mutual_information(x, y) / math.log(b),
        rtol=1e-15,
    )


# --------------------------------------------------------------------- resampling


def test_permutation_test_pvalue_formula_and_statistic():
    x, y, _ = _pairs(9, shape=(2, 60))
    r = est.permutation_test(x, y, n_resamples=99, rng=1)
    assert np.array_equal(r.statistic, est.mutual_information(x, y))
    assert r.null_distribution.shape == (2, 99)
    b = np.count_nonzero(r.null_distribution >= r.statistic[:, None] - 1e-12, axis=1)
    np.testing.assert_array_equal(r.pvalue, (b + 1) / 100)
    again = est.permutation_test(x, y, n_resamples=99, rng=1)
    assert np.array_equal(again.pvalue, r.pvalue)


def test_permutation_test_size_and_power():
    rng = np.random.default_rng(10)
    indep = est.permutation_test(
        rng.integers(0, 3, (60, 40)), rng.integers(0, 3, (60, 40)), n_resamples=199, rng=11
    )
    p = indep.pvalue
    assert p.min() >= 1 / 200
    assert 0.35 < p.mean() < 0.65
    assert np.mean(p <= 0.1) < 0.25
    x = rng.integers(0, 3, (5, 100))
    dep = est.permutation_test(x, (x + (rng.random(x.shape) < 0.2)) % 3, n_resamples=199, rng=12)
    np.testing.assert_array_equal(dep.pvalue, 1 / 200)


def test_bootstrap_contains_estimate_and_covers():
    rng = np.random.default_rng(13)
    x = rng.integers(0, 4, size=3000)
    for interval in ("basic", "percentile"):
        r = est.bootstrap_interval(x, method="plugin", interval=interval, rng=1)
        assert r.low < r.estimate < r.high
        assert r.estimate == est.entropy(x, method="plugin")
    # coverage of the true entropy by the basic interval, Miller-Madow, K = 10, N = 200
    p = rng.dirichlet(np.ones(10) * 2)
    truth = -(p * np.log(p)).sum()
    c = rng.multinomial(200, p, size=150)
    r = est.bootstrap_interval(counts=c, method="miller_madow", n_resamples=300, rng=2)
    covered = np.mean((r.low <= truth) & (truth <= r.high))
    assert 0.85 <= covered <= 1.0
    pct = est.bootstrap_interval(
        counts=c, method="miller_madow", n_resamples=300, rng=2, interval="percentile"
    )
    np.testing.assert_allclose(r.low, 2 * r.estimate - pct.high, rtol=0, atol=1e-14)


def test_bootstrap_mutual_information():
    x, y, _ = _pairs(14, shape=(2, 400))
    r = est.bootstrap_interval(x, y=y, n_resamples=200, rng=3, base=2)
    assert np.array_equal(r.estimate, est.mutual_information(x, y, base=2))
    assert (r.low < r.high).all()
    assert (r.low < r.estimate).all()
    assert (r.estimate < r.high).all()


# --------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: est.entropy(np.array([1.0, np.nan])), "`samples` contains NaN"),
        (lambda: est.entropy(np.array([1, None, float("nan")], dtype=object)), "`samples` contains NaN"),
        (lambda: est.entropy(np.array([[1], [[2]]], dtype=object)), "not hashable"),
        (lambda: est.entropy(np.zeros((3, 0))), "`samples` is empty"),
        (lambda: est.entropy(np.float64(3.0)), "`samples` must have at least one dimension"),
        (lambda: est.entropy(np.ones((2, 3)), axis=2), "`axis` 2 is out of bounds"),
        (lambda: est.entropy(), "exactly one of `samples`"),
        (lambda: est.entropy([1, 2], counts=[1, 1]), "exactly one of `samples`"),
        (lambda: est.entropy(counts=[1, -1]), "`counts` must be non-negative"),
        (lambda: est.entropy(counts=[1.5, 2]), "`counts` must be integers"),
        (lambda: est.entropy(counts=[np.nan, 2]), "`counts` contains NaN"),
        (lambda: est.entropy(counts=[[0, 0], [1, 2]]), "`counts` has a set with no samples"),
        (lambda: est.entropy(counts=["a"]), "`counts` must be non-negative integers"),
        (lambda: est.entropy(counts=[1], method="jackknife"), "'jackknife' needs at least 2"),
        (lambda: est.entropy([3], method="james_stein"), "`samples` has a set with 1"),
        (lambda: est.entropy(counts=[1, 2], alphabet_size=2.5), "`alphabet_size` must be a positive integer"),
        (lambda: est.entropy(counts=[1, 2], alphabet_size=True), "`alphabet_size` must be a positive integer"),
        (lambda: est.entropy(counts=[1, 2], alphabet_size=0), "`alphabet_size` must be a positive integer"),
        (lambda: est.entropy(counts=[1, 2, 3], alphabet_size=2), "`alphabet_size` \\(2\\) is smaller"),
        (lambda: est.entropy(counts=[1, 2], method="mle"), "`method` must be one of"),
        (lambda: est.entropy(counts=[1, 2], base=1), "`base` must be a positive number"),
        (lambda: est.entropy(counts=[1, 2], base=-2), "`base` must be a positive number"),
        (lambda: est.mutual_information([1, 2], [1, 2, 3]), "`y` must have the shape of `x`"),
        (lambda: est.mutual_information([1.0, 2.0], [np.nan, 1.0]), "`y` contains NaN"),
        (lambda: est.conditional_entropy([1, 2], [[1, 2]]), "`given` must have the shape"),
        (lambda: est.conditional_mutual_information([1], [1], [np.nan]), "`z` contains NaN"),
        (lambda: est.mutual_information([1, 2], [1, 2], method="x"), "`method` must be one of"),
        (lambda: est.mutual_information([1], [1], method="jackknife"), "needs at least 2"),
        (lambda: est.permutation_test([1, 2], [1, 2], n_resamples=0), "`n_resamples` must be"),
        (lambda: est.permutation_test([1, 2], [1, 2], rng="seed"), "`rng` must be"),
        (lambda: est.permutation_test([1, 2], [1, 2], rng=True), "`rng` must be"),
        (lambda: est.bootstrap_interval([1, 2], confidence_level=1.0), "`confidence_level`"),
        (lambda: est.bootstrap_interval([1, 2], interval="bca"), "`interval` must be one of"),
        (lambda: est.bootstrap_interval([1, 2], measure="kl"), "`measure` must be one of"),
        (lambda: est.bootstrap_interval([1, 2], y=[1, 2], measure="entropy"), "`y` is only"),
        (lambda: est.bootstrap_interval(counts=[1, 2], measure="mutual_information"), "needs paired"),
    ],
)  # fmt: skip
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    "module", ["infoloss.estimators._discrete", "infoloss.estimators._resample"]
)
def test_docstring_examples(module):
    failures, tried = doctest.testmod(importlib.import_module(module))
    assert tried > 0
    assert failures == 0


def test_array_libraries(xp):
    # Samples from any array library are read on the host and counted like NumPy's.
    x = np.random.default_rng(15).integers(0, 7, size=(2, 50))
    y = x // 2
    got = est.entropy(xp.asarray(x))
    assert np.array_equal(to_numpy(got), est.entropy(x))
    mi = est.mutual_information(xp.asarray(x), xp.asarray(y))
    assert np.array_equal(to_numpy(mi), est.mutual_information(x, y))
    # The estimates come back in the caller's library (NumPy and Dask: NumPy).
    import array_api_compat

    if not (array_api_compat.is_numpy_namespace(xp) or array_api_compat.is_dask_namespace(xp)):
        assert array_api_compat.array_namespace(got) is array_api_compat.array_namespace(
            xp.asarray(x)
        )
        assert array_api_compat.array_namespace(mi) is array_api_compat.array_namespace(
            xp.asarray(x)
        )
