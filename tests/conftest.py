"""Test-suite options; the reference example is importable by every test and its children."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))


#: Seconds after which a test marked ``process`` is interrupted: none may hang.
WATCHDOG = 60.0


class Hung(Exception):
    """A process test ran past ``WATCHDOG`` seconds."""


def _expire(signum: int, frame: FrameType | None) -> None:
    raise Hung("the test was still running when its watchdog expired")


@pytest.fixture(autouse=True)
def watchdog(request: pytest.FixtureRequest) -> Iterator[None]:
    """Interrupt a ``process`` test that runs past ``WATCHDOG`` seconds (wherever it blocks).

    A timer signal, not a watchdog thread: forking a multi-threaded process (which 3.12+
    warns about) could deadlock the children the tests start; forked children get no timer.
    A test that builds and installs distributions says how long it may take instead:
    ``@pytest.mark.process(timeout=...)``.
    """
    marker = request.node.get_closest_marker("process")
    if marker is None:
        yield
        return
    timeout = float(marker.kwargs.get("timeout", WATCHDOG))
    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden`` rewrites the golden files instead of comparing against them."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="regenerate tests/golden/*/expected from the current generator",
    )
