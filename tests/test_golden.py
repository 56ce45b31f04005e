"""Golden files: the generator's output for each case, reviewed as diffs.

Regenerate with ``pytest tests/test_golden.py --update-golden`` and read the diff: the tests
of the files it rewrote fail, so an update never passes for a check; run again without it.
"""

from __future__ import annotations

import asyncio
import collections.abc
import concurrent.futures
import importlib.metadata
import io
import json
import os
import pathlib
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from tests.golden.forms.values import Color, UserId
from tests.tools import ROOT, run, tool
from typedmgr_codegen._cli import main as gen
from typedmgr_codegen._imports import Imports
from typedmgr_codegen._load import load_managers
from typedmgr_codegen._render import GENERATED_MARK, GeneratedModule, render_module
from typedmgr_codegen._spelling import TypeWriter

GOLDEN = ROOT / "tests" / "golden"
CASES = {
    "loose": "tests.golden.loose.protocols:LooseManager",
    "bag": "tests.golden.bag.protocols:BagManager",
    "family": "tests.golden.family.protocols:FamilyManager",
    "forms": "tests.golden.forms.protocols:FormsManager",
    "generic": "tests.golden.generic.protocols:GenericManager",
    "plain": "tests.golden.plain.protocols:PlainManager",
    "quoted": "tests.golden.quoted.protocols:QuotedManager",
}


@pytest.fixture(autouse=True)
def outside_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in-process `typedmgr gen` away from the repository's [tool.typedmgr] settings.

    Its targets and out belong to the reference example, not to these runs; sys.path,
    which `typedmgr gen` extends, is restored afterwards.
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))


def render(case: str) -> GeneratedModule:
    """Generate the case's module and stub."""
    return render_module(load_managers([CASES[case]]))


def expected(case: str) -> tuple[Path, Path]:
    """Paths of the case's committed golden module and stub."""
    folder = GOLDEN / case / "expected"
    return folder / "proxies.py", folder / "proxies.pyi"


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_matches_golden_files(case: str, request: pytest.FixtureRequest) -> None:
    """The generator's output is byte-identical to the reviewed golden files."""
    module = render(case)
    py, pyi = expected(case)
    if request.config.getoption("--update-golden"):
        rewritten = update_golden(py, pyi, module)
        if rewritten:  # never a pass: a rewritten file was compared with nothing
            pytest.fail(
                f"rewrote {', '.join(rewritten)}: review the diff (git diff), "
                "then run again without --update-golden"
            )
    assert py.read_text() == module.source
    assert pyi.read_text() == module.stub


def update_golden(py: Path, pyi: Path, module: GeneratedModule) -> list[str]:
    """Write the case's golden module and stub where they differ; the paths rewritten."""
    py.parent.mkdir(parents=True, exist_ok=True)
    (py.parent / "__init__.py").touch()
    rewritten = []
    for path, text in ((py, module.source), (pyi, module.stub)):
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            rewritten.append(str(path.relative_to(ROOT)))
    return rewritten


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_is_deterministic(case: str) -> None:
    """Two renders give the same bytes, and say they are generated and from what."""
    first, second = render(case), render(case)
    assert first == second
    assert first.source.startswith(f"# {GENERATED_MARK} by typedmgr-codegen")
    assert CASES[case] in first.source.splitlines()[0]


def test_golden_modules_pass_mypy_strict() -> None:
    """Every golden .py and .pyi passes mypy --strict."""
    modules = [str(expected(case)[0]) for case in CASES]
    stubs = [str(expected(case)[1]) for case in CASES]
    for files in (modules, stubs):
        result = run(tool("mypy"), "--strict", "--no-incremental", *files)
        assert 0 == result.returncode, result.stdout + result.stderr


def test_golden_files_are_ruff_clean() -> None:
    """Generated code is formatted and lint-free, by this repository's rules and by
    ruff's defaults (``--isolated``: no configuration, as in a project without any)."""
    files = [str(path) for case in CASES for path in expected(case)]
    for isolated in ((), ("--isolated",)):
        checked = run(tool("ruff"), "check", *isolated, *files)
        assert 0 == checked.returncode, checked.stdout
        formatted = run(tool("ruff"), "format", "--check", *isolated, *files)
        assert 0 == formatted.returncode, formatted.stdout


