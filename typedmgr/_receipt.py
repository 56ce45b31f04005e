"""Receiving out-of-band messages: what their header announces, each buffer read from the
connection straight into memory of its own, and the message loaded with its buffers.

``_buffers`` writes the wire format and says when it is used; its constants are here,
where ``frames`` (which ``_buffers`` imports) reads them: ``frames`` reads the header and
the pickle as it reads any message, then hands the buffers to a ``Receiver``.

A buffer announced is allocated at its full size, then filled by one read that waits for
all of it (``MSG_WAITALL``; a ``bytes`` buffer is made by that read), only while the
process's allocations ahead of arrival stay within ``AHEAD`` bytes: a header is a claim,
not a promise, and headers claiming much and sending little must not cost what they claim.
Beyond, a buffer grows as its bytes arrive (by at most ``GROW`` beyond them, then
doubling), as ``frames`` reads a large message.
"""

from __future__ import annotations

import os
import pickle
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

__all__ = [
    "AHEAD",
    "COUNT",
    "GROW",
    "HEAD",
    "KIND_OF",
    "MARK",
    "MAX_BUFFERS",
    "PAD",
    "SPEC",
    "Loads",
    "Message",
    "OutOfBand",
    "Receiver",
    "announced",
    "load",
    "read_growing",
]

#: The length an out-of-band message's header starts with.
MARK = -2
#: Bytes between the pickle and the buffers: at least what a reader reads ahead at once.
PAD = 16 * 1024
#: Buffers one message may announce, at most.
MAX_BUFFERS = 256
#: Bytes of announced buffers the process allocates before they arrive, at most (the
#: default ``max_message_size``).
AHEAD = 256 * 1024 * 1024

HEAD = struct.Struct("!iI")
COUNT = struct.Struct("!H")
SPEC = struct.Struct("!cQ")
KIND_OF: dict[type, bytes] = {bytes: b"y", bytearray: b"a", memoryview: b"v"}
_KINDS: dict[bytes, type] = {kind: cls for cls, kind in KIND_OF.items()}
# A large message's buffer grows by this much beyond what has arrived, then doubles: a
# connection claiming 256 MiB and sending little costs 256 KiB (x max_connections, at most).
GROW = 256 * 1024


class OutOfBand:
    """A message read with its buffers: its pickle, and each buffer in its own memory."""

    __slots__ = ("buffers", "pickle")

    def __init__(self, pickled: bytes, buffers: list[object]) -> None:
        self.pickle = pickled
        self.buffers = buffers


#: A message as a reader returns it: in band (the pickle alone), or out of band.
Message = bytes | bytearray | OutOfBand


def announced(
    body: bytes | bytearray, limit: int | None
) -> tuple[list[tuple[type, int]], int]:
    """The kind and size of each buffer an out-of-band message's ``body`` announces, and
    where its pickle starts; ``ValueError`` for a malformed one, or one that would exceed
    ``limit`` bytes with its buffers (refused unread: nothing is allocated for them)."""
    count = COUNT.unpack_from(body)[0] if len(body) >= COUNT.size else 0
    if not 1 <= count <= MAX_BUFFERS:
        raise ValueError(
            f"an out-of-band message announcing {count} buffers (1 to {MAX_BUFFERS})"
        )
    start = COUNT.size + SPEC.size * count
    if len(body) < start:
        raise ValueError("a truncated out-of-band message header")
    specs: list[tuple[type, int]] = []
    total = len(body)
    for offset in range(COUNT.size, start, SPEC.size):
        kind, size = SPEC.unpack_from(body, offset)
        cls = _KINDS.get(kind)
        if cls is None:
            raise ValueError(f"an out-of-band buffer of unknown kind {kind!r}")
        specs.append((cls, size))
        total += size
    if limit is not None and total > limit:
        raise ValueError(f"a {total}-byte message exceeds the limit of {limit}")
    return specs, start


class _Ahead:
    """The bytes the process has allocated for buffers still to arrive, bounded."""

    def __init__(self, limit: int) -> None:
        self._left = limit
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        with self._lock:
            if size > self._left:
                return False
            self._left -= size
            return True

    def give(self, size: int) -> None:
        with self._lock:
            self._left += size


_ahead = _Ahead(AHEAD)


def _after_fork() -> None:
    global _ahead
    _ahead = _Ahead(AHEAD)  # the parent's reading threads are not the child's


os.register_at_fork(after_in_child=_after_fork)

# bytearray.take_bytes() (Python 3.15) hands a bytearray's memory to a bytes, uncopied.
_take_bytes: Callable[[bytearray], bytes] = getattr(bytearray, "take_bytes", bytes)


