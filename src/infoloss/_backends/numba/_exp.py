# mypy: ignore-errors
# (numba kernels: their types come from numba, not from annotations)
"""Vectorisable exp and log for the kernels.

numba lowers ``math.exp``/``math.log`` to libm calls, which LLVM cannot vectorise; the
kernels spend most of their time in these two functions, so they get range-reduced
polynomials built from plain arithmetic and a float/int bit cast (which LLVM turns into
SIMD code).  Each has a float32 flavour (accurate to about 1e-7 relative) and a float64
flavour (about 2e-16 relative); ``fexp``/``flog`` pick by the argument's type, so one
generic kernel source serves both dtypes.

Edges, relied on by the kernels:

- ``fexp(t)``: exp(t), correctly scaled into the subnormal range (below about
  e^-708 / e^-87 the polynomial's 2^n is applied in two steps, so e^-740 is the subnormal
  it should be, not 0); exactly 0 for ``t = -inf`` and where exp underflows (below
  ``_FLUSH64``/``_FLUSH32``); +inf above ``_HI64``/``_HI32``; NaN for NaN.
- ``fexp_low(t)``: the same for t ≤ ``_LOW_MAX`` (about 570 in float64, 43 in float32),
  bit for bit (``tests/test_backend_numba_exp.py``), cheaper: the 2^n scaling is always
  done in the two exact steps (no branch on the subnormal range), 2^(n + K) is built
  without a float-to-integer conversion, NaN passes through without a select, and there
  is no overflow test.  For the log-sum-exp loops, whose
  arguments are z − max(z) ≤ 0 (a larger argument only arises in a chunk that is summed
  again against a new maximum, so its garbage is discarded).
- ``flog(x)`` for finite ``x`` > 0, subnormals included; other inputs give meaningless
  finite values, so callers mask them (and count them as bad input) before use.
- ``flog_ratio(a, b)`` = log(a/b) for finite a, b > 0 at the cost of one log: the
  exponents are subtracted as integers and the mantissas' ratio brought into
  [1/√2, √2], so a/b never over- or underflows and a ≈ b keeps log1p's relative accuracy.

This module imports numba; it is only imported by the kernels when first called.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core.errors import NumbaIRAssumptionWarning
from numba.extending import intrinsic, overload

from . import fresh_caches

__all__ = ["FASTMATH", "cast_like", "fexp", "fexp_low", "flog", "flog_ratio"]

# Before any kernel of the package is compiled or loaded from numba's cache: the kernels
# inline this module's code, and numba would not see a change to it.
fresh_caches()

# numba's inliner runs a pedantic SSA check when it inlines the kernels' per-entry
# overloads (``inline="always"``) that contain a branch, and warns "variable ... is not in
# scope ... please report" on the first compile; the compiled code is right (the kernels'
# tests compare every form with the array-API code and mpmath).  Kernel modules all
# import this one, so the filter is set before any of them compiles.
warnings.filterwarnings("ignore", category=NumbaIRAssumptionWarning)

# Safe fast-math flags: no 'nnan'/'ninf' (−inf logits and NaN detection rely on IEEE
# semantics) and no 'nsz'; reassociation lets LLVM vectorise the reductions.
FASTMATH = {"contract", "arcp", "reassoc"}

_LN2 = math.log(2.0)
_INV_LN2 = 1.0 / _LN2


@intrinsic
def _bits32(typingctx, x):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


@intrinsic
def _float32(typingctx, n):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@intrinsic
def _bits64(typingctx, x):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _float64(typingctx, n):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


# Cody–Waite split of ln 2: the high parts have trailing zero bits so n·hi is exact.
_LN2_HI32 = np.float32(0.693145751953125)
_LN2_LO32 = np.float32(1.428606765330187e-06)
_LN2_HI64 = 0.6931471803691238
_LN2_LO64 = 1.9082149292705877e-10
# Below _SUB the scaling by 2^n is done as 2^(n + K) (an add to the exponent field, still
# normal) times 2^-K (one rounding into the subnormal range); below _FLUSH exp is 0 in
# the dtype and above _HI it overflows.
_SUB32 = np.float32(-80.0)
_FLUSH32 = np.float32(-104.0)
_HI32 = np.float32(88.72283)
_K32 = 64
_TWO_MK32 = np.float32(2.0**-64)
_SUB64 = -700.0
_FLUSH64 = -746.0
_HI64 = 709.782712893384
_K64 = 200
_TWO_MK64 = 2.0**-200


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _reduced32(t):
    """(n, p) with exp(t) = p·2^n: n = round(t/ln 2), p = exp(r) for r = t − n·ln 2."""
    n = np.floor(t * np.float32(_INV_LN2) + np.float32(0.5))
    r = (t - n * _LN2_HI32) - n * _LN2_LO32
    # Degree 6, interpolating exp at the Chebyshev nodes of |r| ≤ ln2/2 (near-minimax):
    # 2e-9 from exp, below float32 rounding; one term shorter than Taylor for the same
    # accuracy.
    p = np.float32(0.0013941108481958508)
    p = p * r + np.float32(0.00837512593716383)
    p = p * r + np.float32(0.04166635125875473)
    p = p * r + np.float32(0.16666415333747864)
    p = p * r + np.float32(0.5)
    p = p * r + np.float32(1.0)
    p = p * r + np.float32(1.0)
    return n, p


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _exp32(t):
    n, p = _reduced32(t)
    ni = np.int32(n)
    sub = t < _SUB32
    v = _float32(_bits32(p) + ((ni + np.int32(_K32) if sub else ni) << np.int32(23)))
    v = v * _TWO_MK32 if sub else v
    v = np.float32(0.0) if t < _FLUSH32 else v
    v = np.float32(np.inf) if t > _HI32 else v
    return t if t != t else v


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _reduced64(t):
    """(n, p) with exp(t) = p·2^n: n = round(t/ln 2), p = exp(r) for r = t − n·ln 2."""
    n = np.floor(t * _INV_LN2 + 0.5)
    r = (t - n * _LN2_HI64) - n * _LN2_LO64
    # Degree 11, interpolating exp at the Chebyshev nodes of |r| ≤ ln2/2 (near-minimax):
    # 4e-18 from exp, where Taylor needs degree 13.
    p = 2.5110037605963777e-08
    p = p * r + 2.763263963904103e-07
    p = p * r + 2.755724091857897e-06
    p = p * r + 2.4801485482328494e-05
    p = p * r + 0.00019841269890047113
    p = p * r + 0.0013888888952314775
    p = p * r + 0.008333333333319601
    p = p * r + 0.0416666666664881
    p = p * r + 0.1666666666666668
    p = p * r + 0.5000000000000019
    p = p * r + 1.0
    p = p * r + 1.0
    return n, p


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _exp64(t):
    n, p = _reduced64(t)
    ni = np.int64(n)
    sub = t < _SUB64
    v = _float64(_bits64(p) + ((ni + np.int64(_K64) if sub else ni) << np.int64(52)))
    v = v * _TWO_MK64 if sub else v
    v = 0.0 if t < _FLUSH64 else v
    v = np.inf if t > _HI64 else v
    return t if t != t else v


# fexp_low scales p·2^n as (p·2^(n + K))·2^-K: exact wherever the result is normal, one
# rounding into the subnormal range, and p·2^(n + K) stays finite for n + K ≤ 127 (1023).
# 2^(n + K) is built without a float-to-integer conversion: n + 1.5·2^23 + K + 127 is exact
# for the integer n, its low bits hold the biased exponent n + K + 127 (in [1, 254] on the
# domain), and the shift into the exponent field moves the magic number's own bits out.
# The scale enters by multiplication, so a NaN argument (whatever its payload) stays NaN
# through p, with no select.
_LOW_MAX64 = (1023 - _K64) * math.log(2.0)
_LOW_MAX32 = (127 - _K32) * math.log(2.0)
_MAGIC32 = np.float32(1.5 * 2.0**23 + _K32 + 127)
_MAGIC64 = 1.5 * 2.0**52 + _K64 + 1023


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _exp32_low(t):
    n, p = _reduced32(t)
    scale = _float32(_bits32(n + _MAGIC32) << np.int32(23))  # 2^(n + K)
    v = (p * scale) * _TWO_MK32
    return np.float32(0.0) if t < _FLUSH32 else v


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _exp64_low(t):
    n, p = _reduced64(t)
    scale = _float64(_bits64(n + _MAGIC64) << np.int64(52))  # 2^(n + K)
    v = (p * scale) * _TWO_MK64
    return 0.0 if t < _FLUSH64 else v


_SQRT2 = math.sqrt(2.0)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _split32(x):
    """(e, m) with x = m·2^e and m in [1, 2), for finite x > 0 (subnormals are scaled
    into the normal range first: 2^24 is exact)."""
    sub = x < np.float32(1.1754943508222875e-38)
    xs = x * np.float32(16777216.0) if sub else x
    b = _bits32(xs)
    e = (b >> np.int32(23)) - np.int32(127)
    e = e - np.int32(24) if sub else e
    return e, _float32((b & np.int32(0x007FFFFF)) | np.int32(0x3F800000))


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _log_parts32(e, num, den):
    """e·ln 2 + log(num/den) for num/den in [1/√2, √2]: 2 atanh(f), f = (num − den)/(num +
    den), |f| ≤ 0.172, by its odd series to f^11 (num − den is exact: Sterbenz)."""
    f = (num - den) / (num + den)
    f2 = f * f
    s = np.float32(1.0 / 11.0)
    s = s * f2 + np.float32(1.0 / 9.0)
    s = s * f2 + np.float32(1.0 / 7.0)
    s = s * f2 + np.float32(1.0 / 5.0)
    s = s * f2 + np.float32(1.0 / 3.0)
    lm = np.float32(2.0) * f + np.float32(2.0) * f * f2 * s
    return np.float32(e) * np.float32(_LN2) + lm


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _log32(x):
    e, m = _split32(x)
    big = m > np.float32(_SQRT2)
    return _log_parts32(
        e + np.int32(1) if big else e, m, np.float32(2.0) if big else np.float32(1.0)
    )


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _split64(x):
    """(e, m) with x = m·2^e and m in [1, 2), for finite x > 0 (subnormals scaled by 2^54)."""
    sub = x < 2.2250738585072014e-308
    xs = x * 18014398509481984.0 if sub else x  # 2^54
    b = _bits64(xs)
    e = (b >> np.int64(52)) - np.int64(1023)
    e = e - np.int64(54) if sub else e
    return e, _float64((b & np.int64(0x000FFFFFFFFFFFFF)) | np.int64(0x3FF0000000000000))


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _log_parts64(e, num, den):
    """e·ln 2 + log(num/den) for num/den in [1/√2, √2], as :func:`_log_parts32` with the
    series to f^23 (truncation (0.0295^12)/25 ≈ 2e-20)."""
    f = (num - den) / (num + den)
    f2 = f * f
    s = 1.0 / 23.0
    s = s * f2 + 1.0 / 21.0
    s = s * f2 + 1.0 / 19.0
    s = s * f2 + 1.0 / 17.0
    s = s * f2 + 1.0 / 15.0
    s = s * f2 + 1.0 / 13.0
    s = s * f2 + 1.0 / 11.0
    s = s * f2 + 1.0 / 9.0
    s = s * f2 + 1.0 / 7.0
    s = s * f2 + 1.0 / 5.0
    s = s * f2 + 1.0 / 3.0
    fe = float(e)
    # ln2 split so that e·hi is exact and the small parts are added last.
    return fe * _LN2_HI64 + (2.0 * f + (2.0 * f * f2 * s + fe * _LN2_LO64))


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _log64(x):
    e, m = _split64(x)
    big = m > _SQRT2
    return _log_parts64(e + np.int64(1) if big else e, m, 2.0 if big else 1.0)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _ratio_parts(ea, ma, eb, mb, rt2, one):
    """(e, num, den) with a/b = 2^e·num/den and num/den in [1/√2, √2], from the
    exponents and mantissas (in [1, 2)) of a and b: the mantissa ratio is in (1/2, 2) and
    one factor of 2 moves it into range, so num and den stay within a factor 2 of each
    other and ``num − den`` is exact.  ``e`` is a float of ``one``'s type (exact: |e| <
    2^11; an integer literal here would make it float64 in the float32 kernels)."""
    up = ma > rt2 * mb
    dn = ma * rt2 < mb
    e = (ea - eb) + (one if up else (-one if dn else one - one))
    return e, (ma + ma if dn else ma), (mb + mb if up else mb)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _log_ratio32(a, b):
    ea, ma = _split32(a)
    eb, mb = _split32(b)
    one = np.float32(1.0)
    e, num, den = _ratio_parts(np.float32(ea), ma, np.float32(eb), mb, np.float32(_SQRT2), one)
    return _log_parts32(e, num, den)


@njit(error_model="numpy", fastmath=FASTMATH, inline="always")
def _log_ratio64(a, b):
    ea, ma = _split64(a)
    eb, mb = _split64(b)
    e, num, den = _ratio_parts(float(ea), ma, float(eb), mb, _SQRT2, 1.0)
    return _log_parts64(e, num, den)


def fexp(t):
    """exp(t), vectorisable, subnormal-correct (see the module docstring)."""
    raise NotImplementedError  # only callable from numba code


def fexp_low(t):
    """exp(t) for t ≤ about 570 (float64) / 43 (float32), vectorisable, subnormal-correct,
    cheaper than :func:`fexp` (see the module docstring)."""
    raise NotImplementedError


def flog(x):
    """log(x) for finite x > 0, vectorisable (see the module docstring)."""
    raise NotImplementedError


def flog_ratio(a, b):
    """log(a/b) for finite a, b > 0, vectorisable, one log's cost, with no over- or
    underflow of a/b and the relative accuracy of log1p where a ≈ b (see
    :func:`_ratio_parts`)."""
    raise NotImplementedError


def cast_like(v, ref):
    """``v`` converted to the floating type of ``ref``."""
    raise NotImplementedError


def _is32(t) -> bool:
    return isinstance(t, types.Float) and t.bitwidth == 32


@overload(fexp, inline="always", error_model="numpy", fastmath=FASTMATH)
def _ov_fexp(t):
    if _is32(t):
        return lambda t: _exp32(t)  # noqa: PLW0108 (overload needs a Python function)
    return lambda t: _exp64(t)  # noqa: PLW0108 (overload needs a Python function)


@overload(fexp_low, error_model="numpy", fastmath=FASTMATH)
def _ov_fexp_low(t):
    if _is32(t):
        return lambda t: _exp32_low(t)  # noqa: PLW0108 (overload needs a Python function)
    return lambda t: _exp64_low(t)  # noqa: PLW0108 (overload needs a Python function)


@overload(flog, inline="always", error_model="numpy", fastmath=FASTMATH)
def _ov_flog(x):
    if _is32(x):
        return lambda x: _log32(x)  # noqa: PLW0108 (overload needs a Python function)
    return lambda x: _log64(x)  # noqa: PLW0108 (overload needs a Python function)


@overload(flog_ratio, inline="always", error_model="numpy", fastmath=FASTMATH)
def _ov_flog_ratio(a, b):
    if _is32(a):
        return lambda a, b: _log_ratio32(a, b)  # noqa: PLW0108 (overload needs a Python function)
    return lambda a, b: _log_ratio64(a, b)  # noqa: PLW0108 (overload needs a Python function)


@overload(cast_like)
def _ov_cast_like(v, ref):
    if _is32(ref):
        return lambda v, ref: np.float32(v)
    return lambda v, ref: np.float64(v)
