"""The command line prints exactly what the library returns; bad input exits 2, one line."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest

import infoloss as il
from infoloss.cli import main


def run(argv, stdin=None, monkeypatch=None):  # type: ignore[no-untyped-def]
    out = io.StringIO()
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    code = main(argv, out=out)
    return code, out.getvalue()


def test_entropy_inline_bits():
    code, text = run(["entropy", "0.5", "0.5", "--base", "2"])
    assert code == 0
    assert text == "entropy (bits): 1.0\n"


def test_kl_prints_the_library_value_exactly():
    code, text = run(["kl", "--p", "0.5,0.5", "--q", "0.9,0.1", "--json"])
    assert code == 0
    payload = json.loads(text)
    assert payload["values"] == [float(il.kl_divergence([0.5, 0.5], [0.9, 0.1]))]
    assert payload["unit"] == "nats"
    _, table = run(["kl", "--p", "0.5,0.5", "--q", "0.9,0.1"])
    assert table.strip().endswith(repr(float(il.kl_divergence([0.5, 0.5], [0.9, 0.1]))))


def test_infinity_in_json_and_table():
    _, text = run(["self-information", "1", "0", "--json"])
    assert json.loads(text)["values"] == [0.0, "inf"]
    _, table = run(["self-information", "1", "0"])
    assert table.splitlines()[-1].split() == ["1", "inf"]


@pytest.mark.parametrize("fmt", ["csv", "json", "npy"])
def test_rows_from_files(tmp_path, fmt):
    rows = np.array([[0.5, 0.5], [0.9, 0.1], [1.0, 0.0]])
    path = tmp_path / f"rows.{fmt}"
    if fmt == "csv":
        path.write_text("# a comment\n" + "\n".join(",".join(map(repr, r)) for r in rows.tolist()))
    elif fmt == "json":
        path.write_text(json.dumps(rows.tolist()))
    else:
        np.save(path, rows)
    code, text = run(["entropy", "--file", str(path), "--json"])
    assert code == 0
    assert json.loads(text)["values"] == il.entropy(rows).tolist()


def test_rows_from_stdin(monkeypatch):
    code, text = run(
        ["cross-entropy", "--p", "-", "--q", "0.25,0.75", "--format", "json", "--base", "bits"],
        stdin="[[0.5, 0.5], [0.25, 0.75]]",
        monkeypatch=monkeypatch,
    )
    assert code == 0
    expected = il.cross_entropy([[0.5, 0.5], [0.25, 0.75]], [0.25, 0.75], base=2)
    assert text.splitlines()[1:] == [f"  {i}  {v!r}" for i, v in enumerate(expected.tolist())]


def test_joint_table_from_file(tmp_path):
    path = tmp_path / "joint.csv"
    path.write_text("0.5 0\n0 0.5\n")
    code, text = run(["mutual-information", "--file", str(path), "--base", "2"])
    assert (code, text) == (0, "mutual information (bits): 1.0\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["entropy", "0.5", "0.6"], "do not sum to 1"),
        (["entropy", "0.5", "-0.5", "1"], "negative"),
        (["kl", "--p", "0.5,0.5", "--q", "missing.csv"], "no such file"),
        (["kl", "--p", "0.5,0.5"], "needs both --p and --q"),
        (["entropy", "0.5", "0.5", "--base", "1"], "`base`"),
        (["entropy", "0.5", "0.5", "--base", "x"], "--base"),
        (["entropy"], "give numbers or --file"),
        (["js", "--p", "0.5,0.5", "--q", "0.2,0.3,0.5"], "do not broadcast"),
        (["lab"], "choose a command"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    try:
        code = main(argv, out=io.StringIO())
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_non_numeric_csv(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("0.5,0.5\n0.5,abc\n")
    assert main(["entropy", "--file", str(path)], out=io.StringIO()) == 2
    assert "line 2: non-numeric" in capsys.readouterr().err


def test_console_script_runs_and_is_light():
    code = (
        "import sys, infoloss.cli; "
        "heavy = {'numba', 'scipy', 'matplotlib', 'sklearn', 'torch', 'jax'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    done = subprocess.run(
        [sys.executable, "-m", "infoloss", "entropy", "0.5", "0.5", "--base", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "entropy (bits): 1.0\n")


def test_lab_train_from_the_command_line(tmp_path):
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    path = tmp_path / "tiny.csv"
    rows = ["a,b,c,label"] + [
        f"{r[0]},{r[1]},{r[2]},{t}" for r, t in zip(x.tolist(), y, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n")
    argv = [
        "lab",
        "train",
        "--dataset",
        str(path),
        "--losses",
        "ce,mse",
        "--seeds",
        "2",
        "--epochs",
        "5",
        "--no-progress",
    ]
    code, text = run([*argv, "--json"])
    assert code == 0
    payload = json.loads(text)
    from infoloss import lab

    direct = lab.train(str(path), losses=["ce", "mse"], seeds=2, epochs=5)
    assert payload == json.loads(json.dumps(direct, default=float))
    code, table = run(argv)
    assert code == 0
    assert table.strip() == lab.train_table(direct).strip()


def test_lab_train_missing_file_is_one_line(capsys):
    pytest.importorskip("sklearn")
    code, _ = run(["lab", "train", "--dataset", "no-such.csv", "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no-such.csv" in err


def test_demo_from_the_command_line(tmp_path):
    pytest.importorskip("matplotlib")
    code, text = run(["demo", "--quick", "--no-progress", "--out", str(tmp_path / "r")])
    assert code == 0
    assert (tmp_path / "r" / "index.html").is_file()
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    from infoloss import lab

    assert lab.summary_table(results) in text
