"""The lead's own runs, watched: how a multiplexed connection's lead runs a request itself
without stalling the connection.

The thread that leads a multiplexed connection (``mux``) runs a request that came alone
itself, keeping the lead: no other thread is woken, and that thread, still running, waits
awake for the next request (handing a request to a sleeping thread costs more than a whole
call). The server's :class:`Watch` takes the lead from a request that has run for
:data:`TAKEOVER` seconds, so that a request that blocks (waiting, perhaps, for a later
request of the same connection) never stalls its connection for longer; the connection
remembers the method (:class:`SlowMethods`), whose next run passes the lead on before it
starts. The watch looks after the connection's other threads the same way (``backlog``):
when all those running requests have run past :data:`TAKEOVER`, another takes the
backlog on.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from typedmgr._server.dispatch import Dispatcher as TypedServer

__all__ = ["TAKEOVER", "Overseen", "SlowMethods", "Turn", "Watch"]

#: Seconds a request may run on the thread that read it before another thread takes over
#: the connection's reading.
TAKEOVER = 2e-3
_QUICK = TAKEOVER / 5  # a run this short makes its method a quick one again
_LINGER = 1.0  # seconds the watch ticks on after requests were last begun or queued
_NAMES = 256  # method names remembered, at most (clients choose them)


@dataclass(slots=True)
class Turn:
    """A request a connection's thread runs: since when, its method's name, whether the
    thread leads, whether the lead was passed on meanwhile, and whether the watch took
    it (the lead, or the backlog, from a worker)."""

    since: float
    leading: bool = False
    name: str | None = None
    passed: bool = False
    taken: bool = False


class Overseen(Protocol):
    """A connection the watch looks at."""

    def overdue(self, now: float) -> None:
        """Take the lead from a request its lead has run since before ``now - TAKEOVER``;
        help the workers if all theirs have."""


class SlowMethods:
    """A connection's methods that ran past :data:`TAKEOVER`: their runs pass the lead
    on before they start."""

    def __init__(self) -> None:
        self._names: set[str] = set()

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def learn(self, turn: Turn, took: float) -> None:
        """What a run of ``took`` seconds says of its method."""
        if turn.name is None:
            return
        if turn.taken:
            if len(self._names) < _NAMES:
                self._names.add(turn.name)
        elif took < _QUICK:  # slow only while the server was busy
            self._names.discard(turn.name)


class Watch:
    """A server's watch over the requests its multiplexed connections run. Its thread
    ticks every half :data:`TAKEOVER`, and only while requests have been begun by leads,
    or queued for workers, lately."""

    def __init__(self, server: TypedServer) -> None:
        self._server = server
        self._lock = threading.Lock()
        self._woken = threading.Condition(self._lock)
        self._connections: set[Overseen] = set()
        self._last = 0.0  # when a lead last began running a request
        self._asleep = True
        self._thread: threading.Thread | None = None
        # Methods whose runs had the lead taken from them, by name: for the report, as
        # methods that block asyncio clients' connections (better ``async def``).
        self._takeovers: Counter[str] = Counter()

    def add(self, connection: Overseen) -> None:
        with self._lock:
            self._connections.add(connection)

    def discard(self, connection: Overseen) -> None:
        with self._lock:
            self._connections.discard(connection)

    def took(self, name: str) -> None:
        """The watch took the lead, or the backlog, from a run of method ``name``."""
        with self._lock:
            if name in self._takeovers or len(self._takeovers) < _NAMES:
                self._takeovers[name] += 1

    def report(self) -> dict[str, object]:
        """What ``typedmgr inspect`` shows of multiplexed connections."""
        with self._lock:
            return {
                "connections": len(self._connections),
                "takeover_ms": TAKEOVER * 1000,
                "takeovers": dict(self._takeovers.most_common()),
            }

    def began(self) -> None:
        """A lead began running a request, or requests were queued: the watch must be
        ticking."""
        with self._lock:
            self._last = time.monotonic()
            if not self._asleep:
                return
            self._asleep = False
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._tick, name="typedmgr multiplexed watch", daemon=True
                )
                self._thread.start()
            else:
                self._woken.notify()

    def _tick(self) -> None:
        while not self._server.stop_event.wait(TAKEOVER / 2):
            with self._lock:
                if time.monotonic() - self._last > _LINGER:
                    self._asleep = True
                    while self._asleep:
                        self._woken.wait()
                connections = list(self._connections)
            now = time.monotonic()
            for connection in connections:
                connection.overdue(now)
