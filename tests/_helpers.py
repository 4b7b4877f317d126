"""Helpers shared by the test modules (imported as ``tests._helpers``).

Fixtures live in ``conftest.py``; the plain functions that several modules call live here,
so that each is written once.  Heavy libraries (torch, selenium) are imported inside the
helper that needs them: a module that uses none of them does not pay for them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
"""The repository root (the folder that holds ``pyproject.toml``)."""


def to_numpy(x: Any) -> np.ndarray:
    """Any backend's array as a NumPy array (for comparisons)."""
    if hasattr(x, "compute"):
        x = x.compute()
    if type(x).__module__.startswith("torch"):
        return np.asarray(x.detach().cpu().numpy())
    if type(x).__module__.startswith("array_api_strict"):
        return np.asarray(np.from_dlpack(x))
    return np.asarray(x)


def raise_later_chunk_maxima(z: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Rows 0–5 of z (float64, at least 3 chunks + 904 entries long, N(0, 1) entries)
    changed in place so that later chunks raise the running maximum of a row: by little
    (rows 0, 1; row 1 with a tie at the new maximum), to a dominant entry (2), beyond
    float32's domain of the kernels' exp (3), by about 30 (4), and in every chunk (5)."""
    z[0, 2500] = 3.9  # a small rise in chunk 1, another in chunk 2
    z[0, 5000] = 4.2
    z[1, [2500, 3100]] = 4.5  # two new maximal entries (a tie) in one chunk
    z[2, 4500] = 25.0  # dominates the row
    z[3, 4500] = 60.0  # beyond float32's domain of the exp
    z[4, :chunk] -= 30.0  # the first chunk far below, the second raises by about 30
    z[5, chunk:] += 2.0  # every later chunk higher by 2
    return z


# --------------------------------------------------------------- the compiled kernels

# The contract functions of infoloss._kernels, by the module that defines them.  The
# package resolves each name on every import (its module __getattr__), so a wrapper set
# on the defining module is what the library calls.
_KERNELS = {
    "info": ("measure_rows", "joint_rows"),
    "softmax": ("xent_forward", "xent_backward", "xent_fused", "sqerr_forward", "sqerr_fused"),
    "counting": ("count_rows",),
    "sigmoid": ("sigmoid_forward", "sigmoid_fused"),
}
# Those that return None where they have no route for an input (the caller then takes the
# array-API code); the others return None after writing into a buffer.
_MAY_DECLINE = {"measure_rows", "joint_rows"}


@contextlib.contextmanager
def kernel_calls() -> Iterator[list[str]]:
    """Record, for a block, the name of each compiled kernel that ran.

    A call of ``measure_rows`` or ``joint_rows`` that returns ``None`` (no kernel for that
    input: the caller falls back to the array-API code) is not recorded.
    """
    calls: list[str] = []

    def spy(name: str, kernel: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            out = kernel(*args, **kwargs)
            if out is not None or name not in _MAY_DECLINE:
                calls.append(name)
            return out

        return call

    with pytest.MonkeyPatch.context() as mp:
        for module, names in _KERNELS.items():
            mod = importlib.import_module(f"infoloss._kernels.{module}")
            for name in names:
                mp.setattr(mod, name, spy(name, getattr(mod, name)))
        yield calls


def kernels_on_and_off(f: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """``(f with the kernels, f without them)``; fails unless the first
    call really ran a compiled kernel and the second ran none."""
    from infoloss._kernels import use_kernels

    with kernel_calls() as on_calls, use_kernels(True):
        on = f(*args, **kwargs)
    assert on_calls, f"{getattr(f, '__name__', f)} took no compiled kernel with the kernels on"
    with kernel_calls() as off_calls, use_kernels(False):
        off = f(*args, **kwargs)
    assert not off_calls, f"kernels {off_calls} ran with the kernels off"
    return on, off


# ------------------------------------------------------------------------ PyTorch


# Option sets that the drop-ins' short paths for small batches are checked with ("w": a
# class weight that the test makes, with a zero-weight class).
SMALL_BATCH_OPTIONS: list[dict[str, Any]] = [
    {},
    {"label_smoothing": 0.1},
    {"weight": "w"},
    {"weight": "w", "label_smoothing": 0.2, "ignore_index": 1},
    {"lse_square_scale": 1e-2},
]


def torch_tol(dtype: Any) -> dict[str, float]:
    """The tolerances of a PyTorch comparison in ``dtype`` (float32 or float64)."""
    import torch

    if dtype == torch.float32:
        return {"rtol": 2e-5, "atol": 2e-6}
    return {"rtol": 1e-12, "atol": 1e-14}


def torch_logits(shape: tuple[int, ...], dtype: Any, seed: int = 0) -> Any:
    """Logits of ``shape`` and ``dtype``: 2·N(0, 1) drawn in float64 with ``seed``."""
    import torch

    g = torch.Generator().manual_seed(seed)
    return (2 * torch.randn(shape, generator=g, dtype=torch.float64)).to(dtype)


def torch_close(a: Any, b: Any, dtype: Any = None) -> None:
    """``a`` equals ``b`` (same dtype) to the tolerances of ``dtype`` (default: a's)."""
    import torch

    tol = torch_tol(a.dtype if dtype is None else dtype)
    torch.testing.assert_close(a, b, check_dtype=True, rtol=tol["rtol"], atol=tol["atol"])


# ------------------------------------------------------------ the command line


def run_cli(
    argv: list[str], stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None
) -> tuple[int, str]:
    """``(exit status, standard output)`` of ``infoloss argv`` run in this process; text
    given as ``stdin`` is what the command reads from standard input."""
    from infoloss.cli import main

    out = io.StringIO()
    if stdin is not None:
        assert monkeypatch is not None, "stdin needs the monkeypatch fixture"
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    code = main(argv, out=out)
    return code, out.getvalue()


def cli_status(argv: list[str]) -> Any:
    """The exit status of ``infoloss argv`` run in this process, argparse's own usage
    errors (which raise SystemExit) included; its output is discarded."""
    from infoloss.cli import main

    try:
        return main(argv, out=io.StringIO())
    except SystemExit as exc:
        return exc.code


# ------------------------------------------------------------------- the browser


def require(missing: list[str], what: str = "headless browser test") -> None:
    """Skip the test when ``missing`` (what to install) is not empty; fail instead with
    ``INFOLOSS_REQUIRE_BROWSER=1``, where a skipped browser test would hide a gap."""
    if not missing:
        return
    reason = f"{what} needs: " + ", ".join(missing)
    if os.environ.get("INFOLOSS_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " (INFOLOSS_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def executable(path: str, name: str) -> str | None:
    """``path`` where that file exists, else where ``name`` is found on ``PATH`` (or None)."""
    return path if Path(path).is_file() else shutil.which(name)


def missing_browser(chromium: str, chromedriver: str, *modules: str) -> list[str]:
    """What a headless Chromium test lacks, as install hints: the browser and its driver
    (at the paths given, or on ``PATH``), selenium, and the Python packages ``modules``."""
    missing = []
    if executable(chromium, "chromium") is None:
        missing.append(f"chromium ({chromium}; apt-get install chromium)")
    if executable(chromedriver, "chromedriver") is None:
        missing.append(f"chromedriver ({chromedriver}; apt-get install chromium-driver)")
    return missing + missing_modules("selenium", *modules)


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def headless_chromium(profile: Path, width: int, height: int, logs: dict[str, str]) -> Any:
    """A selenium driver of headless Chromium (Debian's paths, else ``PATH``) with a fresh
    profile, a window of ``width`` × ``height`` and the given ``goog:loggingPrefs``; the
    caller quits it.  Call :func:`missing_browser` first."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(executable(CHROMIUM, "chromium"))
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", logs)
    service = Service(str(executable(CHROMEDRIVER, "chromedriver")))
    return webdriver.Chrome(service=service, options=options)


def missing_modules(*names: str) -> list[str]:
    """The Python packages of ``names`` that cannot be imported, as install hints."""
    return [f"{n} (pip install {n})" for n in names if importlib.util.find_spec(n) is None]
