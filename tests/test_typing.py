"""Type tests: mypy --strict and basedpyright hold the generated proxies to their Protocols.

The files ``tests/typing/check_*.py`` are never run. Each checker is run over them as a
subprocess from the repository root, so pyproject.toml's configuration applies (its
mypy ``exclude`` keeps them out of the whole-repository run, so they are passed here).
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import shop_proxies
from tests.tools import ROOT, run, tool

TYPING = ROOT / "tests" / "typing"
CASES = sorted(TYPING.glob("check_*.py"))
PYRIGHT_CONFIG = TYPING / "pyrightconfig.json"

# pyproject's configuration, strict, on the oldest supported Python (as the pyright
# config). Each checked file opens with ``# mypy: disallow-any-expr`` (mypy's reportAny),
# so that only client code is held to it, never the typedmgr it imports.
ANY_FREE = "# mypy: disallow-any-expr\n"
MYPY_FLAGS = (
    "--strict",
    "--python-version=3.11",
    "--no-incremental",
    f"--cache-dir={os.devnull}",
    "--output=json",
)

# Every creation, method and nested proxy a client of the example can reach, revealed.
REVEALED = f"""\
{ANY_FREE}from shop.models import Category
from shop_proxies import ShopManager

m = ShopManager()
shop = m.Shop()
reveal_type(m.Shop())
reveal_type(m.Counter(start=1))
reveal_type(shop.catalog())
reveal_type(shop.catalog().item("B-1"))
reveal_type(shop.catalog().items(Category.BOOKS))
reveal_type(shop.catalog().price("B-1", currency="USD"))
reveal_type(shop.cart("ann"))
reveal_type(shop.find_cart("ann"))
reveal_type(shop.counter("visits"))
reveal_type(shop.counter("visits").increment(by=2))
reveal_type(shop.counter("visits").value())
reveal_type(shop.sales())
reveal_type(shop.cart("ann").add("B-1", qty=2))
reveal_type(shop.cart("ann").lines())
reveal_type(shop.cart("ann").lines()[0])
reveal_type(shop.cart("ann").checkout())
reveal_type(shop.cart("ann").checkout().lines)
"""

# Line 5 is wrong and says nothing; lines 6-8 carry the comments of some checkers only.
SNIPPET = f"""\
{ANY_FREE}from shop_proxies import ShopManager

counter = ShopManager().Counter()
counter.increment(by="2")
counter.increment(by=2)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
counter.increment(by="2")  # type: ignore[arg-type]
counter.increment(by="2")  # pyright: ignore[reportArgumentType]
"""


# What BaseManager.__init__ rejects at run time, so the checkers should too.
WRONG_MANAGER = f"""\
{ANY_FREE}from shop_proxies import ShopManager

ShopManager(adress=("127.0.0.1", 50000), authkey=b"key")
ShopManager(("127.0.0.1", 50000), b"key", "pickle", None, "extra")
"""


@dataclass(frozen=True)
class Diagnostic:
    """One diagnostic of either checker, lines counted from 1."""

    line: int
    severity: str  # "error", or "note" for mypy and "information" for pyright
    code: str  # mypy's error code or basedpyright's rule
    message: str


@dataclass(frozen=True)
class Report:
    """What a checker said about the files it was given."""

    returncode: int
    diagnostics: list[Diagnostic]
    output: str

    def errors(self) -> set[tuple[int, str]]:
        """Each error as (line, code)."""
        return {(d.line, d.code) for d in self.diagnostics if d.severity == "error"}

    def revealed(self, pattern: str) -> list[str]:
        """The types ``reveal_type`` printed, in order."""
        found = (re.fullmatch(pattern, d.message) for d in self.diagnostics)
        return [match.group(1) for match in found if match]


def mypy(*files: Path, config: Path | None = None) -> Report:
    """mypy on ``files``: pyproject's configuration (or ``config``) and ``MYPY_FLAGS``."""
    chosen = () if config is None else (f"--config-file={config}", "--verbose")
    result = run(tool("mypy"), *MYPY_FLAGS, *chosen, *map(str, files))
    lines = [json.loads(line) for line in result.stdout.splitlines() if line]
    diagnostics = [
        Diagnostic(d["line"], d["severity"], d["code"] or "", d["message"])
        for d in lines
    ]
    return Report(result.returncode, diagnostics, result.stdout + result.stderr)


def basedpyright(*files: Path, config: Path = PYRIGHT_CONFIG) -> Report:
    """basedpyright on ``files`` with ``config`` (strict, reportAny, its own ignores only)."""
    result = run(
        tool("basedpyright"),
        "--outputjson",
        "--pythonpath",
        sys.executable,
        "--project",
        str(config),
        *map(str, files),
    )
    report = json.loads(result.stdout)
    assert len(files) == report["summary"]["filesAnalyzed"], result.stdout
    diagnostics = [
        Diagnostic(
            d["range"]["start"]["line"] + 1,
            d["severity"],
            d.get("rule", ""),
            d["message"],
        )
        for d in report["generalDiagnostics"]
    ]
    return Report(result.returncode, diagnostics, result.stdout + result.stderr)


