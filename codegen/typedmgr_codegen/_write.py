"""Write: put generated files in place, or (``--check``) report how the disk differs."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Output", "stale_diff", "write"]


@dataclass(frozen=True)
class Output:
    """One file the generator produces."""

    path: Path
    text: str


def write(outputs: list[Output]) -> list[Path]:
    """Write the files whose content changed; return their paths."""
    written = []
    for out in outputs:
        if _current(out.path) != out.text:
            out.path.parent.mkdir(parents=True, exist_ok=True)
            out.path.write_text(out.text, encoding="utf-8", newline="\n")
            written.append(out.path)
    return written


def stale_diff(outputs: list[Output]) -> str:
    """A unified diff from the files on disk to what the generator produces ('' if none)."""
    chunks: list[str] = []
    for out in outputs:
        current = _current(out.path)
        if current != out.text:
            chunks.extend(
                difflib.unified_diff(
                    (current or "").splitlines(keepends=True),
                    out.text.splitlines(keepends=True),
                    fromfile=f"{out.path} (on disk)",
                    tofile=f"{out.path} (generated)",
                )
            )
    return "".join(chunks)


def _current(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
