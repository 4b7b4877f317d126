"""The information measures: exact edges, an mpmath oracle, identities and invariances."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

import infoloss as il

mpmath.mp.dps = 50

RNG = np.random.default_rng(20261124)


# ----------------------------------------------------------------------- mpmath oracle


def _mp_logq(row, form):  # type: ignore[no-untyped-def]
    """Exact natural-log probabilities of one row given in ``form`` (list of mpf)."""
    vals = [mpmath.mpf(float(v)) if np.isfinite(v) else None for v in row]
    if form == "probs":
        return [mpmath.log(v) if v and v > 0 else None for v in vals]
    if form == "log_probs":
        return vals
    lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in vals if v is not None))
    return [v - lse if v is not None else None for v in vals]


def mp_entropy(row, form="probs"):  # type: ignore[no-untyped-def]
    lq = _mp_logq(row, form)
    return -mpmath.fsum(mpmath.exp(v) * v for v in lq if v is not None)


def mp_cross_entropy(p, q, form="probs"):  # type: ignore[no-untyped-def]
    lp, lq = _mp_logq(p, form), _mp_logq(q, form)
    total = mpmath.mpf(0)
    for a, b in zip(lp, lq, strict=False):
        if a is None:
            continue
        if b is None:
            return mpmath.inf
        total -= mpmath.exp(a) * b
    return total


def mp_kl(p, q, form="probs"):  # type: ignore[no-untyped-def]
    lp, lq = _mp_logq(p, form), _mp_logq(q, form)
    total = mpmath.mpf(0)
    for a, b in zip(lp, lq, strict=False):
        if a is None:
            continue
        if b is None:
            return mpmath.inf
        total += mpmath.exp(a) * (a - b)
    return total


def mp_js(p, q):  # type: ignore[no-untyped-def]
    total = mpmath.mpf(0)
    for a, b in zip(p, q, strict=False):
        a, b = mpmath.mpf(float(a)), mpmath.mpf(float(b))
        m = (a + b) / 2
        if a > 0:
            total += a * mpmath.log(a / m) / 2
        if b > 0:
            total += b * mpmath.log(b / m) / 2
    return total


def _rel_err(got, exact):  # type: ignore[no-untyped-def]
    exact = float(exact)
    if exact == 0:
        return abs(float(got))
    return abs(float(got) - exact) / abs(exact)


def _dirichlet(n, alpha=1.0, dtype=np.float64, rng=RNG):  # type: ignore[no-untyped-def]
    p = rng.dirichlet(np.full(n, alpha))
    return p.astype(dtype)


def _hard_prob_rows():  # type: ignore[no-untyped-def]
    return {
        "subnormals": np.array([1.0 - 1e-300, 1e-310, 5e-324, 2.5e-320, 0.0]),
        "tiny and huge": np.array([0.5, 0.5 - 1e-17, 1e-200, 1e-300, 3e-308]),
        "point mass": np.array([1.0, 0.0, 0.0]),
        "uniform 7": np.full(7, 1 / 7),
        "1e5 outcomes": _dirichlet(100_000),
        "1e5 spiky": _dirichlet(100_000, alpha=0.01),
    }


@pytest.mark.parametrize("name", list(_hard_prob_rows()))
def test_entropy_matches_mpmath_float64(name):
    p = _hard_prob_rows()[name]
    assert _rel_err(il.entropy(p), mp_entropy(p)) <= 1e-13
    assert _rel_err(il.entropy(p, base=2), mp_entropy(p) / mpmath.log(2)) <= 1e-13


@pytest.mark.parametrize("name", ["subnormals", "tiny and huge", "1e5 outcomes", "1e5 spiky"])
def test_cross_entropy_and_kl_match_mpmath_float64(name):
    p = _hard_prob_rows()[name]
    q = RNG.permutation(p)
    q = np.where(q > 0, q, 1e-300)
    assert _rel_err(il.cross_entropy(p, q), mp_cross_entropy(p, q)) <= 1e-13
    assert _rel_err(il.kl_divergence(p, q), mp_kl(p, q)) <= 1e-13
    assert _rel_err(il.js_divergence(p, q), mp_js(p, q)) <= 1e-13


def test_kl_of_nearby_distributions_matches_mpmath():
    # log1p near P = Q: each term keeps its relative accuracy.
    p = np.array([0.3, 0.3, 0.4])
    q = np.array([0.3 + 1e-9, 0.3 - 1e-9, 0.4])
    assert _rel_err(il.kl_divergence(p, q), mp_kl(p, q)) <= 1e-6


@pytest.mark.parametrize(
    "z",
    [
        np.array([1e4, -1e4, 0.0, -np.inf]),
        np.array([1e4, 1e4 - 1.0, 1e4 - 30.0, -np.inf, -1e4]),
        np.array([-1e4, -1e4 + 0.5, -1e4 + 2.0]),
        RNG.normal(0, 20, size=100_000),
    ],
    ids=["pm1e4", "near-ties-1e4", "all-negative", "1e5-logits"],
)
def test_logit_measures_match_mpmath_float64(z):
    assert _rel_err(il.entropy(z, form="logits"), mp_entropy(z, "logits")) <= 1e-13
    w = z[::-1].copy()
    w[~np.isfinite(z[::-1])] = 0.0  # keep Q's support covering P's
    assert (
        _rel_err(il.cross_entropy(z, w, form="logits"), mp_cross_entropy(z, w, "logits")) <= 1e-13
    )
    assert _rel_err(il.kl_divergence(z, w, form="logits"), mp_kl(z, w, "logits")) <= 1e-12


def test_float32_within_a_few_ulp():
    eps32 = float(np.finfo(np.float32).eps)
    for n in (2, 10, 1000):
        p = _dirichlet(n, dtype=np.float32)
        q = _dirichlet(n, dtype=np.float32)
        h = il.entropy(p)
        assert h.dtype == np.float32
        assert _rel_err(h, mp_entropy(p)) <= 4 * eps32
        assert _rel_err(il.cross_entropy(p, q), mp_cross_entropy(p, q)) <= 4 * eps32
        z = RNG.normal(0, 5, size=n).astype(np.float32)
        assert _rel_err(il.entropy(z, form="logits"), mp_entropy(z, "logits")) <= 8 * eps32


# ----------------------------------------------------------------- the edges, exactly


def test_source_note_sunrise():
    p = np.array([1.0, 0.0])  # P(east) = 1, P(west) = 0
    info = il.self_information(p)
    assert info[0] == 0.0
    assert info[1] == np.inf
    assert il.entropy(p) == 0.0
    assert not np.signbit(il.entropy(p))


def test_edge_table():
    assert il.cross_entropy([0.0, 1.0], [0.0, 1.0]) == 0.0  # P = 0 where Q = 0: term is 0
    assert il.cross_entropy([0.5, 0.5], [1.0, 0.0]) == np.inf  # P > 0 where Q = 0
    assert il.kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert il.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2), rel=1e-15)
    js = il.js_divergence([1.0, 0.0], [0.0, 1.0])
    assert js == pytest.approx(math.log(2), rel=1e-15)
    assert np.isfinite(js)
    p = _dirichlet(50)
    assert il.kl_divergence(p, p) == 0.0
    assert il.js_divergence(p, p) == 0.0


def test_entropy_bounds_exactly_at_uniform_and_point_mass():
    for n in (2, 3, 10, 1024):
        assert il.entropy(np.full(n, 1 / n)) == pytest.approx(math.log(n), rel=1e-15)
        assert il.entropy(np.eye(n)[0]) == 0.0


def test_logits_with_minus_inf():
    z = np.array([0.0, -np.inf, 0.0])
    assert il.entropy(z, form="logits") == pytest.approx(math.log(2), rel=1e-15)
    assert il.kl_divergence(z, [0.0, 0.0, 0.0], form="logits") == pytest.approx(
        math.log(3 / 2), rel=1e-15
    )
    assert il.kl_divergence([0.0, 0.0, 0.0], z, form="logits") == np.inf
    assert il.cross_entropy([0.0, 0.0, -np.inf], z, form="logits") == pytest.approx(
        0.5 * math.log(2) + 0.5 * np.inf if False else np.inf
    )


def test_huge_logits_no_nan():
    z = np.array([[1e308, -1e308, 0.0], [-1e308, -1e308, -1e308]])
    h = il.entropy(z, form="logits")
    assert np.all(np.isfinite(h))
    assert h[0] == 0.0
    assert h[1] == pytest.approx(math.log(3))


def test_forms_agree():
    p = _dirichlet(12)
    q = _dirichlet(12)
    z = np.log(q) + 3.7  # logits of q
    for f in (il.cross_entropy, il.kl_divergence, il.js_divergence):
        ref = f(p, q)
        assert f(p, np.log(q), form=("probs", "log_probs")) == pytest.approx(ref, rel=1e-13)
        assert f(p, z, form=("probs", "logits")) == pytest.approx(ref, rel=1e-13)
        assert f(np.log(p), z, form=("log_probs", "logits")) == pytest.approx(ref, rel=1e-13)
    assert il.entropy(np.log(p), form="log_probs") == pytest.approx(il.entropy(p), rel=1e-14)


def test_normalize_opt_in():
    raw = np.array([1.0, 3.0])
    with pytest.raises(ValueError, match="do not sum to 1"):
        il.entropy(raw)
    assert il.entropy(raw, normalize=True) == pytest.approx(il.entropy([0.25, 0.75]))
    assert il.entropy(np.log(raw), form="log_probs", normalize=True) == pytest.approx(
        il.entropy([0.25, 0.75])
    )


# ------------------------------------------------------------ bases, axes, broadcasting


@pytest.mark.parametrize(
    ("base", "factor"),
    [
        (None, 1.0),
        ("nats", 1.0),
        (2, math.log(2)),
        ("bits", math.log(2)),
        (10, math.log(10)),
        (math.e, 1.0),
        (0.5, math.log(0.5)),
    ],
)
def test_bases(base, factor):
    p = _dirichlet(9)
    assert il.entropy(p, base=base) == pytest.approx(il.entropy(p) / factor, rel=1e-15)


def test_axis_and_broadcasting():
    p = RNG.dirichlet(np.ones(5), size=(3, 4))  # (3, 4, 5)
    q = RNG.dirichlet(np.ones(5), size=4)  # (4, 5) broadcasts
    ref = il.kl_divergence(p, q)
    assert ref.shape == (3, 4)
    moved = il.kl_divergence(np.moveaxis(p, -1, 0), np.moveaxis(q[None], -1, 0), axis=0)
    np.testing.assert_allclose(moved, ref, rtol=1e-15)
    loop = np.array([[il.kl_divergence(p[i, j], q[j]) for j in range(4)] for i in range(3)])
    np.testing.assert_allclose(ref, loop, rtol=1e-15)
    np.testing.assert_allclose(il.entropy(p.T, axis=0), il.entropy(p).T, rtol=1e-15)


def test_joint_measures_identities():
    pxy = RNG.dirichlet(np.ones(12)).reshape(3, 4)
    px, py = pxy.sum(1), pxy.sum(0)
    hxy = il.joint_entropy(pxy)
    assert hxy == pytest.approx(il.entropy(pxy.ravel()), rel=1e-14)
    assert il.conditional_entropy(pxy) == pytest.approx(hxy - il.entropy(px), rel=1e-12)
    assert il.conditional_entropy(pxy, axes=(-1, -2)) == pytest.approx(
        hxy - il.entropy(py), rel=1e-12
    )
    mi = il.mutual_information(pxy)
    assert mi == pytest.approx(il.entropy(px) + il.entropy(py) - hxy, rel=1e-10)
    assert mi == pytest.approx(il.kl_divergence(pxy.ravel(), np.outer(px, py).ravel()), rel=1e-13)
    indep = np.outer([0.5, 0.25, 0.25], [0.125, 0.875])
    assert il.mutual_information(indep) == 0.0
    logits = np.log(pxy) + 2.0
    assert il.mutual_information(logits, form="logits") == pytest.approx(mi, rel=1e-12)
    assert il.conditional_entropy(logits, form="logits") == pytest.approx(
        il.conditional_entropy(pxy), rel=1e-12
    )
    batch = RNG.dirichlet(np.ones(6), size=5).reshape(5, 2, 3)
    np.testing.assert_allclose(
        il.mutual_information(batch), [il.mutual_information(b) for b in batch], rtol=1e-14
    )


def test_perplexity():
    assert il.perplexity(np.full(8, 1 / 8)) == pytest.approx(8.0, rel=1e-15)
    p, q = _dirichlet(6), _dirichlet(6)
    assert il.perplexity(p, q) == pytest.approx(math.exp(il.cross_entropy(p, q)), rel=1e-15)


def test_self_information():
    np.testing.assert_allclose(il.self_information([0.5, 0.25], base=2), [1.0, 2.0], rtol=1e-15)
    z = np.array([[2.0, 0.0, -np.inf]])
    lse = mpmath.log(mpmath.exp(2) + 1)
    expected = [[float(lse - 2), float(lse), np.inf]]
    np.testing.assert_allclose(il.self_information(z, form="logits"), expected, rtol=1e-15)
    assert il.self_information(np.log(0.25), form="log_probs") == pytest.approx(math.log(4))


def test_numpy_scalar_results():
    assert isinstance(il.entropy([0.5, 0.5]), np.floating)
    assert il.entropy(np.ones((2, 3)) / 3).shape == (2,)


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: il.entropy([0.5, np.nan, 0.5]), "`p` contains NaN"),
        (lambda: il.entropy([1.5, -0.5]), "`p` contains negative"),
        (lambda: il.entropy([0.5, 0.6]), "`p` has rows that do not sum to 1"),
        (lambda: il.entropy([np.inf, 0.0]), "`p` contains infinite"),
        (lambda: il.entropy(np.zeros((2, 0))), "`p` has empty distributions"),
        (lambda: il.entropy(np.float64(1.0)), "`p` must have at least one dimension"),
        (lambda: il.entropy([0.5, 0.5], base=1), "`base` must be a positive number"),
        (lambda: il.entropy([0.5, 0.5], base=-2), "`base` must be a positive number"),
        (lambda: il.entropy([0.5, 0.5], base="decibels"), "`base` must be"),
        (lambda: il.entropy([0.5, 0.5], axis=1), "`axis` 1 is out of bounds"),
        (lambda: il.entropy([0.5, 0.5], axis=0.0), "`axis` must be an integer"),
        (lambda: il.entropy([0.5, 0.5], form="probabilities"), "`form` must be one of"),
        (lambda: il.entropy([0.0, 0.0], normalize=True), "no mass"),
        (lambda: il.kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5]), "shapes do not broadcast"),
        (lambda: il.kl_divergence([0.5, 0.5], [0.2, 0.7]), "`q` has rows that do not sum"),
        (lambda: il.entropy([0.0, np.inf], form="logits"), r"`p` contains \+inf logits"),
        (lambda: il.entropy([np.nan, 0.0], form="logits"), "`p` contains NaN"),
        (lambda: il.entropy([-np.inf, -np.inf], form="logits"), "all -inf"),
        (lambda: il.entropy([0.0, 0.0], form="log_probs"), "do not sum to 1"),
        (lambda: il.entropy([1j, 0.5]), "must be real"),
        (lambda: il.self_information([1.5]), "greater than 1"),
        (lambda: il.self_information([0.5], form="log_probs"), "greater than 0"),
        (lambda: il.joint_entropy([0.5, 0.5]), "at least two dimensions"),
        (lambda: il.joint_entropy([[0.5, 0.5]], axes=(0, 0)), "two different axes"),
        (lambda: il.perplexity([0.5, 0.5], form=("probs", "logits")), "single form"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_nothing_silently_changed():
    p = np.array([0.2, 0.8])
    before = p.copy()
    il.entropy(p)
    il.kl_divergence(p, p[::-1])
    np.testing.assert_array_equal(p, before)


def test_validate_false_skips_checks():
    assert np.isfinite(il.entropy([0.25, 0.25], validate=False))


def test_integer_input_is_promoted():
    assert il.entropy([1, 0]) == 0.0
    assert il.entropy(np.array([0, 1], dtype=np.int64)).dtype == np.float64
