"""Test-suite options."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden`` rewrites the golden files instead of comparing against them."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="regenerate tests/golden/*/expected from the current generator",
    )