def test_golden_modules_pass_basedpyright_strict(tmp_path: Path) -> None:
    """basedpyright, strict with every rule the type tests enable, finds nothing in the
    generated modules and stubs but ``reportAny`` (and ``reportExplicitAny``) where a
    Protocol itself declares Any."""
    settings = json.loads(
        (ROOT / "tests" / "typing" / "pyrightconfig.json").read_text()
    )
    settings.update(stubPath=str(tmp_path), extraPaths=[str(ROOT)])
    config = tmp_path / "pyrightconfig.json"
    config.write_text(json.dumps(settings))
    files = [str(path) for case in CASES for path in expected(case)]
    result = run(
        tool("basedpyright"),
        "--outputjson",
        "--pythonpath",
        sys.executable,
        "--project",
        str(config),
        *files,
    )
    report = json.loads(result.stdout)
    assert len(files) == report["summary"]["filesAnalyzed"], result.stdout
    found = {
        (Path(d["file"]).relative_to(GOLDEN).parts[0], d.get("rule", ""))
        for d in report["generalDiagnostics"]
    }
    assert found <= {("loose", "reportAny"), ("loose", "reportExplicitAny")}, (
        result.stdout
    )
    assert ("loose", "reportAny") in found
    declared_any = {
        "anything",
        "anys",
        "get",
        "holder",
    }  # tests/golden/loose/protocols.py
    for d in report["generalDiagnostics"]:
        lines = (
            Path(d["file"]).read_text().splitlines()[: d["range"]["start"]["line"] + 1]
        )
        method = next(line for line in reversed(lines) if " def " in line)
        assert method.split("def ")[1].split("(")[0] in declared_any, d


def test_no_redundant_cast_for_loose_results() -> None:
    """``-> object`` (and ``object | None``) and ``-> Any`` pass ``_call``'s result on
    uncast, ``-> None`` returns nothing, ``NoReturn`` raises if the server returned."""
    source = expected("loose")[0].read_text()
    for method in ("obj", "anything", "maybe"):
        assert f'        return self._call("{method}"' in source
    assert '        return self._get("tag")' in source
    assert '        self._call("nothing")\n' in source
    assert 'cast("object' not in source
    assert 'cast("_typing.Any"' not in source
    assert "        raise AssertionError(" in source


def test_the_generator_runs_no_formatter() -> None:
    """typedmgr-codegen lays its output out itself: it requires no ruff, so installing it
    leaves a project's own ruff alone, and the output does not depend on one."""
    requires = importlib.metadata.requires("typedmgr-codegen") or []
    assert [] == [r for r in requires if r.split()[0].lower().startswith("ruff")]
    sources = (ROOT / "codegen" / "typedmgr_codegen").glob("*.py")
    imports = [
        line.strip()
        for path in sources
        for line in path.read_text().splitlines()
        if line.strip().startswith(("import ", "from "))
    ]
    assert [] == [i for i in imports if "ruff" in i or "subprocess" in i]


def test_stubtest_holds_stubs_against_modules() -> None:
    """mypy.stubtest finds no difference between each golden .pyi and its .py."""
    modules = [f"tests.golden.{case}.expected.proxies" for case in CASES]
    result = run(
        sys.executable,
        "-m",
        "mypy.stubtest",
        "--mypy-config-file",
        "pyproject.toml",
        *modules,
    )
    assert 0 == result.returncode, result.stdout + result.stderr


def import_sections(source: str) -> tuple[list[str], list[str]]:
    """(imports run at import time, imports under ``if TYPE_CHECKING:``) of a module."""
    runtime: list[str] = []
    guarded: list[str] = []
    for line in source.split("\n__all__", 1)[0].splitlines():
        if line.startswith(("import ", "from ")) and "__future__" not in line:
            runtime.append(line)
        elif line.startswith(("    import ", "    from ")):
            guarded.append(line.strip())
    return runtime, guarded


