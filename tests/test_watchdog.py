"""The process tests' watchdog survives a test that borrows SIGALRM, and notices one that
switches it off."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from tests.watchdog import Hung, armed, interrupt_after


class Interrupted(Exception):
    """The test's own alarm."""


def block(seconds: float) -> None:
    """Wait, interruptibly, for a signal that is due well before ``seconds``."""
    threading.Event().wait(seconds)


def test_the_watchdog_interrupts_a_block_that_borrowed_the_alarm() -> None:
    """A test hung inside ``interrupt_after`` is still stopped at the watchdog's deadline."""
    start = time.monotonic()
    with pytest.raises(Hung), armed(0.2), interrupt_after(30, Interrupted):
        block(30)
    assert time.monotonic() - start < 10


def test_the_watchdog_keeps_its_deadline_after_a_borrowed_alarm() -> None:
    """The test's alarm rings first; the watchdog rings afterwards, at its own deadline."""
    with pytest.raises(Hung), armed(0.3):
        start = time.monotonic()
        with pytest.raises(Interrupted), interrupt_after(0.05, Interrupted):
            block(30)
        interrupted = time.monotonic() - start
        assert interrupted < 0.3
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < left <= 0.3 - interrupted + 0.01
        block(30)


def test_a_test_that_switches_the_watchdog_off_fails() -> None:
    """A block that takes over SIGALRM or stops ITIMER_REAL fails when it ends."""
    with pytest.raises(AssertionError, match="switched the watchdog off"), armed(30):
        signal.setitimer(signal.ITIMER_REAL, 0)
    with pytest.raises(AssertionError, match="switched the watchdog off"), armed(30):
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
    assert (0.0, 0.0) == signal.getitimer(signal.ITIMER_REAL)
