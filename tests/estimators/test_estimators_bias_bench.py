"""The Monte-Carlo bias/RMSE benchmark (benchmarks/estimators_bias.py) on a tiny grid: every
estimator finite everywhere, the table's shape, the exact entropies, and the exit status
when an estimate is not finite.  No timings here."""

from __future__ import annotations

import importlib.util
import math
import sys
from types import ModuleType

import numpy as np
import pytest

from tests._helpers import ROOT

mpmath = pytest.importorskip("mpmath")

BENCH = ROOT / "benchmarks"
KS, NS, REPS = (10, 100), (10, 1000), 8


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    sys.path.insert(0, str(BENCH))  # the script imports benchmarks/_common.py
    try:
        spec = importlib.util.spec_from_file_location(
            "estimators_bias", BENCH / "estimators_bias.py"
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


@pytest.fixture(scope="module")
def points(bench: ModuleType) -> list[dict]:
    return bench.run_grid(ks=KS, ns=NS, reps=REPS, seed=3)


def test_grid_is_finite_and_complete(bench, points):
    dists = list(bench.distributions())
    assert len(points) == len(dists) * len(KS) * len(NS)
    assert {(p["distribution"], p["K"], p["N"]) for p in points} == {
        (d, k, n) for d in dists for k in KS for n in NS
    }
    assert bench.nonfinite(points) == []
    for p in points:
        assert set(p["estimators"]) == {label for label, _, _ in bench.ESTIMATORS}
        for row in p["estimators"].values():
            assert row["nonfinite"] == 0
            assert math.isfinite(row["bias"])
            assert math.isfinite(row["rmse"])
            # RMSE² = bias² + (R − 1)/R · SD²
            var = (REPS - 1) / REPS * row["sd"] ** 2
            assert row["rmse"] ** 2 == pytest.approx(row["bias"] ** 2 + var, rel=1e-9, abs=1e-15)


def test_plugin_bias_is_negative_where_undersampled(points):
    # The plug-in never exceeds log N, and for K = 100, N = 10 every true H here is above it.
    for p in points:
        if p["K"] == 100 and p["N"] == 10:
            assert p["entropy"] > math.log(10)
            assert p["estimators"]["plugin"]["bias"] < 0


def test_bias_matches_a_direct_computation(bench, points):
    from infoloss.estimators import entropy

    p = next(pt for pt in points if pt["distribution"] == "zipf" and pt["K"] == 10)
    d = list(bench.distributions()).index("zipf")
    counts = np.random.default_rng([3, d, 10, p["N"]]).multinomial(
        p["N"], bench.distributions()["zipf"](10, None), size=REPS
    )
    est = entropy(counts=counts, method="miller_madow")
    assert p["estimators"]["miller_madow"]["bias"] == pytest.approx(
        np.mean(est) - p["entropy"], rel=1e-12
    )


def test_exact_entropy_against_mpmath(bench):
    # Zipf over K = 10: H = log H_K + (1/H_K) Σ log(k)/k, H_K the harmonic number.
    with mpmath.workdps(40):
        hk = mpmath.harmonic(10)
        want = mpmath.log(hk) + mpmath.fsum(mpmath.log(k) / k for k in range(1, 11)) / hk
    p = bench.distributions()["zipf"](10, None)
    assert bench.exact_entropy(p) == pytest.approx(float(want), rel=1e-14)
    assert bench.exact_entropy(np.array([0.5, 0.5, 0.0])) == pytest.approx(math.log(2), rel=1e-15)


def test_markdown_table_shape(bench, points):
    text = bench.markdown_tables(points)
    blocks = text.split("\n\n####")
    assert len(blocks) == len(bench.distributions()) * len(KS)
    for block in blocks:
        rows = [line for line in block.splitlines() if line.startswith("|")]
        assert len(rows) == 2 + len(bench.ESTIMATORS)
        assert all(line.count("|") == len(NS) + 2 for line in rows)
        # the smallest RMSE of each column is marked once or more (ties)
        body = rows[2:]
        for col in range(len(NS)):
            assert any("**" in line.split("|")[col + 2] for line in body)
    assert "nan" not in text.lower()


def test_main_exits_nonzero_on_a_nan(bench, monkeypatch, tmp_path, capsys):
    real = bench.entropy

    def broken(*args, **kwargs):
        out = np.array(real(*args, **kwargs), dtype=np.float64)
        if kwargs.get("method") == "zhang":
            out[..., 0] = np.nan
        return out

    monkeypatch.setattr(bench, "entropy", broken)
    argv = ["--reps", "3", "--ks", "10", "--ns", "10", "--no-timing", "--json"]
    assert bench.main([*argv, str(tmp_path / "r.json")]) == 1
    err = capsys.readouterr().err
    assert "zhang at dirichlet(1) K=10 N=10: 1 of 3 non-finite" in err
    monkeypatch.setattr(bench, "entropy", real)
    assert bench.main([*argv, str(tmp_path / "r.json")]) == 0
    assert (tmp_path / "r.json").exists()


def test_summary_table(bench, points):
    text = bench.summary_table(points)
    assert f"{len(points)} grid points × {len(bench.ESTIMATORS)} estimators" in text
    assert "non-finite estimates: 0." in text
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("| ")][1:]
    assert [r[0].strip() for r in rows] == [label for label, _, _ in bench.ESTIMATORS]
    # every point has a best estimator (ties may count twice), and no ratio is below 1
    assert sum(int(r[3]) for r in rows) >= len(points)
    assert all(float(r[1]) >= 1.0 and float(r[2]) >= 1.0 for r in rows)
    given = [r for r in rows if "K given" in r[0]]
    assert given
    assert all(c.strip() == "—" for r in given for c in r[4:])
