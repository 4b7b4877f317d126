"""``infoloss estimate``: the command prints exactly what :mod:`infoloss.estimators`
returns; bad input is one line on standard error and exit status 2."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest

from infoloss import estimators as est
from infoloss.cli import main
from infoloss.estimators._estimate import resolve
from tests._helpers import cli_status, run_cli

LABELS = ["x", "y", "x", "z", "x", "y", "w", "x", "y", "x"]
CODES = [1, 2, 1, 3, 1.0, 2, 4, 1, 2, 1]
COUNTS = [4, 12, 4, 5, 3, 1, 5, 1, 2, 2]


@pytest.fixture
def data(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "data.csv"
    lines = ["label,code,count"] + [
        f"{a},{b},{c}" for a, b, c in zip(LABELS, CODES, COUNTS, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_entropy_table_is_the_library_value(data):  # type: ignore[no-untyped-def]
    code, text = run_cli(["estimate", "entropy", "--file", data, "--column", "label"])
    assert code == 0
    expected = est.entropy(np.array(LABELS))  # the library's default method, "auto"
    assert text.splitlines() == [
        f"entropy of label (nats), method {resolve('auto')} (auto), 10 samples",
        f"estimate: {float(expected)!r}",
    ]


def test_auto_names_the_estimator_it_resolved_to(data):  # type: ignore[no-untyped-def]
    argv = ["estimate", "entropy", "--file", data, "--column", "label", "--alphabet-size", "6"]
    code, text = run_cli(argv)
    assert code == 0
    r = est.entropy_nsb(np.array(LABELS), alphabet_size=6)
    assert text.splitlines() == [
        f"entropy of label (nats), method {resolve('auto', 6)} (auto), 10 samples",
        f"estimate: {float(r.estimate)!r}",
        f"posterior sd: {float(r.std)!r}",
    ]
    _, text = run_cli([*argv[:-2], "--json"])
    assert json.loads(text)["method"] == resolve("auto")
    _, text = run_cli(["estimate", "mi", "--file", data, "--x", "label", "--y", "code"])
    assert ", method plugin, " in text.splitlines()[0]
    _, text = run_cli(
        ["estimate", "mi", "--file", data, "--x", "label", "--y", "code", "--method", "auto"]
    )
    assert f", method {resolve('auto')} (auto), " in text.splitlines()[0]


def test_interval_without_seed_repeats_and_says_its_seed(data):  # type: ignore[no-untyped-def]
    argv = ["estimate", "entropy", "--file", data, "--column", "label", "--method", "plugin"]
    argv += ["--interval", "--resamples", "30"]
    _, first = run_cli(argv)
    _, second = run_cli(argv)
    assert first == second
    boot = est.bootstrap_interval(np.array(LABELS), method="plugin", n_resamples=30, rng=0)
    assert first.splitlines()[-1] == (
        f"95% interval (basic bootstrap, 30 resamples, seed 0): "
        f"{float(boot.low)!r} {float(boot.high)!r}"
    )
    _, text = run_cli([*argv, "--json"])
    assert json.loads(text)["interval"]["seed"] == 0


def test_help_gives_the_default_seed(capsys):  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        main(["estimate", "entropy", "--help"], out=io.StringIO())
    assert "seed (default: 0, " in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("method", ["plugin", "miller_madow", "chao_shen", "zhang"])
def test_entropy_json_for_each_method(data, method):  # type: ignore[no-untyped-def]
    code, text = run_cli(
        [
            "estimate",
            "entropy",
            "--file",
            data,
            "--column",
            "count",
            "--method",
            method,
            "--base",
            "2",
            "--json",
        ]
    )
    assert code == 0
    payload = json.loads(text)
    assert payload == {
        "measure": "entropy",
        "columns": ["count"],
        "method": method,
        "unit": "bits",
        "samples": 10,
        "estimate": float(est.entropy(np.array(COUNTS, float), method=method, base=2)),
        "interval": None,
    }


def test_nsb_prints_posterior_sd_and_interval(data):  # type: ignore[no-untyped-def]
    argv = ["estimate", "entropy", "--file", data, "--column", "label", "--method", "nsb"]
    argv += ["--alphabet-size", "6", "--interval", "--resamples", "50", "--seed", "7"]
    code, text = run_cli(argv)
    assert code == 0
    r = est.entropy_nsb(np.array(LABELS), alphabet_size=6)
    boot = est.bootstrap_interval(
        np.array(LABELS), method="nsb", alphabet_size=6, n_resamples=50, rng=7
    )
    assert text.splitlines()[1:] == [
        f"estimate: {float(r.estimate)!r}",
        f"posterior sd: {float(r.std)!r}",
        f"95% interval (basic bootstrap, 50 resamples, seed 7): "
        f"{float(boot.low)!r} {float(boot.high)!r}",
    ]
    code, text = run_cli([*argv, "--json", "--confidence", "0.8"])
    payload = json.loads(text)
    boot = est.bootstrap_interval(
        np.array(LABELS), method="nsb", alphabet_size=6, n_resamples=50, rng=7, confidence_level=0.8
    )
    assert payload["estimate"] == float(r.estimate)
    assert payload["std"] == float(r.std)
    assert payload["interval"] == {
        "confidence": 0.8,
        "kind": "basic bootstrap",
        "resamples": 50,
        "seed": 7,
        "low": float(boot.low),
        "high": float(boot.high),
    }


def test_nsb_without_coincidences_has_infinite_sd_in_json(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "distinct.csv"
    path.write_text("id\n" + "\n".join(f"s{i}" for i in range(20)) + "\n")
    code, text = run_cli(
        ["estimate", "entropy", "--file", str(path), "--column", "id", "--method", "nsb", "--json"]
    )
    assert code == 0
    payload = json.loads(text)
    assert payload["estimate"] == float(np.log(20))
    assert payload["std"] == "inf"


def test_mi_is_the_library_value_with_its_interval(data):  # type: ignore[no-untyped-def]
    argv = ["estimate", "mi", "--file", data, "--x", "label", "--y", "2", "--json"]
    code, text = run_cli([*argv, "--interval", "--resamples", "40", "--seed", "1"])
    assert code == 0
    x, y = np.array(LABELS), np.array(COUNTS, float)
    boot = est.bootstrap_interval(x, y=y, n_resamples=40, rng=1)
    payload = json.loads(text)
    assert payload == {
        "measure": "mutual_information",
        "columns": ["label", "count"],
        "method": "plugin",
        "unit": "nats",
        "samples": 10,
        "estimate": float(est.mutual_information(x, y)),
        "interval": {
            "confidence": 0.95,
            "kind": "basic bootstrap",
            "resamples": 40,
            "seed": 1,
            "low": float(boot.low),
            "high": float(boot.high),
        },
    }
    code, text = run_cli(
        ["estimate", "mi", "--file", data, "--x", "0", "--y", "code", "--method", "grassberger"]
    )
    expected = est.mutual_information(x, np.array(CODES, float), method="grassberger")
    assert text.splitlines() == [
        "mutual information of label and code (nats), method grassberger, 10 samples",
        f"estimate: {float(expected)!r}",
    ]


def test_numbers_are_one_category_whatever_their_spelling(data):  # type: ignore[no-untyped-def]
    # "1" and "1.0" in the code column are one category; labels are text.
    _, text = run_cli(["estimate", "entropy", "--file", data, "--column", "code", "--json"])
    assert json.loads(text)["estimate"] == float(
        est.entropy(np.array([1, 2, 1, 3, 1, 2, 4, 1, 2, 1]))
    )
    assert json.loads(text)["estimate"] == float(est.entropy(np.array(LABELS)))


def test_stdin_with_byte_order_mark_and_quoted_cells(monkeypatch):  # type: ignore[no-untyped-def]
    stdin = '\ufeffcity,n\n"Paris, FR",1\nLyon,2\n"Paris, FR",3\n\n'
    code, text = run_cli(
        ["estimate", "entropy", "--file", "-", "--column", "city", "--method", "plugin", "--json"],
        stdin=stdin,
        monkeypatch=monkeypatch,
    )
    assert code == 0
    expected = est.entropy(np.array(["Paris, FR", "Lyon", "Paris, FR"]), method="plugin")
    assert json.loads(text)["estimate"] == float(expected)


def test_console_script(tmp_path):  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "infoloss",
            "estimate",
            "entropy",
            "--file",
            "-",
            "--column",
            "c",
            "--method",
            "plugin",
            "--base",
            "2",
        ],
        input="c\na\nb\na\nb\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[1] == "estimate: 1.0"


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("a,b\n1,2\n", ["--column", "q"], "no column 'q' (columns: a, b)"),
        ("a,b\n1,2\n,3\n", ["--column", "a"], "line 3: empty cell in column 'a'"),
        ("a,b\n1,2\n3\n", ["--column", "b"], "line 3: no cell for column 'b'"),
        ("a,b\n", ["--column", "a"], "no data rows"),
        ("", ["--column", "a"], "empty file"),
        ("a,a\n1,2\n", ["--column", "a"], "appears more than once"),
        ("a\n1\nnan\n", ["--column", "a"], "line 3: column 'a' holds 'nan', a missing value"),
        ("a,b\n1,2\n", [], "needs --column"),
        ("a\n1\n", ["--column", "a", "--method", "nope"], "`method` must be one of"),
        ("a\n1\n2\n", ["--column", "a", "--alphabet-size", "1"], "`alphabet_size` (1) is smaller"),
        ("a\n1\n", ["--column", "a", "--alphabet-size", "2.5"], "--alphabet-size"),
        ("a\n1\n", ["--column", "a", "--base", "x"], "--base"),
        ("a\n1\n", ["--column", "a", "--base", "1"], "--base: must be a positive number"),
        ("a\n1\n", ["--column", "a", "--seed", "1"], "go with --interval"),
        (
            "a\n1\n2\n",
            ["--column", "a", "--interval", "--confidence", "2"],
            "--confidence: must be",
        ),
        ("a\n1\n", ["--column", "a", "--interval", "--resamples", "0"], "--resamples"),
        ("a\n1\n", ["--column", "a", "--method", "jackknife"], "at least 2"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, content, extra, message):  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code = cli_status(["estimate", "entropy", "--file", str(path), *extra])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_library_messages_are_passed_through_as_written(tmp_path, capsys):  # type: ignore[no-untyped-def]
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n2\n")
    with pytest.raises(ValueError, match="must be one of") as raised:
        est.entropy(np.array([1.0, 2.0]), method="nope")
    argv = ["estimate", "entropy", "--file", str(path), "--column", "a", "--method", "nope"]
    assert main(argv, out=io.StringIO()) == 2
    assert capsys.readouterr().err == f"infoloss: error: {raised.value}\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["estimate"], "choose a command"),
        (["estimate", "entropy", "--file", "missing.csv", "--column", "a"], "no such file"),
        (["estimate", "mi", "--file", "missing.csv", "--x", "a"], "needs --x and --y"),
        (["estimate", "entropy", "--column", "a"], "--file"),
    ],
)
def test_bad_command_is_one_line_and_exit_2(capsys, argv, message):  # type: ignore[no-untyped-def]
    code = cli_status(argv)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
