"""The NSB estimator (:func:`infoloss.estimators._nsb.nsb_entropy`).

Oracles: ndd's published values; an mpmath integral of the NSB posterior written
independently (Wolpert & Wolf's E[H²] in its raw pair-sum form, per-category evidence,
Gauss–Legendre on unit intervals of log κ at 30 digits); exact identities (with no data,
or one sample, the posterior mean is log(K)/2: the NSB prior makes ξ = E[H | α] uniform
on [0, log K]); Nemenman's (2011) undersampled asymptote for an unknown alphabet; SciPy
for digamma and trigamma.
"""

from __future__ import annotations

import itertools
import math
import time

import mpmath as mp
import numpy as np
import pytest
from mpmath.calculus.quadrature import GaussLegendre
from scipy import special

from infoloss._kernels.nsb import digamma, trigamma, trigamma_tail
from infoloss.estimators._nsb import nsb_entropy

NDD_COUNTS = [4, 12, 4, 5, 3, 1, 5, 1, 2, 2, 2, 2, 11, 3, 4, 12, 12, 1, 2]


def nsb1(counts, k):  # type: ignore[no-untyped-def]
    mean, sd = nsb_entropy(np.asarray([counts], dtype=np.float64), k)
    return float(mean[0]), float(sd[0])


def test_ndd_published_example() -> None:
    # ndd's README: entropy(counts, k=100, return_std=True) = (2.8060922529931225,
    # 0.11945501149743358).  ndd integrates over log α within 4 posterior SDs of the mode
    # with a relative tolerance of 1e-3; the whole integral is 4.7e-6 higher.
    mean, sd = nsb1(NDD_COUNTS, 100)
    assert abs(mean - 2.8060922529931225) < 1e-5
    assert abs(sd - 0.11945501149743358) < 1e-4


def test_ndd_published_unknown_k_value_at_its_guessed_k() -> None:
    # ndd with k omitted prints 2.8130746489179046 and reports that it guessed k = 6008;
    # our K = inf limit (a different rule for an unknown alphabet) is within 2e-4 of it.
    assert abs(nsb1(NDD_COUNTS, 6008)[0] - 2.8130746489179046) < 1e-5
    assert abs(nsb1(NDD_COUNTS, None)[0] - 2.8130746489179046) < 2e-4


def _mp_nsb(counts: list[int], k: int | None) -> tuple[mp.mpf, mp.mpf]:
    """NSB posterior mean and SD by mpmath quadrature over u = log κ, κ = K α."""
    obs = [mp.mpf(c) for c in counts if c > 0]
    n = sum(obs)
    k_obs = len(obs)
    zeros = None if k is None else k - k_obs

    def log_weight(u: mp.mpf) -> mp.mpf:
        kappa = mp.exp(u)
        lw = u + mp.loggamma(kappa) - mp.loggamma(n + kappa)
        if k is None:
            return lw + mp.log(mp.psi(1, kappa + 1)) + k_obs * u
        a = kappa / k
        prior = mp.psi(1, kappa + 1) - mp.psi(1, a + 1) / k
        return lw + mp.log(prior) + sum(mp.loggamma(c + a) - mp.loggamma(a) for c in obs)

    def moments(u: mp.mpf) -> tuple[mp.mpf, mp.mpf]:
        kappa = mp.exp(u)
        a = mp.mpf(0) if k is None else kappa / k
        big = n + kappa
        # Bins as (n', mass Σ n', Σ n'², Σ n'(n' + 1)); the unobserved ones as one group,
        # which for K = inf has mass κ and vanishing Σ n'².
        bins = [(c + a, c + a, (c + a) ** 2, (c + a) * (c + a + 1)) for c in obs]
        if k is None:
            bins.append((mp.mpf(0), kappa, mp.mpf(0), kappa))
        elif zeros:
            bins.append((a, zeros * a, zeros * a**2, zeros * a * (a + 1)))
        mean = mp.psi(0, big + 1) - sum(m * mp.psi(0, x + 1) for x, m, _, _ in bins) / big
        c2 = mp.psi(1, big + 2)
        phi = [mp.psi(0, x + 1) - mp.psi(0, big + 2) for x, _, _, _ in bins]
        pairs = sum(m * p for (_, m, _, _), p in zip(bins, phi, strict=True)) ** 2 - c2 * big**2
        pairs -= sum(d2 * (p**2 - c2) for (_, _, d2, _), p in zip(bins, phi, strict=True))
        diag = sum(
            d1 * ((mp.psi(0, x + 2) - mp.psi(0, big + 2)) ** 2 + mp.psi(1, x + 2) - c2)
            for x, _, _, d1 in bins
        )
        return mean, (pairs + diag) / (big * (big + 1))

    with mp.workdps(25):
        grid = [mp.mpf(u) for u in range(-60, 42, 2)]
        values = [log_weight(u) for u in grid]
        top = max(values)
        keep = [i for i, v in enumerate(values) if v > top - 45]
        ends = grid[max(keep[0] - 1, 0) : keep[-1] + 2]
        # A 24-point Gauss–Legendre rule on each interval of length 2 in u.
        rule = GaussLegendre(mp.mp).calc_nodes(4, mp.mp.prec)
        sums = [mp.mpf(0)] * 3
        for lo, hi in itertools.pairwise(ends):
            for x, w in rule:
                u = (lo + hi) / 2 + (hi - lo) / 2 * x
                weight = w * mp.exp(log_weight(u) - top)
                mean, second = moments(u)
                sums = [sums[0] + weight, sums[1] + weight * mean, sums[2] + weight * second]
        mean = sums[1] / sums[0]
        return mean, mp.sqrt(sums[2] / sums[0] - mean**2)


