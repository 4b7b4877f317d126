"""The explorer in headless Chromium, driven as a learner would, checked against the library.

A learner drags a bar of P, moves the logit slider, answers the prediction and moves a target
slider; each displayed value is read back and compared with infoloss within 1e-6.  The page's
own functions are also run on a grid of inputs and compared with the library.  No console
error and no network request is allowed.  A screenshot is kept in ``test-artifacts/`` (or
``$INFOLOSS_ARTIFACTS``).

Needs the Debian packages ``chromium`` and ``chromium-driver`` and the Python package
``selenium``; without them the tests are skipped, unless ``INFOLOSS_REQUIRE_BROWSER=1`` (set
by CI), in which case they fail.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import infoloss as il
from infoloss.explorer import write_page
from tests._helpers import (
    CHROMEDRIVER,
    CHROMIUM,
    ROOT,
    headless_chromium,
    missing_browser,
    require,
)

pytestmark = pytest.mark.browser

TOL = 1e-6
ARTIFACTS = Path(os.environ.get("INFOLOSS_ARTIFACTS", ROOT / "test-artifacts"))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_page(tmp_path_factory.mktemp("explorer") / "explore.html")


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    require(missing_browser(CHROMIUM, CHROMEDRIVER))
    # The performance log carries the DevTools network events: every request the page makes.
    logs = {"browser": "ALL", "performance": "ALL"}
    drv = headless_chromium(tmp_path / "profile", 1100, 1000, logs)
    try:
        yield drv
    finally:
        drv.quit()


def _open(driver: Any, page: Path) -> None:
    driver.get_log("performance")  # drop what the browser's own start-up tab asked for
    driver.get(page.resolve().as_uri())
    deadline = time.monotonic() + 20
    while driver.execute_script("return document.body.dataset.ready") != "1":
        assert time.monotonic() < deadline, "the page did not finish starting"
        time.sleep(0.05)


def _requests(driver: Any, page: Path) -> list[str]:
    """Every request since the page was opened: the page's own, and any network request."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] != "Network.requestWillBeSent":
            continue
        params = message["params"]
        url = params["request"]["url"]
        if params.get("documentURL") == page.resolve().as_uri() or url.startswith(
            ("http:", "https:", "ws:", "wss:")
        ):
            urls.append(url)
    return urls


def _shown(driver: Any, element_id: str) -> float:
    """The number as the page displays it (six decimals or six significant digits)."""
    text = driver.find_element("id", element_id).text.strip()
    assert text, f"#{element_id} shows nothing"
    text = text.replace("\u2212", "-").replace("+∞", "inf").replace("∞", "inf")
    return float(text)


def _close(shown: float, expected: float, what: str) -> None:
    if math.isinf(expected):
        assert shown == expected, what
    else:
        assert abs(shown - expected) <= TOL, f"{what}: page {shown}, library {expected}"


def _distribution(driver: Any, name: str) -> np.ndarray:
    values: list[float] = driver.execute_script(f"return window.infolossExplorer.state.{name}")
    return np.array(values, dtype=np.float64)


def _check_measures(driver: Any, base: int | None) -> None:
    P = _distribution(driver, "P")
    Q = _distribution(driver, "Q")
    expected = {
        "v-H": il.entropy(P, base=base),
        "v-HQ": il.entropy(Q, base=base),
        "v-HPQ": il.cross_entropy(P, Q, base=base),
        "v-DPQ": il.kl_divergence(P, Q, base=base),
        "v-DQP": il.kl_divergence(Q, P, base=base),
        "v-JS": il.js_divergence(P, Q, base=base),
    }
    for element_id, value in expected.items():
        _close(_shown(driver, element_id), float(value), element_id)
    info = il.self_information(P, base=base)
    for i, value in enumerate(np.asarray(info)):
        _close(_shown(driver, f"v-IP-{i}"), float(value), f"I(x{i + 1})")
    _close(_shown(driver, "v-cH"), float(il.entropy(P, base=2)), "H(P) in the code table")
    _close(_shown(driver, "v-cHPQ"), float(il.cross_entropy(P, Q, base=2)), "H(P,Q), code table")


