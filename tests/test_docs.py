"""The examples in docstrings, the README and docs/*.md run and say what they claim.

Every ```python block and every ``>>>`` example of README.md and docs/*.md is one test. The
blocks of a file run in order in one namespace, as a reader would type them, so a block may
use what an earlier block of the same page defined. A ``>>>`` example is checked as a
doctest (its printed output must match); a plain block must run without an exception. A
block is left out only with an explicit marker on the line before its fence,
``<!-- not run: why -->``, for shell sessions and deliberately failing examples.
"""

from __future__ import annotations

import doctest
import importlib
import io
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = [
    "infoloss",
    "infoloss.measures",
    "infoloss.losses",
    "infoloss.estimators._discrete",
    "infoloss.estimators._ranking",
    "infoloss.estimators._resample",
]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON_FENCES = {"python", "py", "python3", "pycon"}
# Imports a block may make that the test environment may lack: such a block skips.
OPTIONAL = ("torch", "jax", "optax", "dask", "scipy", "sklearn", "mpmath", "matplotlib")
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
_NOT_RUN = re.compile(r"^\s*<!--\s*not run:\s*(?P<why>\S.*?)\s*-->\s*$")
_MARKER_LIKE = re.compile(r"<!--\s*not[ -]run", re.IGNORECASE)
# an import statement, in a script or after a doctest prompt: its module list
_IMPORT = re.compile(
    r"^\s*(?:(?:>>>|\.\.\.)\s+)?(?:from\s+(\S+)\s+import|import\s+([^#\n]+))", re.M
)


@dataclass
class Block:
    """One runnable example of a Markdown page."""

    path: Path
    line: int
    source: str
    doctest: bool
    not_run: str | None = None

    @property
    def ident(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def needs(self) -> list[str]:
        modules = set()
        for m in _IMPORT.finditer(self.source):
            listed = [m.group(1)] if m.group(1) else m.group(2).split(",")
            modules |= {item.split()[0] for item in listed if item.strip()}
        names = {module.split(".")[0] for module in modules}
        names |= {"torch" for module in modules if module.startswith("infoloss.torch")}
        names |= {"jax" for module in modules if module.startswith("infoloss.jax")}
        return [name for name in OPTIONAL if name in names]


def _marker(lines: list[str], fence_index: int) -> str | None:
    """The reason of a ``not run`` marker on the line before a fence, if there is one."""
    if fence_index == 0:
        return None
    previous = lines[fence_index - 1]
    match = _NOT_RUN.match(previous)
    if match is None and _MARKER_LIKE.search(previous):
        raise ValueError(f"malformed not-run marker before line {fence_index + 1}: {previous!r}")
    return None if match is None else match.group("why")


def _fenced_end(lines: list[str], start: int, fence: str) -> int:
    for end in range(start + 1, len(lines)):
        stripped = lines[end].strip()
        if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
            return end
    raise ValueError(f"unclosed code fence at line {start + 1}")


def parse_blocks(path: Path, text: str) -> list[Block]:
    """Every ```python block and every bare ``>>>`` paragraph of ``text``, in order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is not None:
            end = _fenced_end(lines, i, fence.group(2))
            body = textwrap.dedent("\n".join(lines[i + 1 : end])) + "\n"
            is_doctest = any(ln.lstrip().startswith(">>>") for ln in body.splitlines())
            language = fence.group(3).lower()
            if language in PYTHON_FENCES or (not language and is_doctest):
                blocks.append(Block(path, i + 2, body, is_doctest, _marker(lines, i)))
            i = end + 1
        elif lines[i].lstrip().startswith(">>>"):
            end = i
            while end < len(lines) and lines[end].strip():
                end += 1
            body = textwrap.dedent("\n".join(lines[i:end])) + "\n"
            blocks.append(Block(path, i + 1, body, True))
            i = end
        else:
            i += 1
    return blocks


def _all_blocks() -> list[Block]:
    return [b for p in DOC_FILES for b in parse_blocks(p, p.read_text(encoding="utf-8"))]


@dataclass
class _Page:
    """The namespace a page's blocks share, and how many of them have run in it."""

    namespace: dict[str, object] = field(default_factory=dict)
    done: int = 0


_PAGES: dict[Path, _Page] = {}


def _execute(block: Block, namespace: dict[str, object]) -> None:
    if not block.doctest:
        code = compile("\n" * (block.line - 1) + block.source, str(block.path), "exec")
        exec(code, namespace)
        return
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block.source, namespace, block.ident, str(block.path), block.line - 1)
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    result = runner.run(test, out=report.write, clear_globs=False)
    namespace.update(test.globs)  # the DocTest ran on a copy of the page's namespace
    if result.failed:
        pytest.fail(
            f"{block.ident}: {result.failed} of {result.attempted} examples fail\n{report.getvalue()}"
        )


def _run_in_page(block: Block, page_blocks: list[Block], workdir: Path) -> None:
    page = _PAGES.setdefault(block.path, _Page())
    index = page_blocks.index(block)
    if page.done > index:  # run again (e.g. pytest's --count): start the page afresh
        page = _PAGES[block.path] = _Page()
    cwd = Path.cwd()
    os.chdir(workdir)
    try:
        for earlier in page_blocks[page.done : index]:
            page.done += 1
            if earlier.not_run is None:
                try:
                    _execute(earlier, page.namespace)
                except BaseException as exc:
                    pytest.fail(f"an earlier block of the page, {earlier.ident}, fails: {exc!r}")
        page.done = index + 1
        _execute(block, page.namespace)
    finally:
        os.chdir(cwd)


