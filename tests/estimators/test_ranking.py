"""feature_mutual_information: hand-computed cases, scikit-learn where the estimator is the
same, constant and tied columns, SelectKBest, bad input."""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import pytest

from infoloss.estimators import feature_mutual_information, mutual_information

sklearn_fs = pytest.importorskip("sklearn.feature_selection")
sklearn_metrics = pytest.importorskip("sklearn.metrics")


def _plugin_mi(x: list[int], y: list[int]) -> float:
    """The plug-in mutual information, summed over the joint table in mpmath."""
    n = len(x)
    joint: dict[tuple[int, int], int] = {}
    for a, b in zip(x, y, strict=True):
        joint[a, b] = joint.get((a, b), 0) + 1
    total = mpmath.mpf(0)
    for (a, b), c in joint.items():
        pa, pb = x.count(a), y.count(b)
        total += mpmath.mpf(c) / n * mpmath.log(mpmath.mpf(c) * n / (pa * pb))
    return float(total)


def test_discrete_columns_match_the_hand_computed_plugin() -> None:
    y = [0, 0, 1, 1, 2, 2, 0, 1, 2, 2]
    cols = [y, [v % 2 for v in y], [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]]
    got = feature_mutual_information(np.array(cols).T, np.array(y))
    want = [_plugin_mi(c, y) for c in cols]
    np.testing.assert_allclose(got, want, rtol=1e-14)
    bits = feature_mutual_information(np.array(cols).T, np.array(y), base="bits")
    np.testing.assert_allclose(bits, np.array(want) / math.log(2), rtol=1e-14)


def test_ross_estimate_matches_the_hand_computed_one() -> None:
    # Same-label nearest neighbour at distance 1 for every point; the middle points of
    # each label have 2 neighbours within that distance (ties included, as in Ross 2014).
    c = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
    labels = np.array([0, 0, 0, 1, 1, 1])
    got = feature_mutual_information(c, labels, k=1, jitter=0.0)
    psi = mpmath.digamma
    want = psi(6) - psi(3) + psi(1) - (2 * psi(1) + psi(2)) / 3
    assert got[0] == pytest.approx(float(want), rel=1e-14)


