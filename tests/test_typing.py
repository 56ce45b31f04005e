"""Type tests: mypy --strict and basedpyright hold the generated proxies to their Protocols."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted((ROOT / "tests" / "typing").glob("check_*.py"))
PYRIGHT_CONFIG = ROOT / "tests" / "typing" / "pyrightconfig.json"

# Every expression a client of the example can write, revealed.
REVEALED = """
from shop_proxies import ShopManager

m = ShopManager()
shop = m.Shop()
reveal_type(m.Shop())
reveal_type(m.Counter(start=1))
reveal_type(shop.catalog())
reveal_type(shop.catalog().item("B-1"))
reveal_type(shop.catalog().items())
reveal_type(shop.catalog().price("B-1", currency="USD"))
reveal_type(shop.cart("ann"))
reveal_type(shop.find_cart("ann"))
reveal_type(shop.counter("visits"))
reveal_type(shop.counter("visits").increment(by=2))
reveal_type(shop.counter("visits").value())
reveal_type(shop.sales())
reveal_type(shop.cart("ann").add("B-1", qty=2))
reveal_type(shop.cart("ann").lines())
reveal_type(shop.cart("ann").checkout())
"""


def tool(name: str) -> str:
    """The console script ``name`` installed beside the running interpreter."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed (pip install --group dev)"
    return found


def mypy(*files: Path) -> subprocess.CompletedProcess[str]:
    """mypy --strict (pyproject's configuration) on ``files``."""
    return subprocess.run(
        [tool("mypy"), "--strict", "--no-incremental", *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def basedpyright(*files: Path) -> subprocess.CompletedProcess[str]:
    """basedpyright, strict with reportAny, on ``files``, resolving imports like this Python."""
    return subprocess.run(
        [
            tool("basedpyright"),
            "--pythonpath",
            sys.executable,
            "-p",
            str(PYRIGHT_CONFIG),
            *map(str, files),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_there_are_type_tests() -> None:
    """The folder of type tests is not empty."""
    assert [] != CASES


def test_mypy_accepts_the_type_tests() -> None:
    """mypy --strict: every assert_type holds and every expected error is reported."""
    result = mypy(*CASES)
    assert 0 == result.returncode, result.stdout + result.stderr


def test_basedpyright_accepts_the_type_tests() -> None:
    """basedpyright strict: every assert_type holds and every expected error is reported."""
    result = basedpyright(*CASES)
    assert 0 == result.returncode, result.stdout + result.stderr


@pytest.fixture
def wrong_call(tmp_path: Path) -> Path:
    """A client snippet passing a str where the Protocol says int."""
    snippet = tmp_path / "wrong_call.py"
    snippet.write_text(
        "from shop_proxies import ShopManager\n"
        'ShopManager().Shop().counter("visits").increment(by="2")\n'
    )
    return snippet


def test_mypy_reports_a_wrong_argument(wrong_call: Path) -> None:
    """The checkers really look: mypy rejects a wrong argument type."""
    result = mypy(wrong_call)
    assert 1 == result.returncode
    assert '"increment" of "CounterProxy" has incompatible type "str"' in result.stdout
    assert "[arg-type]" in result.stdout


def test_basedpyright_reports_a_wrong_argument(wrong_call: Path) -> None:
    """The checkers really look: basedpyright rejects a wrong argument type."""
    result = basedpyright(wrong_call)
    assert 1 == result.returncode
    assert "reportArgumentType" in result.stdout


def test_no_any_reaches_client_code(tmp_path: Path) -> None:
    """Every manager creation, result and nested proxy is a concrete type in both checkers."""
    snippet = tmp_path / "revealed.py"
    snippet.write_text(REVEALED)
    expected = REVEALED.count("reveal_type(")
    by_mypy = re.findall(r'Revealed type is "(.*)"', mypy(snippet).stdout)
    by_pyright = re.findall(r'Type of ".*" is "(.*)"', basedpyright(snippet).stdout)
    assert expected == len(by_mypy), by_mypy
    assert expected == len(by_pyright), by_pyright
    assert [] == [t for t in by_mypy if "Any" in t]
    assert [] == [t for t in by_pyright if "Any" in t or "Unknown" in t]
    assert "shop_proxies.CartProxy | None" in by_mypy
