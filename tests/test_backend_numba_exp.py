"""The kernels' vectorisable exp: ``fexp`` and the log-sum-exp loops' ``fexp_low``."""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import pytest
from numba import njit

from infoloss._kernels import _exp
from infoloss._backends.numba._exp import fexp, fexp_low


def _elementwise(f: Any) -> Any:
    """A jitted loop applying the numba-only ``f`` to each entry of a 1-d array."""

    @njit
    def apply(x: Any) -> Any:
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = f(x[i])
        return out

    return apply


_fexp = _elementwise(fexp)
_fexp_low = _elementwise(fexp_low)


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
    x = np.concatenate([rng.uniform(low, high, 4000), near_sub, edges]).astype(dtype)
    return np.concatenate([x, _payload_nans(dtype)])


def _payload_nans(dtype: Any) -> np.ndarray:
    """NaNs with payload bits (signalling, negative, and R's NA for float64): a bit trick
    that let a payload through would turn them into numbers."""
    if dtype == np.float32:
        bits = np.array([0x7FC00123, 0x7F800001, 0xFFC00001, 0x7FFFFFFF], np.uint32)
        return bits.view(np.float32)
    bits = np.array([0x7FF00000000007A2, 0x7FF0000000000001, 0xFFF8000000000001], np.uint64)
    return bits.view(np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_with_any_payload_stays_nan(dtype: Any) -> None:
    x = _payload_nans(dtype)
    assert np.isnan(x).all()
    assert np.isnan(_fexp_low(x)).all()
    assert np.isnan(_fexp(x)).all()


@pytest.mark.parametrize(("dtype", "low", "high", "ulps"), CASES)
def test_fexp_low_is_fexp_bit_for_bit_on_its_domain(
    dtype: Any, low: float, high: float, ulps: int
) -> None:
    x = _arguments(dtype, low, high)
    a, b = _fexp_low(x), _fexp(x)
    same = (a.view(np.uint8) == b.view(np.uint8)).reshape(len(x), -1).all(axis=1)
    same |= np.isnan(a) & np.isnan(b)  # NaN payloads may differ
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


def test_stale_kernel_caches_are_dropped_when_a_source_changes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """numba keys each kernel's cache on its own file; the package drops every cache index
    when any of its sources changes (the kernels inline _exp.py and _rows.py)."""
    import os

    from infoloss._kernels import drop_stale_caches

    src = tmp_path / "_exp.py"
    src.write_text("x = 1\n")
    (tmp_path / "info.py").write_text("y = 2\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    (cache / "info.kernel-1.py311.nbi").write_text("index")
    (cache / "info.kernel-1.py311.1.nbc").write_text("code")
    assert drop_stale_caches(tmp_path)  # no stamp yet: dropped
    assert not (cache / "info.kernel-1.py311.nbi").exists()
    assert (cache / "info.kernel-1.py311.1.nbc").exists()  # numba overwrites the data
    (cache / "info.kernel-1.py311.nbi").write_text("index")
    assert not drop_stale_caches(tmp_path)  # nothing changed: kept
    assert (cache / "info.kernel-1.py311.nbi").exists()
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # _exp.py edited
    assert drop_stale_caches(tmp_path)
    assert not (cache / "info.kernel-1.py311.nbi").exists()
