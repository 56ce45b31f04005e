"""`[tool.typedmgr]`: every key documented, unknown keys and wrong types refused by name,
and command-line targets that never overwrite what the configuration generates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.tools import ROOT
from typedmgr_codegen._cli import KEYS, main as gen

PROTOCOLS = """\
from typing import Protocol
from typedmgr import TypedManager


class Greeter(Protocol):
    def greet(self, name: str) -> str: ...


class GreeterImpl:
    def greet(self, name: str) -> str:
        return "hello " + name


class {manager}(TypedManager): ...


{manager}.register(Greeter, GreeterImpl)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with package ``app`` (managers ``app.one:One``, ``app.two:Two``),
    the working directory of the test; sys.path is restored afterwards."""
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").touch()
    (package / "one.py").write_text(PROTOCOLS.format(manager="One"))
    (package / "two.py").write_text(PROTOCOLS.format(manager="Two"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("app", "app.one", "app.two"):
        monkeypatch.delitem(__import__("sys").modules, name, raising=False)
    return tmp_path


def configure(project: Path, table: str) -> None:
    """Write ``[tool.typedmgr]`` with the body ``table`` into the project's pyproject.toml."""
    (project / "pyproject.toml").write_text(f"[tool.typedmgr]\n{table}")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('output = "app/p.py"\n', "unknown key 'output'; did you mean 'out'?"),
        ('stubs_dir = "st"\n', "unknown key 'stubs_dir'; did you mean 'stubs-dir'?"),
        ("colour = 1\n", "unknown key 'colour' (known: targets, out, stubs-dir, path)"),
        (
            'targets = "app.one:One"\n',
            'targets must be a list of strings, not a string (write targets = ["app.one:One"])',
        ),
        ("out = 1\n", "out must be a string, not a number"),
        ("path = [1]\n", "path must be a list of strings, not a list holding"),
        ("stubs-dir = true\n", "stubs-dir must be a string, not a boolean"),
        ("targets = [\n", "pyproject.toml: "),  # not TOML at all
    ],
)
def test_bad_configuration_is_an_error_naming_the_key(
    project: Path, table: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelled key or a wrong type stops `typedmgr gen` (exit 2), naming the key."""
    configure(project, table)
    assert 2 == gen(["app.one:One"])
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("typedmgr gen: error: ")
    assert not (project / "app" / "one_proxies.py").exists()


def test_configured_targets_and_outputs_generate(project: Path) -> None:
    """A bare `typedmgr gen` takes targets, out and path from the configuration; the stub
    goes beside the module, inside the package."""
    configure(project, 'targets = ["app.one:One"]\nout = "app/proxies.py"\n')
    assert 0 == gen([])
    assert "class One(" in (project / "app" / "proxies.py").read_text()
    assert (project / "app" / "proxies.pyi").is_file()
    assert 0 == gen(["--check"])


def test_command_line_targets_do_not_take_the_configured_out(project: Path) -> None:
    """Targets on the command line are written where the command line (or the default)
    says, never over the module generated from the configured targets."""
    configure(project, 'targets = ["app.one:One"]\nout = "app/proxies.py"\n')
    assert 0 == gen([])
    configured = (project / "app" / "proxies.py").read_text()
    assert 0 == gen(["app.two:Two"])
    assert configured == (project / "app" / "proxies.py").read_text()
    assert "class Two(" in (project / "app" / "two_proxies.py").read_text()
    assert 0 == gen(
        ["app.one:One", "--check"]
    )  # the configured targets: configured out


def test_command_line_targets_may_not_overwrite_the_configured_out(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--out` naming the configured module, for other targets, is refused (exit 2)."""
    configure(project, 'targets = ["app.one:One"]\nout = "app/proxies.py"\n')
    assert 0 == gen([])
    before = (project / "app" / "proxies.py").read_text()
    assert 2 == gen(["app.two:Two", "--out", "app/proxies.py"])
    err = capsys.readouterr().err
    assert "would overwrite it" in err
    assert "app.one:One" in err
    assert before == (project / "app" / "proxies.py").read_text()


def test_default_outputs_of_other_targets_may_not_collide(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no configured out, the configured targets' default module is protected too."""
    (project / "app" / "two.py").write_text(
        PROTOCOLS.format(manager="One") + "\n\nclass Two(One): ...\n"
    )
    configure(project, 'targets = ["app.two:One"]\n')
    assert 0 == gen([])
    assert 2 == gen(["app.two:Two"])
    assert "app/two_proxies.py" in capsys.readouterr().err


def test_configured_out_without_targets_serves_command_line_targets(
    project: Path,
) -> None:
    """An ``out`` configured with no ``targets`` is where command-line targets go."""
    configure(project, 'out = "app/generated.py"\n')
    assert 0 == gen(["app.two:Two"])
    assert "class Two(" in (project / "app" / "generated.py").read_text()


def test_every_key_is_documented() -> None:
    """docs/configuration.md has a section for each key `[tool.typedmgr]` accepts, and
    no section for a key it refuses."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    documented = re.findall(r"^### `([a-z-]+)`", text, flags=re.MULTILINE)
    assert list(KEYS) == documented
