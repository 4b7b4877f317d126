"""Cross-checks against SciPy where we agree, and one test per documented difference."""

from __future__ import annotations

import math

import numpy as np
import pytest

import infoloss as il

scipy_stats = pytest.importorskip("scipy.stats")
scipy_special = pytest.importorskip("scipy.special")
scipy_distance = pytest.importorskip("scipy.spatial.distance")

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("base", [None, 2, 10])
def test_entropy_agrees_with_scipy(base):
    p = RNG.dirichlet(np.ones(30), size=8)
    p[:, :5] = 0.0
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(
        il.entropy(p, base=base), scipy_stats.entropy(p, base=base, axis=-1), rtol=1e-13
    )


def test_kl_agrees_with_scipy_rel_entr():
    p = RNG.dirichlet(np.ones(20), size=6)
    q = RNG.dirichlet(np.ones(20), size=6)
    p[:, 0] = 0.0
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(
        il.kl_divergence(p, q), scipy_special.rel_entr(p, q).sum(axis=1), rtol=1e-13
    )
    np.testing.assert_allclose(
        il.kl_divergence(p, q), scipy_stats.entropy(p, q, axis=1), rtol=1e-13
    )


def test_difference_scipy_entropy_renormalises_silently():
    raw = np.array([1.0, 3.0])
    assert scipy_stats.entropy(raw) == pytest.approx(il.entropy([0.25, 0.75]))
    with pytest.raises(ValueError, match="do not sum to 1"):
        il.entropy(raw)
    assert il.entropy(raw, normalize=True) == pytest.approx(scipy_stats.entropy(raw), rel=1e-15)


def test_difference_scipy_entropy_with_qk_is_kl_not_cross_entropy():
    p, q = np.array([0.2, 0.8]), np.array([0.5, 0.5])
    assert scipy_stats.entropy(p, q) == pytest.approx(il.kl_divergence(p, q), rel=1e-15)
    assert scipy_stats.entropy(p, q) != pytest.approx(il.cross_entropy(p, q))


def test_difference_scipy_jensenshannon_is_the_square_root():
    p, q = RNG.dirichlet(np.ones(5)), RNG.dirichlet(np.ones(5))
    d = scipy_distance.jensenshannon(p, q)
    assert d**2 == pytest.approx(il.js_divergence(p, q), rel=1e-12)


def test_difference_scipy_accepts_negative_probabilities():
    bad = np.array([1.2, -0.2])
    # SciPy gives a number (here -inf or NaN); we refuse the input and name it.
    assert not np.isfinite(scipy_stats.entropy(bad)) or scipy_stats.entropy(bad) < math.inf
    with pytest.raises(ValueError, match="`p` contains negative"):
        il.entropy(bad)


def test_scipy_kl_div_elementwise_is_our_terms():
    p, q = RNG.dirichlet(np.ones(8)), RNG.dirichlet(np.ones(8))
    # kl_div(p, q) = p log(p/q) - p + q, whose sum equals D(P||Q) for normalised P and Q.
    assert scipy_special.kl_div(p, q).sum() == pytest.approx(il.kl_divergence(p, q), rel=1e-12)
