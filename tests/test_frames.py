"""The bulk frame reader and writer against the stdlib's own framing, over real pipes."""

from __future__ import annotations

import os
import socket
import threading
import time
from multiprocessing.connection import Connection, Pipe
from typing import Any

import pytest

from typedmgr._awake import _CATCH_UP, _SHARED, _SLEEPY_READS, AwakeWait, Crowd
from typedmgr._frames import Wire, frame, framed, write_parts
from typedmgr._receipt import Message, OutOfBand


def socket_pair() -> tuple[Connection, Connection]:
    near, far = socket.socketpair()
    return Connection(near.detach()), Connection(far.detach())


def in_band(message: Message) -> bytes:
    """A message read: its pickle, copied (a large one comes in the wire's own buffer)."""
    assert not isinstance(message, OutOfBand)
    return bytes(message)


def _sent_from_a_thread(messages: list[bytes]) -> tuple[Connection, threading.Thread]:
    """The reading end of a pipe that a started thread sends ``messages`` into."""
    reader_end, writer_end = Pipe(duplex=False)

    def send_all() -> None:
        for message in messages:
            writer_end.send_bytes(message)

    sender = threading.Thread(target=send_all)
    sender.start()
    return reader_end, sender


def test_reads_what_the_stdlib_connection_sends() -> None:
    """Messages sent by Connection.send_bytes, small and large, come back whole and in order."""
    messages = [b"a", b"", b"x" * 300_000, b"y" * 70_000, b"tail"]
    reader_end, sender = _sent_from_a_thread(messages)
    reader = Wire(reader_end)
    assert messages == [in_band(reader.read()) for _ in messages]
    sender.join()


def test_large_messages_of_any_size_reuse_one_buffer_cleanly() -> None:
    """Each large message is exactly itself, whatever the size of the one before."""
    messages = [
        bytes([n % 251]) * n for n in (300_000, 70_000, 150_001, 20_000, 300_000)
    ]
    reader_end, sender = _sent_from_a_thread(messages)
    reader = Wire(reader_end)
    for message in messages:
        assert message == reader.read()
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


def awake_of(wire: Wire) -> AwakeWait:
    """The policy of ``wire``'s waits awake (a wire made with ``spin > 0`` has one)."""
    assert wire._awake is not None
    return wire._awake


class Watched:
    """A wire whose polls and reads are watched (through them, as the wire makes them):
    when its wait awake began, whether and when a poll found the message, when it read."""

    def __init__(self, wire: Wire) -> None:
        self.polling = threading.Event()  # the wait awake has begun
        self.reading = (
            threading.Event()
        )  # the wait is over: the wire reads, maybe asleep
        self.first_poll = 0.0  # perf_counter before the first poll
        self.found = 0.0  # perf_counter after the poll that found something, else 0
        awake = awake_of(wire)
        poll, read = awake._poll, wire._read

        def watched_poll(timeout: int) -> list[tuple[int, int]]:
            before = time.perf_counter()
            if not self.polling.is_set():
                self.first_poll = before
                self.polling.set()
            events = poll(timeout)
            if events:
                self.found = time.perf_counter()
            return events

        def watched_read(size: int) -> bytes:
            self.reading.set()
            return read(size)

        awake._poll, wire._read = watched_poll, watched_read


def _answer_when(
    event: threading.Event, conn: Any, after: float = 0.0
) -> threading.Thread:
    """A thread that sends a reply ``after`` seconds once ``event`` is set."""

    def answer() -> None:
        assert event.wait(30)
        time.sleep(after)
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
    assert awake_of(wire).sleepy == 0


def test_when_a_wait_comes_to_nothing_the_next_is_the_longest() -> None:
    """When a wait comes to nothing the reply is still read, asleep; the next wait is the
    longest, so a peer that is late only by its own wake-up is caught awake."""
    near, far = socket_pair()
    wire = Wire(near, spin=1e-4)
    watched = Watched(wire)
    sender = _answer_when(watched.reading, far)  # once the wait has come to nothing
    assert b"reply" == wire.read()
    sender.join()
    assert watched.polling.is_set() and not watched.found
    assert awake_of(wire).sleepy == 0
    assert awake_of(wire).budget == pytest.approx(1e-4 * _CATCH_UP)


