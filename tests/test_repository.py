"""Whole-repository gates: ruff, mypy --strict, the committed generated example, and
tests that say what they check."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from tests.tools import ROOT, run, tool


def test_ruff_check() -> None:
    """ruff finds nothing to complain about, generated code included."""
    result = run(tool("ruff"), "check", ".")
    assert 0 == result.returncode, result.stdout + result.stderr


def test_ruff_format() -> None:
    """Every file is ruff-formatted, generated code included."""
    result = run(tool("ruff"), "format", "--check", ".")
    assert 0 == result.returncode, result.stdout + result.stderr


def test_mypy_strict() -> None:
    """mypy --strict passes on the whole repository (files listed in pyproject.toml)."""
    result = run(tool("mypy"))
    assert 0 == result.returncode, result.stdout + result.stderr


def test_example_is_generated_from_its_protocols() -> None:
    """The committed example proxies and stubs match what `typedmgr gen` produces now."""
    result = run(tool("typedmgr"), "gen", "--check")
    assert 0 == result.returncode, result.stdout + result.stderr


def test_stubtest_holds_the_example_stubs_against_its_module() -> None:
    """mypy.stubtest: examples/shop_proxies.pyi matches examples/shop_proxies.py."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy.stubtest",
            "shop_proxies",
            "--mypy-config-file",
            "pyproject.toml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT / "examples")},
    )
    assert 0 == result.returncode, result.stdout + result.stderr


def test_every_test_says_what_it_checks() -> None:
    """Every test function in tests/ has a docstring (the name alone is not a claim)."""
    missing = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
        for path in sorted((ROOT / "tests").rglob("test_*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name.startswith("test_")
        and not ast.get_docstring(node)
    ]
    assert [] == missing
