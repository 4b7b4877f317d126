"""The source tree's shape, checked: the modules of ``src/infoloss`` import one another
without a cycle, and no function body is longer than 60 lines.

The import graph is read from the source text with :mod:`ast`, not from ``sys.modules``
after an import: an import inside a function (run on first use) is an edge as much as one
at the top of a file, and a test that imported everything would see only what its inputs
happened to reach.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._helpers import ROOT

SRC = ROOT / "src"
PACKAGE = "infoloss"
MAX_BODY = 60

# Functions allowed a longer body, each with its reason: a literal table is data, not logic.
LONG_BODY_ALLOWED: dict[str, str] = {}

# Module-level tables whose string values name the modules that their module imports on
# demand (through importlib.import_module): module -> table.
MODULE_TABLES = {"infoloss._frameworks": "ADAPTERS"}

# Functions that pass their first argument to import_module: module -> function.  Every call
# of the function in its module must name the module as a constant string; those are edges.
IMPORTING_FUNCTIONS = {"infoloss.cli.lazy": "need"}


# --------------------------------------------------------------------- the modules


def module_name(path: Path, src: Path) -> str:
    """``src/infoloss/a/b.py`` -> ``infoloss.a.b``; a package's ``__init__`` is its name."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(src: Path) -> dict[str, Path]:
    """Every module of the package written in Python, by name."""
    return {module_name(p, src): p for p in sorted((src / PACKAGE).rglob("*.py"))}


def extension_files(src: Path) -> dict[str, Path]:
    """Every compiled extension, by name: each ``_NAME.pyx`` is built as a module of that
    name (setup.py), whether or not it has been built here."""
    return {module_name(p, src): p for p in sorted((src / PACKAGE).rglob("*.pyx"))}


def package_of(name: str, path: Path) -> str:
    """The package that a relative import in module ``name`` starts from."""
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


# ------------------------------------------------------------------------ the edges


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:`` (never run)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
            else:
                stack.append(child)


def _absolute(base: str, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    parts = base.split(".")
    head = parts[: len(parts) - (level - 1)]
    return ".".join(head + ([module] if module else []))


def _from_targets(node: ast.ImportFrom, base: str, modules: set[str]) -> Iterator[str]:
    """``from X import a`` needs X.a where that is a module, else X's own namespace."""
    source = _absolute(base, node.level, node.module)
    for alias in node.names:
        sub = f"{source}.{alias.name}"
        yield sub if sub in modules else source


def _string_arg(call: ast.Call, tables: dict[str, list[str]]) -> list[str]:
    """The module names that ``import_module(arg)`` can import: a constant string, or an
    f-string around a lookup in a module-level table of constant strings."""
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if not isinstance(arg, ast.JoinedStr):
        return []  # a variable: its values must be in MODULE_TABLES (checked by the caller)
    prefix = "".join(str(v.value) for v in arg.values if isinstance(v, ast.Constant))
    for v in arg.values:
        if isinstance(v, ast.FormattedValue) and isinstance(v.value, ast.Subscript):
            table = v.value.value
            if isinstance(table, ast.Name) and table.id in tables:
                return [prefix + value for value in tables[table.id]]
    raise AssertionError(f"import_module({ast.unparse(arg)}): a module name this test cannot read")


def _is_import_module(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Call) and node.args):
        return False
    f = node.func
    name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
    return name == "import_module"