def test_every_case_file_asserts_and_rejects() -> None:
    """Each check file holds assert_type cases and expected errors."""
    assert [] != CASES
    for case in CASES:
        text = case.read_text()
        assert text.startswith(ANY_FREE), case.name
        assert "assert_type(" in text, case.name
        assert "# type: ignore[" in text, case.name


def test_every_expected_error_is_held_by_both_checkers() -> None:
    """A rejected line carries a coded mypy ignore and a ruled pyright ignore."""
    pair = re.compile(
        r"  # type: ignore\[[a-z-]+(, [a-z-]+)*\]  # pyright: ignore\[\w+(, \w+)*\]$"
    )
    unpaired = [
        f"{case.name}:{number}: {line.strip()}"
        for case in CASES
        for number, line in enumerate(case.read_text().splitlines(), 1)
        if "ignore" in line and not pair.search(line)
    ]
    assert [] == unpaired


def test_mypy_accepts_the_type_tests() -> None:
    """mypy --strict: every assert_type holds and every expected error is reported."""
    result = mypy(*CASES)
    assert (0, []) == (result.returncode, result.diagnostics), result.output


def test_basedpyright_accepts_the_type_tests() -> None:
    """basedpyright strict: every assert_type holds and every expected error is reported."""
    result = basedpyright(*CASES)
    assert (0, []) == (result.returncode, result.diagnostics), result.output


@pytest.fixture
def snippet(tmp_path: Path) -> Path:
    """``SNIPPET`` as a client file outside the repository."""
    path = tmp_path / "client.py"
    path.write_text(SNIPPET)
    return path


def test_mypy_really_looks(snippet: Path) -> None:
    """mypy reports a wrong argument and a needless ignore, and skips pyright's comments."""
    result = mypy(snippet)
    assert 1 == result.returncode, result.output
    assert {(5, "arg-type"), (6, "unused-ignore"), (8, "arg-type")} == result.errors()
    assert (
        'Argument "by" to "increment" of "CounterProxy" has incompatible type "str"; '
        'expected "int"'
    ) == result.diagnostics[0].message


def test_basedpyright_really_looks(snippet: Path) -> None:
    """basedpyright reports a wrong argument and a needless ignore, and skips type: ignore."""
    result = basedpyright(snippet)
    assert 1 == result.returncode, result.output
    assert {
        (5, "reportArgumentType"),
        (6, "reportUnnecessaryTypeIgnoreComment"),
        (7, "reportArgumentType"),
    } == result.errors()
    assert result.diagnostics[0].message.startswith(
        'Argument of type "Literal[\'2\']" cannot be assigned to parameter "by" '
        'of type "int" in function "increment"'
    )


def test_the_revealed_snippet_reaches_every_method() -> None:
    """REVEALED and check_shop.py call every creation method and every proxy method."""
    creations = [
        f"m.{name}("
        for name, value in vars(shop_proxies.ShopManager).items()
        if callable(value) and not name.startswith("_")
    ]
    methods = [
        f".{method}("
        for name in shop_proxies.__all__
        if name.endswith("Proxy") and not name.startswith("Async")
        for method in getattr(shop_proxies, name)._exposed_
    ]
    assert ["m.Counter(", "m.Shop("] == sorted(creations)
    assert 13 == len(methods)
    check_shop = (TYPING / "check_shop.py").read_text()
    for text in (REVEALED, check_shop):
        assert [] == [call for call in creations + methods if call not in text]
    # The async twins: every creation and method awaited in check_async.py.
    check_async = (TYPING / "check_async.py").read_text()
    assert [] == [call for call in creations + methods if call not in check_async]


def test_manager_constructor_rejects_what_basemanager_rejects(tmp_path: Path) -> None:
    """A misspelled keyword or an extra positional to ShopManager(...) is a type error."""
    client = tmp_path / "manager.py"
    client.write_text(WRONG_MANAGER)
    assert {4, 5} == {line for line, _ in mypy(client).errors()}
    assert {4, 5} == {line for line, _ in basedpyright(client).errors()}


@pytest.fixture
def revealed(tmp_path: Path) -> Path:
    """``REVEALED`` as a client file outside the repository."""
    path = tmp_path / "revealed.py"
    path.write_text(REVEALED)
    return path


def test_no_any_reaches_client_code_under_mypy(revealed: Path) -> None:
    """mypy: every creation, result and nested proxy of the example has a type without Any."""
    result = mypy(revealed)
    types = result.revealed(r'Revealed type is "(.*)"')
    # With --output=json, mypy exits 1 on notes alone: the errors are what count here.
    assert set() == result.errors(), result.output
    assert REVEALED.count("reveal_type(") == len(types), types
    assert [] == [t for t in types if "Any" in t]
    assert "shop_proxies.CartProxy | None" in types


