"""One digamma: the estimators' C kernels (NSB, the neighbour counts) and the Python
estimators give the same ψ, bit for bit, accurate against mpmath."""

from __future__ import annotations

import numpy as np
import pytest

from infoloss._kernels import knn, nsb
from infoloss.estimators._estimate import digamma

mp = pytest.importorskip("mpmath")

X = np.concatenate([np.geomspace(1e-3, 1e6, 157), np.arange(1.0, 40.0), [9.999999, 10.0]])


def test_c_and_python_digamma_agree_bit_for_bit() -> None:
    py = digamma(X)
    c_nsb = np.array([nsb.digamma(float(v)) for v in X])
    assert np.array_equal(c_nsb, py)
    counts = np.arange(1, 60, dtype=np.int64)
    c_knn = np.array([knn.digamma_mean(np.array([k], np.int64), 0) for k in counts])
    assert np.array_equal(c_knn, digamma(counts.astype(np.float64)))


def test_digamma_against_mpmath() -> None:
    mp.mp.dps = 40
    ref = np.array([float(mp.digamma(mp.mpf(float(v)))) for v in X])
    got = digamma(X)
    # relative where ψ is away from its root near 1.4616, absolute near it
    err = np.abs(got - ref) / np.maximum(np.abs(ref), 1.0)
    assert err.max() < 1e-15
