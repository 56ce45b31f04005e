"""Multiplexed connections: many requests in flight on one connection, answered by id.

An asyncio client (``typedmgr._aio``) keeps many calls in flight on one connection. It asks
for that with one request on a long-lived connection, ``(None, MUX, (MUX_VERSION,), {},
())``, answered ``("#RETURN", MUX_VERSION)``; from then on the connection carries, both
ways, messages framed as ever whose body is an 8-byte request id (``_wire.MUX_ID``)
followed by a pickle: a request as a sync typedmgr client sends it (id 0 for the requests
that have no reply: ``RELEASE``, ``ONEWAY``), and its reply, in the order the requests
finish. Stdlib clients and sync typedmgr clients never send ``MUX`` and see none of this.

Full duplex, so that neither end ever waits for the other: the connection's thread does all
of the connection's I/O and never blocks on it. It waits (``poll``) for the socket to be
readable or, while replies are queued, writable; reads what has arrived, hands each request
to a worker; writes what the socket takes. Workers run the requests (up to
:data:`WORKERS` threads; an ``async def`` method's coroutine holds none while it runs on
the server's loop, ``coroutines``) and queue their replies. Reading pauses while more than
:data:`HELD_LIMIT` bytes wait (requests not yet started, replies not yet written) and
resumes as the client takes replies: memory stays bounded, and a client that reads while
it writes (the asyncio client always does) can always go on. On a plain socket, a worker
whose reply finds nothing queued writes it at once, without blocking (what the socket does
not take is left to the connection's thread); over TLS only the connection's thread touches
the SSL socket (one must not be read and written by two threads at once).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import select
import socket
import ssl
import threading
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing import util
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any

from typedmgr import _frames, _tls
from typedmgr._channel import dumps
from typedmgr._server import coroutines
from typedmgr._server.replies import dumps_reply, sendable, unserializable
from typedmgr._wire import BATCH, MUX_ID, MUX_VERSION, ONEWAY, TRACEBACK_ATTR

if TYPE_CHECKING:
    import concurrent.futures
    from multiprocessing.connection import Connection

    from typedmgr._server.dispatch import Dispatcher as TypedServer

__all__ = ["HELD_LIMIT", "WORKERS", "serve"]

#: Threads a multiplexed connection runs its requests on, at most.
WORKERS = 32
#: Bytes of requests not yet started and replies not yet written past which the
#: connection's thread stops reading until the client has taken some replies.
HELD_LIMIT = 32 * 1024 * 1024
_READ_SIZE = 256 * 1024
_IOV = 64  # parts written in one system call, at most
_WAIT_MS = 500  # the longest poll, so that a stopping server is noticed
_AGAIN = (
    BlockingIOError,
    InterruptedError,
    ssl.SSLWantReadError,
    ssl.SSLWantWriteError,
)
_BROKEN = select.POLLHUP | select.POLLERR | select.POLLNVAL
_Job = Callable[[], None]


def serve(server: TypedServer, conn: Connection, wire: _frames.Wire) -> None:
    """Answer the ``MUX`` request, then serve ``conn`` multiplexed until it closes."""
    wire.write(_frames.framed(dumps(("#RETURN", MUX_VERSION))))
    Multiplexed(server, conn).run(wire.leftover())


class Multiplexed:
    """One multiplexed connection: its I/O thread (the connection's), workers, replies."""

    def __init__(self, server: TypedServer, conn: Connection) -> None:
        self.server = server
        self.conn = conn
        self.session = server._session()
        self._tls: ssl.SSLSocket | None = (
            conn.ssl_socket if isinstance(conn, _tls.TLSConnection) else None
        )
        self._fd = conn.fileno()
        self._splitter = _frames.Splitter(server.max_message_size)
        self._lock = threading.Lock()
        self._idle_writer = threading.Condition(self._lock)
        self._outbox: deque[memoryview] = deque()
        self._outbytes = 0  # bytes of replies queued, not yet written
        self._held = 0  # bytes of requests read, not yet started
        self._writing = False  # someone is writing (the I/O thread or a worker)
        self._paused = False  # the I/O thread stopped reading (too much held)
        self._closed = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._jobs: SimpleQueue[_Job | None] = SimpleQueue()
        self._threads = self._idle = self._queued = 0

    # The I/O thread.

    def run(self, leftover: bytes) -> None:
        """Read, hand out and write until the connection ends; then close it."""
        if self._tls is not None:
            self._tls.setblocking(False)
        else:
            os.set_blocking(self._fd, False)
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        try:
            self._accept(leftover)
            while not self.server.stop_event.is_set():
                with self._lock:
                    reading = self._outbytes + self._held <= HELD_LIMIT
                    self._paused = not reading
                    writing = bool(self._outbox) and not self._writing
                    if writing:
                        self._writing = True
                if writing:
                    self._write_turn()
                with self._lock:  # a worker still writing wakes this thread when done
                    mask = (select.POLLIN if reading else 0) | (
                        select.POLLOUT if self._outbox and not self._writing else 0
                    )
                if reading and self._tls is not None and self._tls.pending():
                    self._receive()  # decrypted bytes poll() cannot see
                    continue
                poller.register(self._fd, mask)
                ready = 0
                for fd, events in poller.poll(_WAIT_MS):
                    if fd == self._fd:
                        ready = events
                    else:
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                if ready & (select.POLLIN if reading else 0) or ready & _BROKEN:
                    self._receive()  # data, or the end of the connection
        except EOFError:
            pass
        except Exception as e:  # garbled framing, a reset: the stream cannot go on
            util.info("multiplexed connection %r given up: %r", self.conn, e)
        finally:
            self._close()

    def _receive(self) -> None:
        """Read what has arrived (a bounded amount: writing gets its turn)."""
        read = self._tls.recv if self._tls is not None else self._read_fd
        for _ in range(16):
            try:
                data = read(_READ_SIZE)
            except _AGAIN:
                return
            if not data:
                raise EOFError
            self._accept(data)
            if len(data) < _READ_SIZE:
                return

    def _read_fd(self, size: int) -> bytes:
        return os.read(self._fd, size)

    def _accept(self, data: bytes) -> None:
        """Hand each request ``data`` completes to a worker."""
        for message in self._splitter.feed(data):
            if len(message) < MUX_ID.size:
                raise ValueError("a multiplexed message without its id")
            (rid,) = MUX_ID.unpack_from(message)
            with self._lock:
                self._held += len(message)
            self._submit(functools.partial(self._run, rid, message))

    def _write_turn(self) -> None:
        """Write what the socket takes now (the caller took the writer's turn)."""
        try:
            self._flush()
        finally:
            with self._lock:
                self._writing = False
                self._idle_writer.notify_all()

    def _flush(self) -> bool:
        """Write queued replies until done (True) or the socket takes no more (False)."""
        while True:
            with self._lock:
                if not self._outbox or self._closed:
                    return True
                if self._tls is not None:
                    parts: Sequence[memoryview] = (self._outbox[0],)
                else:
                    parts = list(itertools.islice(self._outbox, _IOV))
            try:
                if self._tls is not None:
                    # Retried with the same part until taken, as SSL_write requires.
                    written = self._tls.send(parts[0])
                else:
                    written = os.writev(self._fd, parts)
            except _AGAIN:
                return False
            with self._lock:
                self._outbytes -= written
                while written:
                    head = self._outbox[0]
                    if written < len(head):
                        self._outbox[0] = head[written:]
                        break
                    written -= len(head)
                    self._outbox.popleft()
                if self._paused and self._outbytes + self._held <= HELD_LIMIT:
                    self._wake()

    def _wake(self) -> None:
        """Wake the I/O thread from its poll (replies to write, reading to resume)."""
        with contextlib.suppress(OSError):  # full already, or closed
            self._wake_w.send(b"\0")

    def _close(self) -> None:
        with self._lock:
            self._closed = True
            while self._writing:  # a worker's write: the descriptor must outlive it
                self._idle_writer.wait()
            self._outbox.clear()
            threads = self._threads
        for _ in range(threads):
            self._jobs.put(None)
        with contextlib.suppress(Exception):
            self.conn.close()
        self._wake_r.close()
        self._wake_w.close()

    # Workers.

    def _submit(self, job: _Job) -> None:
        with self._lock:
            if self._closed:
                return
            self._queued += 1
            spawn = self._queued > self._idle and self._threads < WORKERS
            if spawn:
                self._threads += 1
        if spawn:
            threading.Thread(
                target=self._work,
                name=f"{threading.current_thread().name} worker",
                daemon=True,
            ).start()
        self._jobs.put(job)

    def _work(self) -> None:
        server = self.server
        server._connection.session = self.session
        try:
            while True:
                with self._lock:
                    self._idle += 1
                job = self._jobs.get()
                with self._lock:
                    self._idle -= 1
                    self._queued -= 1
                if job is None:
                    return
                try:
                    job()
                except Exception as e:
                    util.info("multiplexed request failed: %r", e)
                finally:
                    job = None
                    server.books.release_local()
        finally:
            # References this thread sent in replies that no receiver took over.
            server.books.return_in_flight()

    def _run(self, rid: int, message: bytes) -> None:
        """Run one request; its reply is queued now, or when its coroutine finishes."""
        with self._lock:
            self._held -= len(message)
            if self._paused and self._outbytes + self._held <= HELD_LIMIT:
                self._wake()
        server = self.server
        try:
            request: Any = server.loads(message[MUX_ID.size :])
        except Exception:
            msg: tuple[str, object] | None = ("#TRACEBACK", traceback.format_exc())
        else:
            del message
            # A plain call may be an ``async def`` method's: its reply comes later.
            plain = (
                type(request) is tuple
                and len(request) == 5
                and request[0] is not None
                and request[1] != ONEWAY
            )
            try:
                if plain:
                    with coroutines.deferring():
                        msg = server._handle(self.conn, request)
                else:
                    msg = server._handle(self.conn, request)
            except coroutines.Deferred as deferred:
                finish = deferred.finish
                deferred.future.add_done_callback(
                    lambda future: self._submit(
                        functools.partial(self._finished, rid, future, finish)
                    )
                )
                return
            finally:
                del request
        if msg is not None and rid:
            self._post(_encode(server, rid, msg))

    def _finished(
        self,
        rid: int,
        future: concurrent.futures.Future[Any],
        finish: Callable[[object], tuple[str, object]],
    ) -> None:
        """A served coroutine finished: its reply, made on a worker (which knows the
        session a returned remote object is counted against)."""
        try:
            result = future.result()
        except Exception as e:
            with contextlib.suppress(Exception):
                setattr(e, TRACEBACK_ATTR, "".join(traceback.format_exception(e)))
            msg: tuple[str, object] = ("#ERROR", e)
        else:
            try:
                msg = finish(result)
            except Exception:
                msg = ("#TRACEBACK", traceback.format_exc())
        if rid:
            self._post(_encode(self.server, rid, msg))

    def _post(self, parts: list[bytes]) -> None:
        """Queue a framed reply. On a plain socket, with nothing queued before it and
        nobody writing, this worker writes it now (never blocking); else the I/O thread
        is woken to write it."""
        with self._lock:
            if self._closed:
                return
            first = not self._outbox
            self._outbox.extend(memoryview(part).cast("B") for part in parts)
            self._outbytes += sum(map(len, parts))
            here = first and self._tls is None and not self._writing
            if here:
                self._writing = True
        if here:
            with contextlib.suppress(OSError):  # the I/O thread sees it broken
                self._write_turn()
            if not self._outbox:
                return
        self._wake()


def _encode(server: TypedServer, rid: int, msg: tuple[str, object]) -> list[bytes]:
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