def test_when_the_longest_wait_fails_too_reads_sleep_for_a_while() -> None:
    """A slow peer (a slow method, an idle client) is not polled in vain: after the longest
    wait fails as well, the next reads sleep at once, then waiting awake starts over."""
    near, far = socket_pair()
    wire = Wire(near, spin=1e-4)
    for _ in range(2):
        watched = Watched(wire)
        sender = _answer_when(watched.reading, far)
        assert b"reply" == wire.read()
        sender.join()
        assert watched.polling.is_set() and not watched.found
    assert _SLEEPY_READS == awake_of(wire).sleepy
    assert awake_of(wire).budget == pytest.approx(1e-4)
    for left in reversed(range(_SLEEPY_READS)):
        far.send_bytes(b"next")
        assert b"next" == wire.read()
        assert left == awake_of(wire).sleepy


def test_the_wait_follows_what_the_peer_takes() -> None:
    """After a reply that came while waiting awake, the next wait is twice as long as that
    one took, never shorter than the base wait nor longer than the longest."""
    spin = 5e-3
    longest = spin * _CATCH_UP

    def clamped(waited: float) -> float:
        return min(max(2 * waited, spin), longest)

    for _ in range(5):  # until a wait finds the reply (the sender may be held up 90 ms)
        near, far = socket_pair()
        wire = Wire(near, spin=spin)
        watched = Watched(wire)
        sender = _answer_when(watched.polling, far, after=0.01)
        start = time.perf_counter()
        # A batch: the caller expects a while, so the wait may last the longest.
        assert b"reply" == wire.read(patience=longest)
        took = time.perf_counter() - start
        sender.join()
        if not watched.found:
            assert (
                longest == awake_of(wire).budget
            )  # the next wait is the longest, as above
            continue
        # The wait lasted at least from the first poll to the one that found the reply
        # (10 ms or more), at most the whole read.
        assert clamped(watched.found - watched.first_poll) <= awake_of(wire).budget
        assert awake_of(wire).budget <= clamped(took)
        far.send_bytes(b"at once")
        assert b"at once" == wire.read()
        assert spin == awake_of(wire).budget
        break
    else:
        pytest.fail("no wait found its reply in five tries")


def test_a_crowd_waits_awake_only_for_a_thread_that_alone_gets_messages() -> None:
    """After a message to another thread, no thread of the crowd waits awake for a while."""
    now = 100.0
    crowd = Crowd(clock=lambda: now)
    crowd.arrived()
    assert not crowd.alone()  # a thread new to the crowd: others may be busy
    now += _SHARED / 2
    assert not crowd.alone()
    now = 100.0 + _SHARED
    assert crowd.alone()
    other = threading.Thread(target=crowd.arrived)
    other.start()
    other.join()
    assert not crowd.alone()
    now += 10 * _SHARED
    assert not crowd.alone()  # the other thread got the last message
    crowd.arrived()
    assert not crowd.alone()
    now += _SHARED
    assert crowd.alone()
    crowd.arrived()  # this thread again: the crowd stays its own
    assert crowd.alone()


def test_a_wire_in_a_shared_crowd_sleeps_at_once() -> None:
    """A read whose crowd another thread has just been served by never waits awake: its
    budget is neither spent nor raised (a wait that ran out would raise it)."""
    near, far = socket_pair()
    crowd = Crowd()
    other = threading.Thread(target=crowd.arrived)
    other.start()
    other.join()
    wire = Wire(near, spin=1e-4, crowd=crowd)
    sender = _answer_after(0.05, far)
    assert b"reply" == wire.read()
    sender.join()
    assert awake_of(wire).budget == pytest.approx(1e-4)