class Receiver:
    """Reads the buffers an out-of-band message announces from one connection."""

    __slots__ = ("_readinto", "_scratch", "_socket")

    def __init__(self, readinto: Callable[[memoryview], int], fd: int | None) -> None:
        """``readinto``: reads into a view, 0 at the end; ``fd``: the connection's socket,
        if it is one the process reads directly (not TLS)."""
        self._readinto = readinto
        self._socket = _socket_of(fd) if fd is not None else None
        self._scratch: bytearray | None = None

    def receive(self, specs: list[tuple[type, int]], read_ahead: int) -> list[object]:
        """The buffers ``specs`` announce, after the pad (``read_ahead`` bytes of which
        have been read already)."""
        if read_ahead > PAD:
            raise ValueError("an out-of-band message whose pickle overruns its pad")
        if self._scratch is None:
            self._scratch = bytearray(PAD)
        with memoryview(self._scratch) as scratch:
            self._fill(scratch[: PAD - read_ahead], wait_all=False)
        return [self._buffer(cls, size) for cls, size in specs]

    def _buffer(self, cls: type, size: int) -> object:
        data: bytearray
        if not _ahead.take(size):
            data = self._grown(size)
        else:
            try:
                if cls is bytes and self._socket is not None:
                    return self._bytes(size)
                data = bytearray(size)
                with memoryview(data) as view:
                    self._fill(view)
            finally:
                _ahead.give(size)
        if cls is bytes:
            return _take_bytes(data)
        return memoryview(data) if cls is memoryview else data

    def _bytes(self, size: int) -> bytes:
        """A bytes of ``size`` made by the read that fills it."""
        sock = self._sock()
        try:
            data = sock.recv(size, socket.MSG_WAITALL)
        finally:
            sock.detach()
        if len(data) == size:
            return data
        if not data:
            raise OSError("got end of file during message")
        whole = bytearray(size)  # a signal cut the read short: the rest, copied
        whole[: len(data)] = data
        with memoryview(whole) as view:
            self._fill(view[len(data) :])
        return _take_bytes(whole)

    def _fill(self, view: memoryview, *, wait_all: bool = True) -> None:
        """Fill ``view`` from the connection: with ``wait_all``, one read on a socket."""
        if wait_all and self._socket is not None and view.nbytes:
            sock = self._sock()
            try:
                n = sock.recv_into(view, 0, socket.MSG_WAITALL)
            finally:
                sock.detach()
            view = view[n:]
            if not n:
                raise OSError("got end of file during message")
        while view.nbytes:
            n = self._readinto(view)
            if not n:
                raise OSError("got end of file during message")
            view = view[n:]

    def _sock(self) -> socket.socket:
        """The connection's socket, to ``detach()`` after use (it is not ours to close)."""
        assert self._socket is not None
        family, kind, fd = self._socket
        return socket.socket(family, kind, 0, fd)

    def _grown(self, size: int) -> bytearray:
        """A buffer of ``size`` that grows as its bytes arrive, never far beyond them."""
        return read_growing(self._readinto, bytearray(min(size, GROW)), 0, size)


def read_growing(
    readinto: Callable[[memoryview], int], body: bytearray, have: int, size: int
) -> bytearray:
    """``body``, holding ``have`` bytes of a message, read into until it holds ``size``:
    when full it grows to at most double what has arrived (a length is a claim, not a
    promise: a peer announcing much and sending little costs little)."""
    while have < size:
        if have == len(body):
            body.extend(bytes(min(size, 2 * have) - have))
        with memoryview(body) as view:
            n = readinto(view[have:])
        if not n:
            raise OSError("got end of file during message")
        have += n
    return body


def _socket_of(fd: int) -> tuple[int, int, int] | None:
    """The family, type and descriptor of the socket ``fd`` is, if it is one."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return None
    try:
        return (sock.family, sock.type, fd)
    finally:
        sock.detach()


class Loads(Protocol):
    """A loader of messages: ``pickle.loads``, an allow-list's, a client's."""

    def __call__(
        self, data: bytes | bytearray, /, *, buffers: Iterable[Any] | None = ...
    ) -> Any: ...


def load(loads: Loads, message: Message) -> Any:
    """``message`` loaded by ``loads``, with its buffers if it has any: each must be taken
    by the pickle, once (``pickle.UnpicklingError`` if not)."""
    if type(message) is not OutOfBand:
        return loads(message)  # type: ignore[arg-type]
    feed = _Feed(message.buffers)
    loaded = loads(message.pickle, buffers=feed)
    feed.finished()
    return loaded


class _Feed(Iterator[object]):
    """A message's buffers, handed to its pickle one by one, counted."""

    def __init__(self, buffers: list[object]) -> None:
        self._buffers = buffers
        self._taken = 0

    def __next__(self) -> object:
        if self._taken == len(self._buffers):
            raise pickle.UnpicklingError(
                "refused a message whose pickle takes more out-of-band buffers than "
                f"the {len(self._buffers)} it sent"
            )
        buffer = self._buffers[self._taken]
        self._taken += 1
        return buffer

    def finished(self) -> None:
        if self._taken != len(self._buffers):
            raise pickle.UnpicklingError(
                f"refused a message that sent {len(self._buffers)} out-of-band buffers "
                f"where its pickle takes {self._taken}"
            )
