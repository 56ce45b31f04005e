"""Frames: the stdlib ``Connection`` wire format, read in bulk.

``Connection.recv`` makes two reads per message (the 4-byte length, then the body) and a
sender one write per message. Both ends of a typedmgr exchange read whatever has arrived in
one go and split it into messages here; a server writes the replies to every request it has
already received in one go. The bytes on the wire are unchanged, so stdlib peers never notice.
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["FrameReader", "frame", "reader"]

_LENGTH = struct.Struct("!i")
_LONG_LENGTH = struct.Struct("!Q")
_READ_SIZE = 64 * 1024  # below malloc's mmap threshold: no page mapping per read


def frame(payload: bytes) -> bytes:
    """One message as ``Connection.send_bytes`` frames it."""
    if len(payload) > 0x7FFFFFFF:
        return _LENGTH.pack(-1) + _LONG_LENGTH.pack(len(payload)) + payload
    return _LENGTH.pack(len(payload)) + payload


class FrameReader:
    """Messages from a connection's file descriptor, read as many at a time as have arrived."""

    __slots__ = ("_buffer", "_limit", "_missing", "_read", "_start")

    def __init__(self, read: Callable[[int], bytes], limit: int | None = None) -> None:
        self._read = read
        self._limit = limit
        self._buffer = bytearray()
        self._start = 0
        self._missing = 0  # bytes of a partly arrived message still to come

    def buffered(self) -> bytes | None:
        """The next message if it has fully arrived already, else ``None`` (never blocks)."""
        buffer, start = self._buffer, self._start
        available = len(buffer) - start
        if available < 4:
            return None
        (size,) = _LENGTH.unpack_from(buffer, start)
        header = 4
        if size == -1:
            if available < 12:
                return None
            (size,) = _LONG_LENGTH.unpack_from(buffer, start + 4)
            header = 12
        if size < 0:
            raise ValueError(f"corrupt message length {size}")
        if self._limit is not None and size > self._limit:
            raise ValueError(
                f"a {size}-byte message exceeds the limit of {self._limit}"
            )
        if available < header + size:
            self._missing = header + size - available
            return None
        with memoryview(
            buffer
        ) as view:  # one copy, and the view is gone before a resize
            body = bytes(view[start + header : start + header + size])
        self._start = start + header + size
        if self._start == len(buffer):
            buffer.clear()
            self._start = 0
        return body

    def read(self) -> bytes:
        """The next message, reading until it has arrived; ``EOFError`` if the peer closed."""
        while True:
            message = self.buffered()
            if message is not None:
                return message
            if self._start:
                del self._buffer[: self._start]
                self._start = 0
            # A large message's remainder in one read, not in 64 KiB pieces.
            chunk = self._read(max(_READ_SIZE, self._missing))
            self._missing = 0
            if not chunk:
                raise EOFError
            self._buffer += chunk


def reader(conn: Connection, limit: int | None = None) -> FrameReader:
    """A reader of ``conn``'s messages: from its descriptor, or through its TLS layer."""
    read_some: Callable[[int], bytes] | None = getattr(conn, "read_some", None)
    if read_some is None:
        read_some = functools.partial(os.read, conn.fileno())
    return FrameReader(read_some, limit)