def _check_unit(
    driver: Any,
    z: float,
    y: int,
    prefix: str = "v-",
    keys: tuple[str, ...] = ("ce", "dce", "se", "dse"),
) -> None:
    zs, ys = np.array([z]), np.array([float(y)])
    ce, dce = il.sigmoid_binary_cross_entropy(zs, ys, reduction="none", return_grad=True)
    se, dse = il.sigmoid_squared_error(zs, ys, reduction="none", return_grad=True)
    expected = {"ce": ce[0], "dce": dce[0], "se": se[0], "dse": dse[0]}
    for key in keys:
        _close(_shown(driver, f"{prefix}{key}"), float(expected[key]), f"{key} at z = {z}")


def test_a_learner_drags_slides_and_predicts(driver, page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    _open(driver, page)
    _check_measures(driver, base=2)

    # Drag the second bar of P up to 0.7, in two moves, as a hand would.
    svg = driver.find_element("id", "bars-P")
    box = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", svg
    )
    width, height = box
    sx, sy = width / 340, height / 210

    def offset(x: float, v: float) -> tuple[int, int]:
        # From the element's centre, in CSS pixels, to the chart's own coordinates.
        return round(x * sx - width / 2), round((182 - 164 * v) * sy - height / 2)

    column_x = 30 + 75 * 1.5
    ActionChains(driver).move_to_element_with_offset(
        svg, *offset(column_x, 0.25)
    ).click_and_hold().move_to_element_with_offset(
        svg, *offset(column_x, 0.5)
    ).move_to_element_with_offset(svg, *offset(column_x, 0.7)).release().perform()
    P = _distribution(driver, "P")
    assert abs(P[1] - 0.7) < 0.01, P
    assert abs(P.sum() - 1) < 1e-12
    # P's other outcomes shrank in proportion: 0.5 : 0.125 : 0.125 still.
    assert P[0] / P[2] == pytest.approx(4)
    _check_measures(driver, base=2)
    shown_p = _shown(driver, "v-P-1")
    assert abs(shown_p - P[1]) <= TOL

    # The keyboard moves a bar too.
    svg.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_UP)
    assert _distribution(driver, "P")[2] == pytest.approx(P[2] + 0.01, abs=1e-3)

    # Switch to nats: every measure follows.
    driver.find_element("css selector", "input[name=unit][value=nats]").click()
    _check_measures(driver, base=None)

    # The gradient numbers read "?" until the learner commits to a prediction.
    panel = driver.find_element("id", "gradient-panel")
    assert "veiled" in panel.get_attribute("class")
    assert driver.find_element("id", "v-dce").text == "?"
    driver.find_element("css selector", "#predict button[data-choice=tenth]").click()
    assert driver.find_element("id", "reveal-verdict").text == "Not quite."
    assert "veiled" not in panel.get_attribute("class")
    _check_unit(driver, -6.0, 1, prefix="v-pred-", keys=("dce", "dse"))
    ratio = abs(_shown(driver, "v-pred-dse")) / abs(_shown(driver, "v-pred-dce"))
    assert _shown(driver, "v-pred-pct") == pytest.approx(100 * ratio, abs=1e-3)
    assert _shown(driver, "v-pred-pct") < 1
    for button in driver.find_elements("css selector", "#predict button"):
        assert not button.is_enabled()

    # Move the logit slider: click on its track at z ≈ 3, then two steps by keyboard.
    slider = driver.find_element("id", "z-slider")
    track = slider.size["width"]
    ActionChains(driver).move_to_element_with_offset(
        slider, round(track * 0.15), 0
    ).click().perform()
    z = float(driver.execute_script("return window.infolossExplorer.state.z"))
    assert 1 < z < 5, z
    slider.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    z2 = float(driver.execute_script("return window.infolossExplorer.state.z"))
    assert z2 == pytest.approx(z + 0.02)
    _close(_shown(driver, "v-z"), z2, "z")
    _check_unit(driver, z2, 1)
    driver.find_element("id", "y0").click()
    _check_unit(driver, z2, 0)
    threshold = math.log((1 + math.sqrt(0.96)) / (1 - math.sqrt(0.96)))
    _close(_shown(driver, "v-zstar"), threshold, "|z| where σ'(z) = 0.01")

    # Reshape the target of the KL fit; the fitted Gaussians' divergences match the library.
    before = driver.execute_script("return window.infolossExplorer.fitArrays().forward")
    target = driver.find_element("id", "t-m2")
    ActionChains(driver).move_to_element_with_offset(
        target, -round(target.size["width"] * 0.3), 0
    ).click().perform()
    m2 = driver.execute_script("return window.infolossExplorer.state.target.m2")
    assert -3.5 < m2 < 0, m2
    time.sleep(0.3)  # the fit runs on the next animation frame
    assert driver.execute_script("return window.infolossExplorer.fitArrays().forward") != before
    _check_fit(driver, base=None)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(1100, driver.execute_script("return document.body.scrollHeight") + 40)
    assert driver.save_screenshot(str(ARTIFACTS / "explorer.png"))

    severe = [e for e in driver.get_log("browser") if e.get("level") in ("SEVERE", "WARNING")]
    assert severe == []
    assert [u for u in _requests(driver, page) if u != page.resolve().as_uri()] == []


