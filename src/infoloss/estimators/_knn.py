"""Nearest-neighbour search for the continuous estimators: the compiled kernels of
:mod:`infoloss._kernels.knn` (1-D sorted walks and sweeps, a k-d tree for d dimensions),
imported by the estimators on first use."""

from __future__ import annotations

from .._kernels.knn import (
    EUCLIDEAN,
    MAX_NORM,
    Tree,
    _select,
    build_tree,
    count_within,
    count_within_sorted,
    digamma_mean,
    knn_sorted,
    knn_tree,
    marginal_radii,
)

__all__ = [
    "EUCLIDEAN",
    "MAX_NORM",
    "Tree",
    "_select",
    "build_tree",
    "count_within",
    "count_within_sorted",
    "digamma_mean",
    "knn_sorted",
    "knn_tree",
    "marginal_radii",
]
