"""A multiplexed connection's replies stay whole on the wire whoever writes them, whenever
they are posted (``typedmgr._server.outbox``), on a real socket pair."""

from __future__ import annotations

import os
import socket
import threading
from typing import Any, cast

from typedmgr._server.outbox import Outbox


class PostsBetween:
    """The outbox's lock, which lets another thread post just before it is taken for the
    ``at``-th time: the moment a reply's first write has returned, before the rest of it
    is queued."""

    def __init__(self, at: int) -> None:
        self._lock = threading.Lock()
        self._taken = 0
        self._at = at
        self.between: Any = None  # what another thread does then

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        self._taken += 1
        if self._taken == self._at and self.between is not None:
            other = threading.Thread(target=self.between)
            other.start()
            other.join()
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:  # threading.Condition asks (3.14)
        return self._lock.locked()

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()


def test_a_reply_posted_during_a_partial_write_goes_after_the_rest_of_it() -> None:
    """A reply larger than the socket takes is written in part by the thread that posted
    it; a reply another thread posts meanwhile is queued behind what is left of the first
    one, never between its parts."""
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
    ours.setblocking(False)
    lock = PostsBetween(at=3)  # taken to queue, to write, then after the write
    outbox = Outbox(cast("threading.Lock", lock), ours.fileno(), None, lambda: None)
    first = b"A" * (4 * 1024 * 1024)  # far more than one write takes
    second = b"B" * 1024
    lock.between = lambda: outbox.post([second])
    try:
        assert outbox.post([first])  # the rest waits: the lead must be woken
        received = bytearray()
        while len(received) < len(first) + len(second):
            with lock:
                turn = outbox.take_turn()
            if turn:
                outbox.write()
            received += theirs.recv(1024 * 1024)
        assert bytes(received) == first + second
        assert 0 == outbox.bytes
    finally:
        ours.close()
        theirs.close()


def test_replies_of_many_threads_arrive_whole() -> None:
    """Threads posting at once, with the socket taking each write in part: every reply
    arrives whole, one after another."""
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
    ours.setblocking(False)
    lock = threading.Lock()
    outbox = Outbox(lock, ours.fileno(), None, lambda: None)
    replies = [bytes([65 + i]) * (50_000 + 997 * i) for i in range(16)]
    posters = [
        threading.Thread(target=outbox.post, args=([reply],)) for reply in replies
    ]
    total = sum(map(len, replies))
    received = bytearray()
    try:
        for poster in posters:
            poster.start()
        while len(received) < total:
            with lock:
                turn = outbox.take_turn()
            if turn:
                outbox.write()
            try:
                received += theirs.recv(1024 * 1024, socket.MSG_DONTWAIT)
            except BlockingIOError:
                os.sched_yield()
        for poster in posters:
            poster.join()
        runs = []
        at = 0
        while at < total:  # each reply is one run of its own letter
            letter = received[at]
            length = len(replies[letter - 65])
            runs.append(bytes(received[at : at + length]))
            at += length
        assert sorted(runs) == sorted(replies)
    finally:
        ours.close()
        theirs.close()


def test_a_held_reply_goes_out_with_the_next_one_or_when_asked() -> None:
    """A reply posted with ``hold`` (its thread runs another request next) stays queued,
    not waiting for the lead, until the next reply goes out with it, the lead is asked to
    write it, or enough are held to fill a write."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    lock = threading.Lock()
    outbox = Outbox(lock, ours.fileno(), None, lambda: None)
    try:
        assert not outbox.post([b"one"], hold=True)  # no need to wake the lead
        with lock:
            assert not outbox.waiting()
        try:
            unexpected = theirs.recv(100)
        except BlockingIOError:
            unexpected = b""
        assert b"" == unexpected
        assert not outbox.post([b"two"])
        assert b"onetwo" == theirs.recv(100)

        outbox.post([b"three"], hold=True)
        with lock:
            assert outbox.ask()
            assert outbox.waiting()
            assert outbox.take_turn()
        outbox.write()
        assert b"three" == theirs.recv(100)
        with lock:
            assert not outbox.waiting()
            assert not outbox.ask()  # nothing left to ask for

        for i in range(64):  # the 64th fills a write: it goes, with the 63 held
            outbox.post([b"%02d" % i], hold=True)
        assert b"".join(b"%02d" % i for i in range(64)) == theirs.recv(1000)

        large = b"L" * (300 * 1024)  # past what is held back: it goes at once
        outbox.post([large], hold=True)
        received = b""
        while len(received) < len(large):
            received += theirs.recv(len(large))
            with lock:
                turn = outbox.take_turn()
            if turn:
                outbox.write()
        assert large == received
    finally:
        ours.close()
        theirs.close()