@pytest.mark.parametrize(
    ("counts", "k"),
    [
        ([3, 1, 0, 2], 4),
        ([5, 2, 1, 1, 0, 0, 0], 1000),
        ([9], 6),  # a single observed category
        ([1, 1, 1, 1], 7),  # no coincidence, K known
        ([5, 2, 1, 1], None),
    ],
)
def test_matches_mpmath_integral(counts: list[int], k: int | None) -> None:
    mean, sd = nsb1(counts, k)
    ref_mean, ref_sd = _mp_nsb(counts, k)
    assert mean == pytest.approx(float(ref_mean), rel=1e-10, abs=0)
    assert sd == pytest.approx(float(ref_sd), rel=1e-8, abs=0)


@pytest.mark.parametrize("k", [2, 10, 1000, 10**6])
def test_no_data_or_one_sample_gives_half_log_k(k: int) -> None:
    # With no data the posterior is the prior, under which ξ = E[H | α] is uniform on
    # [0, log K]; one sample leaves the posterior of α unchanged (every outcome has
    # probability 1/K) and, by symmetry, E[H | α, n] = ξ(α).
    assert nsb1([0, 0], k)[0] == pytest.approx(math.log(k) / 2, rel=1e-11)
    assert nsb1([0, 1, 0], k)[0] == pytest.approx(math.log(k) / 2, rel=1e-11)


def test_single_category_alphabet() -> None:
    assert nsb1([17], 1) == (0.0, 0.0)
    assert nsb1([0], 1) == (0.0, 0.0)


@pytest.mark.parametrize(("n", "coincidences"), [(10**5, 3), (10**6, 5)])
def test_unknown_k_approaches_nemenman_asymptote(n: int, coincidences: int) -> None:
    # Nemenman (2011), eqs. 29-30: S ≈ γ - log 2 + 2 log N - ψ(Δ), δS ≈ sqrt(ψ₁(Δ)), for
    # Δ = N - K_observed coincidences, Δ ≪ N; the gap closes like Δ/N.
    counts = [2] * coincidences + [1] * (n - 2 * coincidences)
    mean, sd = nsb1(counts, None)
    asym = np.euler_gamma - math.log(2) + 2 * math.log(n) - special.digamma(coincidences)
    assert abs(mean - asym) < 10 * coincidences / n
    assert sd == pytest.approx(math.sqrt(special.polygamma(1, coincidences)), rel=1e-3)


def test_no_coincidence_unknown_k_is_log_n_with_infinite_sd() -> None:
    assert nsb1([1] * 50, None) == (math.log(50), math.inf)
    mean, sd = nsb1([1] * 50, 1000)
    assert math.isfinite(mean)
    assert 0 < sd < math.inf
    assert math.log(50) < mean < math.log(1000)


@pytest.mark.parametrize(("k", "n"), [(10, 10**6), (100, 10**6)])
def test_well_sampled_agrees_with_miller_madow(k: int, n: int) -> None:
    rng = np.random.default_rng(k)
    p = rng.dirichlet(np.ones(k))
    counts = rng.multinomial(n, p)
    f = counts[counts > 0] / n
    miller_madow = -np.sum(f * np.log(f)) + (f.size - 1) / (2 * n)
    for alphabet in (k, None):
        mean, sd = nsb1(counts, alphabet)
        assert abs(mean - miller_madow) < 0.05 * sd
        assert abs(mean - -np.sum(p * np.log(p))) < 5 * sd


def _grid_counts(seed: int) -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(seed)
    cases = []
    for k in (10, 100, 1000):
        for n in (10, 100, 1000, 10**4, 10**5):
            for concentration in (0.1, 1.0):
                p = rng.dirichlet(np.full(k, concentration))
                cases.append((rng.multinomial(n, p, size=3), k))
            for exponent in (0.8, 1.5):
                p = 1.0 / np.arange(1, k + 1) ** exponent
                cases.append((rng.multinomial(n, p / p.sum(), size=3), k))
    return cases


