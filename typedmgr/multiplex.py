"""Multiplexed connections: many requests in flight on one connection, answered by id.

A typedmgr server serves each connection in a thread of its own, one request at a time, and
a sync client waits for each reply before it sends the next request. An asyncio client
(``typedmgr.aio``) keeps many calls in flight on one connection instead. It asks for that
with one request on a long-lived connection, ``(None, MUX, (VERSION,), {}, ())``, answered
``("#RETURN", VERSION)`` as any request; from then on, the connection carries, both ways,
messages framed as ever whose body is an 8-byte request id followed by a pickle:

* client -> server: ``id + pickle(request)``, a request as a sync typedmgr client sends it
  (five elements: ``(ident, methodname, args, kwds, released)``); id 0 for the requests that
  have no reply (``RELEASE``, ``ONEWAY``);
* server -> client: ``id + pickle(reply)``, the reply a sync client would get, in the order
  the requests finish, not the order they came in.

Stdlib clients and sync typedmgr clients never send ``MUX`` and never see any of this. The
connection's thread keeps reading; requests run on a small pool of threads of the
connection (up to :data:`WORKERS`), so a slow method does not hold up the others, and an
``async def`` method does not hold a thread at all while its coroutine runs on the server's
loop (``typedmgr.coroutines``): its reply is sent when the coroutine finishes.

Replies are written by the thread that made them, one writer at a time, in the order they
were made; over TLS (one ``SSLSocket`` must not be read and written by two threads at once)
the connection's thread writes them, woken through a socket pair.
"""

from __future__ import annotations

import contextlib
import functools
import select
import socket
import struct
import sys
import threading
import traceback
from collections.abc import Callable
from multiprocessing import util
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any

from typedmgr import coroutines, frames, tls
from typedmgr.channel import BATCH, ONEWAY, dumps

if TYPE_CHECKING:
    import concurrent.futures
    from multiprocessing.connection import Connection

    from typedmgr.server import TypedServer

__all__ = ["ID", "INLINE_BUDGET", "MUX", "VERSION", "WORKERS", "serve"]

#: The request that turns a long-lived connection into a multiplexed one.
MUX = "#typedmgr-mux"
#: The version of the multiplexed messages this module speaks.
VERSION = 1
#: The id that prefixes each multiplexed message (id 0: no reply).
ID = struct.Struct("!Q")
#: Threads a multiplexed connection runs its requests on, at most.
WORKERS = 32
#: Seconds a reader runs one request before another thread takes over reading.
INLINE_BUDGET = 1e-3
# Checks without a new request after which the monitor sleeps until the next one.
_QUIET_CHECKS = 100

# Name of the attribute the server sets on a raised exception (``proxy.TRACEBACK_ATTR``).
_TRACEBACK_ATTR = "_typedmgr_remote_traceback_"


def serve(server: TypedServer, conn: Connection, wire: frames.Wire) -> None:
    """Answer the ``MUX`` request, then serve ``conn`` multiplexed until it closes."""
    wire.write(frames.framed(dumps(("#RETURN", VERSION))))
    _Multiplexed(server, conn, wire).run()