def _check_fit(driver: Any, base: int | None) -> None:
    arrays = driver.execute_script("return window.infolossExplorer.fitArrays()")
    P, fwd, rev = (np.array(arrays[k], dtype=np.float64) for k in ("P", "forward", "reverse"))
    expected = {
        "v-fwd-DPQ": il.kl_divergence(P, fwd, base=base, normalize=True),
        "v-fwd-DQP": il.kl_divergence(fwd, P, base=base, normalize=True),
        "v-rev-DPQ": il.kl_divergence(P, rev, base=base, normalize=True),
        "v-rev-DQP": il.kl_divergence(rev, P, base=base, normalize=True),
    }
    for element_id, value in expected.items():
        _close(_shown(driver, element_id), float(value), element_id)
    # Mode-covering against mode-seeking: the forward fit is the wider one.
    assert _shown(driver, "v-fwd-sigma") > _shown(driver, "v-rev-sigma")


def _grid_distributions() -> list[list[float]]:
    rng = np.random.default_rng(11)
    rows: list[list[float]] = [
        [0.5, 0.5],
        [1.0, 0.0],
        [0.0, 1.0],
        [0.9, 0.05, 0.05],
        [1 / 3, 1 / 3, 1 / 3],
        [0.5, 0.5, 0.0],
        [0.4, 0.3, 0.3],
        [1e-300, 1 - 1e-300],
        [0.5, 0.25, 0.125, 0.125],
    ]
    for n in range(2, 11):
        for _ in range(4):
            p = rng.dirichlet(np.full(n, 0.5))
            p[rng.random(n) < 0.2] = 0.0
            if p.sum() == 0:
                p[0] = 1.0
            rows.append((p / p.sum()).tolist())
    return rows


def test_page_numbers_match_the_library_on_a_grid(driver, page):
    _open(driver, page)
    rows = _grid_distributions()
    pairs = [(p, q) for p, q in itertools.product(rows, rows) if len(p) == len(q)]
    for unit, base in (("bits", 2), ("nats", None)):
        got = driver.execute_script(
            """
            const m = window.infolossExplorer.math, unit = arguments[1];
            const enc = (x) => (Number.isFinite(x) ? x : String(x));
            return arguments[0].map(([P, Q]) => [
              m.entropy(P, unit), m.crossEntropy(P, Q, unit), m.klDivergence(P, Q, unit),
              m.jsDivergence(P, Q, unit), m.selfInformation(P, unit)].map((v) =>
                Array.isArray(v) ? v.map(enc) : enc(v)));
            """,
            pairs,
            unit,
        )
        for (p, q), (h, hpq, d, js, info) in zip(pairs, got, strict=True):
            P, Q = np.array(p), np.array(q)
            what = f"P={p}, Q={q}, {unit}"
            _close(float(h), float(il.entropy(P, base=base)), "H " + what)
            _close(float(hpq), float(il.cross_entropy(P, Q, base=base)), "H(P,Q) " + what)
            _close(float(d), float(il.kl_divergence(P, Q, base=base)), "D " + what)
            _close(float(js), float(il.js_divergence(P, Q, base=base)), "JS " + what)
            expected_info = np.asarray(il.self_information(P, base=base))
            for a, b in zip(info, expected_info, strict=True):
                _close(float(a), float(b), "I " + what)

    zs = [-1e3, -40.0, -10.0, -6.0, -2.5, -1e-9, 0.0, 1e-9, 0.3, 2.5, 10.0, 40.0, 1e3]
    got = driver.execute_script(
        "const m = window.infolossExplorer.math;"
        "return arguments[0].map((z) => [0, 1].map((y) => m.sigmoidUnit(z, y)));",
        zs,
    )
    for y in (0, 1):
        z_arr, y_arr = np.array(zs), np.full(len(zs), float(y))
        ce, dce = il.sigmoid_binary_cross_entropy(z_arr, y_arr, reduction="none", return_grad=True)
        se, dse = il.sigmoid_squared_error(z_arr, y_arr, reduction="none", return_grad=True)
        for i, z in enumerate(zs):
            r = got[i][y]
            for key, value in (("ce", ce[i]), ("dce", dce[i]), ("se", se[i]), ("dse", dse[i])):
                _close(float(r[key]), float(value), f"{key} at z={z}, y={y}")

    # Huffman: the page's code is optimal (its mean length equals heapq's Huffman code's) and
    # prefix-free, and H(P) ≤ L < H(P) + 1.
    got = driver.execute_script(
        "const m = window.infolossExplorer.math;"
        "return arguments[0].map((P) => { const h = m.huffman(P);"
        " return [h.codes, m.expectedLength(P, h.lengths)]; });",
        rows,
    )
    for p, (codes, mean_length) in zip(rows, got, strict=True):
        live = [c for c, x in zip(codes, p, strict=True) if x > 0]
        assert all(c is None for c, x in zip(codes, p, strict=True) if x == 0)
        assert not any(a != b and b.startswith(a) for a in live for b in live)
        assert mean_length == pytest.approx(_huffman_mean_length(p), abs=1e-12)
        h = float(il.entropy(np.array(p), base=2))
        # (≤ rather than <: with P = (1e-300, 1 − 1e-300), H + 1 rounds to 1 = L.)
        assert h - 1e-12 <= mean_length <= h + 1


