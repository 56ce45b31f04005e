"""Multiplexed connections: many requests in flight on one connection, answered by id.

An asyncio client (``typedmgr._aio``) keeps many calls in flight on one connection. It asks
for that with one request on a long-lived connection, ``(None, MUX, (MUX_VERSION,), {},
())``, answered ``("#RETURN", MUX_VERSION)``; from then on the connection carries, both
ways, messages framed as ever whose body is an 8-byte request id (``_wire.MUX_ID``)
followed by a pickle: a request as a sync typedmgr client sends it (id 0 for the requests
that have no reply: ``RELEASE``, ``ONEWAY``), and its reply, in the order the requests
finish. Stdlib clients and sync typedmgr clients never send ``MUX`` and see none of this.

Full duplex, so that neither end ever waits for the other: one thread at a time, the
connection's lead, does the connection's reading, and never blocks on it. It waits
(``poll``) for the socket to be readable or, while replies are queued, writable; reads
what has arrived; writes what the socket takes. A request that came alone, while no other
thread has a request of the connection to run, the lead runs itself, keeping the lead (a
client calling one at a time is answered by a thread that is already running); the
server's watch (``takeover``) passes the lead on to another thread if that request runs
long. Other requests go to the connection's backlog, which as many worker threads run as
keep it moving (``backlog``; an ``async def`` method's coroutine holds none while it runs
on the server's loop, ``coroutines``); they take the lead in turn when it is passed on.
Replies are written by whoever has the writer's turn (``outbox``). Reading pauses while
more than :data:`HELD_LIMIT` bytes wait (requests not yet started, replies not yet
written) and resumes as the client takes replies: memory stays bounded, and a client that
reads while it writes (the asyncio client always does) can always go on.
"""

from __future__ import annotations

import contextlib
import functools
import os
import select
import socket
import ssl
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing import util
from typing import TYPE_CHECKING, Any

from typedmgr import _frames, _tls
from typedmgr._awake import AwakeWait
from typedmgr._channel import dumps
from typedmgr._server import coroutines
from typedmgr._server.backlog import Backlog, Job, Lead
from typedmgr._server.outbox import AGAIN, Outbox, encode
from typedmgr._server.takeover import TAKEOVER, SlowMethods, Turn
from typedmgr._wire import MUX_ID, MUX_VERSION, ONEWAY, TRACEBACK_ATTR

if TYPE_CHECKING:
    import concurrent.futures
    from multiprocessing.connection import Connection

    from typedmgr._server.dispatch import Dispatcher as TypedServer

__all__ = ["HELD_LIMIT", "Multiplexed", "serve"]

#: Bytes of requests not yet started and replies not yet written past which the
#: lead stops reading until the client has taken some replies.
HELD_LIMIT = 32 * 1024 * 1024
_READ_SIZE = 256 * 1024
_WAIT_MS = 500  # the longest poll, so that a stopping server is noticed
_BROKEN = select.POLLHUP | select.POLLERR | select.POLLNVAL


def serve(server: TypedServer, conn: Connection, wire: _frames.Wire) -> None:
    """Answer the ``MUX`` request, then serve ``conn`` multiplexed until it closes."""
    wire.write(_frames.framed(dumps(("#RETURN", MUX_VERSION))))
    Multiplexed(server, conn).run(wire.leftover())


