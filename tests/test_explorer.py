"""The explorer page as a file: small, self-contained, asks for nothing, shows the lab's results."""

from __future__ import annotations

import json
import re

import pytest

from infoloss.explorer import PAGE_LIMIT_BYTES, build_page, lab_summary, write_page

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


def test_write_page_reads_results_beside_it(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(RESULTS), encoding="utf-8")
    path = write_page(tmp_path / "explore.html")
    assert '"seed": 7' in path.read_text(encoding="utf-8")
    alone = write_page(tmp_path / "other" / "explore.html")
    assert 'id="lab-results-data" data-source="results.json">null<' in alone.read_text("utf-8")


@pytest.mark.parametrize(("content", "message"), [("{", "not a JSON file"), ("[]", "not the lab")])
def test_write_page_refuses_what_is_not_the_lab_results(tmp_path, content, message):
    bad = tmp_path / "r.json"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        write_page(tmp_path / "e.html", results=bad)
    with pytest.raises(ValueError, match="no such file"):
        write_page(tmp_path / "e.html", results=tmp_path / "missing.json")


def test_a_quick_demo_results_file_is_accepted(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    from infoloss import lab

    results = lab.run_demo(tmp_path / "report", quick=True, progress=False)
    summary = lab_summary(json.loads((tmp_path / "report" / "results.json").read_text()))
    assert set(summary["training"]) == set(results["training"])
    assert "saturation" in summary
    assert "gradients" in summary
