"""Golden files: the generator's output for each case, reviewed as diffs.

Regenerate with ``pytest tests/test_golden.py --update-golden`` and read the diff.
"""

from __future__ import annotations

import collections.abc
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
from tests.tools import run, tool
from typedmgr_codegen.cli import main as gen
from typedmgr_codegen.load import load_managers
from typedmgr_codegen.render import (
    GENERATED_MARK,
    GeneratedModule,
    Imports,
    TypeWriter,
    render_module,
)

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
CASES = {
    "bag": "tests.golden.bag.protocols:BagManager",
    "forms": "tests.golden.forms.protocols:FormsManager",
    "generic": "tests.golden.generic.protocols:GenericManager",
    "plain": "tests.golden.plain.protocols:PlainManager",
    "quoted": "tests.golden.quoted.protocols:QuotedManager",
}


@pytest.fixture(autouse=True)
def outside_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in-process `typedmgr gen` away from the repository's [tool.typedmgr] settings.

    Its stubs-dir would send the .pyi of a temporary module into the repository's stubs/;
    sys.path, which `typedmgr gen` extends, is restored afterwards.
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
        py.parent.mkdir(parents=True, exist_ok=True)
        (py.parent / "__init__.py").touch()
        py.write_text(module.source)
        pyi.write_text(module.stub)
    assert py.read_text() == module.source
    assert pyi.read_text() == module.stub


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
    """Generated code is formatted and lint-free."""
    files = [str(path) for case in CASES for path in expected(case)]
    checked = run(tool("ruff"), "check", *files)
    assert 0 == checked.returncode, checked.stdout
    formatted = run(tool("ruff"), "format", "--check", *files)
    assert 0 == formatted.returncode, formatted.stdout


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
        if line.startswith("import "):
            runtime.append(line)
        elif line.startswith("    import "):
            guarded.append(line.strip())
    return runtime, guarded


@pytest.mark.parametrize("case", ["forms", "quoted"])
def test_type_checking_only_imports_stay_type_checking_only(case: str) -> None:
    """A module the Protocols import under TYPE_CHECKING is imported there in the .py too."""
    heavy = f"tests.golden.{case}.heavy"
    runtime, guarded = import_sections(render(case).source)
    assert [f"import {heavy} as _tests_golden_{case}_heavy"] == [
        line for line in guarded if heavy in line
    ]
    assert [] == [line for line in runtime if heavy in line]
    assert f"import {heavy} as" in render(case).stub


def test_annotation_only_imports_are_type_checking_only() -> None:
    """The .py imports at run time only typedmgr (and typedmgr.aio), typing, and what class
    bodies evaluate."""
    runtime, guarded = import_sections(render("quoted").source)
    assert (
        [
            "import builtins as _builtins_",  # @builtins.property: a method is named property
            "import typing as _typing_",  # a parameter is named _typing
            "import tests.golden.quoted.protocols as _tests_golden_quoted_protocols",
            "import typedmgr as _typedmgr",
            "import typedmgr.aio as _typedmgr_aio",  # the async twins' bases
        ]
        == runtime
    )
    assert [
        "import io as _io",  # io.BytesIO says it is _io.BytesIO
        "import pathlib as _pathlib",  # pathlib._local.PurePosixPath on 3.13
        "import tests.golden.quoted.heavy as _tests_golden_quoted_heavy",
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
        (typing.Callable[[], None], "_collections_abc.Callable[[], None]"),
        (typing.Annotated[int, "meta"], "int"),
        (typing.Literal[b"a", -1, True, None], '_typing.Literal[b"a", -1, True, None]'),  # noqa: PYI061
        (io.BytesIO, "_io.BytesIO"),
        (pathlib.PurePosixPath, "_pathlib.PurePosixPath"),
        (collections.abc.Iterator[int], "_collections_abc.Iterator[int]"),
        (Color, "_tests_golden_forms_values.Color"),
        (
            typing.Literal[Color.RED],
            "_typing.Literal[_tests_golden_forms_values.Color.RED]",
        ),
        (UserId, "_tests_golden_forms_values.UserId"),
    ],
)
def test_annotations_are_spelled_alike_on_every_python(
    annotation: object, spelled: str
) -> None:
    """Annotations are spelled the way a type checker reads them, whatever the Python."""
    imports = Imports()
    assert spelled == TypeWriter(imports, {}).spell(annotation)
    assert set() == imports.runtime  # annotations never need a run-time import


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
    assert "_tests_golden_forms_values.Color.RED" == writer.default(Color.RED)
    assert {"tests.golden.forms.values"} == imports.runtime
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
    """--dump-model keeps what the render depends on: overloads, properties, @oneway."""
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
    assert (
        "_tests_golden_forms_values.Color.RED"
        == (methods["Forms", "values"]["params"][0]["default"])
    )
