"""What the tests that watch a manager's connections share: a server that counts the
connections it accepts, and a Protocol to read that count over a connection already open.

Counted on the server, a connection is seen whoever opened it: the manager, a proxy (which
keeps a ``_Client`` of its own), a reconnect after a dropped connection.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

from typedmgr._server import TypedServer

#: In the server's process: connections it has accepted, and long-lived connections
#: (proxies', leases) it is serving.
_accepted = 0
_serving = 0
_lock = threading.Lock()


class CountingServer(TypedServer):
    """A ``TypedServer`` that counts every connection it accepts."""

    def handle_request(self, conn: Connection) -> None:
        """Count the connection, then serve it."""
        global _accepted
        with _lock:
            _accepted += 1
        super().handle_request(conn)

    def accept_connection(self, c: Connection, name: str) -> None:
        """Count a long-lived connection until it, and a lease's session, has ended."""
        global _serving
        with _lock:
            _serving += 1
        try:
            super().accept_connection(c, name)
        finally:
            with _lock:
                _serving -= 1


class Doorman(Protocol):
    def accepted(self) -> int:
        """Connections the server has accepted so far."""
        ...

    def serving(self) -> int:
        """Long-lived connections being served: a lease leaves the count once the
        session it named has ended."""
        ...


class DoormanImpl:
    def accepted(self) -> int:
        with _lock:
            return _accepted

    def serving(self) -> int:
        with _lock:
            return _serving


@dataclass
class Opened:
    """Connections the server accepted while a block ran (known when it has ended)."""

    count: int = -1


@contextlib.contextmanager
def connections_opened(manager: Any) -> Iterator[Opened]:
    """The connections ``manager``'s server accepts while the block runs, from any client.

    ``manager`` serves with a ``CountingServer`` and has ``Doorman`` registered; the count
    is read through a proxy whose connection is open before the block starts.
    """
    doorman: Any = manager.Doorman()
    before = doorman.accepted()
    opened = Opened()
    yield opened
    opened.count = doorman.accepted() - before


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    """Return once ``condition()`` holds, polling; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not reached within {timeout} s"
        time.sleep(0.01)
