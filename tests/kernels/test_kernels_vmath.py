"""The kernels' one exp and log (``_kernels/include/vmath.h``) against mpmath over their
whole domains: ``il_exp`` and ``il_exp_low`` (bit for bit equal on the latter's domain),
``il_log`` over every binade of positive floats, subnormals included, ``il_log_ratio``
over pairs of any exponents, ``il_log1p_unit`` over [0, 1] and ``il_log1p_d`` over
[0, max]; the block forms (``il_log1p_block_d``, ``il_log_block_d``) give those bits
wherever a value stands in a block."""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import pytest

vmath = pytest.importorskip("infoloss._kernels._vmath")

# (dtype, lowest exp argument tried, il_exp_low's upper end, ulp bound for exp)
CASES = [
    (np.float32, -110.0, 43.66827237527655, 1),
    (np.float64, -750.0, 570.523280107995, 1),
]
FLOATS = [np.float32, np.float64]
_INT = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Distance in units in the last place, for values of one sign (subnormals included:
    adjacent floats differ by 1 in their bit patterns)."""
    it = _INT[got.dtype]
    return np.abs(got.view(it).astype(np.int64) - want.view(it).astype(np.int64))


def _mp(f: Any, *cols: np.ndarray) -> np.ndarray:
    mpmath.mp.prec = 100
    return np.array(
        [float(f(*(mpmath.mpf(float(v)) for v in row))) for row in zip(*cols, strict=True)]
    )


def _payload_nans(dtype: Any) -> np.ndarray:
    """NaNs with payload bits (signalling, negative, and R's NA for float64): a bit trick
    that let a payload through would turn them into numbers."""
    if dtype == np.float32:
        bits = np.array([0x7FC00123, 0x7F800001, 0xFFC00001, 0x7FFFFFFF], np.uint32)
        return bits.view(np.float32)
    bits = np.array([0x7FF00000000007A2, 0x7FF0000000000001, 0xFFF8000000000001], np.uint64)
    return bits.view(np.float64)


def _exp_arguments(dtype: Any, low: float, high: float) -> np.ndarray:
    rng = np.random.default_rng(7)
    info = np.finfo(dtype)
    tiny = float(np.log(np.float64(info.smallest_subnormal)))
    # around the subnormal threshold, where the two-step scaling rounds once
    near_sub = np.linspace(float(np.log(np.float64(info.tiny))) - 2, tiny + 0.2, 400)
    edges = [0.0, -0.0, -1e-30, 1e-30, low, high]
    return np.concatenate([rng.uniform(low, high, 4000), near_sub, edges]).astype(dtype)


def _positive_floats(dtype: Any, n: int, seed: int) -> np.ndarray:
    """Positive finite floats spread evenly over their bit patterns: every binade, the
    subnormals and both ends included."""
    it = _INT[np.dtype(dtype)]
    top = np.array(np.finfo(dtype).max, dtype).view(it)
    bits = np.random.default_rng(seed).integers(1, int(top), n, dtype=np.int64).astype(it)
    edges = np.array([np.finfo(dtype).smallest_subnormal, np.finfo(dtype).tiny, 1.0], dtype)
    return np.concatenate([bits.view(dtype), edges, np.array([np.finfo(dtype).max], dtype)])


@pytest.mark.parametrize("dtype", FLOATS)
def test_exp_edges(dtype: Any) -> None:
    x = np.array([-np.inf, np.inf, 0.0, -0.0, 1e4, -1e4], dtype)
    got = vmath.exp(x)
    np.testing.assert_array_equal(got, np.array([0.0, np.inf, 1.0, 1.0, np.inf, 0.0], dtype))
    assert np.isnan(vmath.exp(_payload_nans(dtype))).all()
    assert np.isnan(vmath.exp_low(_payload_nans(dtype))).all()


@pytest.mark.parametrize(("dtype", "low", "high", "ulps"), CASES)
def test_exp_against_mpmath(dtype: Any, low: float, high: float, ulps: int) -> None:
    x = _exp_arguments(dtype, low, high)
    want = _mp(mpmath.exp, x).astype(dtype)
    assert np.max(_ulps(vmath.exp(x), want)) <= ulps
    # overflow: +inf from the last float whose exp is not representable on
    big = np.array([np.log(np.finfo(dtype).max) * 1.0001, 1e3], dtype)
    assert np.all(vmath.exp(big) == np.inf)


@pytest.mark.parametrize(("dtype", "low", "high", "ulps"), CASES)
def test_exp_low_is_exp_bit_for_bit_on_its_domain(
    dtype: Any, low: float, high: float, ulps: int
) -> None:
    x = np.concatenate([_exp_arguments(dtype, low, high), np.array([-np.inf], dtype)])
    a, b = vmath.exp_low(x), vmath.exp(x)
    np.testing.assert_array_equal(a.view(_INT[a.dtype]), b.view(_INT[b.dtype]))


@pytest.mark.parametrize("dtype", FLOATS)
def test_log_against_mpmath_over_every_binade(dtype: Any) -> None:
    x = _positive_floats(dtype, 3000, seed=3)
    near_one = (1.0 + np.random.default_rng(4).uniform(-0.3, 0.3, 500)).astype(dtype)
    x = np.concatenate([x, near_one])
    got = vmath.log(x).astype(np.float64)
    want = _mp(mpmath.log, x)
    eps = float(np.finfo(dtype).eps)
    # within 2 ulps of the true value, relative to it (near x = 1 too: log1p's accuracy)
    assert np.all(np.abs(got - want) <= 2 * eps * np.abs(want)), np.max(
        np.abs(got - want) / np.abs(want)
    )
    assert vmath.log(np.array([1.0], dtype))[0] == 0


@pytest.mark.parametrize("dtype", FLOATS)
def test_log_ratio_against_mpmath(dtype: Any) -> None:
    a = _positive_floats(dtype, 2000, seed=5)
    b = _positive_floats(dtype, 2000, seed=6)
    rng = np.random.default_rng(8)
    with np.errstate(over="ignore"):  # near the largest float; such pairs are dropped
        close = (a * (1 + rng.uniform(-1e-3, 1e-3, a.size))).astype(dtype)  # a/b near 1
    a, b = np.concatenate([a, a]), np.concatenate([b, close])
    ok = (a > 0) & (b > 0) & np.isfinite(b)
    a, b = a[ok], b[ok]
    got = vmath.log_ratio(a, b).astype(np.float64)
    want = _mp(lambda u, v: mpmath.log(u / v), a, b)
    eps = float(np.finfo(dtype).eps)
    nonzero = want != 0
    err = np.abs(got - want)[nonzero] / np.abs(want[nonzero])
    assert np.all(err <= 3 * eps), np.max(err)
    assert np.all(got[~nonzero] == 0)


def _unit_arguments(dtype: Any) -> np.ndarray:
    """[0, 1] for il_log1p_unit: a dense grid, random points, every binade down to the
    subnormals, and both candidate cuts (1/2, where the reduction changes, and sqrt2 - 1,
    where keeping |s| <= 0.172 would put it) with their neighbours."""
    rng = np.random.default_rng(11)
    info = np.finfo(dtype)
    grid = np.linspace(0.0, 1.0, 8001)
    spread = _positive_floats(dtype, 4000, seed=12)
    spread = spread[spread <= 1]
    subnormal = rng.uniform(0.0, float(info.tiny), 200).astype(dtype)
    cuts = []
    for c in (0.5, float(np.sqrt(2.0) - 1.0), 1.0):
        at = np.array([c], dtype)
        for _ in range(4):
            cuts += [at.copy(), np.nextafter(at, dtype(0))]
            at = np.nextafter(at, dtype(2))
    x = np.concatenate([grid.astype(dtype), rng.uniform(0.0, 1.0, 6000).astype(dtype)])
    edges = np.array([0.0, info.smallest_subnormal, info.tiny, info.eps], dtype)
    x = np.concatenate([x, spread, subnormal, edges, *cuts])
    return np.unique(x[(x >= 0) & (x <= 1)])


def _log1p_ulp_error(x: np.ndarray, got: np.ndarray) -> np.ndarray:
    """|got - log1p(x)| in units in the last place of log1p(x) in x's type, the difference
    taken in mpmath so that float64 results are not rounded first."""
    mpmath.mp.prec = 120
    digits = np.finfo(x.dtype).nmant + 1
    tiny = mpmath.mpf(float(np.finfo(x.dtype).smallest_subnormal))
    out = np.empty(x.size)
    for i, (v, g) in enumerate(zip(x.tolist(), got.tolist(), strict=True)):
        want = mpmath.log1p(mpmath.mpf(v))
        ulp = tiny
        if want != 0:
            ulp = max(mpmath.ldexp(1, int(mpmath.floor(mpmath.log(want, 2))) + 1 - digits), tiny)
        out[i] = float(abs(mpmath.mpf(g) - want) / ulp)
    return out


@pytest.mark.parametrize("dtype", FLOATS)
def test_log1p_unit_against_mpmath_over_its_domain(dtype: Any) -> None:
    x = _unit_arguments(dtype)
    got = vmath.log1p_unit(x)
    assert got.dtype == np.dtype(dtype)
    err = _log1p_ulp_error(x, got)
    # the bound vmath.h states: within 1 ulp of the true value (worst measured 0.94 in
    # both types, every float32 in [0, 1] included)
    assert np.max(err) < 1.0, (np.max(err), x[np.argmax(err)])
    sub = x < np.finfo(dtype).tiny
    np.testing.assert_array_equal(got[sub], x[sub])  # log1p(x) rounds to x there
    assert got[x == 0][0] == 0
    assert got[x == 1][0] == np.array(np.log(2.0), dtype)  # ln 2, correctly rounded


@pytest.mark.parametrize("dtype", FLOATS)
def test_log1p_unit_keeps_nan(dtype: Any) -> None:
    assert np.isnan(vmath.log1p_unit(_payload_nans(dtype))).all()


def _nonnegative_doubles(count: int, seed: int) -> np.ndarray:
    """u >= 0 for il_log1p_d: every binade from the subnormals to the largest double, a
    dense grid where w = 1 + u rounds (u near 2^-53 .. 1), and the edges."""
    rng = np.random.default_rng(seed)
    spread = _positive_floats(np.float64, count, seed=seed)
    near = np.ldexp(rng.uniform(1.0, 2.0, 4000), rng.integers(-60, 2, 4000))
    info = np.finfo(np.float64)
    edges = np.array(
        [0.0, info.smallest_subnormal, info.tiny, info.eps / 2, info.eps, 1.0, info.max]
    )
    return np.unique(np.concatenate([spread, near, edges]))


def test_log1p_against_mpmath_over_its_domain() -> None:
    x = _nonnegative_doubles(6000, seed=21)
    got = vmath.log1p(x)
    err = _log1p_ulp_error(x, got)
    # il_log1p_unit up to 1 (within 1 ulp); above, log(w)·u/(w − 1): il_log's error and
    # two roundings (worst measured 1.95 ulp over 20,000 values, above 1)
    assert np.max(err[x <= 1]) < 1.0, np.max(err[x <= 1])
    assert np.max(err) < 2.5, (np.max(err), x[np.argmax(err)])
    tiny = x < 2.0**-53  # 1 + u rounds to 1: log1p(u) rounds to u
    np.testing.assert_array_equal(got[tiny], x[tiny])


@pytest.mark.parametrize("size", [1, 3, 8, 13, 32])
def test_block_logs_give_the_scalar_bits_wherever_a_value_stands(size: int) -> None:
    x = _nonnegative_doubles(500, seed=22)
    x = x[x < 1e300]
    np.testing.assert_array_equal(vmath.log1p_block(x, size), vmath.log1p(x))
    y = x[x > 0]
    np.testing.assert_array_equal(vmath.log_block(y, size), vmath.log(y))
    with pytest.raises(ValueError, match="size"):
        vmath.log1p_block(x, vmath.LOG_BLOCK + 1)
