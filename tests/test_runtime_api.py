"""The runtime-API check generated modules make at import (``typedmgr._runtime_api``).

Real runtimes, not a mock of the check: a copy of this ``typedmgr`` that reports another API
level imports a golden generated module in a fresh interpreter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import typedmgr
from tests.tools import ROOT
from typedmgr import RUNTIME_API, require_runtime_api

GENERATED = "tests.golden.plain.expected.proxies"


def runtime_serving(tmp_path: Path, newest: int, oldest: int) -> Path:
    """A copy of this typedmgr whose runtime serves API levels ``oldest`` to ``newest``."""
    copy = tmp_path / "runtime" / "typedmgr"
    shutil.copytree(
        Path(typedmgr.__file__).parent,
        copy,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    source = copy / "_runtime_api.py"
    text = source.read_text()
    for name, level in (("RUNTIME_API", newest), ("OLDEST_RUNTIME_API", oldest)):
        assert f"\n{name} = {RUNTIME_API}\n" in text
        text = text.replace(f"\n{name} = {RUNTIME_API}\n", f"\n{name} = {level}\n")
    source.write_text(text)
    return copy.parent


def import_generated(runtime: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Import the generated module in a fresh interpreter whose typedmgr is ``runtime``."""
    code = (
        "import typedmgr, sys\n"
        f"assert typedmgr.__file__.startswith({str(runtime)!r}), typedmgr.__file__\n"
        f"import {GENERATED}\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(runtime), str(ROOT)])},
        capture_output=True,
        text=True,
        check=False,
    )


def test_generated_module_records_the_runtime_api_it_was_generated_for() -> None:
    """The golden module calls the check with the level of the runtime that generated it."""
    source = (ROOT / Path(*GENERATED.split("."))).with_suffix(".py").read_text()
    assert f"\n_typedmgr.require_runtime_api({RUNTIME_API}, __name__)\n" in source


def test_an_incompatible_runtime_fails_the_import_in_one_line(tmp_path: Path) -> None:
    """Under a runtime that no longer serves the module's API, the import fails with one
    line naming both levels and both fixes."""
    newer = RUNTIME_API + 2
    result = import_generated(runtime_serving(tmp_path, newer, newer), tmp_path)
    assert 0 != result.returncode
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ImportError: {GENERATED} was generated for typedmgr ")
    assert f"runtime API {RUNTIME_API}, but the installed typedmgr" in last
    assert f"serves API {newer}: regenerate it with `typedmgr gen`" in last
    assert last.endswith(f"or install a typedmgr that serves API {RUNTIME_API}")


def test_a_runtime_still_serving_the_api_imports_the_module(tmp_path: Path) -> None:
    """A newer runtime that still serves the module's level imports it as before."""
    runtime = runtime_serving(tmp_path, RUNTIME_API + 1, RUNTIME_API)
    result = import_generated(runtime, tmp_path)
    assert 0 == result.returncode, result.stderr


def test_a_module_generated_for_a_newer_runtime_is_refused() -> None:
    """This runtime refuses levels it does not serve yet, and accepts its own."""
    require_runtime_api(RUNTIME_API, "shop_proxies")
    with pytest.raises(ImportError, match=r"^shop_proxies was generated for typedmgr"):
        require_runtime_api(RUNTIME_API + 1, "shop_proxies")
