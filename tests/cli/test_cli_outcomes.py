"""``infoloss self-information`` gives one value per outcome, and says so: its table
numbers outcomes (and rows, for a file of distributions), not rows alone."""

from __future__ import annotations

import io

import pytest

import infoloss as il
from infoloss.cli import main


def _table(argv):  # type: ignore[no-untyped-def]
    out = io.StringIO()
    assert main(argv, out=out) == 0
    return out.getvalue().splitlines()


def test_one_distribution_is_a_table_of_outcomes():
    lines = _table(["self-information", "0.5", "0.25", "0.25", "--base", "2"])
    assert lines == [
        "outcome  self-information (bits)",
        "      0  1.0",
        "      1  2.0",
        "      2  2.0",
    ]


def test_rows_of_distributions_number_the_row_and_the_outcome(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "rows.csv"
    path.write_text("0.5,0.5\n1,0\n")
    want = il.self_information([[0.5, 0.5], [1.0, 0.0]]).tolist()
    assert _table(["self-information", "--file", str(path)]) == [
        "row  outcome  self-information (nats)",
        f"  0        0  {want[0][0]!r}",
        f"  0        1  {want[0][1]!r}",
        "  1        0  0.0",
        "  1        1  inf",
    ]


def test_other_measures_keep_one_value_per_row(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "rows.csv"
    path.write_text("0.5,0.5\n1,0\n")
    assert _table(["entropy", "--file", str(path), "--base", "2"]) == [
        "row  entropy (bits)",
        "  0  1.0",
        "  1  0.0",
    ]


def test_help_speaks_of_outcomes(capsys):  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        main(["--help"], out=io.StringIO())
    listing = capsys.readouterr().out
    line = next(x for x in listing.splitlines() if x.strip().startswith("self-information"))
    assert "of each outcome" in line