class Multiplexed:
    """One multiplexed connection: the thread that leads it, the others, the replies."""

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
        self._outbox = Outbox(self._lock, self._fd, self._tls, self._resume)
        self._held = 0  # bytes of requests read, not yet started
        self._paused = False  # the lead stopped reading (too much held)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._ready: list[tuple[int, bytes]] = []  # requests read, not yet handed out
        self._wake_sent = False  # a byte on the wake socket, not yet read
        self._running: Turn | None = None  # the request the lead runs, if any
        self._slow = SlowMethods()
        self._backlog = Backlog(
            self._lock, self._outbox, self._slow, self._spawn, self._wake
        )
        self._poller = select.poll()
        self._name = threading.current_thread().name
        self._watch = server.mux_watch
        # The lead waits awake for the next request as a connection's thread does
        # (``_awake``): the connection is one reader, whichever thread leads.
        self._crowd = server._crowd
        self._awake = (
            AwakeWait(self._poller.poll, server.request_spin, self._crowd, id(self))
            if self._tls is None and server.request_spin > 0
            else None
        )

    # The lead: the one thread at a time that does the connection's I/O.

    def run(self, leftover: bytes) -> None:
        """Serve the connection until it ends, this thread leading first; then close it."""
        if self._tls is not None:
            self._tls.setblocking(False)
        else:
            os.set_blocking(self._fd, False)
        self._poller.register(self._wake_r, select.POLLIN)
        with self._lock:
            self._backlog.threads += 1
        self._watch.add(self)
        try:
            self._accept(leftover)
        except Exception as e:
            self._give_up(e)
            return
        self._work(lead=True)

    def _lead(self) -> tuple[int, bytes] | None:
        """Read, write and hand out requests until one is this thread's to run (leading
        still), or the connection ends (None)."""
        try:
            while not self.server.stop_event.is_set():
                if self._ready:
                    request = self._hand_out()
                    if request is not None:
                        return request
                with self._lock:
                    reading = self._outbox.bytes + self._held <= HELD_LIMIT
                    self._paused = not reading
                    writing = self._outbox.take_turn()
                if writing:
                    self._outbox.write()
                with self._lock:
                    # (Another thread still writing wakes this one when it is done.)
                    mask = (select.POLLIN if reading else 0) | (
                        select.POLLOUT if self._outbox.waiting() else 0
                    )
                    # Awake only while no other thread runs a request of this
                    # connection: they need the CPU, and their replies come first.
                    awake = reading and self._backlog.alone()
                if reading and self._tls is not None and self._tls.pending():
                    self._receive()  # decrypted bytes poll() cannot see
                    continue
                self._poller.register(self._fd, mask)
                if awake and self._awake is not None:
                    self._awake.wait(0.0)
                ready = 0
                for fd, events in self._poller.poll(_WAIT_MS):
                    if fd == self._fd:
                        ready = events
                    else:
                        self._wake_sent = False  # before the read: no wake is lost
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                if ready & (select.POLLIN if reading else 0) or ready & _BROKEN:
                    self._receive()  # data, or the end of the connection
        except EOFError:
            pass
        except Exception as e:  # garbled framing, a reset: the stream cannot go on
            self._give_up(e)
            return None
        self._close()
        return None

    def _give_up(self, e: Exception) -> None:
        util.info("multiplexed connection %r given up: %r", self.conn, e)
        self._close()

    def _hand_out(self) -> tuple[int, bytes] | None:
        """The requests read go to the backlog; but a request that came alone, while no
        worker is busy, is the lead's own to run (a burst is read whole and queued at
        once)."""
        ready, self._ready = self._ready, []
        with self._lock:
            alone = len(ready) == 1 and self._backlog.alone()
        if alone:
            return ready[0]
        self._submit(
            [functools.partial(self._run, rid, message) for rid, message in ready]
        )
        return None

    def _run_leading(self, rid: int, message: bytes) -> bool:
        """Run a request the lead read; whether this thread leads still (else the watch,
        or the request's slow method, passed the lead on)."""
        turn = Turn(time.monotonic(), leading=True)
        with self._lock:
            self._running = turn
        self._watch.began()
        self._run_job(functools.partial(self._run, rid, message), turn)
        took = time.monotonic() - turn.since
        with self._lock:
            if self._running is turn:
                self._running = None
            if turn.passed:
                self._backlog.set_aside_done()
            self._slow.learn(turn, took)
        if turn.taken and turn.name:
            self._watch.took(turn.name)
        return not turn.passed

    def overdue(self, now: float) -> None:
        """The watch's look: a request the lead has run for too long loses it the lead;
        workers that have all run theirs too long get help."""
        with self._lock:
            if self._running is not None and now - self._running.since > TAKEOVER:
                self._running.taken = True
                self._pass_lead()
            self._backlog.overdue(now)

    def _pass_lead(self) -> None:
        """Take the lead from the request the lead runs, give it to an idle thread, else
        to a new one (under the lock)."""
        assert self._running is not None
        self._running.passed = True
        self._running = None
        self._backlog.pass_lead()

    def _receive(self) -> None:
        """Read what has arrived (a bounded amount: writing gets its turn)."""
        read = self._tls.recv if self._tls is not None else self._read_fd
        for _ in range(16):
            try:
                data = read(_READ_SIZE)
            except AGAIN:
                return
            if not data:
                raise EOFError
            self._accept(data)
            if len(data) < _READ_SIZE:
                return

    def _read_fd(self, size: int) -> bytes:
        return os.read(self._fd, size)

    def _accept(self, data: bytes) -> None:
        """Make a job of each request ``data`` completes (the lead hands them out)."""
        for message in self._splitter.feed(data):
            if len(message) < MUX_ID.size:
                raise ValueError("a multiplexed message without its id")
            (rid,) = MUX_ID.unpack_from(message)
            self._crowd.arrived(id(self))
            with self._lock:
                self._held += len(message)
            self._ready.append((rid, message))

    def _resume(self) -> None:
        """Wake the lead to read again if it paused and enough has gone (under the lock)."""
        if self._paused and self._outbox.bytes + self._held <= HELD_LIMIT:
            self._wake()

    def _wake(self) -> None:
        """Wake the lead from its poll (replies to write, reading to resume)."""
        if self._wake_sent:
            return  # the lead is woken already
        self._wake_sent = True
        with contextlib.suppress(OSError):  # full already, or closed
            self._wake_w.send(b"\0")

    def _close(self) -> None:
        """End the connection (its lead does, whichever thread that is), then its
        threads. The descriptor is closed first: the thread that accepted the
        connection closes it again once it ends (a no-op then), and two closes at once
        could close a descriptor another connection was given meanwhile."""
        self._watch.discard(self)
        with self._lock:
            self._backlog.close()
            self._outbox.close()  # once a write in progress is over
        with contextlib.suppress(Exception):
            self.conn.close()
        self._wake_r.close()
        self._wake_w.close()
        with self._lock:
            self._backlog.end()  # workers run what is left of it, and end

    # Workers.

    def _submit(self, jobs: list[Job]) -> None:
        self._backlog.submit(jobs)
        self._watch.began()  # the watch adds a worker if those running block

    def _spawn(self, lead: bool) -> None:
        threading.Thread(
            target=self._work,
            args=(lead,),
            name=f"{self._name} worker",
            daemon=True,
        ).start()

    def _work(self, lead: bool) -> None:
        """Lead, or run jobs of the backlog (taking the lead when it is passed), until
        the end."""
        server = self.server
        server._connection.session = self.session
        me = threading.get_ident()
        try:
            if not lead:
                self._backlog.started()
            while True:
                if lead:
                    request = self._lead()
                    if request is None:
                        return
                    lead = self._run_leading(*request)
                    continue
                job = self._backlog.take(me)
                if job is None:
                    return
                if isinstance(job, Lead):
                    lead = True
                    continue
                turn = self._backlog.busy[me]
                self._run_job(job, turn)
                if turn.taken and turn.name:
                    self._watch.took(turn.name)
        finally:
            self._backlog.leave(me)
            # References this thread sent in replies that no receiver took over.
            server.books.return_in_flight()

    def _run_job(self, job: Job, turn: Turn) -> None:
        try:
            job(turn)
        except Exception as e:
            util.info("multiplexed request failed: %r", e)
        finally:
            del job
            self.server.books.release_local()

    def _run(self, rid: int, message: bytes, turn: Turn) -> None:
        """Run one request; its reply is queued now, or when its coroutine finishes. If
        its method has run past TAKEOVER before, the lead is passed on first (the lead
        runs it), or another worker takes the backlog on (a worker does)."""
        with self._lock:
            self._held -= len(message)
            self._resume()
        server = self.server
        try:
            request: Any = server.loads(message[MUX_ID.size :])
        except Exception:
            msg: tuple[str, object] | None = ("#TRACEBACK", traceback.format_exc())
        else:
            del message
            if type(request) is tuple and len(request) >= 2:
                name = request[1]
                if type(name) is str:
                    turn.name = name
                    if name in self._slow:
                        with self._lock:
                            if not turn.leading:
                                self._backlog.unblock()
                            elif self._running is turn:
                                self._pass_lead()
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
                        [functools.partial(self._finished, rid, future, finish)]
                    )
                )
                return
            finally:
                del request
        if msg is not None and rid:
            self._reply(encode(server, rid, msg), turn)

    def _reply(self, parts: list[bytes], turn: Turn) -> None:
        """Post a reply; a worker with more of the backlog to run holds it back."""
        if self._outbox.post(parts, hold=not turn.leading and bool(self._backlog)):
            self._wake()

    def _finished(
        self,
        rid: int,
        future: concurrent.futures.Future[Any],
        finish: Callable[[object], tuple[str, object]],
        turn: Turn,
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
            self._reply(encode(self.server, rid, msg), turn)
