"""The watchdog that interrupts a hung process test, and the one way a test may use SIGALRM.

The watchdog is ``ITIMER_REAL`` with a ``SIGALRM`` handler, both process-wide: a test that
set a timer of its own would switch it off. ``interrupt_after`` lends a test the signal and
keeps the watchdog's deadline; the conftest fails a test that left the watchdog disarmed.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from types import FrameType

#: Seconds after which a test marked ``process`` is interrupted: none may hang.
WATCHDOG = 60.0
#: How early an interval timer may ring by the monotonic clock (they share no clock).
_EARLY = 0.001


class Hung(Exception):
    """A process test ran past ``WATCHDOG`` seconds."""


def expire(signum: int, frame: FrameType | None) -> None:
    """The watchdog's ``SIGALRM`` handler."""
    raise Hung("the test was still running when its watchdog expired")


@contextlib.contextmanager
def armed(seconds: float = WATCHDOG) -> Iterator[None]:
    """The watchdog, running while the block does; fails if the block disarmed it.

    A timer signal, not a watchdog thread: forking a multi-threaded process (which 3.12+
    warns about) could deadlock the children the tests start; forked children get no timer.
    """
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
        handler = signal.getsignal(signal.SIGALRM)
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert handler is expire and left > 0, (
            "the test switched the watchdog off (SIGALRM handler "
            f"{handler!r}, {left} s left on ITIMER_REAL): use tests.watchdog.interrupt_after"
        )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def interrupt_after(
    seconds: float, interruption: Callable[[], BaseException]
) -> Iterator[None]:
    """Raise ``interruption()`` in the main thread after ``seconds``, once, as a
    ``SIGALRM`` handler would; a watchdog that is running keeps its deadline meanwhile."""
    previous = signal.getsignal(signal.SIGALRM)
    now = time.monotonic()
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    watchdog = now + left if left > 0 else None
    due: list[float] = [now + seconds]  # emptied when the interruption has been raised

    def arm() -> None:
        deadlines = [*due, *([] if watchdog is None else [watchdog])]
        delay = min(deadlines, default=0.0) - time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, max(delay, 1e-6) if deadlines else 0)

    def ring(signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if due and now >= due[0] - _EARLY:
            due.clear()
            arm()
            raise interruption()
        if watchdog is not None and now >= watchdog - _EARLY and callable(previous):
            previous(signum, frame)
        arm()

    signal.signal(signal.SIGALRM, ring)
    arm()
    try:
        yield
    finally:
        due.clear()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if watchdog is not None:
            arm()
