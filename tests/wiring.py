"""What the tests that watch a manager's connections share: a server that counts the
connections it accepts, and a Protocol to read that count over a connection already open.

Counted on the server, a connection is seen whoever opened it: the manager, a proxy (which
keeps a ``_Client`` of its own), a reconnect after a dropped connection.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

from typedmgr.server import TypedServer

#: Connections the server of this process has accepted (in the server's process).
_accepted = 0
_lock = threading.Lock()


class CountingServer(TypedServer):
    """A ``TypedServer`` that counts every connection it accepts."""

    def handle_request(self, conn: Connection) -> None:
        """Count the connection, then serve it."""
        global _accepted
        with _lock:
            _accepted += 1
        super().handle_request(conn)


class Doorman(Protocol):
    def accepted(self) -> int:
        """Connections the server has accepted so far."""
        ...


class DoormanImpl:
    def accepted(self) -> int:
        with _lock:
            return _accepted


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