def _huffman_mean_length(p: list[float]) -> float:
    import heapq

    weights = [x for x in p if x > 0]
    if len(weights) == 1:
        return 0.0
    heap = list(weights)
    heapq.heapify(heap)
    total = 0.0
    while len(heap) > 1:
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        total += a + b
        heapq.heappush(heap, a + b)
    return total


def test_kl_fits_are_optimal_by_the_library(driver, page):
    """The page's forward fit minimises the library's D(P‖Q) over the Gaussian family."""
    from scipy.optimize import minimize

    _open(driver, page)
    grid = np.array(driver.execute_script("return window.infolossExplorer.math.GRID"))
    targets = [
        {"m1": -3, "s1": 0.6, "m2": 2.5, "s2": 0.9, "w": 0.55},
        {"m1": -1, "s1": 1.2, "m2": 1.5, "s2": 0.5, "w": 0.3},
        {"m1": 0, "s1": 1.0, "m2": 0.5, "s2": 1.5, "w": 0.8},
    ]
    for t in targets:
        res = driver.execute_script(
            "const m = window.infolossExplorer.math; const lp = m.mixtureLogProbs(arguments[0]);"
            "return [lp, m.fitGaussian(lp, 'forward'), m.fitGaussian(lp, 'reverse')];",
            t,
        )
        log_p = np.array(res[0])

        def log_q(params: np.ndarray) -> np.ndarray:
            mu, log_sigma = params
            return -0.5 * ((grid - mu) / np.exp(log_sigma)) ** 2

        def forward(params: np.ndarray, log_p: np.ndarray = log_p) -> float:
            return float(il.kl_divergence(log_p, log_q(params), form=("log_probs", "logits")))

        def reverse(params: np.ndarray, log_p: np.ndarray = log_p) -> float:
            return float(il.kl_divergence(log_q(params), log_p, form=("logits", "log_probs")))

        for objective, fit in ((forward, res[1]), (reverse, res[2])):
            start = np.array([fit["mu"], math.log(fit["sigma"])])
            best = minimize(objective, start, method="Nelder-Mead", options={"xatol": 1e-9})
            # No nearby Gaussian does better by more than rounding.
            assert objective(start) <= best.fun + 1e-9
        # Mode-covering against mode-seeking.
        assert res[1]["sigma"] >= res[2]["sigma"]


def test_page_fits_a_500_px_window(driver, page):
    _open(driver, page)
    driver.set_window_size(500, 900)
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


DOC = ROOT / "docs" / "explorer.md"
GRADIENT_OUTPUTS = ("v-z", "v-yhat", "v-ce", "v-se", "v-dce", "v-dse", "v-ratio", "v-zstar")


