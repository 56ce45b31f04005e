"""The user documentation: its relative links lead somewhere, the README stays short and
opens with the two commands CI runs, and its five-minute example runs as written."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools import ROOT, tool

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
#: ``[text](target)``; a target is a path, an anchor or both, never with spaces.
LINK = re.compile(r"\[[^\]\n]*\]\(([^()\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def links(page: Path) -> list[str]:
    """The targets of the markdown links of ``page``, outside fenced code blocks
    (``[T](Protocol)`` in a snippet is not a link) and inline code."""
    prose = FENCE.sub("", page.read_text())
    prose = re.sub(r"`[^`\n]*`", "", prose)
    return LINK.findall(prose)


def anchors(page: Path) -> set[str]:
    """The anchors GitHub makes of the headings of ``page``: lower case, punctuation but
    hyphens dropped, spaces made hyphens (a repeated heading gets ``-1``, ``-2``...)."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#+ +(.+?) *$", FENCE.sub("", page.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def test_the_link_parser_finds_paths_and_anchors() -> None:
    """The checks below read links as a markdown renderer would: paths, anchors, both;
    code is not prose; headings' anchors as GitHub spells them."""
    page = ROOT / "docs" / "guide.md"
    assert "index.md" in links(page)
    assert "../README.md#in-five-minutes" in links(page)
    assert {"what-differs-from-basemanager", "protocol-rules"} <= anchors(page)
    assert "defaults-and-what-each-option-weakens" in anchors(ROOT / "SECURITY.md")


def test_relative_links_resolve() -> None:
    """Every relative link of README.md and docs/*.md names a file that exists, and an
    anchor of that file if it names one; http(s) and mailto links are not followed."""
    broken = []
    for page in PAGES:
        for target in links(page):
            if re.match(r"(https?|mailto):", target):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.is_file():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and (file.suffix != ".md" or anchor not in anchors(file)):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such anchor)")
    assert len(PAGES) > 8
    assert [] == broken


def test_docs_index_lists_every_page() -> None:
    """docs/index.md links every other page of docs/, and SECURITY.md."""
    listed = {Path(t.partition("#")[0]).name for t in links(ROOT / "docs" / "index.md")}
    pages = {p.name for p in PAGES[1:]} - {"index.md"}
    assert [] == sorted(pages - listed)
    assert "SECURITY.md" in listed


def test_readme_is_short() -> None:
    """The README has at most 1,300 words (the rest is in docs/)."""
    words = len(README.read_text().split())
    assert words <= 1300, f"README.md has {words} words"


def test_readme_opens_with_the_two_commands() -> None:
    """The README's first two code blocks are its two commands: the first installs and
    runs the bundled example (as .ci/run does after it), the second is the command .ci/run
    runs verbatim to install the development tools and run every check."""
    blocks = re.findall(r"^```console\n(.*?)\n```", README.read_text(), re.M | re.S)
    first, second = blocks[0], blocks[1]
    ci = (ROOT / ".ci" / "run").read_text()
    verbatim = ci.split("# The README's second command, verbatim.\n", 1)[1]
    assert verbatim.startswith(second + " 2>&1 | tee ")
    assert first.endswith(".venv/bin/typedmgr gen && .venv/bin/python examples/demo.py")
    assert first.startswith("python3 -m venv .venv && ")
    prose = README.read_text().split("```console", 1)[0]
    assert len(prose.split()) < 40, "the commands come first, after a line or two"


def five_minute_files() -> dict[str, str]:
    """The files of the README's five-minute example, each named (in backquotes) in the
    text just before its code block; the block named by none is the remote client."""
    section = README.read_text().split("## In five minutes", 1)[1].split("\n## ", 1)[0]
    files: dict[str, str] = {}
    before = 0
    for block in re.finditer(r"^```python\n(.*?)^```", section, re.M | re.S):
        named = re.findall(r"`([\w/]+\.py)`", section[before : block.start()])
        files[named[-1] if named else "remote.py"] = block.group(1)
        before = block.end()
    return files


@pytest.mark.process(timeout=180)
def test_the_five_minute_example_runs_as_written(tmp_path: Path) -> None:
    """The README's example, in an empty folder: its files, its `typedmgr gen` command and
    output, the client's printed output, mypy's error for a wrong argument, and the remote
    client against `typedmgr serve` (on a free port instead of 50000)."""
    files = five_minute_files()
    assert ["shop/api.py", "shop/server.py", "client.py", "remote.py"] == list(files)
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "SHOP_KEY": "0123456789abcdef"}
    bin_dir = Path(tool("typedmgr")).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"

    def shell(line: str) -> str:
        argv = shlex.split(line.replace("python ", f"{sys.executable} ", 1))
        result = subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert 0 == result.returncode, f"{line}\n{result.stdout}{result.stderr}"
        return result.stdout

    text = README.read_text()
    for command, output in re.findall(
        r"^\$ ((?:typedmgr gen|python client\.py)[^\n]*)\n(.*?)^```", text, re.M | re.S
    ):
        assert output == shell(command)

    (tmp_path / "typo.py").write_text(files["client.py"].replace("qty=2)", 'qty="2")'))
    mypy = subprocess.run(
        [tool("mypy"), "--strict", "--no-incremental", "typo.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    error = re.search(r"gives\n`(error: [^`]*)`", text)
    assert error
    assert error.group(1).replace("\n", " ") in mypy.stdout.replace("\n", " ")

    serve = re.search(r"^\$ (typedmgr serve [^\n]*)", text, re.M)
    assert serve
    command = serve.group(1).replace("127.0.0.1:50000", "127.0.0.1:0")
    server = subprocess.Popen(
        shlex.split(command), cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout
        banner = server.stdout.readline()
        port = re.search(r", (\d+)\)$", banner.strip())
        assert port, banner
        remote = files["remote.py"].replace("50000", port.group(1))
        (tmp_path / "remote.py").write_text(remote)
        assert "1\n" == shell("python remote.py")
        assert "2\n" == shell("python remote.py")
    finally:
        server.terminate()
        server.wait(timeout=10)
