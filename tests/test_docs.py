"""The user documentation's relative links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_relative_links_resolve() -> None:
    """Every ``[text](path)`` of README.md and docs/*.md naming a file names one that
    exists (``[T](Protocol)`` in code is not a link)."""
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in PAGES
        for target in re.findall(r"\]\(([\w./-]+\.\w+)(?:#[\w-]*)?\)", page.read_text())
        if not (page.parent / target).exists()
    ]
    assert len(PAGES) > 4
    assert [] == broken