def _string_tables(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level ``NAME = {...}`` dicts whose values are all constant strings."""
    tables = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            values = node.value.values
            strings = [
                v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)
            ]
            if values and len(strings) == len(values):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        tables[target.id] = strings
    return tables


def _anchor(call: ast.Call, name: str, base: str) -> str:
    """The package that ``import_module``'s relative names start from (its 2nd argument)."""
    arg = call.args[1] if len(call.args) > 1 else None
    if isinstance(arg, ast.Name) and arg.id == "__name__":
        return name
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    return base


def _dynamic_targets(
    call: ast.Call, name: str, base: str, tables: dict[str, list[str]]
) -> Iterator[str]:
    """The modules that ``importlib.import_module(...)`` imports."""
    anchor = _anchor(call, name, base)
    for target in _string_arg(call, tables):
        rest = target.lstrip(".")
        yield f"{anchor}.{rest}" if rest != target else target


def module_imports(name: str, tree: ast.Module, base: str, modules: set[str]) -> set[str]:
    """The modules of the package that module ``name`` imports, anywhere in its code."""
    tables = _string_tables(tree)
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.update(_from_targets(node, base, modules))
        elif _is_import_module(node):
            assert isinstance(node, ast.Call)
            targets = set(_dynamic_targets(node, name, base, tables))
            assert targets or name in MODULE_TABLES or name in IMPORTING_FUNCTIONS, (
                f"{name}: import_module({ast.unparse(node.args[0])}) names modules that "
                "this test cannot read; list their table in MODULE_TABLES"
            )
            found.update(targets)
    if name in MODULE_TABLES:
        found.update(tables[MODULE_TABLES[name]])
    if name in IMPORTING_FUNCTIONS:
        found.update(_importing_calls(tree, name, IMPORTING_FUNCTIONS[name]))
    return {m for m in found if m.split(".")[0] == PACKAGE and m != name}


def _importing_calls(tree: ast.Module, name: str, function: str) -> list[str]:
    """The module names that the calls of ``function`` in module ``name`` import."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == function:
            arg = node.args[0] if node.args else None
            what = f"{name}: {function}({ast.unparse(arg) if arg else ''})"
            assert isinstance(arg, ast.Constant), f"{what} must name its module as a constant"
            assert isinstance(arg.value, str), f"{what} must name its module as a string"
            names.append(arg.value)
    assert names, f"{name}: no call of {function} (IMPORTING_FUNCTIONS is out of date)"
    return names


_PYX_IMPORT = re.compile(r"^(?:from\s+\S+\s+import\s+[^(]+|import\s+[\w., ]+)$")


def pyx_tree(path: Path) -> ast.Module:
    """The Python imports of a Cython file (``cimport`` aside), as an ``ast`` module."""
    lines = [line.strip() for line in path.read_text("utf-8").splitlines()]
    imports = [line for line in lines if _PYX_IMPORT.match(line) and " cimport " not in line]
    return ast.parse("\n".join(imports))


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Module -> the package's modules that it imports (parent packages' ``__init__``
    files, which Python runs first, are not edges: they are not the module's code)."""
    py, ext = python_files(src), extension_files(src)
    modules = set(py) | set(ext)
    graph = {}
    for name, path in {**py, **ext}.items():
        tree = ast.parse(path.read_text("utf-8")) if path.suffix == ".py" else pyx_tree(path)
        graph[name] = module_imports(name, tree, package_of(name, path), modules)
    return graph


# ----------------------------------------------------------------------- the cycles


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, ..., a]``, or None where there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    # a function-level `from .. import x`, a relative `from . import x`, a table of
    # import_module names, a string table of adapters, and a Cython file's import
    assert "infoloss._kernels" in graph["infoloss.measures._pipeline"]
    assert "infoloss._kernels._info" in graph["infoloss._kernels.info"]
    assert {"infoloss._kernels.info", "infoloss._kernels.softmax"} <= graph["infoloss._kernels"]
    assert {"infoloss.torch", "infoloss.jax"} <= graph["infoloss._frameworks"]
    assert graph["infoloss._kernels._softmax"] == {"infoloss._kernels._results"}


def _tree(source: str) -> ast.Module:
    return ast.parse(source)


@pytest.mark.parametrize(
    ("name", "source", "base", "want"),
    [
        ("infoloss.a", "from . import b", "infoloss", {"infoloss.b"}),
        ("infoloss.a", "from . import f", "infoloss", {"infoloss"}),
        ("infoloss.p.a", "from .. import b", "infoloss.p", {"infoloss.b"}),
        ("infoloss.p", "from .b import f", "infoloss.p", {"infoloss.p.b"}),
        ("infoloss.a", "def g():\n    import infoloss.b.c", "infoloss", {"infoloss.b.c"}),
        ("infoloss.a", "if TYPE_CHECKING:\n    from . import b", "infoloss", set()),
        (
            "infoloss.p",
            "import importlib\nimportlib.import_module('.b', __name__)",
            "infoloss.p",
            {"infoloss.p.b"},
        ),
        ("infoloss.a", "import numpy, os.path", "infoloss", set()),
    ],
)
def test_edges_of_each_import_form(name: str, source: str, base: str, want: set[str]) -> None:
    modules = {"infoloss.b", "infoloss.p.b", "infoloss.b.c"}
    assert module_imports(name, _tree(source), base, modules) == want


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    pkg = tmp_path / PACKAGE / "p"
    pkg.mkdir(parents=True)
    (tmp_path / PACKAGE / "__init__.py").write_text("from .p import a\n", "utf-8")
    (pkg / "__init__.py").write_text("", "utf-8")
    (pkg / "a.py").write_text("def f():\n    from .. import c\n", "utf-8")
    (tmp_path / PACKAGE / "c.py").write_text("from .p.a import f\n", "utf-8")
    cycle = find_cycle(import_graph(tmp_path))
    assert cycle == ["infoloss.p.a", "infoloss.c", "infoloss.p.a"]


