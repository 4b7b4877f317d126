"""The examples in docstrings and in the README run and say what they claim."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["infoloss", "infoloss.measures", "infoloss.losses"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0
    assert failures == 0


def test_readme_example_runs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert block is not None
    namespace: dict[str, object] = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    assert float(namespace["loss"]) > 0  # type: ignore[arg-type]
    assert namespace["grad"].shape == (1, 3)  # type: ignore[attr-defined]


def test_api_reference_lists_every_public_name():
    import infoloss

    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    missing = [n for n in infoloss.__all__ if n != "__version__" and f"### `{n}`" not in text]
    assert missing == []


def test_guide_examples():
    failures, tried = doctest.testfile(
        str(ROOT / "docs" / "guide.md"),
        module_relative=False,
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS,
    )
    assert tried > 20
    assert failures == 0
