"""Bad files as a user hands them to the command line: each is one line on standard error
that names the file and the problem in words the user can act on, and exit status 2."""

from __future__ import annotations

import io
import os
import sys

import numpy as np
import pytest

from tests._helpers import cli_status


def _fails(argv, capsys):  # type: ignore[no-untyped-def]
    code = cli_status(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    "argv",
    [
        ["entropy", "--file", "{path}"],
        ["kl", "--p", "{path}", "--q", "0.5,0.5"],
        ["estimate", "entropy", "--file", "{path}", "--column", "a"],
    ],
)
def test_a_file_that_is_not_utf8(tmp_path, capsys, argv):  # type: ignore[no-untyped-def]
    path = tmp_path / "rows.csv"
    path.write_bytes(b"\xff\xfe0.5,0.5\n")
    err = _fails([a.format(path=path) for a in argv], capsys)
    assert f"{path} is not UTF-8 text (byte 0xff at offset 0, line 1)" in err


def test_a_bad_byte_further_on_is_placed(tmp_path, capsys):  # type: ignore[no-untyped-def]
    path = tmp_path / "rows.csv"
    path.write_bytes(b"0.5,0.5\n0.5,\xe9\n")
    err = _fails(["entropy", "--file", str(path)], capsys)
    assert "not UTF-8 text (byte 0xe9 at offset 12, line 2)" in err


def test_standard_input_that_is_not_utf8(monkeypatch, capsys):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a\n\xff\n")))
    err = _fails(["estimate", "entropy", "--file", "-", "--column", "a"], capsys)
    assert "standard input is not UTF-8 text (byte 0xff at offset 2, line 2)" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["entropy", "--file", "{path}"],
        ["kl", "--p", "0.5,0.5", "--q", "{path}"],
        ["loss", "softmax-ce", "--logits", "{path}", "--targets", "0"],
        ["estimate", "entropy", "--file", "{path}", "--column", "a"],
    ],
)
def test_a_directory_is_not_a_missing_file(tmp_path, capsys, argv):  # type: ignore[no-untyped-def]
    err = _fails([a.format(path=tmp_path) for a in argv], capsys)
    assert f"{tmp_path} is a directory, not a file" in err
    assert "no such file" not in err


def test_npy_of_python_objects(tmp_path, capsys):  # type: ignore[no-untyped-def]
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"p": 0.5}, None], dtype=object))
    err = _fails(["entropy", "--file", str(path)], capsys)
    assert f"{path} holds Python objects, not numbers" in err
    assert "pickle" not in err


@pytest.mark.parametrize(
    ("argv", "content"),
    [
        (["entropy", "--file", "{path}"], "0.5;0.5\n"),
        (["entropy", "--file", "{path}"], "p;q\n0.5;0.5\n"),
        (["kl", "--p", "0.5;0.5", "--q", "0.5,0.5"], None),
        (["entropy", "0.5;0.5"], None),
    ],
)
def test_semicolons(tmp_path, capsys, argv, content):  # type: ignore[no-untyped-def]
    path = tmp_path / "rows.csv"
    if content is not None:
        path.write_text(content)
    err = _fails([a.format(path=path) for a in argv], capsys)
    assert "expected numbers separated by" in err


def test_semicolons_in_an_estimate_file(tmp_path, capsys):  # type: ignore[no-untyped-def]
    path = tmp_path / "data.csv"
    path.write_text("a;b\n1;2\n")
    err = _fails(["estimate", "entropy", "--file", str(path), "--column", "a"], capsys)
    assert "expected columns separated by commas" in err


def test_out_under_a_file_is_one_line(tmp_path, capsys):  # type: ignore[no-untyped-def]
    blocker = tmp_path / "notes.txt"
    blocker.write_text("")
    err = _fails(["explore", "--out", str(blocker / "explore.html")], capsys)
    assert str(blocker) in err
    assert "not a directory" in err


def test_out_is_a_directory(tmp_path, capsys):  # type: ignore[no-untyped-def]
    err = _fails(["explore", "--out", str(tmp_path)], capsys)
    assert f"{tmp_path} is a directory, not a file" in err


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere"
)
def test_out_in_a_read_only_directory(tmp_path, capsys):  # type: ignore[no-untyped-def]
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        err = _fails(["explore", "--out", str(locked / "explore.html")], capsys)
    finally:
        locked.chmod(0o700)
    assert "permission denied" in err


def test_demo_out_under_a_file_fails_before_training(tmp_path, capsys):  # type: ignore[no-untyped-def]
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    blocker = tmp_path / "notes.txt"
    blocker.write_text("")
    err = _fails(["demo", "--quick", "--no-progress", "--out", str(blocker)], capsys)
    assert f"--out: {blocker} exists and is not a directory" in err


def test_npy_of_text(tmp_path, capsys):  # type: ignore[no-untyped-def]
    path = tmp_path / "labels.npy"
    np.save(path, np.array(["a", "b"]))
    err = _fails(["entropy", "--file", str(path)], capsys)
    assert f"{path} holds text (dtype <U1), not numbers" in err


def test_lab_data_set_that_is_not_utf8(tmp_path, capsys):  # type: ignore[no-untyped-def]
    pytest.importorskip("sklearn")
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,label\n\xff,1\n")
    err = _fails(["lab", "train", "--dataset", str(path), "--no-progress"], capsys)
    assert "not UTF-8 text (byte 0xff at offset 8)" in err


def test_a_file_named_npy_that_is_not_one(tmp_path, capsys):  # type: ignore[no-untyped-def]
    path = tmp_path / "rows.npy"
    path.write_text("0.5,0.5\n")
    err = _fails(["entropy", "--file", str(path)], capsys)
    assert f"{path} is not an .npy file" in err
    assert "pickle" not in err


@pytest.mark.parametrize("content", ['"0.5","0.5"\n', "p,q\n"])
def test_a_file_of_only_a_header_says_what_it_read(tmp_path, capsys, content):  # type: ignore[no-untyped-def]
    path = tmp_path / "rows.csv"
    path.write_text(content)
    err = _fails(["entropy", "--file", str(path)], capsys)
    assert f"no data rows (its first line, {content.strip()!r}, reads as a header)" in err


def test_perplexity_refuses_a_base_it_would_ignore(capsys):  # type: ignore[no-untyped-def]
    err = _fails(["perplexity", "0.5", "0.5", "--base", "2"], capsys)
    assert "--base does not apply to perplexity" in err
