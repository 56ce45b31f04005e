"""What tests share: the repository root, the command-line tools, a server's log."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tool(name: str) -> str:
    """The console script ``name`` installed beside the running interpreter."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed (pip install --group dev)"
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a command at the repository root, capturing its output."""
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


def log_to(path: str) -> None:
    """Server initializer: send the server's log to a file the test can read."""
    logging.basicConfig(filename=path, level=logging.INFO, force=True)
