"""Format generated source with ruff, isolated from any user configuration."""

from __future__ import annotations

import subprocess

from ruff.__main__ import find_ruff_bin

__all__ = ["format_source"]


def format_source(text: str, *, stub: bool) -> str:
    """``ruff format`` the text as a ``.py`` or ``.pyi`` file, with ruff's defaults."""
    suffix = "pyi" if stub else "py"
    result = subprocess.run(
        [
            find_ruff_bin(),
            "format",
            "--isolated",
            "--target-version=py310",
            f"--stdin-filename=generated.{suffix}",
            "-",
        ],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"ruff could not format the generated code:\n{result.stderr}\n{text}"
        )
    return result.stdout
