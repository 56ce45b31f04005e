"""The bulk frame reader against the stdlib's own framing, over real pipes."""

from __future__ import annotations

import functools
import os
import threading
from multiprocessing.connection import Pipe

import pytest

from typedmgr.frames import FrameReader, frame


def test_reads_what_the_stdlib_connection_sends() -> None:
    """Messages sent by Connection.send_bytes, small and large, come back whole and in order."""
    reader_end, writer_end = Pipe(duplex=False)
    messages = [b"a", b"", b"x" * 300_000, b"tail"]

    def send_all() -> None:
        for message in messages:
            writer_end.send_bytes(message)

    sender = threading.Thread(target=send_all)
    sender.start()
    reader = FrameReader(functools.partial(os.read, reader_end.fileno()))
    assert messages == [reader.read() for _ in messages]
    sender.join()


def test_frames_match_the_stdlib_format() -> None:
    """frame() writes what Connection.recv_bytes reads."""
    reader_end, writer_end = Pipe(duplex=False)
    os.write(writer_end.fileno(), frame(b"one") + frame(b"two"))
    assert [b"one", b"two"] == [reader_end.recv_bytes(), reader_end.recv_bytes()]


def test_buffered_never_blocks() -> None:
    """buffered() gives only messages that have fully arrived."""
    read_fd, write_fd = os.pipe()
    reader = FrameReader(functools.partial(os.read, read_fd))
    assert reader.buffered() is None
    os.write(write_fd, frame(b"first") + frame(b"second")[:5])
    assert b"first" == reader.read()
    assert reader.buffered() is None
    os.write(write_fd, frame(b"second")[5:])
    assert b"second" == reader.read()
    os.close(write_fd)
    with pytest.raises(EOFError):
        reader.read()
    os.close(read_fd)


def test_a_corrupt_length_is_an_error_not_a_hang() -> None:
    """A negative length other than the long-message marker is refused."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, (-7).to_bytes(4, "big", signed=True))
    with pytest.raises(ValueError, match="corrupt message length -7"):
        FrameReader(functools.partial(os.read, read_fd)).read()
    os.close(read_fd)
    os.close(write_fd)