@pytest.mark.parametrize("method", ["miller_madow", "chao_shen", "chao_wang_jost", "nsb"])
def test_discrete_columns_match_mutual_information(method: str) -> None:
    rng = np.random.default_rng(3)
    X = rng.integers(0, 6, (40, 4))
    y = (X[:, 0] + rng.integers(0, 2, 40)) % 3
    got = feature_mutual_information(X, y, method=method)
    want = [float(mutual_information(X[:, j], y, method=method)) for j in range(4)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_discrete_plugin_equals_sklearn_mutual_info_score() -> None:
    rng = np.random.default_rng(4)
    X = rng.integers(0, 9, (3000, 6))
    y = np.where(rng.random(3000) < 0.7, X[:, 2] % 4, rng.integers(0, 4, 3000))
    got = feature_mutual_information(X, y)
    want = [sklearn_metrics.mutual_info_score(X[:, j], y) for j in range(6)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert int(np.argmax(got)) == 2


def _continuous_data(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    X = rng.standard_normal((n, 4))
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1)
    value = X[:, 0] + 0.5 * rng.standard_normal(n)
    return X, labels, value


def test_continuous_features_match_sklearn() -> None:
    # The same estimators (Ross for a discrete target, KSG 1 for a continuous one); only
    # the tie-breaking noise (1e-10 of a standard deviation) differs, and scikit-learn
    # clips at 0.  At these sizes no neighbour count moves, so the values agree to 1e-9.
    X, labels, value = _continuous_data(800)
    ours = feature_mutual_information(X, labels)
    theirs = sklearn_fs.mutual_info_classif(X, labels, n_neighbors=3, random_state=0)
    np.testing.assert_allclose(np.maximum(ours, 0.0), theirs, rtol=1e-9, atol=1e-12)
    ours = feature_mutual_information(X, value, discrete_target=False)
    theirs = sklearn_fs.mutual_info_regression(X, value, n_neighbors=3, random_state=0)
    np.testing.assert_allclose(np.maximum(ours, 0.0), theirs, rtol=1e-9, atol=1e-12)
    assert ours[0] > 0.3


def test_discrete_features_continuous_target_match_sklearn() -> None:
    rng = np.random.default_rng(6)
    X = rng.integers(0, 5, (600, 3))
    value = X[:, 1] + rng.standard_normal(600)
    ours = feature_mutual_information(X, value, discrete_target=False)
    theirs = sklearn_fs.mutual_info_regression(X, value, discrete_features=True, random_state=0)
    np.testing.assert_allclose(np.maximum(ours, 0.0), theirs, rtol=1e-9, atol=1e-12)
    assert int(np.argmax(ours)) == 1


def test_constant_column_is_exactly_zero_where_sklearn_is_not() -> None:
    X, labels, value = _continuous_data(5000)
    X[:, 2] = 7.0
    ours = feature_mutual_information(X, labels)
    assert ours[2] == 0.0
    assert feature_mutual_information(X, value, discrete_target=False)[2] == 0.0
    # scikit-learn's noise is added to the raw constant and quantised to its spacing, so
    # the "continuous" column keeps exact ties that look informative (its issue 30772).
    # At n = 5000 with three balanced labels scikit-learn 1.9 gives 0.013 nats.
    three = np.random.default_rng(9).integers(0, 3, 5000)
    alone = np.full((5000, 1), 7.0)
    assert sklearn_fs.mutual_info_classif(alone, three, random_state=0)[0] > 1e-3
    assert feature_mutual_information(alone, three)[0] == 0.0
    Xd = np.zeros((50, 2), dtype=int)
    Xd[:, 1] = np.arange(50) % 3
    assert feature_mutual_information(Xd, np.arange(50) % 2)[0] == 0.0
    assert feature_mutual_information(Xd, value[:50], discrete_target=False)[0] == 0.0


def test_tied_continuous_columns() -> None:
    X, labels, _ = _continuous_data(3000)
    tied = np.stack([np.round(X[:, 0], 1), np.round(X[:, 3], 1)], axis=1)
    got = feature_mutual_information(tied, labels)
    assert np.all(np.isfinite(got))
    # A coarse copy of the informative column stays informative, the other stays near 0.
    assert got[0] > 0.3
    assert abs(got[1]) < 0.02
    # Discrete columns are counted: a repeated or relabelled column scores the same.
    twice = np.stack([labels, labels, 1 - labels], axis=1)
    got = feature_mutual_information(twice, labels)
    assert got[0] == got[1] == got[2]


def test_selectkbest_uses_it_as_score_func() -> None:
    X, labels, value = _continuous_data(1000)
    rng = np.random.default_rng(8)
    X = np.concatenate([rng.standard_normal((1000, 6)), X], axis=1)
    pick = sklearn_fs.SelectKBest(score_func=feature_mutual_information, k=2).fit(X, labels)
    assert sorted(pick.get_support(indices=True)) == [6, 7]
    reg = functools.partial(feature_mutual_information, discrete_target=False)
    pick = sklearn_fs.SelectKBest(score_func=reg, k=1).fit(X, value)
    assert list(pick.get_support(indices=True)) == [6]


def test_threads_and_masks_give_the_same_scores() -> None:
    X, labels, value = _continuous_data(500)
    one = feature_mutual_information(X, value, discrete_target=False)
    two = feature_mutual_information(X, value, discrete_target=False, n_jobs=2)
    np.testing.assert_array_equal(one, two)
    mixed = np.concatenate([X, labels[:, None]], axis=1)
    by_mask = feature_mutual_information(mixed, labels, discrete_features=[False] * 4 + [True])
    by_index = feature_mutual_information(mixed, labels, discrete_features=[4])
    np.testing.assert_array_equal(by_mask, by_index)
    assert by_mask[4] == pytest.approx(float(mutual_information(labels, labels)), rel=1e-14)


def test_continuous_target_scores_come_from_the_plane_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # scalar columns against a scalar target: the slabs of the plane, not a k-d tree,
    # with the same scores as the tree's KSG 1 (equal to scikit-learn above)
    from infoloss._kernels import knn

    X, _, value = _continuous_data(3000)
    with monkeypatch.context() as m:  # a plane search over its budget: the tree answers
        m.setattr(knn, "knn_plane", lambda *args, **kwargs: None)
        tree = feature_mutual_information(X, value, discrete_target=False)
    monkeypatch.setattr(knn, "build_tree", None)
    np.testing.assert_array_equal(
        feature_mutual_information(X, value, discrete_target=False, n_jobs=2), tree
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"X": np.zeros(5)}, "`X` must be 2-D"),
        ({"y": np.zeros(4)}, "`y` has 4 samples"),
        ({"X": np.array([[np.nan], [1.0], [2.0], [3.0], [4.0]])}, "`X` contains NaN"),
        ({"y": np.array([0.0, 1, np.nan, 1, 0]), "discrete_target": False}, "`y` contains NaN"),
        ({"method": "maximum"}, "method"),
        ({"discrete_features": [7]}, "`discrete_features`"),
        ({"discrete_features": "all"}, "`discrete_features`"),
        ({"discrete_features": [True, False]}, "`discrete_features`"),
        ({"k": 5}, "`k`"),
        ({"n_jobs": 0}, "`n_jobs`"),
    ],
)
def test_bad_input_names_the_argument(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"X": np.arange(5.0)[:, None], "y": np.array([0, 1, 0, 1, 1])}
    args.update(kwargs)
    X, y = args.pop("X"), args.pop("y")
    with pytest.raises(ValueError, match=match):
        feature_mutual_information(X, y, **args)  # type: ignore[arg-type]


def test_auto_treats_string_columns_as_discrete() -> None:
    rng = np.random.default_rng(10)
    codes = rng.integers(0, 4, (300, 2))
    y = np.array(["a", "b", "c"])[(codes[:, 0] + rng.integers(0, 2, 300)) % 3]
    words = np.array(["red", "green", "blue", "grey"])[codes]
    np.testing.assert_array_equal(
        feature_mutual_information(words, y), feature_mutual_information(codes, y)
    )
    with pytest.raises(ValueError, match="`X` has continuous values that are not numbers"):
        feature_mutual_information(words, y, discrete_features=False)
