"""Frames: the stdlib ``Connection`` wire format, read in bulk and written in one call.

``Connection.recv`` makes two reads per message (the 4-byte length, then the body) and a
sender one write per message. Both ends of a typedmgr exchange read whatever has arrived in
one go and split it into messages here; a large message is read straight into a buffer
kept for large messages (``FrameReader``). A writer hands every message it has ready to the
kernel in one call, without joining them (``write_parts``). When a read waits awake for its
message is ``_awake``'s policy. The bytes on the wire are unchanged, so stdlib peers never
notice; on a connection whose peers agreed to them (``_buffers``), a message may carry
buffers out of band, which a ``_receipt.Receiver`` reads into memory of their own.
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from typedmgr import _tls
from typedmgr._awake import AwakeWait, Crowd, readable
from typedmgr._receipt import (
    GROW,
    MARK,
    PAD,
    Message,
    OutOfBand,
    Receiver,
    announced,
    read_growing,
)

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = [
    "Crowd",
    "FrameReader",
    "Wire",
    "frame",
    "framed",
    "read_message",
    "write_parts",
]

_LENGTH = struct.Struct("!i")
_LONG_LENGTH = struct.Struct("!Q")
_ANNOUNCED_LENGTH = struct.Struct("!I")  # after MARK: an out-of-band message's header
# What one read asks for. A message with more than this still to come is read straight into
# the large-message buffer: larger reads into the shared buffer made large echoes slower
# (page faults included; docs/performance.md).
_READ_SIZE = _DIRECT = 16 * 1024
# What one read brings past an out-of-band message's pickle is pad, never a buffer's bytes.
assert _READ_SIZE <= PAD
# Payloads up to this size are joined to their header; larger ones are written beside it.
_JOIN_LIMIT = 16 * 1024
_IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024

Buffer = bytes | bytearray | memoryview


def header(size: int) -> bytes:
    """The length prefix ``Connection.send_bytes`` writes before a ``size``-byte message."""
    if size > 0x7FFFFFFF:
        return _LENGTH.pack(-1) + _LONG_LENGTH.pack(size)
    return _LENGTH.pack(size)


def frame(payload: bytes) -> bytes:
    """One message as ``Connection.send_bytes`` frames it."""
    return header(len(payload)) + payload


def framed(payload: bytes) -> list[bytes]:
    """One message as the parts to write: a large payload is not copied to join its header."""
    if len(payload) <= _JOIN_LIMIT:
        return [header(len(payload)) + payload]
    return [header(len(payload)), payload]


class FrameReader:
    """The framing parser: messages split out of whatever one read brought, a large one
    read straight into a buffer of its own."""

    __slots__ = (
        "_announced",
        "_body",
        "_buffer",
        "_large",
        "_limit",
        "_missing",
        "_read",
        "_readinto",
        "_receiver",
        "_start",
    )

    def __init__(
        self,
        read: Callable[[int], bytes],
        readinto: Callable[[memoryview], int],
        limit: int | None,
        receiver: Receiver | None = None,
    ) -> None:
        """Messages read with ``read``/``readinto``, each at most ``limit`` bytes, with
        their out-of-band buffers read by ``receiver`` (none: such a message is refused)."""
        self._read = read
        self._readinto = readinto
        self._limit = limit
        self._receiver = receiver
        self._announced = False  # the message begun is an out-of-band one
        self._buffer = bytearray()
        self._large = bytearray()  # the buffer large messages are read into
        self._start = 0
        self._missing = 0  # bytes of a partly arrived message still to come
        self._body = (0, 0)  # that message's header and body sizes

    def buffered(self) -> bytes | None:
        """The next message if it has fully arrived already, else ``None`` (never blocks;
        an out-of-band message's buffers are read by ``read``)."""
        buffer, start = self._buffer, self._start
        available = len(buffer) - start
        if self._announced:
            self._missing = max(sum(self._body) - available, 0)
            return None
        if available < 4:
            return None
        (size,) = _LENGTH.unpack_from(buffer, start)
        head = 4
        if size == -1:
            if available < 12:
                return None
            (size,) = _LONG_LENGTH.unpack_from(buffer, start + 4)
            head = 12
        elif size == MARK:
            if self._receiver is None:
                raise ValueError(
                    "refused an out-of-band message on a connection that did not "
                    "agree to them"
                )
            if available < 8:
                return None
            (size,) = _ANNOUNCED_LENGTH.unpack_from(buffer, start + 4)
            head = 8
            self._announced = True
        if size < 0:
            raise ValueError(f"corrupt message length {size}")
        if self._limit is not None and size > self._limit:
            raise ValueError(
                f"a {size}-byte message exceeds the limit of {self._limit}"
            )
        if available < head + size or self._announced:
            self._missing = max(head + size - available, 0)
            self._body = (head, size)
            return None
        # One copy, and the view is gone before the buffer is resized.
        with memoryview(buffer) as view:
            body = bytes(view[start + head : start + head + size])
        self._start = start + head + size
        if self._start == len(buffer):
            buffer.clear()
            self._start = 0
        return body

    def leftover(self) -> bytes:
        """The bytes read past the last message taken, now the caller's to parse (this
        reader is not read again)."""
        rest = bytes(self._buffer[self._start :])
        self._buffer.clear()
        self._start = 0
        return rest

    def _next(self) -> Message:
        """The next message, reading until it has arrived; ``EOFError`` if the peer closed."""
        if not self._buffer:
            # Nothing pending, as before every reply a client waits for: when one read brings
            # exactly one message, it is the message.
            chunk = self._read(_READ_SIZE)
            if len(chunk) >= 4:
                (size,) = _LENGTH.unpack_from(chunk)
                if size == len(chunk) - 4 and (
                    self._limit is None or size <= self._limit
                ):
                    return chunk[4:]
            elif not chunk:
                raise EOFError
            self._buffer += chunk
        while True:
            message = self.buffered()
            if message is not None:
                return message
            if self._announced and (not self._missing or self._missing >= _DIRECT):
                return self._out_of_band()
            if self._missing >= _DIRECT:
                return self._read_body()
            if self._start:
                del self._buffer[: self._start]
                self._start = 0
            chunk = self._read(_READ_SIZE)
            self._missing = 0
            if not chunk:
                if self._buffer:
                    raise OSError("got end of file during message")
                raise EOFError
            self._buffer += chunk

    def _out_of_band(self) -> OutOfBand:
        """The out-of-band message begun: its header and pickle (arrived, or read now), then
        its buffers, each read into its own memory."""
        assert self._receiver is not None
        self._announced = False
        if self._missing:
            body: bytes | bytearray = self._read_body()  # read exactly: nothing beyond
            read_ahead = 0
        else:
            head, size = self._body
            begun = self._start + head
            body = self._buffer[begun : begun + size]
            read_ahead = len(self._buffer) - begun - size  # part of the pad
            self._buffer.clear()
            self._start = 0
        specs, start = announced(body, self._limit)
        with memoryview(body) as view:
            pickled = bytes(view[start:])
        return OutOfBand(pickled, self._receiver.receive(specs, read_ahead))

    def _read_body(self) -> bytearray:
        """The rest of a large message, read from the kernel into the large-message buffer.

        The buffer is reused, not reallocated: each large message allocated and freed again
        moved the top of the heap by its size, and glibc gave the memory back and took it
        again, page faults and all (docs/performance.md).
        It grows only as the data arrives: a length header is a claim, not a promise (24
        bytes of headers claiming 256 MiB each must not cost 256 MiB each).
        """
        head, size = self._body
        begun = self._start + head
        body = self._large
        have = len(self._buffer) - begun
        if len(body) > size:
            body[size:] = b""  # shrinking keeps the allocation
        elif len(body) < have + GROW:
            body.extend(bytes(min(size, have + GROW) - len(body)))
        body[:have] = memoryview(self._buffer)[begun:]
        self._buffer.clear()
        self._start = self._missing = 0
        return read_growing(self._readinto, body, have, size)


class Wire(FrameReader):
    """One connection's messages: read as many at a time as have arrived (the parser,
    waiting awake first if ``AwakeWait`` says so), written at once (``write_parts``)."""

    __slots__ = ("_awake", "_crowd", "_write", "conn")

    def __init__(
        self,
        conn: Connection,
        limit: int | None = None,
        *,
        spin: float = 0.0,
        crowd: Crowd | None = None,
        buffers: bool = False,
    ) -> None:
        """The wire of ``conn``: through its TLS layer, or on its file descriptor.

        The descriptor is looked up once: a ``Wire`` must not outlive its open connection
        (the client keeps its wire beside its connection and drops both together).
        ``spin``: seconds a read waits awake for a message before it sleeps (``AwakeWait``).
        ``crowd``: the threads this one counts among: a read waits awake only while its
        thread alone has been getting messages (see ``Crowd``).
        ``buffers``: whether both peers agreed to out-of-band messages (``_buffers``).
        """
        self.conn = conn
        self._write: Callable[[Sequence[Buffer]], None]
        self._awake: AwakeWait | None = None
        if isinstance(conn, _tls.TLSConnection):
            # No waiting awake: decrypted bytes may be waiting where poll() cannot see them.
            receiver = Receiver(conn.read_into, None) if buffers else None
            super().__init__(conn.read_some, conn.read_into, limit, receiver)
            self._write = conn.write_parts
        else:
            fd = conn.fileno()
            read = functools.partial(os.read, fd)
            readinto = functools.partial(_readinto, fd)
            receiver = Receiver(readinto, fd) if buffers else None
            super().__init__(read, readinto, limit, receiver)
            self._write = functools.partial(write_parts, fd)
            if spin > 0:
                self._awake = AwakeWait(readable(fd), spin, crowd)
        self._crowd = crowd

    def write(self, parts: Sequence[Buffer]) -> None:
        """Write already framed ``parts`` (see :func:`framed`) in one system call if it can."""
        self._write(parts)

    @property
    def buffers(self) -> bool:
        """Whether out-of-band messages may be sent and read on this wire."""
        return self._receiver is not None

    def read(self, patience: float = 0.0) -> Message:
        """The next message, reading until it has arrived; ``EOFError`` if the peer closed.

        A large message comes in the wire's own buffer: load it before the next read.
        ``patience``: seconds the peer is expected to take (a batch of calls), waited for
        awake if waiting awake is on, up to the longest wait.
        """
        if self._awake is not None and not self._buffer:
            self._awake.wait(patience)
        message = self._next()
        if self._crowd is not None:
            self._crowd.arrived()
        return message


class Splitter:
    """The framing parser for bytes that come as they come (non-blocking reads, an
    asyncio protocol's ``data_received``): ``feed`` returns the messages they complete."""

    __slots__ = ("_buffer", "_limit")

    def __init__(self, limit: int) -> None:
        self._buffer = bytearray()
        self._limit = limit

    def feed(self, data: Buffer) -> list[bytes]:
        """The messages ``data`` completes, in order; ``ValueError`` for a corrupt length."""
        buffer = self._buffer
        buffer += data
        messages: list[bytes] = []
        start, end = 0, len(buffer)
        with memoryview(buffer) as view:
            while end - start >= 4:
                (size,) = _LENGTH.unpack_from(view, start)
                body = start + 4
                if size == -1 and end - start >= 12:
                    (size,) = _LONG_LENGTH.unpack_from(view, body)
                    body += 8
                elif size == -1:
                    break
                if not 0 <= size <= self._limit:
                    raise ValueError(f"a message of {size} bytes is out of bounds")
                if body + size > end:
                    break
                messages.append(bytes(view[body : body + size]))
                start = body + size
        if start:
            del buffer[:start]
        return messages

    @property
    def pending(self) -> int:
        """Bytes of a message not yet complete."""
        return len(self._buffer)


def read_message(conn: Connection, limit: int) -> bytearray:
    """One message from ``conn``, read as it arrives: no more than its header's claim,
    nor than ``limit``, nor more memory than the bytes that came (``Connection.recv_bytes``
    asks the kernel for the whole claimed size at once)."""
    read: Callable[[int], bytes]
    if isinstance(conn, _tls.TLSConnection):
        read = conn.read_some
    else:
        read = functools.partial(os.read, conn.fileno())
    (size,) = _LENGTH.unpack(_read_exactly(read, 4))
    if size == -1:
        (size,) = _LONG_LENGTH.unpack(_read_exactly(read, 8))
    if size < 0:  # MARK too: out-of-band messages come on long-lived connections only
        raise ValueError(f"corrupt message length {size}")
    if size > limit:
        raise ValueError(f"a {size}-byte message exceeds the limit of {limit}")
    return _read_exactly(read, size)


def _read_exactly(read: Callable[[int], bytes], size: int) -> bytearray:
    data = bytearray()
    while len(data) < size:
        chunk = read(min(size - len(data), GROW))
        if not chunk:
            raise EOFError if not data else OSError("got end of file during message")
        data += chunk
    return data


def _readinto(fd: int, view: memoryview) -> int:
    return os.readv(fd, [view])


def write_parts(fd: int, parts: Sequence[Buffer]) -> None:
    """Write ``parts`` to ``fd`` in order: one system call unless the kernel takes less."""
    if len(parts) == 1:
        written = os.write(fd, parts[0])
        if written == len(parts[0]):
            return
    elif len(parts) <= _IOV_MAX:
        written = os.writev(fd, parts)
        if written == sum(map(len, parts)):
            return
    else:
        written = 0
    views = [memoryview(part).cast("B") for part in parts]
    first = 0
    while True:
        while first < len(views) and written >= len(views[first]):
            written -= len(views[first])
            first += 1
        if first == len(views):
            return
        views[first] = views[first][written:]
        written = os.writev(fd, views[first : first + _IOV_MAX])
