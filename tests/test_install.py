"""From `pip install` to a user's CI, for real: both distributions built, installed (not
editable) in a fresh virtual environment outside the repository, a user's project generated,
checked strictly, served and used.

The checkers are this environment's mypy and basedpyright, pointed at the fresh
environment's interpreter (``--python-executable``, ``--pythonpath``), as a user's editor or
CI points its own: they see the installed typedmgr, never this checkout.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from tests.tools import ROOT, tool

# The user's project is written for Python 3.11+ (typing.assert_type, typing.overload).
pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="Python 3.11+")

API = '''\
"""What a ratekv server offers, as Protocols: imported by servers and clients alike."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, overload

T = TypeVar("T")


class Slot(Protocol[T]):
    """One remote value."""

    def get(self) -> T: ...

    def put(self, value: T) -> None: ...


class Limiter(Protocol):
    """Rate limits by key."""

    def allow(self, key: str, cost: int = 1) -> bool:
        """Spend ``cost`` of ``key``'s budget if it has that much left."""
        ...

    def remaining(self, key: str) -> int | None: ...

    def reset(self, key: str) -> None: ...

    def info(self) -> object: ...

    def raw(self, key: str) -> Any: ...

    @overload
    def limit(self, key: str) -> int: ...

    @overload
    def limit(self, key: str, default: str) -> int | str: ...

    def limit(self, key: str, default: str | None = None) -> int | str: ...

    def slot(self, key: str) -> Slot[int]: ...
'''

IMPL = '''\
"""The server side: implementations of ratekv.api, never imported by clients."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SlotImpl(Generic[T]):
    def __init__(self, value: T) -> None:
        self.value = value

    def get(self) -> T:
        return self.value

    def put(self, value: T) -> None:
        self.value = value


class LimiterImpl:
    def __init__(self, budget: int = 10) -> None:
        self.budget = budget
        self.spent: dict[str, int] = {}
        self.slots: dict[str, SlotImpl[int]] = {}

    def allow(self, key: str, cost: int = 1) -> bool:
        if self.spent.get(key, 0) + cost > self.budget:
            return False
        self.spent[key] = self.spent.get(key, 0) + cost
        return True

    def remaining(self, key: str) -> int | None:
        return self.budget - self.spent[key] if key in self.spent else None

    def reset(self, key: str) -> None:
        self.spent.pop(key, None)

    def info(self) -> object:
        return {"budget": self.budget, "keys": sorted(self.spent)}

    def raw(self, key: str) -> Any:
        return self.spent.get(key)

    def limit(self, key: str, default: str | None = None) -> int | str:
        if key in self.spent or default is None:
            return self.budget
        return default

    def slot(self, key: str) -> SlotImpl[int]:
        return self.slots.setdefault(key, SlotImpl(0))
'''

SERVER = '''\
"""The manager: each Protocol registered with its implementation."""

from __future__ import annotations

from typedmgr import TypedManager

from ratekv.api import Limiter
from ratekv.impl import LimiterImpl


class RateKvManager(TypedManager):
    """Serves rate limiters."""


RateKvManager.register(Limiter, LimiterImpl)
'''

CLIENT = '''\
# mypy: disallow-any-expr
"""A client process: typed calls through the generated module, nothing of the server's."""

from __future__ import annotations

import os
import sys
from typing import assert_type

from ratekv.api import Limiter, Slot
from ratekv.proxies import LimiterProxy, RateKvManager, SlotProxy


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    authkey = os.environ["RATEKV_AUTHKEY"].encode()
    manager = RateKvManager(address=(host, port), authkey=authkey)
    manager.connect()
    limiter = manager.Limiter()
    assert_type(limiter, LimiterProxy)
    allowed = limiter.allow("ann", cost=4)
    assert_type(allowed, bool)
    refused = limiter.allow("ann", cost=7)
    left = limiter.remaining("ann")
    assert_type(left, int | None)
    assert_type(limiter.reset("bob"), None)
    info = limiter.info()
    assert_type(info, object)
    limit = limiter.limit("ann")
    assert_type(limit, int)
    fallback = limiter.limit("cyd", "none")
    assert_type(fallback, int | str)
    slot = limiter.slot("ann")
    assert_type(slot, SlotProxy[int])
    slot.put(41)
    value = slot.get() + 1
    assert_type(value, int)
    as_protocols: tuple[Limiter, Slot[int]] = (limiter, slot)
    loaded = "ratekv.impl" in sys.modules
    print(
        f"allowed={allowed} refused={refused} left={left} info={info!r} "
        f"limit={limit} fallback={fallback} value={value} "
        f"protocols={len(as_protocols)} impl-loaded={loaded}"
    )


