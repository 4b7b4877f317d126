"""The command line on a running cluster of worker processes, through ``--scheduler``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests._helpers import run_cli

pytest.importorskip("dask.dataframe")


def test_cli_on_a_running_cluster(
    cluster_client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(3)
    labels = rng.zipf(1.5, size=3000) % 30
    tags = rng.integers(0, 4, size=3000)
    lines = ["word,tag", *(f"{w},{t}" for w, t in zip(labels, tags, strict=True))]
    data = tmp_path / "words.csv"
    data.write_text("\n".join(lines) + "\n")
    address = ["--scheduler", cluster_client.scheduler.address]
    argv = ["estimate", "mi", "--file", str(data), "--x", "word", "--y", "tag", "--json"]
    expected = run_cli(argv)
    assert run_cli(argv + address) == expected

    p = rng.dirichlet(np.ones(8), size=5000)
    p[4000, 1] = np.nan
    np.save(tmp_path / "p.npy", p)
    argv = ["entropy", "--file", str(tmp_path / "p.npy")]
    assert run_cli(argv) == (2, "")
    in_memory = capsys.readouterr().err
    # The library's error, raised in a worker process, is the command's one line.
    assert run_cli(argv + address) == (2, "")
    assert capsys.readouterr().err == in_memory
    assert "index (4000, 1)" in in_memory
