"""The bulk frame reader and writer against the stdlib's own framing, over real pipes."""

from __future__ import annotations

import os
import socket
import threading
import time
from multiprocessing.connection import Connection, Pipe
from typing import Any

import pytest

from typedmgr.frames import Wire, frame, framed, write_parts


def socket_pair() -> tuple[Connection, Connection]:
    near, far = socket.socketpair()
    return Connection(near.detach()), Connection(far.detach())


def test_reads_what_the_stdlib_connection_sends() -> None:
    """Messages sent by Connection.send_bytes, small and large, come back whole and in order."""
    reader_end, writer_end = Pipe(duplex=False)
    messages = [b"a", b"", b"x" * 300_000, b"y" * 70_000, b"tail"]

    def send_all() -> None:
        for message in messages:
            writer_end.send_bytes(message)

    sender = threading.Thread(target=send_all)
    sender.start()
    reader = Wire(reader_end)
    assert messages == [bytes(reader.read()) for _ in messages]
    sender.join()


def test_writes_what_the_stdlib_connection_reads() -> None:
    """framed() parts, small and large, written at once, arrive through Connection.recv_bytes."""
    reader_end, writer_end = Pipe(duplex=False)
    messages = [b"one", b"", b"z" * 200_000, b"two"]
    parts = [part for message in messages for part in framed(message)]
    sender = threading.Thread(target=Wire(writer_end).write, args=(parts,))
    sender.start()  # 200 KB exceeds the pipe's buffer: the writer resumes after partial writes
    assert messages == [reader_end.recv_bytes() for _ in messages]
    sender.join()


def test_many_parts_exceed_one_writev() -> None:
    """More parts than one writev takes are written in order all the same."""
    read_fd, write_fd = os.pipe()
    parts = [bytes([i % 256]) for i in range(5000)]
    write_parts(write_fd, parts)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        assert b"".join(parts) == f.read()


def test_frames_match_the_stdlib_format() -> None:
    """frame() writes what Connection.recv_bytes reads."""
    reader_end, writer_end = Pipe(duplex=False)
    os.write(writer_end.fileno(), frame(b"one") + frame(b"two"))
    assert [b"one", b"two"] == [reader_end.recv_bytes(), reader_end.recv_bytes()]


def test_buffered_never_blocks() -> None:
    """buffered() gives only messages that have fully arrived."""
    reader_end, writer_end = Pipe(duplex=False)
    write_fd = writer_end.fileno()
    reader = Wire(reader_end)
    assert reader.buffered() is None
    os.write(write_fd, frame(b"first") + frame(b"second")[:5])
    assert b"first" == reader.read()
    assert reader.buffered() is None
    os.write(write_fd, frame(b"second")[5:])
    assert b"second" == reader.read()
    writer_end.close()
    with pytest.raises(EOFError):
        reader.read()


def test_a_message_cut_short_is_an_error() -> None:
    """A peer that closes in the middle of a large message is an error, not a short message."""
    reader_end, writer_end = Pipe(duplex=False)
    cut = frame(b"x" * 100_000)[:50_000]
    sender = threading.Thread(target=os.write, args=(writer_end.fileno(), cut))
    sender.start()
    sender.join()
    writer_end.close()
    with pytest.raises(OSError, match="end of file during message"):
        Wire(reader_end).read()


def test_a_corrupt_length_is_an_error_not_a_hang() -> None:
    """A negative length other than the long-message marker is refused."""
    reader_end, writer_end = Pipe(duplex=False)
    os.write(writer_end.fileno(), (-7).to_bytes(4, "big", signed=True))
    with pytest.raises(ValueError, match="corrupt message length -7"):
        Wire(reader_end).read()


def _answer_after(seconds: float, conn: Any) -> threading.Thread:
    def answer() -> None:
        time.sleep(seconds)
        conn.send_bytes(b"reply")

    thread = threading.Thread(target=answer)
    thread.start()
    return thread


def test_a_reply_waited_for_awake_arrives_whole() -> None:
    """A reply that comes within the wait is read at once, and waiting awake goes on."""
    near, far = socket_pair()
    wire = Wire(near, spin=0.5)
    sender = _answer_after(0.002, far)
    assert b"reply" == wire.read()
    sender.join()
    assert wire._sleepy == 0


def test_a_late_reply_ends_waiting_awake_for_a_while() -> None:
    """When the wait comes to nothing the reply is still read, asleep, and the next reads
    sleep at once instead of polling in vain."""
    near, far = socket_pair()
    wire = Wire(near, spin=1e-4)
    sender = _answer_after(0.05, far)
    assert b"reply" == wire.read()
    sender.join()
    assert wire._sleepy > 0