def test_a_cycle_is_found_and_named() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


# ------------------------------------------------------------ the length of a body


def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement after the docstring to the end of the body."""
    body = node.body
    first = body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    if has_doc and isinstance(first.value.value, str) and len(body) > 1:  # type: ignore[attr-defined]
        first = body[1]
    elif has_doc and len(body) == 1:
        return 0
    end = body[-1].end_lineno
    assert end is not None
    return end - first.lineno + 1


def body_lengths(root: Path) -> dict[str, int]:
    """``path:name`` -> body lines, for every function of the ``*.py`` files under root."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                where = f"{path.relative_to(root).as_posix()}:{node.name}@{node.lineno}"
                out[where] = body_lines(node)
    return out


def long_functions(root: Path, allowed: dict[str, str]) -> list[str]:
    """``path:name@line (N lines)`` of every function under root with a body over the
    limit that ``allowed`` does not name (by ``path:name``)."""
    return [
        f"{where} ({n} lines)"
        for where, n in body_lengths(root).items()
        if n > MAX_BODY and where.split("@")[0] not in allowed
    ]


def test_no_function_body_is_longer_than_60_lines() -> None:
    long = long_functions(SRC, LONG_BODY_ALLOWED)
    assert not long, f"function bodies over {MAX_BODY} lines: " + "; ".join(long)
    lengths = {w.split("@")[0]: n for w, n in body_lengths(SRC).items()}
    stale = [w for w in LONG_BODY_ALLOWED if lengths.get(w, 0) <= MAX_BODY]
    assert not stale, f"allowed a long body, but short now or gone: {stale}"


def test_body_lines_leave_out_the_docstring(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_BODY))
    doc = '    """One line.\n\n    And more.\n    """\n'
    (tmp_path / "ok.py").write_text(f"def f():\n{doc}{body}\n", "utf-8")
    assert long_functions(tmp_path, {}) == []
    (tmp_path / "long.py").write_text(f"def g():\n{doc}{body}\n    return 1\n", "utf-8")
    assert long_functions(tmp_path, {}) == [f"long.py:g@1 ({MAX_BODY + 1} lines)"]
    assert long_functions(tmp_path, {"long.py:g": "a table"}) == []


# ----------------------------------------------------------- the tests' own layout


# Test folders that cut across the packages, each with its reason.
CROSS_CUTTING = {
    "distributed": "every package on one shared dask.distributed cluster of worker processes",
}


def test_each_test_folder_is_a_package_of_the_source() -> None:
    tests = ROOT / "tests"
    packages = {module_name(p.parent, SRC) for p in (SRC / PACKAGE).glob("*/__init__.py")}
    folders = sorted(d for d in tests.iterdir() if d.is_dir() and not d.name.startswith((".", "_")))
    for folder in folders:
        if folder.name in CROSS_CUTTING:
            assert (folder / "__init__.py").is_file(), f"tests/{folder.name}/ has no __init__.py"
            continue
        names = {f"{PACKAGE}.{folder.name}", f"{PACKAGE}._{folder.name}"}
        assert names & packages, f"tests/{folder.name}/ names no package of src/{PACKAGE}"
        assert (folder / "__init__.py").is_file(), f"tests/{folder.name}/ has no __init__.py"


def test_test_file_names_are_unique() -> None:
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert sorted(names) == sorted(set(names)), "two test files share a name"
