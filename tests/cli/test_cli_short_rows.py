"""``infoloss estimate``: a row shorter than the header is an error (as documented in
docs/estimators-cli.md), also where the column asked for is present in it: a cell lost
before that column shifts the row's other cells into the wrong columns."""

from __future__ import annotations

import io

import numpy as np
import pytest

from infoloss import estimators
from infoloss.cli import main


def _run(tmp_path, capsys, content, *extra):  # type: ignore[no-untyped-def]
    path = tmp_path / "data.csv"
    path.write_text(content)
    out = io.StringIO()
    code = main(["estimate", "entropy", "--file", str(path), *extra], out=out)
    return code, out.getvalue(), capsys.readouterr().err


@pytest.mark.parametrize("column", ["a", "b", "0"])
def test_short_row_is_an_error_whichever_column(tmp_path, capsys, column):  # type: ignore[no-untyped-def]
    # line 3 lost a cell: its "y" is the tag of column b or c, not a value of a
    content = "a,b,c\nx,p,1\ny,2\nx,q,3\n"
    code, out, err = _run(tmp_path, capsys, content, "--column", column)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "line 3: no cell for column 'c'" in err
    assert "short row" in err
    assert "2 of the header's 3 fields" in err


def test_full_rows_read(tmp_path, capsys):  # type: ignore[no-untyped-def]
    code, out, err = _run(tmp_path, capsys, "a,b\nx,1\ny,2\nx,3\n", "--column", "a")
    assert (code, err) == (0, "")
    want = float(estimators.entropy(np.array(["x", "y", "x"])))
    assert out.splitlines()[1] == f"estimate: {want!r}"
