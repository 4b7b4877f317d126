"""The kernels' vectorisable exp: ``fexp`` and the log-sum-exp loops' ``fexp_low``."""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import pytest
from numba import njit

from infoloss._backends.numba import _exp
from infoloss._backends.numba._exp import fexp, fexp_low


@njit
def _fexp(x: Any) -> Any:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = fexp(x[i])
    return out


@njit
def _fexp_low(x: Any) -> Any:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = fexp_low(x[i])
    return out


# (dtype, lowest argument tried, fexp_low's upper end, ulp bound against mpmath)
CASES = [
    (np.float32, -110.0, _exp._LOW_MAX32, 1),
    (np.float64, -750.0, _exp._LOW_MAX64, 1),
]


def _arguments(dtype: Any, low: float, high: float) -> np.ndarray:
    rng = np.random.default_rng(7)
    edges = [0.0, -0.0, -1e-30, -np.inf, np.nan, -np.nan, low, high]
    info = np.finfo(dtype)
    tiny = float(np.log(np.float64(info.smallest_subnormal)))
    # around the subnormal threshold, where the two-step scaling rounds once
    near_sub = np.linspace(float(np.log(np.float64(info.tiny))) - 2, tiny + 0.2, 400)
    return np.concatenate([rng.uniform(low, high, 4000), near_sub, edges]).astype(dtype)


@pytest.mark.parametrize(("dtype", "low", "high", "ulps"), CASES)
def test_fexp_low_is_fexp_bit_for_bit_on_its_domain(
    dtype: Any, low: float, high: float, ulps: int
) -> None:
    x = _arguments(dtype, low, high)
    a, b = _fexp_low(x), _fexp(x)
    same = (a.view(np.uint8) == b.view(np.uint8)).reshape(len(x), -1).all(axis=1)
    assert same.all(), x[~same]


@pytest.mark.parametrize(("dtype", "low", "high", "ulps"), CASES)
def test_fexp_against_mpmath(dtype: Any, low: float, high: float, ulps: int) -> None:
    x = _arguments(dtype, low, high)
    got = _fexp(x)
    finite = np.isfinite(x)
    mpmath.mp.prec = 80
    want = np.array([float(mpmath.exp(mpmath.mpf(float(v)))) for v in x[finite]]).astype(dtype)
    # distance in units in the last place (subnormals included: adjacent floats differ by 1)
    ia = got[finite].view(np.int32 if dtype == np.float32 else np.int64).astype(np.int64)
    ib = want.view(np.int32 if dtype == np.float32 else np.int64).astype(np.int64)
    assert np.max(np.abs(ia - ib)) <= ulps
    assert _fexp(np.array([-np.inf], dtype))[0] == 0
    assert np.isnan(_fexp(np.array([np.nan, -np.nan], dtype))).all()
    assert _fexp(np.array([0.0], dtype))[0] == 1
