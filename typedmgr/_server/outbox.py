"""A multiplexed connection's replies: framed with their request's id, queued, and written
by whichever thread has the writer's turn, never blocking.

Any thread may post a reply. On a plain socket, a reply that finds nobody writing is
written at once by the thread that made it, with whatever is queued before it; what the
socket does not take stays queued, for the connection's lead to write when the socket is
writable. A thread that runs another request of the connection next may hold its reply
back, to go out in one write with the next ones (up to ``_IOV`` parts, ``_HOLD_BYTES``
bytes). Over TLS only the lead writes (an SSL socket must not be read and written by two
threads at once).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import ssl
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from typedmgr import _frames
from typedmgr._channel import dumps
from typedmgr._server.replies import dumps_reply, sendable, unserializable
from typedmgr._wire import BATCH, MUX_ID

if TYPE_CHECKING:
    from typedmgr._server.dispatch import Dispatcher as TypedServer

__all__ = ["AGAIN", "Outbox", "encode"]

#: What a non-blocking socket raises when it cannot go on now.
AGAIN = (
    BlockingIOError,
    InterruptedError,
    ssl.SSLWantReadError,
    ssl.SSLWantWriteError,
)
_IOV = 64  # parts written in one system call, at most
_HOLD_BYTES = 256 * 1024  # replies held back, at most (so many parts, or so many bytes)


class Outbox:
    """One connection's replies not yet written; its lock is the connection's."""

    def __init__(
        self,
        lock: threading.Lock,
        fd: int,
        tls: ssl.SSLSocket | None,
        written: Callable[[], None],
    ) -> None:
        """``written``: called (under the lock) after each write, as bytes leave."""
        self._lock = lock
        self._idle_writer = threading.Condition(lock)
        self._parts: deque[memoryview] = deque()
        self._fd = fd
        self._tls = tls
        self._written = written
        self._writing = False  # a thread is writing
        self._due = False  # the lead is to write what is queued (socket full, or asked)
        self._closed = False
        self.bytes = 0  # queued, not yet written

    def waiting(self) -> bool:
        """Whether replies wait for the lead to write them (under the lock): over TLS any;
        on a plain socket, those the socket did not take, or held back and then asked
        for (``ask``)."""
        return (
            bool(self._parts)
            and not self._writing
            and (self._due or self._tls is not None)
        )

    def take_turn(self, *, lead: bool = True) -> bool:
        """Take the writer's turn if replies are queued and nobody writes (under the
        lock), then ``write``. Over TLS only the lead may."""
        ready = bool(self._parts) and not self._writing and (lead or self._tls is None)
        if ready:
            self._writing = True
        return ready

    def ask(self) -> bool:
        """The lead is to write the replies held back (under the lock): whether it must
        be woken for them."""
        if self._parts and not self._writing:
            self._due = True
            return True
        return False

    def post(self, parts: list[bytes], *, hold: bool = False) -> bool:
        """Queue a framed reply; on a plain socket with nobody writing, this thread writes
        it now, after what is queued (what the socket does not take stays queued, first).
        ``hold``: this thread runs another request next, so it leaves the reply queued
        (unless many replies, or many bytes, are). Whether the lead must be woken to
        write what is left."""
        with self._lock:
            if self._closed:
                return False
            self._parts.extend(memoryview(part).cast("B") for part in parts)
            self.bytes += sum(map(len, parts))
            if self._writing:
                return False  # the writer's loop takes this too
            if self._tls is not None:
                return True
            if hold and len(self._parts) < _IOV and self.bytes < _HOLD_BYTES:
                return False
            self._writing = True
        with contextlib.suppress(OSError):  # the lead sees it broken
            self.write()
        return self._due

    def write(self) -> None:
        """Write what the socket takes now (the caller took the writer's turn, which ends
        here: with the queue empty, or the socket full, the lead's to write on then)."""
        try:
            while True:
                with self._lock:
                    if not self._parts or self._closed:
                        self._due = False
                        self._end_turn()
                        return
                    if self._tls is not None:
                        parts: Sequence[memoryview] = (self._parts[0],)
                    else:
                        parts = list(itertools.islice(self._parts, _IOV))
                try:
                    if self._tls is not None:
                        # Retried with the same part until taken, as SSL_write requires.
                        written = self._tls.send(parts[0])
                    else:
                        written = os.writev(self._fd, parts)
                except AGAIN:
                    with self._lock:
                        self._due = True
                        self._end_turn()
                    return
                with self._lock:
                    self.bytes -= written
                    while written:
                        head = self._parts[0]
                        if written < len(head):
                            self._parts[0] = head[written:]
                            break
                        written -= len(head)
                        self._parts.popleft()
                    self._written()
        except BaseException:
            with self._lock:
                self._end_turn()
            raise

    def _end_turn(self) -> None:
        self._writing = False
        if self._closed:  # close() waits for this write
            self._idle_writer.notify_all()

    def close(self) -> None:
        """No more writes (under the lock): once a thread's write in progress is over,
        the descriptor may be closed."""
        self._closed = True
        while self._writing:
            self._idle_writer.wait()
        self._parts.clear()


def encode(server: TypedServer, rid: int, msg: tuple[str, object]) -> list[bytes]:
    """A reply framed with its request's id; one that cannot be pickled becomes
    ``#UNSERIALIZABLE`` (a batch's: each reply that cannot)."""
    if msg[0] == BATCH:
        replies: Any = msg[1]
        try:
            return _framed(rid, dumps_reply(("#RETURN", replies), server.books))
        except Exception:
            msg = ("#RETURN", [sendable(reply) for reply in replies])
    try:
        data = dumps_reply(msg, server.books)
    except Exception as e:
        data = dumps(unserializable(msg, e))
    return _framed(rid, data)


def _framed(rid: int, data: bytes) -> list[bytes]:
    head = _frames.header(MUX_ID.size + len(data)) + MUX_ID.pack(rid)
    if len(data) <= 16 * 1024:
        return [head + data]
    return [head, data]
