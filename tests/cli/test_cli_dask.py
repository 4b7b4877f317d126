"""``--dask`` and ``--scheduler``: files read lazily give the in-memory command's output.

Most tests run on one in-process cluster of this module, through ``--scheduler``; one
starts the command's own local cluster.  The block sizes are made small, so that a file of
a few kilobytes is read in several partitions and a bad cell lies in a later one.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests._helpers import run_cli

pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a cluster of threads in this process (quick to start)."""
    cluster = distributed.LocalCluster(
        processes=False,
        n_workers=1,
        threads_per_worker=2,
        dashboard_address=":0",
        scheduler_kwargs={"dashboard": False},
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    from infoloss.cli import lazy

    monkeypatch.setattr(lazy, "BLOCK_BYTES", 16384)
    monkeypatch.setattr(lazy, "BLOCK_ENTRIES", 1000)


def both(argv: list[str], scheduler: str, capsys: pytest.CaptureFixture[str]) -> list[Any]:
    """(status, stdout, stderr) of the command in memory, then with ``--scheduler``."""
    results = []
    for extra in ([], ["--scheduler", scheduler]):
        code, out = run_cli(argv + extra)
        results.append((code, out, capsys.readouterr().err))
    return results


@pytest.fixture(scope="module")
def words(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Samples (a Zipf-like word, a text tag, a number) as CSV, Parquet, .npy and Zarr."""
    rng = np.random.default_rng(0)
    n = 4000
    frame = pd.DataFrame(
        {
            "word": rng.zipf(1.6, size=n) % 50,
            "tag": np.array(["noun", "verb", "adj"])[rng.integers(0, 3, n)],
            "score": rng.integers(0, 7, n) * 0.5,
        }
    )
    root = tmp_path_factory.mktemp("words")
    paths = {"csv": root / "words.csv", "parquet": root / "words.parquet"}
    frame.to_csv(paths["csv"], index=False)
    frame.to_parquet(paths["parquet"], row_group_size=700)
    numbers = frame[["word", "score"]].to_numpy(dtype=np.float64)
    paths["numbers.csv"] = root / "numbers.csv"
    pd.DataFrame(numbers, columns=["0", "1"]).to_csv(paths["numbers.csv"], index=False)
    paths["npy"] = root / "numbers.npy"
    np.save(paths["npy"], numbers)
    return paths


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Rows of probabilities (more entries than the kernels' threshold) in every format."""
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.full(6, 0.7), size=6000)
    q = rng.dirichlet(np.full(6, 0.7), size=6000)
    root = tmp_path_factory.mktemp("rows")
    paths = {"p.npy": root / "p.npy", "q.npy": root / "q.npy", "p.csv": root / "p.csv"}
    np.save(paths["p.npy"], p)
    np.save(paths["q.npy"], q)
    np.savetxt(paths["p.csv"], p[:3000], delimiter=",", fmt="%.17g")
    paths["p.parquet"] = root / "p.parquet"
    pd.DataFrame(p, columns=list("abcdef")).to_parquet(paths["p.parquet"], row_group_size=1000)
    return paths


# ------------------------------------------------------------- the same numbers


@pytest.mark.parametrize(
    "argv",
    [
        ["estimate", "entropy", "--column", "word", "--method", "nsb", "--interval"],
        ["estimate", "entropy", "--column", "tag", "--method", "miller_madow", "--json"],
        ["estimate", "entropy", "--column", "2", "--base", "2"],
        ["estimate", "mi", "--x", "word", "--y", "tag", "--interval", "--resamples", "50"],
    ],
)
def test_estimate_csv_as_in_memory(
    argv: list[str], words: dict[str, Path], scheduler: str, capsys: pytest.CaptureFixture[str]
) -> None:
    memory, lazy = both([*argv, "--file", str(words["csv"])], scheduler, capsys)
    assert memory[0] == 0
    assert lazy == memory


def test_estimate_parquet_npy_as_csv(
    words: dict[str, Path], scheduler: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["estimate", "mi", "--method", "grassberger", "--json", "--scheduler", scheduler]
    expected = run_cli(["estimate", "mi", "--x", "word", "--y", "tag", "--method",
                        "grassberger", "--json", "--file", str(words["csv"])])  # fmt: skip
    got = run_cli([*argv, "--x", "word", "--y", "tag", "--file", str(words["parquet"])])
    assert got == expected
    # .npy columns by position; the same data as a CSV file with the header 0,1.
    expected = run_cli(["estimate", "mi", "--x", "0", "--y", "1", "--method", "grassberger",
                        "--json", "--file", str(words["numbers.csv"])])  # fmt: skip
    got = run_cli([*argv, "--x", "0", "--y", "1", "--file", str(words["npy"])])
    assert got == expected
    assert json.loads(got[1])["samples"] == 4000


def test_estimate_zarr_as_csv(words: dict[str, Path], tmp_path: Path, scheduler: str) -> None:
    zarr = pytest.importorskip("zarr")
    numbers = np.load(words["npy"])
    store = zarr.open_array(str(tmp_path / "n.zarr"), mode="w", shape=numbers.shape,
                            chunks=(900, 2), dtype="f8")  # fmt: skip
    store[:] = numbers
    argv = ["estimate", "entropy", "--column", "1", "--json", "--file"]
    expected = run_cli([*argv, str(words["numbers.csv"])])
    assert run_cli([*argv, str(tmp_path / "n.zarr"), "--scheduler", scheduler]) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["entropy", "--file", "p.npy", "--base", "2"],
        ["entropy", "--file", "p.csv", "--json"],
        ["perplexity", "--file", "p.npy", "--normalize"],
        ["self-information", "--file", "p.npy", "--json"],
        ["kl", "--p", "p.npy", "--q", "q.npy"],
        ["js", "--p", "p.npy", "--q", "0.1,0.1,0.2,0.2,0.2,0.2", "--json"],
        ["joint-entropy", "--file", "p.npy", "--normalize"],
    ],
)
def test_measures_as_in_memory(
    argv: list[str], rows: dict[str, Path], scheduler: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(rows[a]) if a in rows else a for a in argv]
    memory, lazy = both(argv, scheduler, capsys)
    assert memory[0] == 0
    assert lazy == memory


