"""Hypothesis properties of the measures (deterministic profile from conftest.py)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import infoloss as il


@st.composite
def distributions(draw, n=None, *, zeros=True):  # type: ignore[no-untyped-def]
    """Probability vectors, with exact zeros and tiny entries among them."""
    if n is None:
        n = draw(st.integers(1, 12))
    weights = draw(
        hnp.arrays(
            np.float64,
            n,
            elements=st.one_of(
                st.floats(1e-6, 1.0),
                st.just(0.0) if zeros else st.floats(1e-6, 1.0),
                st.floats(1e-300, 1e-250),
            ),
        )
    )
    if weights.sum() == 0:
        weights[draw(st.integers(0, n - 1))] = 1.0
    return weights / weights.sum()


@st.composite
def pairs(draw, *, q_full_support=False):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 12))
    p = draw(distributions(n))
    q = draw(distributions(n, zeros=not q_full_support))
    return p, q


def _tol(*values):  # type: ignore[no-untyped-def]
    return 1e-12 * (1.0 + sum(abs(float(v)) for v in values if np.isfinite(v)))


@given(pairs())
def test_gibbs_inequality(pq):
    p, q = pq
    assert il.cross_entropy(p, q) >= il.entropy(p) - _tol(il.entropy(p))


@given(pairs())
def test_kl_nonnegative_and_zero_only_at_equality(pq):
    p, q = pq
    d = il.kl_divergence(p, q)
    assert d >= 0 or math.isclose(d, 0.0, abs_tol=1e-15)
    assert il.kl_divergence(p, p) == 0.0
    assert il.kl_divergence(q, q) == 0.0


@given(pairs(q_full_support=True))
def test_kl_is_cross_entropy_minus_entropy(pq):
    p, q = pq
    h, hpq, d = il.entropy(p), il.cross_entropy(p, q), il.kl_divergence(p, q)
    assert math.isclose(d, hpq - h, rel_tol=1e-9, abs_tol=_tol(h, hpq))


@given(pairs())
def test_kl_infinite_exactly_when_support_not_covered(pq):
    p, q = pq
    uncovered = bool(np.any((p > 0) & (q == 0)))
    assert (il.kl_divergence(p, q) == np.inf) == uncovered
    assert (il.cross_entropy(p, q) == np.inf) == uncovered


@given(distributions())
def test_entropy_at_most_log_n(p):
    n = p.shape[-1]
    h = il.entropy(p)
    assert 0.0 <= h <= math.log(n) + _tol(math.log(n))


@given(st.integers(1, 2000))
def test_entropy_equals_log_n_at_uniform(n):
    assert math.isclose(il.entropy(np.full(n, 1.0 / n)), math.log(n), rel_tol=1e-13)


@given(pairs())
def test_js_symmetric_bounded_finite(pq):
    p, q = pq
    a, b = il.js_divergence(p, q), il.js_divergence(q, p)
    assert np.isfinite(a)
    assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
    assert -1e-15 <= a <= math.log(2) + 1e-15
    assert il.js_divergence(p, p) == 0.0


@given(pairs(q_full_support=True), st.floats(-50, 50))
def test_logits_are_shift_invariant(pq, shift):
    p, q = pq
    z = np.log(q)
    a = il.cross_entropy(p, z, form=("probs", "logits"))
    b = il.cross_entropy(p, z + shift, form=("probs", "logits"))
    assert math.isclose(a, b, rel_tol=1e-10, abs_tol=1e-12)


@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_mutual_information_nonnegative_and_chain_rule(nx, ny, seed):
    rng = np.random.default_rng(seed)
    pxy = rng.dirichlet(np.full(nx * ny, 0.5)).reshape(nx, ny)
    mi = il.mutual_information(pxy)
    assert mi >= 0
    hx = il.entropy(pxy.sum(1))
    hy_given_x = il.conditional_entropy(pxy)
    assert math.isclose(il.joint_entropy(pxy), hx + hy_given_x, rel_tol=1e-10, abs_tol=1e-12)


# --- never negative from exactly normalised inputs (logits), on both implementations -------


@st.composite
def logit_pairs(draw):  # type: ignore[no-untyped-def]
    """Two logit rows, often nearly equal (where rounding used to make D and JS < 0), in
    float32 or float64, with -inf entries among them."""
    n = draw(st.integers(1, 12))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    finite = st.floats(-30, 30, width=32)
    a = draw(hnp.arrays(np.float64, n, elements=st.one_of(finite, st.just(-np.inf))))
    if np.all(a == -np.inf):
        a[0] = 0.0
    noise = draw(hnp.arrays(np.float64, n, elements=st.floats(-1e-6, 1e-6)))
    b = a + noise if draw(st.booleans()) else draw(hnp.arrays(np.float64, n, elements=finite))
    return a.astype(dtype), b.astype(dtype)


def _both_paths(f, *args, **kwargs):  # type: ignore[no-untyped-def]
    from infoloss._kernels import _layout, use_kernels

    reps = -(-_layout.MIN_SIZE // args[0].size)  # enough rows for the kernels to apply
    tiled = [np.tile(a, (reps,) + (1,) * max(a.ndim - 1, 1)) for a in args]
    with use_kernels(True):
        fast = f(*tiled, **kwargs)
    with use_kernels(False):
        slow = f(*args, **kwargs)
    return np.concatenate([np.ravel(fast), np.ravel(slow)])


@given(logit_pairs())
def test_kl_and_js_from_logits_never_negative(ab):
    a, b = ab
    for name in ("kl_divergence", "js_divergence"):
        values = _both_paths(getattr(il, name), a, b, form="logits")
        assert np.all(values >= 0), (name, values.min())
    assert np.all(_both_paths(il.js_divergence, a, a, form="logits") == 0)
    assert np.all(_both_paths(il.js_divergence, a, a, form="log_probs", normalize=True) == 0)


@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**32 - 1), st.booleans())
def test_mutual_information_from_logits_never_negative(nx, ny, seed, independent):
    rng = np.random.default_rng(seed)
    if independent:  # log P(x) + log P(y): I = 0 exactly in exact arithmetic
        z = rng.normal(0, 3, nx)[:, None] + rng.normal(0, 3, ny)[None, :]
    else:
        z = rng.normal(0, 3, (nx, ny))
    values = _both_paths(il.mutual_information, z[None], form="logits")
    assert np.all(values >= 0), values.min()
