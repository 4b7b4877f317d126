"""The lab's report: one number formatter, its own wording, progress, template and structure."""

from __future__ import annotations

import ast
import fnmatch
import io
import re
from pathlib import Path
from typing import Any

import pytest
import tomllib

pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")
pytest.importorskip("tqdm")

from infoloss import lab
from infoloss.lab import _report
from infoloss.lab._format import count, fmt, lead, plural
from infoloss.lab._html import _Page
from tests._helpers import ROOT

LAB = ROOT / "src" / "infoloss" / "lab"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("report")
    results = lab.run_demo(out, seed=1, quick=True, progress=False)
    page = (out / "index.html").read_text(encoding="utf-8")
    return results, page


def _text(page: str) -> str:
    """The page's visible text, tags removed and whitespace folded."""
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", body))


# --------------------------------------------------------------------------------------
# One formatter
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (0.0634, "grad", "0.0634"),
        (0.02, "grad", "0.0200"),
        (0.147, "grad", "0.147"),
        (2.3333333, "ep", "2.3"),
        (1.8, "ep", "1.8"),
        (12, "ep", "12"),
        (None, "ep", "never"),
        (0.958333, "pct", "95.8"),
        (0.0003, "pp", "0.030"),
        (0.1532, "pp", "15.3"),
        (-0.99966, "g", "−0.9997"),
        (2.665e-15, "g", "2.665 × 10⁻¹⁵"),
        (-1e-9, "pct", "0.0"),
        ("inf", "g", "+∞"),
    ],
)
def test_one_formatter_gives_each_kind_its_precision(value, kind, shown):
    assert fmt(value, kind) == shown


def test_units_agree_with_their_numbers():
    assert count(1, "epoch") == "1 epoch"
    assert count(2, "seed") == "2 seeds"
    # A decimal takes the plural, even 1.0.
    assert plural(1.0, "epoch") == "epochs"
    assert lead(-0.003) == ("0.30", "below")
    assert lead(0.014) == ("1.4", "above")


def test_formatter_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="`kind` must be one of"):
        fmt(1.0, "percent")


def test_a_difference_is_shown_with_its_direction():
    page = _Page({"v": {"numbers": {"gap": -0.003, "tie": 0.0}}})
    shown = page.template("{gap:lead} it; {tie:lead} it", "v.numbers")
    assert 'data-abs="1">0.30</span> points below it' in shown
    assert "0.0</span> points above it" in shown


def test_report_numbers_read_consistently(quick):
    _, page = quick
    text = _text(page)
    assert not re.search(r"\b1 (epochs|seeds)\b", text)
    assert "never epochs" not in text
    assert "in never" not in text
    # No hyphen-minus for a negative number, no over-long mean epoch counts.
    assert not re.search(r"(?<![\w.-])-\d", text)
    assert not re.search(r"\d\.\d{2,} epochs", text)
    gaps = re.findall(r"on average ([\d.]+) points", text)
    assert gaps
    assert all(float(g) > 0 for g in gaps)


def test_summary_uses_the_same_formatter(quick):
    results, _ = quick
    text = lab.summary_table(results)
    sat = results["saturation"]
    m = sat["show_margin"]
    for kind in ("binary", "multiclass"):
        for loss in sat[kind]["losses"]:
            e = sat[kind]["runs"][loss][m]["epochs_to_recover_mean"]
            assert f"{loss} {fmt(e, 'ep')} (lr" in text


# --------------------------------------------------------------------------------------
# The report's own wording
# --------------------------------------------------------------------------------------


def test_report_states_its_own_questions(quick):
    results, page = quick
    text = _text(page)
    assert "source note" not in text.lower()
    assert "the note" not in text.lower()
    assert "<th>question</th>" in page
    for row in results["verdict"]["rows"]:
        assert row["claim"].endswith("?"), row["claim"]
        assert "note" not in row["claim"].lower()


def test_verdict_names_the_settings_that_ran(quick):
    results, _ = quick
    sat = results["saturation"]
    row = next(r for r in results["verdict"]["rows"] if "barely learn" in r["claim"])
    numbers = results["verdict"]["numbers"]
    assert numbers["multi_dataset"] == sat["multiclass"]["dataset"]
    assert numbers["bin_dataset"] == sat["binary"]["dataset"]
    assert "digits" not in row["evidence"]
    # The quick run shows its largest margin: it is not quoted twice.
    assert sat["show_margin"] == numbers["big_margin"]
    assert "{bce_rec_big" not in row["evidence"]


def test_learning_rate_rule_names_its_ladder(quick):
    _, page = quick
    text = _text(page)
    assert "÷3" not in text
    assert "×3 or" not in text
    assert "1, 3, 10, 30" in text
    assert "by 3 or by 10/3" in text


# --------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_total_is_known_up_front(monkeypatch, tmp_path):
    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    lab.run_demo(tmp_path, quick=True, progress=True)
    totals = set(re.findall(r"\d+/(\d+) \[", term.getvalue()))
    assert totals == {str(_report._n_runs(_report.QUICK))}
    assert re.search(r"(\d+)/\1 \[", term.getvalue())


def test_redirected_progress_is_one_line_per_stage(tmp_path, capsys):
    lab.run_demo(tmp_path, quick=True, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    n = _report._n_stages(_report.QUICK)
    assert len(lines) == n
    assert lines[-1].startswith(f"infoloss demo: [{n}/{n}] ")


# --------------------------------------------------------------------------------------
# Template and structure
# --------------------------------------------------------------------------------------


def test_report_template_is_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["*"]
    assets = sorted((LAB / "assets").iterdir())
    assert {p.name for p in assets} >= {"report.html", "report.css"}
    for path in assets:
        assert any(fnmatch.fnmatch(path.name, g) for g in globs), path.name


def _long_functions(path: Path, limit: int = 60) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        body: list[Any] = list(node.body)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        if body:
            lines = (body[-1].end_lineno or 0) - body[0].lineno + 1
            if lines > limit:
                long.append(f"{path.name}::{node.name} ({lines} lines)")
    return long


def test_no_lab_function_body_over_sixty_lines():
    long = [f for path in sorted(LAB.glob("*.py")) for f in _long_functions(path)]
    assert long == []