def test_measures_parquet_and_zarr_as_npy(
    rows: dict[str, Path], tmp_path: Path, scheduler: str
) -> None:
    expected = run_cli(["entropy", "--json", "--file", str(rows["p.npy"])])
    got = run_cli(["entropy", "--json", "--file", str(rows["p.parquet"]), "--scheduler", scheduler])
    assert got == expected
    zarr = pytest.importorskip("zarr")
    p = np.load(rows["p.npy"])
    store = zarr.open_array(
        str(tmp_path / "p.zarr"), mode="w", shape=p.shape, chunks=(1000, 6), dtype="f8"
    )
    store[:] = p
    assert (
        run_cli(
            [
                "entropy",
                "--json",
                "--file",
                str(tmp_path / "p.zarr"),
                "--dask",
                "--scheduler",
                scheduler,
            ]
        )
        == expected
    )


# ------------------------------------------------------------------ bad files


def _csv(path: Path, header: str, cells: list[str]) -> str:
    path.write_text(header + "\n" + "\n".join(cells) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Files whose fault lies in a later partition (at the module's small block size)."""
    root = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 9, 1000).astype(str).tolist()
    cells = [f"{x},{i % 3}" for i, x in enumerate(labels)]
    paths = {
        "empty.csv": _csv(root / "empty.csv", "a,b", [*cells[:700], ",1", *cells[701:]]),
        "nan.csv": _csv(root / "nan.csv", "a,b", [*cells[:650], "NaN,1", *cells[651:], "nan,2"]),
    }
    p = rng.dirichlet(np.ones(6), size=8000)
    rows = [",".join(f"{v!r}" for v in row.tolist()) for row in p[:4000]]
    rows[3500] = rows[3500].replace(",", ",x1,", 1).rsplit(",", 1)[0]
    paths["text.csv"] = _csv(root / "text.csv", "# probabilities", rows)
    p[7000, 2] = np.nan  # in the second block of rows
    np.save(root / "nan.npy", p)
    data = (root / "nan.npy").read_bytes()
    (root / "cut.npy").write_bytes(data[:-100])
    paths |= {"nan.npy": str(root / "nan.npy"), "cut.npy": str(root / "cut.npy")}
    return paths


@pytest.mark.parametrize(
    "argv",
    [
        ["estimate", "entropy", "--file", "empty.csv", "--column", "a"],
        ["estimate", "mi", "--file", "nan.csv", "--x", "b", "--y", "a"],
        ["estimate", "entropy", "--file", "nan.csv", "--column", "c"],
        ["entropy", "--file", "text.csv"],
        ["entropy", "--file", "nan.npy"],
        ["kl", "--p", "cut.npy", "--q", "nan.npy"],
        ["entropy", "--file", "missing.npy"],
    ],
)
def test_bad_file_as_in_memory(
    argv: list[str],
    bad: dict[str, str],
    scheduler: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from infoloss.cli import lazy

    monkeypatch.setattr(lazy, "BLOCK_BYTES", 2048)
    argv = [bad.get(a, a) for a in argv]
    memory, lazy = both(argv, scheduler, capsys)
    assert memory[0] == 2
    assert memory[2].count("\n") == 1
    assert lazy == memory


def test_bad_parquet(tmp_path: Path, scheduler: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.parquet"
    pd.DataFrame({"a": ["x", "y", None, "x"], "b": [1.0, 2.0, 3.0, np.nan]}).to_parquet(path)
    argv = ["estimate", "entropy", "--file", str(path), "--scheduler", scheduler, "--column"]
    assert run_cli([*argv, "c"])[0] == 2
    assert f"{path}: no column 'c' (columns: a, b)" in capsys.readouterr().err
    assert run_cli([*argv, "a"])[0] == 2
    assert f"{path}, row 3: empty cell in column 'a'" in capsys.readouterr().err
    assert run_cli([*argv, "b"])[0] == 2
    assert f"{path}, row 4: column 'b' holds 'nan', a missing value" in capsys.readouterr().err
    (tmp_path / "cut.parquet").write_bytes(path.read_bytes()[:200])
    assert run_cli([*argv[:3], str(tmp_path / "cut.parquet"), *argv[4:], "a"])[0] == 2
    assert "cut.parquet is not a readable Parquet file (" in capsys.readouterr().err
    # Without --dask a Parquet file is not taken for text.
    assert run_cli([*argv[:4], "--column", "a"])[0] == 2
    assert "Parquet and Zarr files are read with --dask" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("module", "suffix", "extra"),
    [
        ("pyarrow", ".parquet", "files"),
        ("zarr", ".zarr", "files"),
        ("dask.dataframe", ".csv", "files"),
        ("distributed", ".csv", "dask"),
    ],
)
def test_missing_library(
    module: str,
    suffix: str,
    extra: str,
    words: dict[str, Path],
    tmp_path: Path,
    scheduler: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / f"data{suffix}"
    path.mkdir() if suffix == ".zarr" else path.write_bytes(words["csv"].read_bytes())
    monkeypatch.setitem(sys.modules, module, None)  # an import of it now fails
    code, out = run_cli(["entropy", "--file", str(path), "--scheduler", scheduler])
    err = capsys.readouterr().err
    assert (code, out) == (2, "")
    assert (
        f'needs {module.split(".")[0]}, which is not installed (pip install "infoloss[{extra}]")'
        in err
    )
    assert module == "distributed" or str(path) in err


def test_refused_inputs(
    words: dict[str, Path], tmp_path: Path, scheduler: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.json").write_text("[[0.5, 0.5]]")
    assert (
        run_cli(["entropy", "--file", str(tmp_path / "p.json"), "--scheduler", scheduler])[0] == 2
    )
    assert "p.json is JSON (without --dask it is read into memory)" in capsys.readouterr().err
    argv = ["estimate", "entropy", "--column", "0", "--file", str(words["npy"]), "--dask"]
    assert run_cli([*argv[:-2], "-", "--scheduler", scheduler])[0] == 2
    assert "--dask reads files, not standard input" in capsys.readouterr().err


# ------------------------------------------------------- the cluster, the progress bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_only(
    rows: dict[str, Path], scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infoloss.cli import lazy

    argv = ["entropy", "--file", str(rows["p.npy"]), "--scheduler", scheduler]
    expected = run_cli(argv[:3])
    monkeypatch.setattr(lazy, "BAR_AFTER_SECONDS", 0.0)  # drawn from the start
    for extra, drawn in (([], True), (["--no-progress"], False)):
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        assert run_cli(argv + extra) == expected
        assert ("% of " in terminal.getvalue()) is drawn
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal: no bar
    assert run_cli(argv) == expected
    assert sys.stderr.getvalue() == ""


def test_local_cluster_started_and_closed(
    words: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["estimate", "mi", "--file", str(words["csv"]), "--x", "word", "--y", "tag"]
    expected = run_cli(argv)
    assert run_cli([*argv, "--dask"]) == expected
    err = capsys.readouterr().err
    assert err.startswith("infoloss: started a local Dask cluster for this run (")
    assert err.count("\n") == 1
    assert distributed.client._get_global_client() is None


def test_long_row_in_a_later_block(
    tmp_path: Path,
    scheduler: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from infoloss.cli import lazy

    monkeypatch.setattr(lazy, "BLOCK_BYTES", 64)
    path = _csv(tmp_path / "long.csv", "a,b", [*["1,2"] * 40, "1,2,3", *["3,4"] * 40])
    argv = ["estimate", "entropy", "--file", path, "--column", "a", "--scheduler", scheduler]
    assert run_cli(argv) == (2, "")
    assert f"{path}: rows have different lengths (a row is longer" in capsys.readouterr().err


def test_no_scheduler_at_the_address(
    words: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from infoloss.cli import lazy

    monkeypatch.setattr(lazy, "CONNECT_SECONDS", 1)
    argv = ["entropy", "--file", str(words["npy"]), "--scheduler", "tcp://127.0.0.1:9"]
    assert run_cli(argv) == (2, "")
    err = capsys.readouterr().err
    assert err.startswith(
        "infoloss: error: --scheduler: no Dask scheduler answers at tcp://127.0.0.1:9 ("
    )
    assert err.count("\n") == 1