if __name__ == "__main__":
    main()
'''

PYPROJECT = """\
[project]
name = "ratekv"
version = "1.0"
requires-python = ">=3.11"
dependencies = ["typedmgr>=0.1,<0.2"]

[dependency-groups]
dev = ["typedmgr-codegen>=0.1,<0.2"]

[tool.typedmgr]
targets = ["ratekv.server:RateKvManager"]
out = "ratekv/proxies.py"

[tool.mypy]
strict = true
warn_unreachable = true
enable_error_code = ["ignore-without-code", "redundant-expr"]
files = ["ratekv", "client.py"]

[tool.basedpyright]
typeCheckingMode = "strict"
include = ["ratekv", "client.py"]
reportUnnecessaryTypeIgnoreComment = "error"
reportIgnoreCommentWithoutRule = "error"
reportUnknownMemberType = "error"
reportUnknownVariableType = "error"
reportUnknownArgumentType = "error"

[tool.ruff]
extend-exclude = ["ratekv/proxies.py", "ratekv/proxies.pyi"]
"""

EXPECTED_OUTPUT = (
    "allowed=True refused=False left=6 info={'budget': 10, 'keys': ['ann']} "
    "limit=10 fallback=none value=42 protocols=2 impl-loaded=False"
)


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command in ``cwd``; its output, or a failed assertion showing it."""
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert 0 == result.returncode, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both distributions built as a release would be: the sdist, and the wheel from it."""
    out = tmp_path_factory.mktemp("dist")
    for source in (ROOT, ROOT / "codegen"):
        run(sys.executable, "-m", "build", "-q", "-o", out, source, cwd=out)
    return out


def test_distributions_carry_their_metadata_and_links(dists: Path) -> None:
    """Each wheel and sdist names its license file, readme and pinned counterpart, and the
    typedmgr sdist holds every file its README links to."""
    names = sorted(p.name for p in dists.iterdir())
    assert [
        "typedmgr-0.1.0-py3-none-any.whl",
        "typedmgr-0.1.0.tar.gz",
        "typedmgr_codegen-0.1.0-py3-none-any.whl",
        "typedmgr_codegen-0.1.0.tar.gz",
    ] == names
    with zipfile.ZipFile(dists / names[2]) as wheel:
        metadata = wheel.read("typedmgr_codegen-0.1.0.dist-info/METADATA").decode()
        assert "typedmgr_codegen-0.1.0.dist-info/licenses/LICENSE" in wheel.namelist()
    assert "Requires-Dist: typedmgr<0.2,>=0.1.0" in metadata
    assert "Requires-Dist: ruff" not in metadata
    assert "Description-Content-Type: text/markdown" in metadata
    with zipfile.ZipFile(dists / names[0]) as wheel:
        metadata = wheel.read("typedmgr-0.1.0.dist-info/METADATA").decode()
    assert "Requires-Dist: typedmgr-codegen<0.2,>=0.1.0; extra == 'gen'" in metadata
    assert "License-Expression: MIT" in metadata
    with tarfile.open(dists / names[1]) as sdist:
        members = {m.name.partition("/")[2] for m in sdist.getmembers()}
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([\w./-]+\.(?:md|py|pyi|toml|png|svg|txt))\)", readme)
    links += re.findall(r"`((?:examples|bench|docs)/[\w/.]+\.(?:py|md))`", readme)
    assert links
    assert [] == [link for link in links if link not in members]
    assert {"LICENSE", "SECURITY.md", "docs/configuration.md"} <= members


@pytest.fixture(scope="module")
def venv(dists: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment outside the repository, with ``typedmgr[gen]``
    installed from the built wheels only (their dependencies from the index first)."""
    home = tmp_path_factory.mktemp("user-venv")
    run(sys.executable, "-m", "venv", home, cwd=home)
    pip: list[str | Path] = [home / "bin" / "python", "-m", "pip", "install", "-q"]
    run(*pip, "typing-extensions>=4.12", "jinja2>=3.1", cwd=home)
    run(*pip, "--no-index", "--find-links", dists, "typedmgr[gen]", cwd=home)
    return home


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: package ratekv (Protocols, implementations, manager), a client,
    and a pyproject.toml with [tool.typedmgr] (no stubs-dir) and strict checkers."""
    package = tmp_path / "ratekv"
    package.mkdir()
    (package / "__init__.py").write_text(
        '"""ratekv: rate limits served to other processes."""\n'
    )
    (package / "api.py").write_text(API)
    (package / "impl.py").write_text(IMPL)
    (package / "server.py").write_text(SERVER)
    (tmp_path / "client.py").write_text(CLIENT)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    return tmp_path


@pytest.mark.process(timeout=240)
def test_a_user_project_generates_checks_and_runs(
    venv: Path, project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """typedmgr gen and gen --check, mypy --strict, basedpyright strict and ruff on the
    project (generated files included), then a server and a client process; then a
    Protocol added without regenerating, which `gen --check` reports."""
    started = time.monotonic()
    python = venv / "bin" / "python"
    located = run(
        python,
        "-c",
        "import typedmgr, typedmgr_codegen as c; print(typedmgr.__file__, c.__file__)",
        cwd=project,
    )
    assert all(path.startswith(str(venv)) for path in located.split()), located
    assert str(ROOT) not in located

    wrote = run(venv / "bin" / "typedmgr", "gen", cwd=project)
    assert (
        f"wrote {project / 'ratekv' / 'proxies.py'}\nwrote {project / 'ratekv' / 'proxies.pyi'}\n"
        == wrote
    )
    run(venv / "bin" / "typedmgr", "gen", "--check", cwd=project)

    cache = tmp_path_factory.mktemp("mypy-cache")
    checked = run(
        tool("mypy"),
        f"--python-executable={python}",
        f"--cache-dir={cache}",
        cwd=project,
    )
    # The stub stands for the module: mypy reads ratekv/proxies.pyi...
    assert checked.startswith("Success: no issues found in 6 source files"), checked
    # ...and, named on the command line, checks the generated module itself.
    checked = run(
        tool("mypy"),
        f"--python-executable={python}",
        f"--cache-dir={cache}",
        "ratekv/proxies.py",
        cwd=project,
    )
    assert checked.startswith("Success: no issues found in 1 source file"), checked

    report = json.loads(
        subprocess.run(
            [tool("basedpyright"), "--outputjson", "--pythonpath", str(python)],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    )
    assert [] == report["generalDiagnostics"], report
    assert 7 == report["summary"]["filesAnalyzed"], report

    run(
        tool("ruff"), "check", "--isolated", ".", cwd=project
    )  # generated files included

    with_server = server_and_client(venv, project)
    assert EXPECTED_OUTPUT == with_server

    # A Protocol changed and not regenerated: CI's `gen --check` fails with a diff.
    api = project / "ratekv" / "api.py"
    api.write_text(
        api.read_text() + "\n\nclass Extra(Protocol):\n    def ping(self) -> int: ...\n"
    )
    server_py = project / "ratekv" / "server.py"
    server_py.write_text(
        server_py.read_text().replace("api import Limiter", "api import Extra, Limiter")
        + "\n\nclass ExtraImpl:\n    def ping(self) -> int:\n        return 1\n\n\n"
        "RateKvManager.register(Extra, ExtraImpl)\n"
    )
    stale = subprocess.run(
        [str(venv / "bin" / "typedmgr"), "gen", "--check"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert 1 == stale.returncode, stale.stdout + stale.stderr
    assert "+class ExtraProxy(_typedmgr.TypedProxy):" in stale.stdout
    print(f"user project: {time.monotonic() - started:.1f} s after the install")


def server_and_client(venv: Path, project: Path) -> str:
    """Serve the project's manager, run the client process against it, return its line."""
    env = {**os.environ, "RATEKV_AUTHKEY": os.urandom(16).hex()}
    env.pop("PYTHONPATH", None)
    process = subprocess.Popen(
        [
            str(venv / "bin" / "typedmgr"),
            "serve",
            "ratekv.server:RateKvManager",
            "--address",
            "127.0.0.1:0",
            "--authkey-env",
            "RATEKV_AUTHKEY",
        ],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        found = re.search(r"\('([\d.]+)', (\d+)\)", banner)
        assert found, banner
        return run(
            venv / "bin" / "python",
            "client.py",
            found.group(1),
            found.group(2),
            cwd=project,
            env=env,
        ).strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_two_distributions_require_each_other_s_minor_version() -> None:
    """typedmgr-codegen requires typedmgr of its own minor version, and typedmgr's gen
    extra typedmgr-codegen of typedmgr's: a version bump must move both ranges."""
    import tomllib

    import typedmgr
    import typedmgr_codegen

    runtime = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    codegen = tomllib.loads((ROOT / "codegen" / "pyproject.toml").read_text())[
        "project"
    ]
    assert typedmgr.__version__ == typedmgr_codegen.__version__
    major, minor, _ = (int(part) for part in typedmgr.__version__.split("."))
    compatible = f">={major}.{minor}.0,<{major}.{minor + 1}"
    assert [f"typedmgr-codegen{compatible}"] == runtime["optional-dependencies"]["gen"]
    assert f"typedmgr{compatible}" in codegen["dependencies"]
