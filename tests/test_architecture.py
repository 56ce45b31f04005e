"""The shape of the code, checked: no import cycles, small modules, no repeated blocks, and
the stdlib's private names reached through one module."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tools import ROOT

# Each package, with the folder its dotted module names are relative to.
PACKAGES = {
    ROOT / "typedmgr": ROOT,
    ROOT / "codegen" / "typedmgr_codegen": ROOT / "codegen",
}
MAX_LINES = 450
REPEAT = (
    6  # lines: a block this long, written twice, is a function waiting for its name
)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, base in PACKAGES.items():
        for path in sorted(package.rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path) -> set[str]:
    """The package's modules this one imports when it runs: at module level or inside a
    function (an import moved into a function to dodge a cycle is still the cycle); imports
    only a type checker sees do not count."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    imported: set[str] = set()

    def visit(nodes: Iterator[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                visit(iter(node.orelse))
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[
                        : len(package.split(".")) - node.level + 1
                    ]
                    base = ".".join([*parent, *([node.module] if node.module else [])])
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    imported.add(submodule if submodule in MODULES else base)
            else:
                visit(ast.iter_child_nodes(node))

    visit(iter(ast.parse(path.read_text()).body))
    return {module for module in imported if module in MODULES and module != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph[module]):
            if imported not in index:
                connect(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while (member := stack.pop()) != module:
                component.append(member)
            if component:
                found.append(sorted([module, *component]))

    for module in sorted(graph):
        if module not in index:
            connect(module)
    return found


def test_no_import_cycles() -> None:
    """No module of typedmgr or typedmgr-codegen imports, directly or not, one that imports
    it back: each layer depends only on those below it."""
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    assert [] == _cycles(graph)


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a three-module ring is reported."""
    assert [["a", "b", "c"]] == _cycles(
        {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    )


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_small(name: str) -> None:
    """Every module fits on a few screens: one job each."""
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name}: {lines} lines (at most {MAX_LINES})"


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """Lines that say something: not blank, not comments, not docstrings, not imports,
    not signatures (a function passing its parameters on repeats them), not lone
    brackets."""
    text = path.read_text()
    skipped: set[int] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            skipped.update(range(node.lineno, node.body[0].lineno))
        elif isinstance(node, (ast.Import, ast.ImportFrom)) or (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            skipped.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    kept = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if number in skipped or not stripped or stripped.startswith("#"):
            continue
        if stripped.strip("()[]{},:") == "":
            continue
        kept.append((number, stripped))
    return kept


def _repeats(sources: dict[str, Path]) -> list[str]:
    seen: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for name, path in sources.items():
        lines = _code_lines(path)
        for start in range(len(lines) - REPEAT + 1):
            block = tuple(text for _, text in lines[start : start + REPEAT])
            seen[block].append(f"{name}:{lines[start][0]}")
    return [" = ".join(places) for places in seen.values() if len(places) > 1]


def test_no_block_is_written_twice() -> None:
    """No run of six code lines appears twice in typedmgr or typedmgr-codegen."""
    assert [] == _repeats(MODULES)


def test_the_repeat_finder_finds_a_repeat(tmp_path: Path) -> None:
    """The check above can fail: six lines copied into a second module are reported."""
    body = "".join(f"x{i} = {i}\n" for i in range(REPEAT))
    (tmp_path / "a.py").write_text(body)
    (tmp_path / "b.py").write_text("y = 0\n" + body)
    assert ["a:1 = b:2"] == _repeats({"a": tmp_path / "a.py", "b": tmp_path / "b.py"})


_STDLIB_MODULES = {
    "managers",
    "connection",
    "util",
    "process",
    "reduction",
    "context",
    "spawn",
}


def _stdlib_private_names(path: Path) -> list[str]:
    """Private names of ``multiprocessing`` this module reaches: ``managers._X``,
    ``managers.BaseProxy._X`` and ``from multiprocessing... import _X``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "multiprocessing"
        ):
            found += [
                f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")
            ]
        elif (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.endswith("__")  # dunders are public protocols
        ):
            base = node.value
            if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name):
                base = base.value  # managers.BaseProxy._X
            if isinstance(base, ast.Name) and base.id in _STDLIB_MODULES:
                found.append(f"{ast.unparse(node)}:{node.lineno}")
    return found


def test_the_stdlibs_private_names_are_reached_through_one_module() -> None:
    """Only ``typedmgr/_stdlib.py`` names private parts of ``multiprocessing``, whose
    every name a test checks on the running Python (tests/test_stdlib_compat.py)."""
    reached = {
        name: names
        for name, path in MODULES.items()
        if name != "typedmgr._stdlib" and (names := _stdlib_private_names(path))
    }
    assert {} == reached
    assert _stdlib_private_names(MODULES["typedmgr._stdlib"])  # the check sees them


def test_every_module_but_the_face_is_private() -> None:
    """Users import ``typedmgr`` (and run ``python -m typedmgr``); every other module is
    private, so it can move or change without breaking anyone (tests/test_public_api.py
    lists the face)."""
    public = [
        name
        for name in MODULES
        if "." in name and not any(part.startswith("_") for part in name.split(".")[1:])
    ]
    assert [] == public


def test_docs_internals_names_every_module() -> None:
    """docs/internals.md's tree has one line per module: none is left out of it."""
    tree = (ROOT / "docs" / "internals.md").read_text()
    missing = [
        name
        for name, path in MODULES.items()
        if path.name != "__init__.py" and f" {path.name} " not in tree
    ]
    assert [] == missing


def test_test_files_have_unique_names() -> None:
    """One obvious place to look: no two test files share a name across test folders."""
    names = [path.name for path in (ROOT / "tests").rglob("test_*.py")]
    assert sorted(set(names)) == sorted(names)