class _Multiplexed:
    """One multiplexed connection: its reader (the connection's thread), workers, writer."""

    def __init__(
        self, server: TypedServer, conn: Connection, wire: frames.Wire
    ) -> None:
        self.server = server
        self.conn = conn
        self.wire = wire
        self.session = server._session()
        server._connection.wire = None  # a second MUX request is refused, not nested
        self.tls = isinstance(conn, tls.TLSConnection)
        self._lock = threading.Lock()
        self._outbox: list[bytes] = []
        self._writing = False
        self._closed = False
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        if self.tls:
            self._wake_r, self._wake_w = socket.socketpair()
        self._queue: SimpleQueue[Callable[[], None] | None] = SimpleQueue()
        self._threads = 0
        self._idle = 0
        self._queued = 0
        self._reader = 0  # the thread reading now (0: being handed over)
        self._inline = 0  # requests the readers have started
        self._running = False  # whether the current reader is running one now
        self._monitor_idle = False
        self._wake_monitor = threading.Condition(self._lock)
        self._ended = threading.Event()

    # Reading. One thread at a time reads (at first the connection's own) and runs what
    # it reads itself, writing the replies of a burst of requests together: no hand-over
    # between threads for a quick call. A request that keeps the reader longer than
    # INLINE_BUDGET makes the monitor hand reading to a worker (the reader joins the
    # workers when its request is done), so a slow or blocking call holds up nothing else.

    def run(self) -> None:
        """The connection's thread: read until the connection ends (then close it), or
        until reading passes to another thread (then work until it ends)."""
        self._reader = threading.get_ident()
        threading.Thread(
            target=self._monitor,
            name=f"{threading.current_thread().name} monitor",
            daemon=True,
        ).start()
        if self._read():
            with self._lock:
                self._threads += 1
            self._work()

    def _become_reader(self) -> None:
        """A worker's job: take over reading (the reader is stuck in a slow request)."""
        with self._lock:
            if self._closed:
                return
            self._reader = threading.get_ident()
        self._read()

    def _read(self) -> bool:
        """Read and run requests; True when another thread reads now, False at the end."""
        wire = self.wire
        me = threading.get_ident()
        replies: list[bytes] = []
        try:
            while not self.server.stop_event.is_set():
                payload: bytes | bytearray | None = wire.buffered()
                if payload is None:
                    if replies:
                        self._post_parts(replies)
                        replies = []
                    if self.tls and not self._readable():
                        continue
                    payload = wire.read()
                if len(payload) < ID.size:
                    raise ValueError("a multiplexed message without its id")
                (rid,) = ID.unpack_from(payload)
                body = bytes(memoryview(payload)[ID.size :])
                del payload
                with self._lock:
                    self._inline += 1
                    self._running = True
                    if self._monitor_idle:
                        self._wake_monitor.notify()
                try:
                    msg = self._run(rid, body)
                finally:
                    with self._lock:
                        superseded = self._reader != me
                        if not superseded:
                            self._running = False
                    self.server._release_local()
                if msg is not None:
                    replies += self._encode(rid, msg)
                    del msg
                if superseded:
                    if replies:
                        self._post_parts(replies)
                    return True
        except EOFError:
            pass
        except Exception as e:  # garbled framing: this stream cannot be resynchronised
            util.info("multiplexed connection %r given up: %r", self.conn, e)
        self._close()
        return False

    def _monitor(self) -> None:
        """Hand reading over when the reader has been running one request too long."""
        quiet = 0  # checks in a row that saw no new request
        seen = -1
        while True:
            with self._lock:
                if self._inline != seen:
                    quiet = 0
                # Asleep only after a quiet while: waking it for each request of a
                # client calling one at a time would cost a thread switch per call.
                while not self._closed and not self._running and quiet > _QUIET_CHECKS:
                    self._monitor_idle = True
                    self._wake_monitor.wait()
                    self._monitor_idle = False
                    quiet = 0
                if self._closed:
                    return
                quiet += 1
                seen = self._inline
            if self._ended.wait(INLINE_BUDGET):
                return
            with self._lock:
                stuck = self._running and self._inline == seen and not self._closed
                if stuck:
                    self._reader = 0  # whoever takes the job reads from now on
                    self._running = False  # the new reader runs nothing yet
            if stuck:
                self._submit(self._become_reader)

    def _readable(self) -> bool:
        """Over TLS: write what workers made; whether a message may be read now."""
        self._write_outbox()
        if self.conn.poll(0):  # decrypted bytes, or bytes on the socket
            return True
        assert self._wake_r is not None
        fd, wake = self.conn.fileno(), self._wake_r.fileno()
        ready, _, _ = select.select([fd, wake], [], [])
        if wake in ready:
            with contextlib.suppress(BlockingIOError):
                self._wake_r.recv(4096)
        return fd in ready

    def _write_outbox(self) -> None:
        with self._lock:
            parts, self._outbox = self._outbox, []
        if parts:
            self.wire.write(parts)

    def _close(self) -> None:
        with self._lock:
            self._closed = True
            self._outbox.clear()
            self._wake_monitor.notify()
        self._ended.set()
        for _ in range(self._threads):
            self._queue.put(None)
        for end in (self._wake_r, self._wake_w):
            if end is not None:
                end.close()

    # Workers.

    def _submit(self, job: Callable[[], None]) -> None:
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
        self._queue.put(job)

    def _work(self) -> None:
        server = self.server
        server._connection.session = self.session
        try:
            while True:
                with self._lock:
                    self._idle += 1
                job = self._queue.get()
                with self._lock:
                    self._idle -= 1
                    self._queued -= 1
                if job is None:
                    return
                try:
                    job()
                except Exception as e:  # a reply that could not be written
                    util.info("multiplexed job failed: %r", e)
                    self._closed = True
                    with contextlib.suppress(Exception):
                        self.conn.close()
                finally:
                    job = None
                    server._release_local()
        finally:
            # References this thread sent in replies that no receiver took over.
            server._return_in_flight()

    def _run(self, rid: int, body: bytes) -> tuple[str, object] | None:
        """Run one request: its reply, or None (none, or one made when its coroutine
        finishes)."""
        server = self.server
        try:
            request: Any = server.loads(body)
        except Exception:
            msg: tuple[str, object] | None = ("#TRACEBACK", traceback.format_exc())
        else:
            del body
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
                return None
            finally:
                del request
        return msg if rid else None

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
                setattr(e, _TRACEBACK_ATTR, "".join(traceback.format_exception(e)))
            msg: tuple[str, object] = ("#ERROR", e)
        else:
            try:
                msg = finish(result)
            except Exception:
                msg = ("#TRACEBACK", traceback.format_exc())
        if rid:
            self._post(rid, msg)

    # Replies.

    def _encode(self, rid: int, msg: tuple[str, object]) -> list[bytes]:
        if msg[0] == BATCH:
            replies: Any = msg[1]
            msg = ("#RETURN", replies)
            try:
                data = self.server._dumps_reply(msg)
            except Exception:
                msg = ("#RETURN", [_sendable(reply) for reply in replies])
                data = b""
            else:
                return _framed(rid, data)
        try:
            data = self.server._dumps_reply(msg)
        except Exception:
            data = dumps(("#UNSERIALIZABLE", traceback.format_exc()))
        return _framed(rid, data)

    def _post(self, rid: int, msg: tuple[str, object]) -> None:
        """Send a reply (see ``_post_parts``)."""
        self._post_parts(self._encode(rid, msg))

    def _post_parts(self, parts: list[bytes]) -> None:
        """Send framed replies: written by this thread unless another is writing (it takes
        them along), or by the reader over TLS."""
        with self._lock:
            if self._closed:
                return
            self._outbox += parts
            if self.tls:
                wake = len(self._outbox) == len(parts)
            elif self._writing:
                return
            else:
                self._writing = True
        if self.tls:
            if wake and self._wake_w is not None:
                with contextlib.suppress(OSError):
                    self._wake_w.send(b"\0")
            return
        try:
            while True:
                with self._lock:
                    parts, self._outbox = self._outbox, []
                    if not parts or self._closed:
                        self._writing = False
                        return
                self.wire.write(parts)
        except BaseException:
            with self._lock:
                self._writing = False
            raise


def _framed(rid: int, data: bytes) -> list[bytes]:
    size = ID.size + len(data)
    if len(data) <= 16 * 1024:
        return [frames.header(size) + ID.pack(rid) + data]
    return [frames.header(size) + ID.pack(rid), data]


def _sendable(msg: tuple[str, object]) -> tuple[str, object]:
    try:
        dumps(msg)
    except Exception:
        return ("#UNSERIALIZABLE", traceback.format_exc())
    return msg


def exit_served() -> None:
    """End the connection's thread as the stdlib's does when its client goes."""
    sys.exit(0)