def test_no_any_reaches_client_code_under_basedpyright(revealed: Path) -> None:
    """basedpyright: no Any or Unknown in any revealed type, and reportAny finds nothing."""
    result = basedpyright(revealed)
    types = result.revealed(r'Type of ".*" is "(.*)"')
    assert (0, set()) == (result.returncode, result.errors()), result.output
    assert REVEALED.count("reveal_type(") == len(types), types
    assert [] == [t for t in types if "Any" in t or "Unknown" in t]
    assert "CartProxy | None" in types


def test_the_generated_module_alone_types_the_same(tmp_path: Path) -> None:
    """Without the .pyi beside it, both checkers read shop_proxies.py and the cases hold."""
    cases = [TYPING / "check_shop.py", TYPING / "check_runtime_api.py"]
    alone = tmp_path / "alone"
    alone.mkdir()
    module = alone / "shop_proxies.py"
    module.write_text((ROOT / "examples" / "shop_proxies.py").read_text())
    mypy_config = tmp_path / "mypy.ini"
    mypy_config.write_text(
        "[mypy]\n"
        f"mypy_path = {alone}:{ROOT / 'examples'}\n"
        "explicit_package_bases = True\n"
        "warn_unreachable = True\n"
        "enable_error_code = ignore-without-code, redundant-expr\n"
    )
    by_mypy = mypy(*cases, config=mypy_config)
    assert (0, []) == (by_mypy.returncode, by_mypy.diagnostics), by_mypy.output
    assert f"Parsing {module} " in by_mypy.output
    assert "shop_proxies.pyi" not in by_mypy.output

    settings = json.loads(PYRIGHT_CONFIG.read_text())
    settings.update(extraPaths=[str(alone), str(ROOT / "examples"), str(ROOT)])
    pyright_config = tmp_path / "pyrightconfig.json"
    pyright_config.write_text(json.dumps(settings))
    by_pyright = basedpyright(*cases, config=pyright_config)
    assert (0, []) == (by_pyright.returncode, by_pyright.diagnostics), by_pyright.output


PROTOCOL_MODULE = ROOT / "tests" / "golden" / "family" / "protocols.py"


def test_a_protocol_module_names_no_any() -> None:
    """A Protocol module using @oneway, overloads, Self and register() passes mypy's
    --disallow-any-expr and basedpyright's reportAny: its own API needs no exemption."""
    text = PROTOCOL_MODULE.read_text()
    assert text.startswith(ANY_FREE)
    assert "@oneway" in text and "@overload" in text and ".register(" in text
    by_mypy = mypy(PROTOCOL_MODULE)
    assert (0, []) == (by_mypy.returncode, by_mypy.diagnostics), by_mypy.output
    by_pyright = basedpyright(PROTOCOL_MODULE)
    assert (0, []) == (by_pyright.returncode, by_pyright.diagnostics), by_pyright.output


def test_disallow_any_expr_really_looks(tmp_path: Path) -> None:
    """The Any checks do fire: a Protocol module using an Any-typed decorator fails both."""
    module = tmp_path / "leaky.py"
    module.write_text(
        f"{ANY_FREE}from typing import Any, Protocol\n"
        "def leaky(f: Any) -> Any:\n"
        "    return f\n"
        "class Log(Protocol):\n"
        "    @leaky\n"
        "    def write(self, line: str) -> None: ...\n"
    )
    assert (6, "misc") in mypy(module).errors()
    assert {(6, "reportAny")} <= basedpyright(module).errors()


#: What generated modules call on TypedProxy and TypedManager, besides public members.
GENERATED_CODE_CALLS = frozenset(
    {
        "__init__",
        "__call__",
        "_call",
        "_call_self",
        "_call_fluent",
        "_call_exit",
        "_get",
        "_get_fluent",
        "_send",
        "_create_proxy",
        "_reply",
        "_callmethod",
    }
)


def test_public_signatures_name_no_any() -> None:
    """No annotation of typedmgr's public functions and methods (and TypedProxy's
    protected ones generated code calls) spells Any."""
    import typedmgr

    found: list[str] = []
    for name in typedmgr.__all__:
        obj = getattr(typedmgr, name)
        members = [(name, obj)]
        if isinstance(obj, type):
            members += [
                (f"{name}.{attr}", value)
                for attr, value in vars(obj).items()
                if not attr.startswith("_") or attr in GENERATED_CODE_CALLS
            ]
        for where, member in members:
            function = getattr(member, "__func__", member)
            annotations = getattr(function, "__annotations__", {})
            if not isinstance(annotations, dict) or isinstance(function, type):
                continue
            found += [
                f"{where}: {key}: {value}"
                for key, value in annotations.items()
                if re.search(r"\bAny\b", str(value))
            ]
    assert [] == found, "\n".join(found)
