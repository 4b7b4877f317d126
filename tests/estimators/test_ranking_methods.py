"""Feature ranking with every discrete estimator: a constant column scores exactly 0 (NSB's
entropy of one observed value is not 0, and some corrections move a constant's score off
0), in memory and on Dask."""

from __future__ import annotations

import numpy as np
import pytest

from infoloss.estimators import _estimate, feature_mutual_information, mutual_information

RNG = np.random.default_rng(3)
Y = RNG.integers(0, 3, 1000)
X = np.stack([np.full(1000, 4), Y, RNG.integers(0, 5, 1000)], axis=1)


@pytest.mark.parametrize("method", list(_estimate.METHODS))
def test_a_constant_column_scores_exactly_zero(method):
    scores = feature_mutual_information(X, Y, method=method)
    assert scores[0] == 0.0
    # the other columns are each column's mutual information with the target
    for j in (1, 2):
        assert scores[j] == pytest.approx(mutual_information(X[:, j], Y, method=method))


@pytest.mark.parametrize("method", ["nsb", "grassberger", "miller_madow"])
def test_on_dask_too(method):
    da = pytest.importorskip("dask.array")
    lazy = feature_mutual_information(
        da.from_array(X, chunks=(300, 3)), da.from_array(Y, chunks=300), method=method
    )
    assert np.array_equal(lazy, feature_mutual_information(X, Y, method=method))
    assert lazy[0] == 0.0