@pytest.mark.parametrize("case", ["forms", "quoted"])
def test_type_checking_only_imports_stay_type_checking_only(case: str) -> None:
    """A module the Protocols import under TYPE_CHECKING is imported there in the .py too."""
    heavy = f"tests.golden.{case}.heavy"
    runtime, guarded = import_sections(render(case).source)
    names = "Report" if case == "forms" else "Mode, Report"
    assert [f"from {heavy} import {names}"] == [
        line for line in guarded if heavy in line
    ]
    assert [] == [line for line in runtime if heavy in line]
    assert f"from {heavy} import {names}" in render(case).stub


def test_annotation_only_imports_are_type_checking_only() -> None:
    """The .py imports at run time only typedmgr, typing, and what class bodies evaluate."""
    runtime, guarded = import_sections(render("quoted").source)
    assert (
        [
            "import builtins as _builtins_",  # @builtins.property: a method is named property
            "import typing as _typing_",  # a parameter is named _typing
            "import tests.golden.quoted.protocols as _tests_golden_quoted_protocols",
            "import typedmgr as _typedmgr",
        ]
        == runtime
    )
    assert [
        "from io import BytesIO",  # io.BytesIO says it is _io.BytesIO
        "from pathlib import PurePosixPath",  # pathlib._local.PurePosixPath on 3.13
        "from typing import Literal",
        "from tests.golden.quoted.heavy import Mode, Report",
    ] == guarded


def test_check_reports_stale_files_with_a_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`typedmgr gen --check` exits 1 with a unified diff when a file is stale, 0 when not."""
    out = tmp_path / "proxies.py"
    target = CASES["plain"]
    assert 0 == gen([target, "--out", str(out)])
    capsys.readouterr()
    assert 0 == gen([target, "--out", str(out), "--check"])
    out.write_text(out.read_text().replace("def keys", "def cles"))
    assert 1 == gen([target, "--out", str(out), "--check"])
    captured = capsys.readouterr()
    assert "-    def cles" in captured.out
    assert "+    def keys" in captured.out
    assert "stale" in captured.err
    assert "def cles" in out.read_text()  # --check writes nothing


def test_stubs_dir_mirrors_the_module_path(tmp_path: Path) -> None:
    """--stubs-dir puts the .pyi in a stub tree; the .py goes where --out says."""
    out = tmp_path / "client_proxies.py"
    assert 0 == gen(
        [CASES["plain"], "--out", str(out), "--stubs-dir", str(tmp_path / "st")]
    )
    assert out.exists()
    assert (tmp_path / "st" / "client_proxies.pyi").exists()


def test_dump_model_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--dump-model prints the interface model as JSON."""
    assert 0 == gen([CASES["forms"], "--dump-model"])
    model = json.loads(capsys.readouterr().out)
    names = [i["protocol"] for i in model["interfaces"]]
    assert "tests.golden.forms.protocols:Forms" in names
    forms = next(i for i in model["interfaces"] if i["protocol"].endswith(":Forms"))
    kinds = next(m for m in forms["methods"] if m["name"] == "kinds")
    assert [
        "positional-only",
        "positional-or-keyword",
        "positional-or-keyword",
        "*args",
        "keyword-only",
        "keyword-only",
        "**kwargs",
    ] == [p["kind"] for p in kinds["params"]]


