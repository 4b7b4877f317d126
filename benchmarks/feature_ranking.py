"""Feature ranking by mutual information: :func:`infoloss.estimators.feature_mutual_information`
beside scikit-learn's ``mutual_info_classif`` and ``mutual_info_regression``, in one process.

Three tables of n samples by d features (default n = 100 000, d = 50): integer features
with 8 values and a 3-class target (counting), standard-normal features with the same
target (Ross's estimator), the same features with a continuous target (KSG).  Both
libraries run on one thread (``n_jobs=None``) with k = 3; each case is timed in
interleaved rounds after one warm-up, and the ratio is the median of scikit-learn's time
over ours.  The largest difference between the two libraries' scores (ours clipped at 0,
as scikit-learn clips) is printed beside each case.

    python benchmarks/feature_ranking.py                 # n = 100 000, d = 50, 3 rounds
    python benchmarks/feature_ranking.py --n 20000 --d 10 --repeats 1
    python benchmarks/feature_ranking.py --case KSG      # the cases whose name has "KSG"
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, ratio, rounds


def cases(n: int, d: int) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """Per case: (ours, scikit-learn's), each a call without arguments."""
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    from infoloss.estimators import feature_mutual_information as ours

    rng = np.random.default_rng(20261206)
    discrete = rng.integers(0, 8, (n, d))
    labels = (discrete[:, 0] + rng.integers(0, 2, n)) % 3
    continuous = rng.standard_normal((n, d))
    value = continuous[:, 0] + 0.5 * rng.standard_normal(n)
    cont_labels = (continuous[:, 1] > 0).astype(np.int64) + (continuous[:, 2] > 1)
    sk_classif = functools.partial(mutual_info_classif, n_neighbors=3, random_state=0)
    sk_reg = functools.partial(mutual_info_regression, n_neighbors=3, random_state=0)
    return {
        "discrete X, discrete y (plug-in)": (
            lambda: ours(discrete, labels),
            lambda: sk_classif(discrete, labels, discrete_features=True),
        ),
        "continuous X, discrete y (Ross)": (
            lambda: ours(continuous, cont_labels),
            lambda: sk_classif(continuous, cont_labels),
        ),
        "continuous X, continuous y (KSG)": (
            lambda: ours(continuous, value, discrete_target=False),
            lambda: sk_reg(continuous, value),
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--case", default="", help="run only the cases whose name has this")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    print(f"n = {args.n}, d = {args.d}, k = 3, one thread each, {args.repeats} round(s)")
    print("| case | infoloss (s) | scikit-learn (s) | ratio | max score difference |")
    print("|---|---|---|---|---|")
    for name, (mine, theirs) in cases(args.n, args.d).items():
        if args.case not in name:
            continue
        times = rounds({"ours": mine, "sklearn": theirs}, args.repeats)
        gap = float(np.max(np.abs(np.maximum(mine(), 0.0) - theirs())))
        print(
            f"| {name} | {statistics.median(times['ours']):.3f} | "
            f"{statistics.median(times['sklearn']):.3f} | {ratio(times, 'sklearn', 'ours'):.1f}x | {gap:.1e} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
