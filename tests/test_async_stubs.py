"""The generated async twins' stub against their module, with the dev tools (mypy's
stubtest): not among the process tests, which every Python and the wheels run without them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.process.aio_api import AioManager
from tests.tools import ROOT
from typedmgr_codegen._render import render_module


def test_stubtest_holds_the_twins_stub_against_their_module(tmp_path: Path) -> None:
    """mypy.stubtest finds no difference between the generated .pyi and .py of a manager
    whose Protocols have ``async def`` methods, special methods and ``with``."""
    module = render_module([AioManager])
    (tmp_path / "aio_proxies.py").write_text(module.source)
    (tmp_path / "aio_proxies.pyi").write_text(module.stub)
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "aio_proxies"],
        cwd=ROOT,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "MYPYPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert 0 == result.returncode, result.stdout + result.stderr
