"""The explorer page as a file: small, self-contained, asks for nothing, shows the lab's results."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from infoloss.explorer import (
    DEMO_RESULTS,
    PAGE_LIMIT_BYTES,
    build_page,
    find_results,
    lab_summary,
    write_page,
)
from tests._helpers import ROOT

RESULTS = {
    "meta": {"seed": 7, "quick": True, "infoloss_version": "0"},
    "training": {
        "iris": {
            "linear": {
                "losses": {
                    "ce": {
                        "lr": 1.0,
                        "final_test_acc_mean": 0.95,
                        "final_test_acc_std": 0.01,
                        "epochs_to_95": 4,
                        "test_acc_mean": [0.1] * 50,
                    }
                }
            }
        }
    },
    "gradients": {"y1": {"z_wrong8": -8, "grad_ce_at_wrong8": -0.9997, "grad_se_at_wrong8": -3e-4}},
}


def test_page_is_one_small_file_that_loads_nothing():
    page = build_page()
    assert len(page.encode("utf-8")) < PAGE_LIMIT_BYTES == 1_000_000
    # Everything inline: no external script, style sheet, image or frame.
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=\"(?!data:)", page)
    # The only URL is the SVG namespace, which is a name, not a request.
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls == {"http://www.w3.org/2000/svg"}
    # The Content Security Policy forbids every request the page itself might make.
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    assert "default-src 'none'" in csp.group(1)
    assert "connect-src" not in csp.group(1)
    for call in ("fetch(", "XMLHttpRequest", "WebSocket", "import("):
        assert call not in page
    for marker in ("/*__CSS__*/", "/*__JS__*/", "__RESULTS__", "__VERSION__"):
        assert marker not in page


def test_results_are_embedded_without_their_curves():
    page = build_page(RESULTS)
    data = re.search(r'id="lab-results-data"[^>]*>(.*?)</script>', page, re.S)
    assert data is not None
    embedded = json.loads(data.group(1))
    assert embedded == lab_summary(RESULTS)
    assert embedded["training"]["iris"]["linear"]["losses"]["ce"]["lr"] == 1.0
    assert '"test_acc_mean"' not in data.group(1)


def test_results_cannot_end_the_script_early():
    results = json.loads(json.dumps(RESULTS))
    results["meta"]["infoloss_version"] = "</script><script>alert(1)</script>"
    page = build_page(results)
    data = re.search(r'id="lab-results-data"[^>]*>(.*?)</script>', page, re.S)
    assert data is not None
    assert json.loads(data.group(1))["meta"]["infoloss_version"].startswith("</script>")


def _embedded(path: Path) -> tuple[str, object]:
    match = re.search(
        r'id="lab-results-data" data-source="([^"]*)">(.*?)</script>',
        path.read_text(encoding="utf-8"),
        re.S,
    )
    assert match is not None
    return match.group(1), json.loads(match.group(2))


def test_write_page_reads_results_beside_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps(RESULTS), encoding="utf-8")
    source, data = _embedded(write_page(tmp_path / "explore.html"))
    assert source == (tmp_path / "results.json").as_posix()
    assert data == lab_summary(RESULTS)
    assert _embedded(write_page(tmp_path / "other" / "explore.html")) == ("", None)


def test_explore_after_demo_finds_the_demo_results(tmp_path, monkeypatch):
    # `infoloss demo` then `infoloss explore`, both from one folder: the demo writes
    # report/results.json and the page goes to explore.html.
    monkeypatch.chdir(tmp_path)
    assert find_results() is None
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "results.json").write_text(json.dumps(RESULTS), encoding="utf-8")
    assert find_results() == DEMO_RESULTS == Path("report", "results.json")
    source, data = _embedded(write_page())
    assert source == "report/results.json"
    assert data == lab_summary(RESULTS)
    # A results.json beside the page comes first; a page written elsewhere still finds the
    # demo's in the current folder.
    other = json.loads(json.dumps(RESULTS))
    other["meta"]["seed"] = 8
    (tmp_path / "results.json").write_text(json.dumps(other), encoding="utf-8")
    assert find_results("explore.html") == Path("results.json")
    assert _embedded(write_page())[1] == lab_summary(other)
    assert find_results(tmp_path / "site" / "explore.html") == DEMO_RESULTS


def test_explore_html_is_ignored_by_git():
    root = ROOT
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    for name in ("explore.html", "docs/explore.html"):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", "--no-index", name], cwd=root, check=False
        )
        assert ignored.returncode == 0, f"{name} is not in .gitignore"


def test_docs_quote_the_page_size():
    doc = (ROOT / "docs" / "explorer.md").read_text("utf-8")
    match = re.search(r"about (\d+) kB", doc)
    assert match is not None
    size_kb = len(build_page().encode("utf-8")) / 1000
    assert abs(size_kb - int(match.group(1))) <= 0.1 * size_kb, size_kb


@pytest.mark.parametrize(("content", "message"), [("{", "not a JSON file"), ("[]", "not the lab")])
def test_write_page_refuses_what_is_not_the_lab_results(tmp_path, content, message):
    bad = tmp_path / "r.json"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        write_page(tmp_path / "e.html", results=bad)
    with pytest.raises(ValueError, match="no such file"):
        write_page(tmp_path / "e.html", results=tmp_path / "missing.json")


def _cli(argv: list[str]) -> tuple[int, str]:
    from infoloss.cli import main

    out = io.StringIO()
    code = main(argv, out=out)
    return code, out.getvalue()


def test_explore_says_which_results_it_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, text = _cli(["explore"])
    assert code == 0
    assert "no lab results found: run 'infoloss demo' first" in text
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "results.json").write_text(json.dumps(RESULTS), encoding="utf-8")
    code, text = _cli(["explore"])
    assert code == 0
    assert text.splitlines()[-1] == f"lab results from {Path('report', 'results.json')}"
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps(RESULTS), encoding="utf-8")
    code, text = _cli(["explore", "--results", str(mine)])
    assert code == 0
    assert text.splitlines()[-1] == f"lab results from {mine}"


def test_demo_then_explore_from_one_folder(tmp_path, monkeypatch):
    """The README's two commands, in order: the page shows the demo's results."""
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    code, _ = _cli(["demo", "--quick"])
    assert code == 0
    results = json.loads((tmp_path / "report" / "results.json").read_text(encoding="utf-8"))
    code, text = _cli(["explore"])
    assert code == 0
    assert "lab results from report" in text
    source, data = _embedded(tmp_path / "explore.html")
    assert source == "report/results.json"
    assert data == lab_summary(results)
    assert isinstance(data, dict)
    assert "saturation" in data
    assert "gradients" in data
