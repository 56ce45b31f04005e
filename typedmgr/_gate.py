"""The gate: how many connections a server serves, and how long a peer may take to
authenticate.

The stdlib server starts a thread for every connection it accepts and waits for the HMAC
handshake without a deadline: a peer without the key could hold connections open until
thread creation failed, and the exception killed the accepting thread for good. A
``Gate`` admits at most ``max_connections`` connections, of which at most
``max_unauthenticated`` may still be in their handshake, refuses the others at once (with
a ``BUSY`` message a typedmgr client reports), and shuts down the socket of a connection
whose handshake has not completed within ``handshake_timeout`` seconds, which ends any read
its thread is blocked in.

Before any of that, a server refuses to listen where other hosts could reach registrations
that load requests in full (``refuse_exposed_strings``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from multiprocessing import util
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = [
    "BUSY",
    "Gate",
    "Ticket",
    "is_local_address",
    "refuse_exposed_strings",
    "refuse_weak_key",
]

#: What a refused connection gets instead of a challenge (``auth.answer_challenge``).
BUSY = b"#BUSY#"


@dataclass(eq=False)
class Ticket:
    """One admitted connection; ``sock`` (a duplicate of its socket) until authenticated."""

    deadline: float
    sock: socket.socket | None = field(default=None)


class Gate:
    """Admission of connections to one server (thread-safe)."""

    def __init__(
        self,
        *,
        handshake_timeout: float,
        max_unauthenticated: int,
        max_connections: int,
    ) -> None:
        self.handshake_timeout = handshake_timeout
        self.max_unauthenticated = max_unauthenticated
        self.max_connections = max_connections
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        # Tickets still in their handshake, in order of their deadlines (all have the same
        # timeout, so admission order is deadline order).
        self._pending: dict[int, Ticket] = {}
        self.connections = 0
        self._reaper: threading.Thread | None = None

    @property
    def unauthenticated(self) -> int:
        """Connections admitted that have not authenticated yet."""
        return len(self._pending)

    def admit(self, conn: Connection) -> Ticket | str:
        """A ticket for ``conn``, or why it is refused."""
        with self._lock:
            if self.connections >= self.max_connections:
                return (
                    f"the server serves {self.connections} connections, its limit "
                    "(max_connections)"
                )
            if len(self._pending) >= self.max_unauthenticated:
                return (
                    f"{len(self._pending)} connections are authenticating, the "
                    "server's limit (max_unauthenticated)"
                )
            sock = socket.socket(fileno=os.dup(conn.fileno()))
            ticket = Ticket(time.monotonic() + self.handshake_timeout, sock)
            self._pending[id(ticket)] = ticket
            self.connections += 1
            if self._reaper is None:
                self._reaper = threading.Thread(
                    target=self._reap, name="typedmgr-handshake-deadline", daemon=True
                )
                self._reaper.start()
            elif len(self._pending) == 1:
                self._wake.notify()
            return ticket

    def authenticated(self, ticket: Ticket | None) -> None:
        """``ticket``'s peer proved it holds the key: no deadline any more."""
        if ticket is None:
            return
        with self._lock:
            self._forget(ticket)

    def closed(self, ticket: Ticket) -> None:
        """``ticket``'s connection is closed (or was never served)."""
        with self._lock:
            self._forget(ticket)
            self.connections -= 1

    def _forget(self, ticket: Ticket) -> None:
        self._pending.pop(id(ticket), None)
        if ticket.sock is not None:
            ticket.sock.close()
            ticket.sock = None

    def _reap(self) -> None:
        """Shut down the sockets of connections past their handshake deadline."""
        with self._lock:
            while True:
                now = time.monotonic()
                expired = []
                wait: float | None = None
                for ticket in self._pending.values():
                    if ticket.deadline > now:
                        wait = ticket.deadline - now
                        break
                    expired.append(ticket)
                for ticket in expired:
                    if ticket.sock is not None:
                        util.info("a connection did not authenticate in time: closed")
                        with contextlib.suppress(OSError):
                            ticket.sock.shutdown(socket.SHUT_RDWR)
                    self._forget(ticket)
                self._wake.wait(wait)


def is_local_address(address: Any) -> bool:
    """Whether only this host can reach ``address``: a unix socket, or a host name that
    resolves to loopback addresses only (by what it resolves to, not how it is spelled:
    ``127.attacker.example`` is not local)."""
    if not isinstance(address, tuple):
        return True  # a unix socket (or a Windows pipe)
    host = address[0]
    if not isinstance(host, str) or not host:
        return False  # "": every interface
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    try:
        return bool(infos) and all(
            ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
            for info in infos
        )
    except ValueError:
        return False


def refuse_weak_key(address: Any) -> None:
    """Refuse to serve beyond this host (by what its name resolves to) with an empty or
    inherited authkey."""
    if isinstance(address, tuple) and not is_local_address(address):
        raise ValueError(
            f"refusing to serve on {address!r} with an empty or inherited authkey: "
            "any host that reaches it could use it; pass a strong authkey, or "
            "allow_insecure_network=True"
        )


def refuse_exposed_strings(strings: list[str], address: Any) -> None:
    """Refuse to serve string registrations (the stdlib's trust: a peer with the key runs
    code) beyond this host; the server asks unless ``unpickling="full"`` was chosen
    explicitly."""
    if strings and not is_local_address(address):
        raise ValueError(
            f"refusing to serve string registrations ({', '.join(strings)}) on "
            f"{address!r}, which other hosts can reach: they load requests in full, so "
            "any key holder could run code here; register Protocols, or accept that "
            'with `class M(TypedManager, unpickling="full")`'
        )
