"""The quick report in headless Chromium: it loads cleanly and every figure renders.

Needs the Debian packages ``chromium`` and ``chromium-driver`` and the Python package
``selenium``.  Without them the test is skipped, unless ``INFOLOSS_REQUIRE_BROWSER=1``
(set by CI), in which case it fails.  Selenium is pointed at the system chromedriver
explicitly, so nothing is downloaded.
"""

from __future__ import annotations

import pytest

from tests._helpers import CHROMEDRIVER, CHROMIUM, headless_chromium, missing_browser, require

pytestmark = pytest.mark.browser


def test_quick_report_renders_in_headless_chromium(tmp_path):
    require(missing_browser(CHROMIUM, CHROMEDRIVER, "matplotlib", "sklearn", "tqdm"))
    from infoloss import lab

    report = tmp_path / "report"
    lab.run_demo(report, quick=True, progress=False)

    driver = headless_chromium(tmp_path / "profile", 1280, 1000, {"browser": "ALL"})
    try:
        driver.get((report / "index.html").resolve().as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        assert "infoloss lab" in driver.title

        images = driver.execute_script(
            "return Array.from(document.images).map(i => "
            "[i.alt, i.complete, i.naturalWidth, i.naturalHeight, "
            "i.getBoundingClientRect().width])"
        )
        assert len(images) >= 6
        for alt, complete, width, height, shown in images:
            assert complete, alt
            assert width > 0, alt
            assert height > 0, alt
            assert shown > 0, alt

        # Nothing outside the file is requested.
        urls = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert all(u.startswith("data:") for u in urls), urls

        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert severe == []

        # Usable in a 500 px window: the page itself never scrolls sideways (wide tables
        # scroll inside their own box), and every figure fits the width.
        driver.set_window_size(500, 900)
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        widths = driver.execute_script(
            "return [document.documentElement.clientWidth, "
            "Math.max(...Array.from(document.images).map(i => i.getBoundingClientRect().right))]"
        )
        assert widths[1] <= widths[0]
    finally:
        driver.quit()