def _svg_texts(driver: Any, svg_id: str) -> list[str]:
    return [t.text for t in driver.find_elements("css selector", f"#{svg_id} text")]


def test_before_the_prediction_section_4_shows_placeholders(driver, page):
    _open(driver, page)
    note = driver.find_element("id", "veil-note")
    assert note.is_displayed()
    assert "unlock once you" in note.text
    # No empty cell and nothing invisible: each number reads "?" until the answer.
    for element_id in GRADIENT_OUTPUTS:
        node = driver.find_element("id", element_id)
        assert node.is_displayed(), element_id
        assert node.text == "?", element_id
    below = driver.find_element("id", "v-below")
    assert below.is_displayed()
    assert below.text.startswith("?")
    for element_id in ("z-slider", "y0", "y1"):
        assert not driver.find_element("id", element_id).is_enabled(), element_id
    # The plots keep their axes and say why their curves are missing.
    for svg_id in ("grad-plot", "grad-log-plot"):
        svg = driver.find_element("id", svg_id)
        assert svg.is_displayed()
        assert svg.size["height"] > 100
        assert "Answer the question to draw the curves" in _svg_texts(driver, svg_id)
        assert "logit z" in _svg_texts(driver, svg_id)
        assert driver.find_elements("css selector", f"#{svg_id} path") == []

    driver.find_element("css selector", "#predict button[data-choice=under1]").click()
    assert driver.find_element("id", "reveal-verdict").text == "Right."
    assert not note.is_displayed()
    for element_id in ("z-slider", "y0", "y1"):
        assert driver.find_element("id", element_id).is_enabled(), element_id
    _close(_shown(driver, "v-z"), -6.0, "z after the answer")
    _check_unit(driver, -6.0, 1)
    for svg_id in ("grad-plot", "grad-log-plot"):
        assert len(driver.find_elements("css selector", f"#{svg_id} path")) == 2
        assert "Answer the question to draw the curves" not in _svg_texts(driver, svg_id)
    assert "10⁻⁵" in _svg_texts(driver, "grad-log-plot")
    # The log plot puts each gradient's dot at log10 |∂L/∂z| on its axis.
    dots = driver.execute_script(
        "return [...document.querySelectorAll('#grad-log-plot circle')]"
        ".map((c) => Number(c.getAttribute('cy')));"
    )
    top, bottom = 10, 182
    expected = [math.log10(0.997527), math.log10(0.00246041)]
    for cy, value in zip(dots, expected, strict=True):
        assert cy == pytest.approx(bottom - (value + 5) / 5 * (bottom - top), abs=0.05)
    # The docs quote the answer the page gives.
    assert f"{_shown(driver, 'v-pred-pct'):.3f} % at z = −6" in DOC.read_text("utf-8")


def _fit_legend(driver: Any, which: str) -> str:
    return str(driver.find_element("id", f"fit-legend-{which}").text)


def test_fit_legend_is_read_off_the_fits(driver, page):
    from selenium.webdriver.common.keys import Keys

    _open(driver, page)
    assert _fit_legend(driver, "forward") == "argmin D(P‖Q): spans both peaks of P"
    assert _fit_legend(driver, "reverse") == "argmin D(Q‖P): picks one peak of P (at x = −3.00)"
    assert driver.find_element("id", "v-rev-shape").text == "picks one peak of P (at x = −3.00)"
    # Mode 1 from −3 to −1 (40 steps of 0.05): the reverse fit's optimum spans both modes.
    driver.find_element("id", "t-m1").send_keys(*[Keys.ARROW_RIGHT] * 40)
    deadline = time.monotonic() + 20
    while driver.execute_script("return window.infolossExplorer.state.fits.reverse.sigma") < 1:
        assert time.monotonic() < deadline, "the fit did not follow the slider"
        time.sleep(0.05)
    assert driver.execute_script("return window.infolossExplorer.state.target.m1") == -1
    mu, sigma = _shown(driver, "v-rev-mu"), _shown(driver, "v-rev-sigma")
    assert _fit_legend(driver, "reverse") == "argmin D(Q‖P): spans both peaks of P"
    assert driver.find_element("id", "v-rev-shape").text == "spans both peaks of P"
    assert _fit_legend(driver, "forward") == "argmin D(P‖Q): spans both peaks of P"
    assert f"(mode 1 at −1: μ = {mu:.2f}, σ = {sigma:.2f})" in DOC.read_text("utf-8")
    _check_fit(driver, base=2)