BLOCKS = _all_blocks()


@pytest.mark.parametrize("block", BLOCKS, ids=[b.ident for b in BLOCKS])
def test_doc_block_runs(block: Block, tmp_path_factory: pytest.TempPathFactory) -> None:
    if block.not_run is not None:
        pytest.skip(f"marked not run: {block.not_run}")
    page_blocks = [b for b in BLOCKS if b.path == block.path]
    for name in {n for b in page_blocks[: page_blocks.index(block) + 1] for n in b.needs()}:
        pytest.importorskip(name)
    workdir = tmp_path_factory.mktemp(block.path.stem)
    _run_in_page(block, page_blocks, workdir)


def test_every_page_with_examples_is_collected() -> None:
    pages = {b.path for b in BLOCKS}
    assert ROOT / "README.md" in pages
    assert ROOT / "docs" / "guide.md" in pages
    assert sum(b.path.name == "guide.md" for b in BLOCKS) >= 5


SAMPLE = """\
Text.

```python
x = 1
```

<!-- not run: a shell session -->
```python
raise SystemExit
```

```bash
echo not python
```

>>> x + 1
2

    ```py
    >>> x
    1
    ```
"""


def test_parse_blocks_finds_fences_doctests_and_markers() -> None:
    blocks = parse_blocks(ROOT / "sample.md", SAMPLE)
    assert [(b.line, b.doctest, b.not_run) for b in blocks] == [
        (4, False, None),
        (9, False, "a shell session"),
        (16, True, None),
        (20, True, None),
    ]
    assert blocks[0].source == "x = 1\n"
    assert blocks[3].source == ">>> x\n1\n"


def test_parse_blocks_rejects_a_marker_without_a_reason() -> None:
    with pytest.raises(ValueError, match="malformed not-run marker"):
        parse_blocks(ROOT / "sample.md", "<!-- not run -->\n```python\nx = 1\n```\n")


def test_parse_blocks_rejects_an_unclosed_fence() -> None:
    with pytest.raises(ValueError, match="unclosed code fence"):
        parse_blocks(ROOT / "sample.md", "```python\nx = 1\n")


def test_a_failing_doctest_fails() -> None:
    block = Block(ROOT / "sample.md", 1, ">>> 1 + 1\n3\n", True)
    with pytest.raises(pytest.fail.Exception, match="1 of 1 examples fail"):
        _execute(block, {})


def test_block_needs_names_optional_imports() -> None:
    source = "import numpy as np\nimport infoloss.torch as ilt\nfrom dask import array\n"
    assert Block(ROOT / "x.md", 1, source, False).needs() == ["torch", "dask"]


def test_block_needs_reads_doctest_prompts_and_import_lists() -> None:
    source = ">>> import numpy, infoloss.jax as ilj\n>>> from mpmath import mp\n... import dask\n"
    assert Block(ROOT / "x.md", 1, source, True).needs() == ["jax", "dask", "mpmath"]
    assert Block(ROOT / "x.md", 1, ">>> import torch  # CPU\n", True).needs() == ["torch"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0
    assert failures == 0


def test_api_reference_lists_every_public_name():
    import infoloss

    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    missing = [n for n in infoloss.__all__ if n != "__version__" and f"### `{n}`" not in text]
    assert missing == []


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("infoloss.torch", ["cross_entropy", "CrossEntropyLoss", "linear_cross_entropy"]),
        ("infoloss.jax", ["softmax_cross_entropy"]),
    ],
)
def test_api_reference_lists_the_framework_entry_points(module, names):
    pytest.importorskip(module.split(".")[1])
    public = importlib.import_module(module).__all__
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    missing = [n for n in names if n not in public or f"### `{module}.{n}`" not in text]
    assert missing == []


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub writes it: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("path", DOC_FILES, ids=[str(p.relative_to(ROOT)) for p in DOC_FILES])
def test_relative_links_resolve(path: Path) -> None:
    broken = []
    for match in _LINK.finditer(path.read_text(encoding="utf-8")):
        target, _, anchor = match.group(1).partition("#")
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        linked = (path.parent / target).resolve() if target else path
        if not linked.exists():
            broken.append(match.group(1))
        elif anchor and linked.suffix == ".md":
            headings = re.findall(r"^#+ (.*)$", linked.read_text(encoding="utf-8"), re.MULTILINE)
            if anchor not in {_slug(h) for h in headings}:
                broken.append(match.group(1))
    assert broken == []


def test_slug_follows_github() -> None:
    assert _slug("Inside `torch.func` transforms") == "inside-torchfunc-transforms"
    assert _slug("z-loss and soft-capping") == "z-loss-and-soft-capping"


_REPO_PATH = re.compile(r"(?<![\w/.])((?:tests|benchmarks|src)/[\w/.-]*\w)")
# Files the documented commands write (not kept in the repository).
_GENERATED = ("benchmarks/results/",)


@pytest.mark.parametrize("path", DOC_FILES, ids=[str(p.relative_to(ROOT)) for p in DOC_FILES])
def test_named_repository_files_exist(path: Path) -> None:
    named = set(_REPO_PATH.findall(path.read_text(encoding="utf-8")))
    missing = sorted(
        n
        for n in named
        if not n.startswith(_GENERATED) and "NAME" not in n and not (ROOT / n).exists()
    )
    assert missing == []
