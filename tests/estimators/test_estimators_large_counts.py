"""Discrete estimators at very large sample sizes: totals beyond int64 and float64's exact
integers, and the Chao-Wang-Jost tail series in time that does not grow with N.

Oracles: mpmath (the plug-in and Chao-Wang-Jost formulas at 40 digits, the tail series as
z Φ(z, 1, c + 1) with mpmath's Lerch Phi) and, for the identities, log 2 itself.
"""

from __future__ import annotations

import math
import time

import mpmath as mp
import numpy as np
import pytest

import infoloss.estimators as est
from infoloss._kernels import counting
from infoloss.estimators import _estimate

DPS = 40
# The methods that form the total N from the counts (NSB refuses totals above 2**53).
METHODS = [m for m in _estimate.METHODS if m != "nsb"]


def _mp_plugin(counts):
    big = mp.mpf(sum(int(c) for c in counts))
    return -mp.fsum((mp.mpf(int(c)) / big) * mp.log(mp.mpf(int(c)) / big) for c in counts if c)


def _mp_tail(a, c):
    """Σ_{m>=1} z^m / (c + m), z = 1 - a, as z Φ(z, 1, c + 1)."""
    z = 1 - mp.mpf(a)
    return z * mp.lerchphi(z, 1, mp.mpf(c) + 1)


def _mp_chao_wang_jost(counts):
    """Chao, Wang & Jost (2013) with the tail as Lerch's Phi (the printed form's sum has
    N - 1 terms) and ψ(N) - ψ(n_i) as mpmath digammas."""
    big = sum(int(c) for c in counts)
    f1 = sum(1 for c in counts if c == 1)
    f2 = sum(1 for c in counts if c == 2)
    first = mp.fsum(
        mp.mpf(int(c)) / big * (mp.digamma(big) - mp.digamma(int(c))) for c in counts if c
    )
    if f2 > 0:
        a = mp.mpf(2 * f2) / ((big - 1) * f1 + 2 * f2)
    elif f1 > 0:
        a = mp.mpf(2) / ((big - 1) * (f1 - 1) + 2)
    else:
        return first
    return first + mp.mpf(f1) / big * _mp_tail(a, big - 1)


# --------------------------------------------------------------------- totals beyond int64


@pytest.mark.parametrize("method", METHODS)
def test_total_beyond_int64_is_log_2(method):
    # the int64 total 2**63 wrapped to -2**63 and every estimate was NaN; the plug-in is
    # exactly log 2 here, and every correction is of order 1/N ~ 1e-19
    h = est.entropy(counts=np.array([2**62, 2**62]), method=method)
    assert h == pytest.approx(math.log(2), rel=1e-13)


@pytest.mark.parametrize("method", ["plugin", "miller_madow", "zhang", "chao_wang_jost"])
def test_total_that_wraps_to_zero_is_not_an_empty_set(method):
    # (2**63 - 1) * 2 + 2 = 2**64: the int64 total wrapped to exactly 0
    counts = np.array([2**63 - 1, 2**63 - 1, 2])
    with mp.workdps(DPS):
        want = float(_mp_plugin(counts))
    assert est.entropy(counts=counts, method=method) == pytest.approx(want, rel=1e-13)


def test_total_beyond_int64_batched_and_uint64():
    counts = np.array([[2**62, 2**62, 0], [3, 1, 1]], dtype=np.uint64)
    got = est.entropy(counts=counts, method="plugin")
    with mp.workdps(DPS):
        want = [float(_mp_plugin(row)) for row in counts]
    np.testing.assert_allclose(got, want, rtol=1e-13)


@pytest.mark.parametrize("method", ["jackknife", "james_stein"])
def test_two_sample_check_sees_the_true_total(method):
    # the wrapped total was negative and "needs at least 2 samples" was raised
    assert np.isfinite(est.entropy(counts=np.array([2**62, 2**62, 7]), method=method))


def test_nsb_refuses_totals_beyond_2_53_naming_counts():
    with pytest.raises(ValueError, match="`counts`"):
        est.entropy(counts=np.array([2**62, 2**62]), method="nsb")
    with pytest.raises(ValueError, match="`counts`"):
        est.entropy_nsb(counts=np.array([2**62, 2**62]), alphabet_size=4)


def test_bootstrap_refuses_totals_it_cannot_resample():
    with pytest.raises(ValueError, match="`counts`"):
        est.bootstrap_interval(counts=np.array([2**62, 2**62]), method="plugin", n_resamples=9)


# --------------------------------------------------------------------- Chao-Wang-Jost tail


def test_default_estimator_is_not_linear_in_n():
    counts = [10**12, 5, 1, 1]
    start = time.perf_counter()
    got = est.entropy(counts=counts)
    assert time.perf_counter() - start < 1.0  # the term-by-term sum took hours
    with mp.workdps(DPS):
        want = float(_mp_chao_wang_jost(counts))
    assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_chao_wang_jost_at_large_n_matches_mpmath(seed):
    rng = np.random.default_rng(seed)
    # a heavy head and a tail of singletons and doubletons: N from 1e4 to 1e15
    counts = np.concatenate(
        [
            rng.integers(1, 10 ** int(rng.integers(4, 15)), size=3),
            np.ones(int(rng.integers(1, 40)), np.int64),
            np.full(int(rng.integers(0, 3)), 2),
        ]
    )
    got = est.entropy(counts=counts, method="chao_wang_jost")
    with mp.workdps(DPS):
        want = float(_mp_chao_wang_jost(counts.tolist()))
    assert got == pytest.approx(want, rel=1e-13)


def _tail_points():
    rng = np.random.default_rng(11)
    # the closed form's domain (c >= 1024, a < 1/64), from x = c L ~ 1e-6 to 1e7, and the
    # edges where the kernel changes method
    a = 10 ** rng.uniform(-10, math.log10(1 / 64), 40)
    c = np.floor(10 ** rng.uniform(3.02, 12, 40))
    edge_a = np.array([1 / 64, np.nextafter(1 / 64, 0), 1e-3, 3 / 1024, 1e-9, 0.5])
    edge_c = np.array([1024.0, 1024.0, 1023.0, 1024.0, 1023.0, 1e15])
    return np.concatenate([a, edge_a]), np.concatenate([c, edge_c])


def test_tail_matches_lerch_phi_to_a_few_ulps():
    a, c = _tail_points()
    got = counting.cwj_tail(a, c)
    with mp.workdps(DPS):
        want = np.array([float(_mp_tail(ai, ci)) for ai, ci in zip(a, c, strict=True)])
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


def test_tail_cost_does_not_grow_with_n():
    a = np.full(64, 1e-9)
    start = time.perf_counter()
    counting.cwj_tail(a, np.full(64, 1e6))
    small = time.perf_counter() - start
    start = time.perf_counter()
    counting.cwj_tail(a, np.full(64, 1e15))
    assert time.perf_counter() - start < 10 * small + 0.01


def test_bootstrap_with_the_default_method_at_large_n():
    counts = [10**12, 5, 1, 1]
    start = time.perf_counter()
    r = est.bootstrap_interval(counts=counts, n_resamples=200, rng=0)
    assert time.perf_counter() - start < 5.0
    assert r.low <= est.entropy(counts=counts) <= r.high
