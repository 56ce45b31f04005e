"""When a read waits awake (polling, yielding the CPU) for its message instead of sleeping.

Split from ``_frames``: the policy of ``Wire.read``'s wait, apart from the framing it reads
and the writes. ``_frames`` re-exports :class:`Crowd` and the constants.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable

__all__ = ["AwakeWait", "Crowd", "readable"]

# How many times the base wait the longest wait may be, and how many reads sleep at once
# after even the longest came to nothing (see ``AwakeWait.wait``).
_CATCH_UP = 20
_SLEEPY_READS = 16
# How long after a message to another thread of its crowd a read does not wait awake.
_SHARED = 2e-3


class Crowd:
    """The readers of a process's wires: which of them got a message last, and when another
    did. A reader is a thread (a connection's), or a key of its own (a multiplexed
    connection, whose reading passes from thread to thread).

    A thread waiting awake holds a CPU and takes the GIL at every poll: worth it for a server
    with one busy client, a loss with several, whose threads need the CPU and the GIL for the
    other clients (docs/performance.md). So a read waits awake only when, for ``_SHARED``
    seconds, its reader alone has been getting messages.
    """

    __slots__ = ("_clock", "_last", "_shared_until")

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        """``clock``: the time in seconds (a test gives one that it sets)."""
        self._clock = clock
        self._last = 0  # the reader that got the latest message
        self._shared_until = 0.0

    def arrived(self, reader: int | None = None) -> None:
        """``reader`` (else this thread) got a message (the unlocked updates may race: no
        harm)."""
        if reader is None:
            reader = threading.get_ident()
        if reader != self._last:
            self._last = reader
            self._shared_until = self._clock() + _SHARED

    def alone(self, reader: int | None = None) -> bool:
        """Whether ``reader`` (else this thread) alone has been getting messages lately."""
        if reader is None:
            reader = threading.get_ident()
        return self._last == reader and self._clock() >= self._shared_until


def readable(fd: int) -> Callable[[int], list[tuple[int, int]]]:
    """A poll of ``fd`` for reading: what an :class:`AwakeWait` on one descriptor polls."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return poller.poll


class AwakeWait:
    """One connection's waits awake: how long the next may last, and when to skip them."""

    __slots__ = ("_crowd", "_poll", "_reader", "_spin", "budget", "sleepy")

    def __init__(
        self,
        poll: Callable[[int], list[tuple[int, int]]],
        spin: float,
        crowd: Crowd | None,
        reader: int | None = None,
    ) -> None:
        """Waits of up to ``spin`` seconds (to start with) until ``poll(0)`` finds
        something; ``crowd``: the readers ``reader`` (else the waiting thread) counts
        among (see :class:`Crowd`)."""
        self._poll = poll
        self._spin = spin
        self._crowd = crowd
        self._reader = reader
        self.budget = spin  # how long the next read waits awake
        self.sleepy = 0  # reads left to make asleep, after waits awake came to nothing

    def wait(self, patience: float) -> None:
        """Wait awake, polling and yielding the CPU, until there is something to read.

        Being put to sleep and woken up again can cost more than the whole exchange
        (docs/performance.md), so a message due within microseconds is better waited for
        awake; a process sharing the CPU runs meanwhile.
        How long: twice what the last wait took, at least ``spin``. A wait that comes to
        nothing is followed by one ``_CATCH_UP`` times longer: when one end falls asleep it
        answers late by a wake-up, so the other end's wait fails too, and so on, one wake-up
        per exchange for good, unless one end waits long enough to catch the late message
        awake. When that long wait comes to nothing too (a slow method, an idle client), the
        next ``_SLEEPY_READS`` reads sleep at once.
        """
        if self.sleepy:
            self.sleepy -= 1
            return
        if self._crowd is not None and not self._crowd.alone(self._reader):
            return
        poll = self._poll
        longest = self._spin * _CATCH_UP
        budget = min(max(self.budget, patience), longest)
        start = time.perf_counter()
        while not poll(0):
            now = time.perf_counter()
            if now - start > budget:
                if budget < longest:
                    self.budget = longest
                else:
                    self.budget = self._spin
                    self.sleepy = _SLEEPY_READS
                return
            os.sched_yield()
        waited = time.perf_counter() - start
        self.budget = min(max(2 * waited, self._spin), longest)