def test_finite_on_dirichlet_and_zipf_grid() -> None:
    for counts, k in _grid_counts(7):
        mean, sd = nsb_entropy(counts, k)
        assert np.all(np.isfinite(mean)), (k, counts.sum(1))
        assert np.all(np.isfinite(sd)), (k, counts.sum(1))
        assert np.all((mean > 0) & (mean < math.log(k)))
        assert np.all(sd > 0)
        mean, sd = nsb_entropy(counts, None)
        has_coincidence = counts.sum(1) > np.count_nonzero(counts, axis=1)
        assert np.all(np.isfinite(mean))
        assert np.all(np.isfinite(sd[has_coincidence]))


def test_large_n_and_large_k() -> None:
    rng = np.random.default_rng(1)
    k = 10**6
    p = rng.dirichlet(np.ones(k))
    counts = rng.multinomial(10**6, p)[None]
    start = time.perf_counter()
    mean, sd = nsb_entropy(counts, k)
    elapsed = time.perf_counter() - start
    truth = -np.sum(p * np.log(p))
    assert abs(mean[0] - truth) < 5 * sd[0] + 1e-3
    print(f"NSB, K = N = 1e6: {elapsed * 1e3:.1f} ms")
    counts = rng.multinomial(10**9, np.full(100, 0.01))[None]
    mean, sd = nsb_entropy(counts, 100)
    assert abs(mean[0] - math.log(100)) < 1e-6
    assert 0 < sd[0] < 1e-6


def test_batch_equals_rows_and_layout_does_not_matter() -> None:
    rng = np.random.default_rng(2)
    # 20 rows run on the thread pool, one row on the calling thread: the same numbers.
    counts = rng.multinomial(200, rng.dirichlet(np.ones(30)), size=20)
    mean, sd = nsb_entropy(counts, 40)
    for i, row in enumerate(counts):
        assert nsb1(list(row), 40) == (mean[i], sd[i])
    shuffled = counts[:, rng.permutation(30)]
    padded = np.concatenate([counts, np.zeros((20, 10), dtype=counts.dtype)], axis=1)
    np.testing.assert_allclose(nsb_entropy(shuffled, 40)[0], mean, rtol=1e-12)
    np.testing.assert_allclose(nsb_entropy(padded.astype(np.float64), 40)[0], mean, rtol=1e-12)
    # A count fingerprint past the histogram path (a few very large counts) agrees too.
    big = np.array([[10**7, 3, 3, 1, 10**7 + 5]])
    assert nsb_entropy(big, 5)[0][0] == pytest.approx(
        float(_mp_nsb([10**7, 3, 3, 1, 10**7 + 5], 5)[0]), rel=1e-10
    )


def test_speed_of_a_batch() -> None:
    rng = np.random.default_rng(3)
    counts = rng.multinomial(1000, np.full(20, 0.05), size=500)
    nsb_entropy(counts[:1], 20)
    start = time.perf_counter()
    mean, _ = nsb_entropy(counts, 20)
    print(f"NSB, 500 rows of K = 20, N = 1000: {(time.perf_counter() - start) * 1e3:.0f} ms")
    assert np.all(np.isfinite(mean))


def test_digamma_trigamma_against_scipy() -> None:
    x = np.concatenate([np.geomspace(1e-8, 1e12, 600), np.linspace(0.5, 30, 600)])
    psi = np.array([digamma(v) for v in x])
    psi1 = np.array([trigamma(v) for v in x])
    tail = np.array([trigamma_tail(v) for v in x])
    ref_psi = special.digamma(x)
    # ψ has a root at 1.4616...: there the error is absolute.
    np.testing.assert_allclose(psi, ref_psi, rtol=1e-14, atol=2e-15)
    np.testing.assert_allclose(psi1, special.polygamma(1, x), rtol=2e-15)
    with mp.workdps(50):
        ref_tail = np.array([float(mp.psi(1, mp.mpf(v)) - 1 / mp.mpf(v)) for v in x])
    np.testing.assert_allclose(tail, ref_tail, rtol=5e-15)


@pytest.mark.parametrize(
    ("counts", "k", "error", "match"),
    [
        ([[1, 2]], 1, ValueError, "`alphabet_size` \\(1\\) is smaller"),
        ([[1, 2]], 0, ValueError, "`alphabet_size` must be a positive integer"),
        ([[1, -2]], 3, ValueError, "`counts` must be non-negative whole numbers"),
        ([[1, 2.5]], 3, ValueError, "`counts` must be non-negative whole numbers"),
        ([[1, np.nan]], 3, ValueError, "`counts` must be finite"),
        ([1, 2], 3, ValueError, "`counts` must be 2-D"),
        ([[0, 0]], None, ValueError, "no samples needs `alphabet_size`"),
        ([[1, 2]], 2.5, TypeError, "`alphabet_size` must be an integer or None"),
    ],
)
def test_preconditions(counts, k, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        nsb_entropy(np.asarray(counts), k)