def test_fit_descriptions_on_chosen_targets(driver, page):
    _open(driver, page)
    got = driver.execute_script(
        """
        const m = window.infolossExplorer.math;
        return arguments[0].map((t) => {
          const lp = m.mixtureLogProbs(t), peaks = m.peaksOf(lp);
          return [peaks, ...["forward", "reverse"].map((d) => m.describeFit(m.fitGaussian(lp, d), peaks).kind)];
        });
        """,
        [
            {"m1": -3, "s1": 0.6, "m2": 2.5, "s2": 0.9, "w": 0.55},
            {"m1": 0, "s1": 1.0, "m2": 0.5, "s2": 1.5, "w": 0.8},
            {"m1": -3.5, "s1": 0.4, "m2": 3.5, "s2": 0.4, "w": 0.3},
        ],
    )
    two_apart, one_peak, light_mode = got
    assert two_apart[1:] == ["both", "one"]
    assert len(one_peak[0]) == 1
    assert one_peak[1:] == ["single", "single"]
    # A lighter mode is still a peak, and the reverse fit sits on the heavier one.
    assert light_mode[0] == pytest.approx([-3.5, 3.5])
    assert light_mode[1:] == ["both", "one"]


def test_preset_numbers_are_those_the_docs_quote(driver, page):
    _open(driver, page)
    driver.find_element("css selector", "button[data-preset=missing]").click()
    assert _distribution(driver, "P").tolist() == [0.5, 0.5, 0.0]
    _check_measures(driver, base=2)
    dpq, dqp = _shown(driver, "v-DPQ"), _shown(driver, "v-DQP")
    assert math.isfinite(dpq)
    assert dqp == math.inf
    doc = DOC.read_text("utf-8")
    assert f"D(P‖Q) = {dpq:.3f} bits is finite" in doc
    assert "D(Q‖P) = +∞" in doc
    assert f"(|z| > {math.log((1 + math.sqrt(0.96)) / (1 - math.sqrt(0.96))):.2f}," in doc


def _rect(driver: Any, selector: str) -> dict[str, float]:
    rect: dict[str, float] = driver.execute_script(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom};",
        selector,
    )
    return rect


FIGURES_AND_TABLES = [
    ("#bars-P", "#outcomes"),
    ("#code-bars", "#codes"),
    ("#fit-plot", "#v-fwd-mu"),
    ("figure:has(#grad-plot)", "#v-dce"),
]


def test_figures_stand_beside_their_tables_on_a_wide_screen(driver, page):
    _open(driver, page)
    driver.set_window_size(1400, 1000)
    for figure, cell in FIGURES_AND_TABLES:
        f = _rect(driver, figure)
        t = _rect(driver, f"table:has({cell})")
        side_by_side = f["left"] >= t["right"] or t["left"] >= f["right"]
        assert side_by_side, (figure, f, t)
        assert f["top"] < t["bottom"], (figure, f, t)
        assert t["top"] < f["bottom"], (figure, f, t)
    driver.set_window_size(500, 900)
    for figure, cell in FIGURES_AND_TABLES:
        f = _rect(driver, figure)
        t = _rect(driver, f"table:has({cell})")
        assert f["bottom"] <= t["top"] or t["bottom"] <= f["top"], (figure, f, t)
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


def test_the_page_names_the_demo_results_it_found(driver, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = {
        "meta": {"seed": 3, "quick": True, "infoloss_version": "0"},
        "training": {"iris": {"linear": {"losses": {"ce": {"lr": 0.5}}}}},
        "saturation": {
            "show_margin": "8",
            "binary": {
                "dataset": "breast_cancer",
                "losses": ["bce", "bse"],
                "runs": {
                    "bce": {"8": {"epochs_to_recover_mean": 1.5}},
                    "bse": {"8": {"epochs_to_recover_mean": None}},
                },
            },
        },
    }
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "results.json").write_text(json.dumps(results), encoding="utf-8")
    path = write_page()
    _open(driver, path)
    text = driver.find_element("id", "lab-results").text
    assert text.startswith("Loaded report/results.json: seed 3")
    assert "No results loaded" not in text
    assert text.endswith("bce: 1.5 epochs; bse: never, within the run.")
