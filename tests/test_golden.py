"""Golden files: the generator's output for each case, reviewed as diffs.

Regenerate with ``pytest tests/test_golden.py --update-golden`` and read the diff.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from typedmgr_codegen.cli import main as gen
from typedmgr_codegen.load import load_managers
from typedmgr_codegen.render import GENERATED_MARK, GeneratedModule, render_module

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
CASES = {
    "bag": "tests.golden.bag.protocols:BagManager",
    "forms": "tests.golden.forms.protocols:FormsManager",
    "generic": "tests.golden.generic.protocols:GenericManager",
    "plain": "tests.golden.plain.protocols:PlainManager",
}


def render(case: str) -> GeneratedModule:
    """Generate the case's module and stub."""
    return render_module(load_managers([CASES[case]]))


def expected(case: str) -> tuple[Path, Path]:
    """Paths of the case's committed golden module and stub."""
    folder = GOLDEN / case / "expected"
    return folder / "proxies.py", folder / "proxies.pyi"


def tool(name: str) -> str:
    """The console script ``name`` installed beside the running interpreter."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed (pip install --group dev)"
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a command at the repository root."""
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


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


def test_type_checking_only_imports_stay_type_checking_only() -> None:
    """A name the Protocol imports under TYPE_CHECKING is imported there in the .py too."""
    source = render("forms").source
    guarded = source.split("if _typing.TYPE_CHECKING:", 1)[1].split("__all__", 1)[0]
    assert "import tests.golden.forms.heavy as _tests_golden_forms_heavy" in guarded
    assert source.count("import tests.golden.forms.heavy") == 1


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
