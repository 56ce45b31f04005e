"""The asyncio client's connection: one multiplexed connection to a server (``_server.mux``).

The same authkey handshake (HMAC-SHA256), TLS through asyncio's ``ssl`` support, the same
session (its references are counted against this process's session and released when its
lease ends), replies loaded through the same allow-list as sync proxies. Many calls are in
flight at once, each matched to its reply by a request id; the server may answer out of
order.

Full duplex: the connection is an ``asyncio.Protocol``, so bytes are read whenever they
arrive, whatever is being written (a write never waits: the transport keeps what the
socket does not take yet). A large request written while large replies are due cannot
stall either end.

Cancellation (a task cancelled, ``asyncio.timeout`` expiring) is safe at any point: ids
are never reused, so a late reply never reaches another call, and a remote object whose
creation reply arrives after its caller gave up is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import Callable
from multiprocessing import process
from multiprocessing.context import AuthenticationError
from typing import Any, ClassVar, cast

from typedmgr import _deadlines, _frames, _inert, _leases, _peers
from typedmgr._aio import handshake
from typedmgr._awake import AwakeWait, readable
from typedmgr._channel import reply_loader
from typedmgr._connect import ServerConnectionError, client
from typedmgr._encoding import dumps
from typedmgr._wire import BATCH, MUX_ID, MUX_VERSION, PROXIED, RELEASE

__all__ = ["Address", "AsyncConnection"]

_NO_KWDS: dict[str, Any] = {}
_READ_SIZE = 256 * 1024
_CATCHES = 32  # calls in a row that may complete without a trip through the loop
Reply = tuple[str, Any]
#: A server's address: (host, port) or a unix socket's path (as ``TypedManager.address``).
Address = tuple[str, int] | str | bytes | None


class Frames(asyncio.Protocol):
    """Splits the byte stream into messages as it arrives (``_frames.Splitter``)."""

    def __init__(self, limit: int) -> None:
        self.transport: asyncio.Transport | None = None
        self._splitter = _frames.Splitter(limit)
        # During the handshake, messages wait here; then ``on_message`` takes them.
        self._early: asyncio.Queue[bytes] = asyncio.Queue()
        self.on_message: Callable[[bytes], None] = self._early.put_nowait
        self.on_lost: Callable[[BaseException], None] = lambda exc: None
        self._lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._splitter.feed(data)
        except ValueError as e:
            self._fail(e)
            return
        for message in messages:
            self.on_message(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or EOFError("the server closed the connection"))

    def _fail(self, exc: BaseException) -> None:
        if self._lost is None:
            self._lost = exc
            if self.transport is not None:
                self.transport.close()
            self.on_lost(exc)
            self._early.put_nowait(b"")  # wakes a handshake waiting for a message

    async def next_message(self) -> bytes:
        """The next message during the handshake."""
        message = await self._early.get()
        if not message and self._lost is not None:
            raise EOFError(
                f"the connection closed during the handshake: {self._lost!r}"
            )
        return message

    def send(self, message: bytes) -> None:
        assert self.transport is not None
        self.transport.write(_frames.frame(message))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class AsyncConnection:
    """One multiplexed connection to a manager server, used from one event loop."""

    #: Replies larger than this close the connection.
    max_message_size: ClassVar[int] = 256 * 1024 * 1024

    def __init__(self, address: Address, wire: Frames) -> None:
        self.address = address
        self._frames = wire
        self._loop = asyncio.get_running_loop()
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[Reply]] = {}
        self._outbox: list[bytes] = []
        self._flushing = False
        self._lost: BaseException | None = None
        self._settled: asyncio.Future[None] | None = None
        self._batches: set[int] = set()  # ids of BATCH requests in flight
        self._loads = reply_loader(address)
        self._authkey = _peers.peer(address).authkey or b""
        transport = wire.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        self._fd: int = sock.fileno() if sock is not None else -1
        # Calls that completed without a trip through the loop: in a row, and in all.
        self._caught = self._caught_all = 0
        self._awake = self._awake_wait(wire, _peers.peer(address).reply_spin)
        wire.on_message = self._received
        wire.on_lost = self._connection_lost

    def _awake_wait(self, wire: Frames, spin: float) -> AwakeWait | None:
        """A call made alone waits awake for its reply as a sync call does (``_awake``),
        a little while, so that the loop finds it arrived instead of going to sleep. It
        waits on the loop's own selector when it can (an epoll descriptor: readable when
        any socket of the loop is), so that nothing else the loop serves waits on it."""
        transport = wire.transport
        if not spin or self._fd < 0 or transport is None:
            return None
        if transport.get_extra_info("sslcontext"):
            return None  # its bytes are not the reply: the TLS layer must read them
        selector = getattr(self._loop, "_selector", None)
        fileno = getattr(selector, "fileno", None)
        fd = fileno() if callable(fileno) else self._fd
        return AwakeWait(readable(fd), spin, None)

    @classmethod
    async def open(
        cls,
        address: Address,
        authkey: bytes,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float | None = _deadlines.DEFAULT_CONNECT_TIMEOUT,
    ) -> AsyncConnection:
        """Connect, authenticate, join this process's session and switch to multiplexing.

        ``ssl_context``: TLS (else the context a ``TypedManager`` of this process was given
        for ``address``, if any).
        """
        if address is None:
            raise ValueError(
                "no address to connect to: give the server's (host, port) or socket path"
            )
        authkey = bytes(authkey)
        known = _peers.peer(address)
        if ssl_context is None:
            ssl_context = known.ssl_context
        elif known.ssl_context is None:
            # The lease is a sync connection (it outlives event loops): TLS too.
            _peers.remember(address, ssl_context=ssl_context)
        if address not in _leases._leases:
            # This process's lease (sync: it must outlive any loop), made off the loop.
            await asyncio.to_thread(_leases._ensure_lease, address, authkey, client)
        loop = asyncio.get_running_loop()
        wire = Frames(cls.max_message_size)
        async with asyncio.timeout(timeout):
            if isinstance(address, tuple):
                await loop.create_connection(
                    lambda: wire,
                    address[0],
                    address[1],
                    ssl=ssl_context,
                    server_hostname=address[0] if ssl_context is not None else None,
                )
            elif ssl_context is not None:
                raise ValueError(f"TLS needs a TCP address, not {address!r}")
            else:
                await loop.create_unix_connection(lambda: wire, os.fsdecode(address))
            try:
                version = await handshake.join(
                    wire, authkey, process.current_process().name + "|asyncio"
                )
            except AuthenticationError as e:
                wire.close()
                raise AuthenticationError(
                    f"the manager server at {address!r} refused this process's "
                    f"authkey ({e}): give the server's authkey"
                ) from e
            except BaseException:
                wire.close()
                raise
        if version != ("#RETURN", MUX_VERSION):
            wire.close()
            raise ServerConnectionError(
                f"the manager server at {address!r} does not multiplex requests "
                f"(a typedmgr server of this version does): {version!r}"
            )
        return cls(address, wire)

    @property
    def closed(self) -> bool:
        return self._lost is not None

    def close(self) -> None:
        """Close the connection; calls still waiting fail with ``ServerConnectionError``.

        The releases of collected proxies still queued go first.
        """
        if self._lost is not None:
            return
        releases = _leases.take_releases(self.address)
        if releases:
            request = (None, RELEASE, tuple(releases), _NO_KWDS)
            self._outbox.append(_frames.frame(MUX_ID.pack(0) + dumps(request)))
        self._flush()
        self._connection_lost(ConnectionAbortedError("closed by this client"))
        self._frames.close()

    # Sending.

    def _send(
        self, rid: int, request: tuple[object, ...], *, alone: bool = False
    ) -> None:
        """Queue a request; the requests of one loop iteration go out in one write.
        ``alone``: nothing else is in flight, so it goes at once (gathered calls after
        the first go together, at the end of this loop iteration)."""
        if self._lost is not None:
            raise self._lost_error()
        releases = _leases.take_releases(self.address)
        if releases:
            # The fifth element: released before the request runs, so that when its
            # reply arrives, so have the releases.
            request = (*request[:4], tuple(releases))
        try:
            data = dumps(request)
        except BaseException:
            _leases.requeue(self.address, releases)
            raise
        message = _frames.frame(MUX_ID.pack(rid) + data)
        transport = self._frames.transport
        if alone and transport is not None:
            transport.write(message)
            self._catch_reply()
            return
        self._outbox.append(message)
        if not self._flushing:
            self._flushing = True
            self._loop.call_soon(self._flush)

    def _catch_reply(self) -> None:
        """A call made alone, while the loop has nothing else to run: wait awake for its
        reply (``_awake``) and, once it is there, read it now, as a sync call would. The
        call then completes without a trip through the loop (at most ``_CATCHES`` in a
        row: then one goes through the loop, so that nothing it serves starves)."""
        if (
            self._awake is None
            or getattr(self._loop, "_ready", True)  # other callbacks are due
            or self._caught >= _CATCHES
        ):
            self._caught = 0
            return
        self._awake.wait(0.0)
        try:
            data = os.read(self._fd, _READ_SIZE)
        except OSError:  # not yet (or broken: the transport sees it, and ends the
            self._caught = 0  # connection); the loop takes the reply, in a trip
            return
        if data:
            self._caught += 1
            self._caught_all += 1
            self._frames.data_received(data)

    def _flush(self) -> None:
        self._flushing = False
        outbox, self._outbox = self._outbox, []
        transport = self._frames.transport
        if outbox and transport is not None and self._lost is None:
            transport.write(b"".join(outbox))

    def send_oneway(self, request: tuple[object, ...]) -> None:
        """Send a request that has no reply (id 0)."""
        self._send(0, request)

    async def request(self, request: tuple[object, ...]) -> Reply:
        """Send ``request``; its reply ``(kind, result)``, loaded.

        If the caller is cancelled, the reply is not lost on another call: its id is
        never reused, and a remote object it brings is released (``_orphan``); so are
        those of a batch's replies.
        """
        rid = self._next_id
        self._next_id = rid + 1
        future: asyncio.Future[Reply] = self._loop.create_future()
        alone = not self._pending and not self._outbox
        batch = request[:2] == (None, BATCH)
        self._pending[rid] = future
        if batch:
            self._batches.add(rid)
        try:
            self._send(rid, request, alone=alone)
        except BaseException:
            del self._pending[rid]
            self._batches.discard(rid)
            raise
        try:
            return await future
        except BaseException:  # cancelled, or the coroutine closed (GeneratorExit)
            if not future.done():
                future.cancel()  # its reply, when it comes, is orphaned
            elif not future.cancelled() and future.exception() is None:
                # The reply came, but the task was cancelled before it could take it.
                self._orphan(future.result(), batch=batch)
            raise

    async def server_call(self, name: str, /, *args: object) -> Reply:
        """A server-level request (``create``, ``fingerprint``...)."""
        return await self.request((None, name, args, _NO_KWDS, ()))

    @property
    def in_flight(self) -> int:
        """How many requests await their reply (cancelled ones included)."""
        return len(self._pending)

    async def settled(self) -> None:
        """Wait until no request awaits its reply (a cancelled one's included)."""
        while self._pending:
            waiter = self._settled
            if waiter is None or waiter.done():
                waiter = self._settled = self._loop.create_future()
            await asyncio.shield(waiter)

    # Receiving (the loop calls these as bytes arrive, whatever is being written).

    def _received(self, message: bytes) -> None:
        (rid,) = MUX_ID.unpack_from(message)
        future = self._pending.pop(rid, None)
        batch = rid in self._batches
        if batch:
            self._batches.discard(rid)
        settled = self._settled
        if not self._pending and settled is not None and not settled.done():
            settled.set_result(None)
        if future is None:
            return  # not ours to answer (a request the connection's end failed already)
        try:
            reply: Reply = self._loads(message[MUX_ID.size :])
            if getattr(_inert.rebuilt, "proxies", None):
                _inert.adopt_rebuilt(self.address, self._authkey)
        except (
            Exception
        ) as e:  # a refused type: this call's error, not the connection's
            if not future.cancelled():
                future.set_exception(e)
            return
        if future.cancelled():
            self._orphan(reply, batch=batch)
        else:
            future.set_result(reply)

    def _orphan(self, reply: Reply, *, batch: bool = False) -> None:
        """A reply nobody waits for any more: release the remote objects it brings."""
        with contextlib.suppress(Exception):
            kind, result = reply
            if kind == PROXIED:
                _leases.release_later(self.address, result[2])
            elif batch and kind == "#RETURN":
                for each in result:
                    self._orphan(each)

    def _connection_lost(self, exc: BaseException) -> None:
        if self._lost is not None:
            return
        self._lost = exc
        error = self._lost_error()
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)
        if self._settled is not None and not self._settled.done():
            self._settled.set_result(None)

    def _lost_error(self) -> ServerConnectionError:
        error = ServerConnectionError(
            f"lost the connection to the manager server at {self.address!r}: "
            f"{self._lost!r} (connect again: `await manager.connect()`)"
        )
        error.__cause__ = self._lost
        return error