def test_unsupported_form_fails_generation_naming_protocol_and_method(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Protocol returning a list of remote objects stops `typedmgr gen` with exit 2."""
    (tmp_path / "bad_protocols.py").write_text(
        "from typing import Protocol\n"
        "from typedmgr import TypedManager\n"
        "class Item(Protocol):\n"
        "    def name(self) -> str: ...\n"
        "class Box(Protocol):\n"
        "    def items(self) -> list[Item]: ...\n"
        "class BadManager(TypedManager): ...\n"
        "BadManager.register(Box)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert 2 == gen(["bad_protocols:BadManager", "--out", str(tmp_path / "out.py")])
    err = capsys.readouterr().err
    assert "Box.items" in err
    assert "list[Item]" in err
    assert "`P | None`" in err
    assert not (tmp_path / "out.py").exists()


@pytest.mark.parametrize(
    ("annotation", "spelled"),
    [
        (tuple[()], "tuple[()]"),
        (typing.Tuple[()], "tuple[()]"),  # noqa: UP006
        (typing.Tuple, "tuple"),  # noqa: UP006
        (typing.List, "list"),  # noqa: UP006
        (typing.Optional[int], "int | None"),  # noqa: UP045
        (typing.Callable[[], None], "Callable[[], None]"),
        (typing.Annotated[int, "meta"], "int"),
        (typing.Literal[b"a", -1, True, None], 'Literal[b"a", -1, True, None]'),  # noqa: PYI061
        (io.BytesIO, "BytesIO"),
        (pathlib.PurePosixPath, "PurePosixPath"),
        (collections.abc.Iterator[int], "Iterator[int]"),
        (Color, "Color"),
        (typing.Literal[Color.RED], "Literal[Color.RED]"),
        (UserId, "UserId"),
    ],
)
def test_annotations_are_spelled_alike_on_every_python(
    annotation: object, spelled: str
) -> None:
    """Annotations are spelled the way a type checker reads them, whatever the Python."""
    imports = Imports()
    assert spelled == TypeWriter(imports, {}).spell(annotation)
    # annotations never need a run-time import
    assert (set(), set()) == (imports.runtime, imports.named_runtime)


def test_names_that_would_clash_go_through_their_module() -> None:
    """A name the generated code binds, or another object's name, falls back to an alias."""
    imports = Imports(blocked=frozenset({"Color"}), reserved=frozenset({"UserId"}))
    writer = TypeWriter(imports, {})
    assert "_tests_golden_forms_values.Color" == writer.spell(Color)
    assert "_tests_golden_forms_values.UserId" == writer.spell(UserId)
    assert "Future" == writer.spell(concurrent.futures.Future)
    assert "_asyncio.Future" == writer.spell(asyncio.Future)  # another Future
    assert "Future" == writer.spell(concurrent.futures.Future)
    assert {"Future": ("concurrent.futures", "Future")} == imports.imported


def test_spelled_builtins_dodge_method_names() -> None:
    """A builtin that a method of the class hides is spelled through ``builtins``."""
    writer = TypeWriter(Imports(), {})
    assert "dict[_builtins.str, int]" == writer.spell(
        dict[str, int], shadowed=frozenset({"str"})
    )


def test_import_aliases_never_collide() -> None:
    """`a.b` and `a_b`, `_io` and `io`, or a parameter named like an alias get distinct names."""
    imports = Imports(reserved=frozenset({"_typing"}))
    aliases = [imports.alias(m) for m in ("a.b", "a_b", "_io", "io", "typing")]
    assert ["_a_b", "_a_b_", "_io", "_io_", "_typing_"] == aliases
    assert (
        [
            "import _io as _io",
            "import io as _io_",
            "import typing as _typing_",
            "",
            "import a.b as _a_b",
            "import a_b as _a_b_",
        ],
        [],
    ) == imports.lines(stub=True)


def test_defaults_are_spelled_as_values() -> None:
    """Defaults: enum members through their module (run time), stubs elide the complex ones."""
    imports = Imports()
    writer = TypeWriter(imports, {})
    assert "Color.RED" == writer.default(Color.RED)
    assert {("tests.golden.forms.values", "Color")} == imports.named_runtime
    assert "frozenset({1, 3})" == writer.default(frozenset({3, 1}))
    assert '(b"x", -1.5, None)' == writer.default((b"x", -1.5, None))
    stub = TypeWriter(Imports(), {}, stub=True)
    assert ["...", "...", "'it\\'s \"q\"'"] == [
        stub.default(Color.RED),
        stub.default(frozenset({1})),
        stub.default('it\'s "q"'),
    ]


def test_check_reports_missing_files_and_a_stale_stub(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--check counts a missing file or a stale .pyi as stale, and writes nothing."""
    out = tmp_path / "proxies.py"
    target = CASES["plain"]
    assert 1 == gen([target, "--out", str(out), "--check"])
    assert "+class StoreProxy(_typedmgr.TypedProxy):" in capsys.readouterr().out
    assert not out.exists()
    assert 0 == gen([target, "--out", str(out)])
    stub = out.with_suffix(".pyi")
    stub.write_text(stub.read_text().replace("def keys", "def cles"))
    capsys.readouterr()
    assert 1 == gen([target, "--out", str(out), "--check"])
    diff = capsys.readouterr().out
    assert f"--- {stub} (on disk)" in diff
    assert f"{out} (on disk)" not in diff  # the fresh .py is not in the diff


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("tests.golden.nowhere:M", "tests.golden.nowhere:M: cannot import"),
        (
            "tests.golden.forms.values:Color",
            "tests.golden.forms.values:Color: not a TypedManager subclass",
        ),
        (
            "tests.golden.forms.values",
            "tests.golden.forms.values: defines no TypedManager with registered Protocols",
        ),
    ],
)
def test_bad_targets_fail_with_exit_2(
    target: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A target that names no TypedManager is an error naming the target."""
    assert 2 == gen([target, "--out", str(tmp_path / "out.py")])
    assert f"typedmgr gen: error: {message}" in capsys.readouterr().err


def test_a_module_target_takes_all_its_managers(tmp_path: Path) -> None:
    """`typedmgr gen module` generates every TypedManager the module defines."""
    out = tmp_path / "proxies.py"
    assert 0 == gen(["tests.golden.forms.protocols", "--out", str(out)])
    assert out.read_text() == render("forms").source


def test_gen_refuses_static_methods_naming_protocol_and_method(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A static method on a Protocol stops `typedmgr gen` (exit 2), never silently dropped."""
    (tmp_path / "static_protocols.py").write_text(
        "from typing import Protocol\n"
        "from typedmgr import TypedManager\n"
        "class Clock(Protocol):\n"
        "    def now(self) -> float: ...\n"
        "    @staticmethod\n"
        "    def zone() -> str: ...\n"
        "class ClockManager(TypedManager): ...\n"
        "ClockManager.register(Clock)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert 2 == gen(["static_protocols:ClockManager", "--out", str(tmp_path / "o.py")])
    err = capsys.readouterr().err
    assert (
        "Clock.zone: static methods cannot be proxied - a proxy calls methods of one "
        "remote object; declare it as an instance method" in err
    )
    assert not (tmp_path / "o.py").exists()


def test_console_script_refuses_unsupported_forms(tmp_path: Path) -> None:
    """The installed `typedmgr gen` exits 2 naming Protocol and method, writing nothing."""
    (tmp_path / "bad_iter.py").write_text(
        "from collections.abc import Iterator\n"
        "from typing import Protocol\n"
        "from typedmgr import TypedManager\n"
        "class Item(Protocol):\n"
        "    def name(self) -> str: ...\n"
        "class Shelf(Protocol):\n"
        "    def each(self) -> Iterator[Item]: ...\n"
        "class ShelfManager(TypedManager): ...\n"
        "ShelfManager.register(Shelf)\n"
    )
    result = subprocess.run(
        [tool("typedmgr"), "gen", "bad_iter:ShelfManager", "--out", "out.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert 2 == result.returncode, result.stdout + result.stderr
    assert (
        "typedmgr gen: error: Shelf.each: returns Iterator[Item]; iterators of remote "
        "objects cannot be proxied" in result.stderr
    )
    assert not (tmp_path / "out.py").exists()


def test_golden_files_are_fresh_in_other_processes(tmp_path: Path) -> None:
    """`typedmgr gen --check`, run afresh under other hash seeds, finds every golden fresh."""
    for seed in ("1", "2"):
        for case, target in sorted(CASES.items()):
            result = subprocess.run(
                [
                    tool("typedmgr"),
                    "gen",
                    target,
                    "--check",
                    "--out",
                    str(expected(case)[0]),
                ],
                cwd=tmp_path,  # no pyproject.toml: the .pyi is checked beside the .py
                env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)},
                capture_output=True,
                text=True,
                check=False,
            )
            assert 0 == result.returncode, result.stdout + result.stderr


def test_dump_model_records_overloads_properties_and_oneway(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--dump-model keeps what the render depends on: overloads, properties, @oneway;
    types and defaults by their modules' names, a default of None apart from none."""
    assert 0 == gen([CASES["bag"], CASES["forms"], "--dump-model"])
    model = json.loads(capsys.readouterr().out)
    methods = {
        (i["protocol"].rpartition(":")[2], m["name"]): m
        for i in model["interfaces"]
        for m in i["methods"]
    }
    pick = methods["Bag", "pick"]
    assert [["key"], ["key", "default"]] == [
        [p["name"] for p in o["params"]] for o in pick["overloads"]
    ]
    assert ["int", "int | str"] == [o["returns"] for o in pick["overloads"]]
    assert methods["Bag", "size"]["property"]
    assert methods["Forms", "fire"]["oneway"]
    assert {"Forms": {"protocol": "Forms", "create_method": True}} == {
        k: v
        for k, v in model["managers"][
            "tests.golden.forms.protocols:FormsManager"
        ].items()
        if k == "Forms"
    }
    values = methods["Forms", "values"]["params"]
    assert "tests.golden.forms.values.Color.RED" == values[0]["default"]
    assert "tests.golden.forms.values.Point | None" == values[1]["annotation"]
    assert (True, "None") == (values[1]["has_default"], values[1]["default"])
    assert (False, None) == tuple(
        methods["Forms", "kinds"]["params"][0][k] for k in ("has_default", "default")
    )


@pytest.mark.parametrize("future", [True, False])
def test_aliases_are_imported_from_where_they_are_defined(
    future: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alias the Protocol imported (renamed or not) is spelled as its home module names
    it, alone or inside another annotation; one that merely equals an alias is spelled out."""
    (tmp_path / "alias_user.py").write_text(
        ("from __future__ import annotations\n" if future else "")
        + "from typing import Literal, Protocol\n"
        "from tests.golden.family.protocols import Chunks, Encoding as Enc\n"
        "from typedmgr import TypedManager\n"
        "class Text(Protocol):\n"
        "    def decode(self, encoding: Enc) -> Chunks: ...\n"
        "    def wrapped(self, encoding: Literal['ascii']) -> list[Chunks]: ...\n"
        "    def spelled(self, encoding: Enc | None) -> list[list[bytes]]: ...\n"
        "class TextManager(TypedManager): ...\n"
        "TextManager.register(Text)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "alias_user", raising=False)
    stub = render_module(load_managers(["alias_user:TextManager"])).stub
    assert "from tests.golden.family.protocols import Chunks, Encoding\n" in stub
    assert "def decode(self, encoding: Encoding) -> Chunks: ..." in stub
    assert 'def wrapped(self, encoding: Literal["ascii"]) -> list[Chunks]: ...' in stub
    assert (
        "def spelled(self, encoding: Encoding | None) -> list[list[bytes]]: ..." in stub
    )


def test_a_method_named_overload_keeps_overloads_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a class with a method named ``overload``, overloads are decorated through the
    typing module (a bare ``@overload`` would be that method); elsewhere they stay bare."""
    (tmp_path / "shadow_protocols.py").write_text(
        "from typing import Protocol\n"
        "import typing_extensions\n"
        "from typing_extensions import overload\n"
        "from typedmgr import TypedManager\n"
        "class Odd(Protocol):\n"
        "    def overload(self) -> int: ...\n"
        "    @typing_extensions.overload\n"
        "    def pick(self, key: str) -> int: ...\n"
        "    @typing_extensions.overload\n"
        "    def pick(self, key: int) -> str: ...\n"
        "    def pick(self, key: str | int) -> int | str: ...\n"
        "class Even(Protocol):\n"
        "    @overload\n"
        "    def pick(self, key: str) -> int: ...\n"
        "    @overload\n"
        "    def pick(self, key: int) -> str: ...\n"
        "    def pick(self, key: str | int) -> int | str: ...\n"
        "class ShadowManager(TypedManager): ...\n"
        "ShadowManager.register(Odd)\n"
        "ShadowManager.register(Even)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "shadow_proxies.py"
    assert 0 == gen(["shadow_protocols:ShadowManager", "--out", str(out)])
    source = out.read_text()
    odd = source[source.index("class OddProxy") : source.index("class AsyncEvenProxy")]
    even = source[source.index("class EvenProxy") : source.index("class OddProxy")]
    assert 2 == odd.count("    @_typing.overload\n")
    assert 2 == even.count("    @overload\n")
    module = __import__("shadow_proxies")  # the class bodies run: decorators resolve
    assert callable(module.OddProxy.pick)
    for path in (out, out.with_suffix(".pyi")):
        result = run(tool("mypy"), "--strict", "--no-incremental", str(path))
        assert 0 == result.returncode, result.stdout
