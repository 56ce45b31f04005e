"""Async twins: asyncio proxies on one multiplexed connection per manager.

``AsyncConnection`` is an asyncio connection to a typedmgr server: the same authkey
handshake (HMAC-SHA256), TLS through asyncio's ``ssl`` support, the same session (its
references are counted against this process's session and released when its lease ends),
replies loaded through the same allow-list. Many calls are in flight on it at once, each
matched to its reply by a request id (``typedmgr.multiplex``); the server may answer them
out of order.

``AsyncTypedProxy`` is the base of async proxies: each method of the Protocol is an
``async def`` with the same parameters; a method returning another Protocol gives its async
proxy, an iterator an ``AsyncTypedIterator`` (``async for``), a context-manager Protocol
``async with``. Properties and attributes are read with ``await proxy.name()``. Generated
twins (``typedmgr gen``) and classes built at runtime from the model
(:func:`async_proxy_class_for`) behave alike.

Cancellation (a task cancelled, ``asyncio.timeout`` expiring) is safe at any point: request
ids are never reused, so a late reply never reaches another call; a remote object whose
creation reply arrives after its caller gave up is released; the connection stays usable.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hmac
import os
import select
import ssl
import struct
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine
from multiprocessing import process
from multiprocessing.context import AuthenticationError
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar, cast
from typing_extensions import ParamSpec

from typedmgr import auth, channel, deadlines, peers, unpickling
from typedmgr.channel import (
    BATCH,
    GETATTR,
    ITSELF,
    ONEWAY,
    PROXIED,
    RELEASE,
    ServerConnectionError,
)
from typedmgr.model import (
    GENERATOR_TYPEID,
    ITERATOR_TYPEID,
    Interface,
    Method,
    ParamKind,
    ReturnKind,
    inspect_signature,
    interface_of,
    protocol_for_ref,
)
from typedmgr.multiplex import ID, MUX, VERSION
from typedmgr.proxy import _agreed, remote_error, sendable_exception
from typedmgr.sessions import session_name

__all__ = [
    "AsyncConnection",
    "AsyncPipeline",
    "AsyncReply",
    "AsyncTypedIterator",
    "AsyncTypedManager",
    "AsyncTypedProxy",
    "async_proxy_class_for",
]

_T = TypeVar("_T")
_A = TypeVar("_A", bound="AsyncTypedProxy")
_P = ParamSpec("_P")
_LENGTH = struct.Struct("!i")
_LONG_LENGTH = struct.Struct("!Q")
_NO_KWDS: dict[str, Any] = {}


class _Frames(asyncio.Protocol):
    """Splits the byte stream into messages (the ``Connection.send_bytes`` framing)."""

    def __init__(self, limit: int) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._limit = limit
        # During the handshake, messages wait here; then ``on_message`` takes them.
        self._early: asyncio.Queue[bytes] = asyncio.Queue()
        self.on_message: Callable[[bytes], None] = self._early.put_nowait
        self.on_lost: Callable[[BaseException], None] = lambda exc: None
        self._lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start, available = 0, len(buffer)
        try:
            while available - start >= 4:
                (size,) = _LENGTH.unpack_from(buffer, start)
                head = 4
                if size == -1:
                    if available - start < 12:
                        break
                    (size,) = _LONG_LENGTH.unpack_from(buffer, start + 4)
                    head = 12
                if size < 0 or size > self._limit:
                    raise ValueError(f"a reply of {size} bytes is out of bounds")
                end = start + head + size
                if end > available:
                    break
                message = bytes(buffer[start + head : end])
                start = end
                self.on_message(message)
        except Exception as e:
            del buffer[:start]
            self._fail(e)
            return
        del buffer[:start]

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
        self.transport.write(_frame(message))


def _frame(payload: bytes) -> bytes:
    size = len(payload)
    if size > 0x7FFFFFFF:
        return _LENGTH.pack(-1) + _LONG_LENGTH.pack(size) + payload
    return _LENGTH.pack(size) + payload


class AsyncConnection:
    """One multiplexed connection to a manager server, used from one event loop."""

    #: Replies larger than this close the connection.
    max_message_size: ClassVar[int] = 256 * 1024 * 1024

    def __init__(self, address: Any, frames: _Frames) -> None:
        self.address = address
        self._frames = frames
        self._loop = asyncio.get_running_loop()
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[tuple[str, Any]]] = {}
        self._outbox: list[bytes] = []
        self._flushing = False
        self._lost: BaseException | None = None
        self._settled: asyncio.Future[None] | None = None
        self._batches: set[int] = set()  # ids of BATCH requests in flight
        self._loads = channel.reply_loader(address)
        self._spin = peers.peer(address).reply_spin
        self._poll: Callable[[int], list[tuple[int, int]]] | None = None
        sock = frames.transport.get_extra_info("socket") if frames.transport else None
        if sock is not None:
            poller = select.poll()
            poller.register(sock.fileno(), select.POLLIN)
            self._poll = poller.poll
        frames.on_message = self._received
        frames.on_lost = self._connection_lost

    @classmethod
    async def open(
        cls,
        address: Any,
        authkey: bytes,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float | None = deadlines.DEFAULT_CONNECT_TIMEOUT,
    ) -> AsyncConnection:
        """Connect, authenticate, join this process's session and switch to multiplexing.

        ``ssl_context``: TLS (else the context a ``TypedManager`` of this process was given
        for ``address``, if any).
        """
        authkey = bytes(authkey)
        known = peers.peer(address)
        if ssl_context is None:
            ssl_context = known.ssl_context
        elif known.ssl_context is None:
            # The lease is a sync connection (it outlives event loops): TLS too.
            peers.remember(address, ssl_context=ssl_context)
        await _ensure_lease(address, authkey)
        loop = asyncio.get_running_loop()
        frames = _Frames(cls.max_message_size)
        async with asyncio.timeout(timeout):
            if isinstance(address, tuple):
                await loop.create_connection(
                    lambda: frames,
                    address[0],
                    address[1],
                    ssl=ssl_context,
                    server_hostname=address[0] if ssl_context is not None else None,
                )
            elif ssl_context is not None:
                raise ValueError(f"TLS needs a TCP address, not {address!r}")
            else:
                await loop.create_unix_connection(lambda: frames, address)
            try:
                await _answer_challenge(frames, authkey)
                await _deliver_challenge(frames, authkey)
                name = process.current_process().name + "|asyncio"
                await _request(
                    frames,
                    (
                        None,
                        "accept_connection",
                        (session_name(name, channel.session()),),
                        {},
                    ),
                )
                kind, version = await _request(frames, (None, MUX, (VERSION,), {}, ()))
            except AuthenticationError as e:
                _close(frames)
                raise AuthenticationError(
                    f"the manager server at {address!r} refused this process's "
                    f"authkey ({e})"
                ) from e
            except BaseException:
                _close(frames)
                raise
        if kind != "#RETURN" or version != VERSION:
            _close(frames)
            raise ServerConnectionError(
                f"the manager server at {address!r} does not multiplex requests "
                f"(a typedmgr server of this version does): {version!r}"
            )
        return cls(address, frames)

    @property
    def closed(self) -> bool:
        return self._lost is not None

    def close(self) -> None:
        """Close the connection; calls still waiting fail with ``ServerConnectionError``.

        The releases of collected proxies still queued go first.
        """
        if self._lost is not None:
            return
        releases = _take_releases(self.address)
        if releases:
            self._outbox.append(
                _frame(ID.pack(0) + channel.dumps((None, RELEASE, tuple(releases), {})))
            )
        self._flush()
        self._connection_lost(ConnectionAbortedError("closed by this client"))
        _close(self._frames)

    # Sending.

    def _send(self, rid: int, request: tuple[object, ...]) -> None:
        """Queue a request; the requests of one loop iteration go out in one write."""
        if self._lost is not None:
            raise self._lost_error()
        releases = _take_releases(self.address)
        if releases:
            # The fifth element: released before the request runs, so that when its
            # reply arrives, so have the releases.
            request = (*request[:4], tuple(releases))
        try:
            data = channel.dumps(request)
        except BaseException:
            for ident in releases:
                channel.release_later(self.address, ident)
            raise
        message = _frame(ID.pack(rid) + data)
        transport = self._frames.transport
        if rid and not self._pending and not self._outbox and transport is not None:
            # Nothing else in flight: a call made alone goes at once (gathered ones
            # after the first go together, at the end of this loop iteration).
            transport.write(message)
            if self._spin and self._poll is not None:
                self._await_reply()
            return
        self._outbox.append(message)
        if not self._flushing:
            self._flushing = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flushing = False
        outbox, self._outbox = self._outbox, []
        transport = self._frames.transport
        if outbox and transport is not None and self._lost is None:
            transport.write(b"".join(outbox))

    def _await_reply(self) -> None:
        """One call in flight (a client calling one at a time): wait awake for its reply
        a little while, as sync proxies do (``reply_spin``), so that the loop finds the
        socket readable instead of going to sleep (waking costs more than the call)."""
        poll = self._poll
        assert poll is not None
        deadline = time.perf_counter() + self._spin
        while not poll(0):
            if time.perf_counter() > deadline:
                return
            os.sched_yield()

    def send_oneway(self, request: tuple[object, ...]) -> None:
        """Send a request that has no reply (id 0)."""
        self._send(0, request)

    async def request(self, request: tuple[object, ...]) -> tuple[str, Any]:
        """Send ``request``; its reply ``(kind, result)``, loaded.

        If the caller is cancelled, the reply is not lost on another call: its id is
        never reused, and a remote object it brings is released (``_orphan``); so are
        those of a batch's replies.
        """
        rid = self._next_id
        self._next_id = rid + 1
        future: asyncio.Future[tuple[str, Any]] = self._loop.create_future()
        self._send(rid, request)
        self._pending[rid] = future
        batch = request[:2] == (None, BATCH)
        if batch:
            self._batches.add(rid)
        try:
            return await future
        except BaseException:  # cancelled, or the coroutine closed (GeneratorExit)
            if not future.done():
                future.cancel()  # its reply, when it comes, is orphaned
            elif not future.cancelled() and future.exception() is None:
                # The reply came, but the task was cancelled before it could take it.
                self._orphan(future.result(), batch=batch)
            raise

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

    def _received(self, message: bytes) -> None:
        (rid,) = ID.unpack_from(message)
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
            reply: tuple[str, Any] = self._loads(message[ID.size :])
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

    def _orphan(self, reply: tuple[str, Any], *, batch: bool = False) -> None:
        """A reply nobody waits for any more: release the remote objects it brings."""
        with contextlib.suppress(Exception):
            kind, result = reply
            if kind == PROXIED:
                channel.release_later(self.address, result[2])
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
            f"{self._lost!r}"
        )
        error.__cause__ = self._lost
        return error

    async def server_call(self, name: str, /, *args: object) -> tuple[str, Any]:
        """A server-level request (``create``, ``fingerprint``...)."""
        return await self.request((None, name, args, _NO_KWDS, ()))


def _close(frames: _Frames) -> None:
    if frames.transport is not None:
        frames.transport.close()


def _take_releases(address: Any) -> list[str]:
    """The releases of collected proxies queued for ``address`` (sync and async alike)."""
    return channel._take(address)


async def _ensure_lease(address: Any, authkey: bytes) -> None:
    """This process's lease to ``address``: the sync one (it must outlive any loop)."""
    if address in channel._leases:
        return
    await asyncio.to_thread(channel._ensure_lease, address, authkey, channel.client)


async def _request(frames: _Frames, request: tuple[object, ...]) -> tuple[str, Any]:
    frames.send(channel.dumps(request))
    reply: tuple[str, Any] = unpickling.load_reply(await frames.next_message())  # type: ignore[assignment]
    kind, result = reply
    if kind not in ("#RETURN", PROXIED) and request[1] != MUX:
        raise remote_error(kind, result)
    return kind, result


async def _answer_challenge(frames: _Frames, authkey: bytes) -> None:
    """``auth.answer_challenge`` on an asyncio connection (SHA-256 family only)."""
    message = await frames.next_message()
    if not message.startswith(auth._CHALLENGE):
        raise AuthenticationError(
            f"protocol error, expected a challenge: {message[:32]!r}"
        )
    message = message[len(auth._CHALLENGE) :]
    digest = auth._digest_name(message)
    if digest is None:
        raise AuthenticationError(
            "the peer challenged in HMAC-MD5 (a Python < 3.12 stdlib peer)"
        )
    mac = hmac.new(authkey, message, digest.decode()).digest()
    frames.send(b"{%s}%s" % (digest, mac))
    if await frames.next_message() != auth._WELCOME:
        raise AuthenticationError("digest sent was rejected")


async def _deliver_challenge(frames: _Frames, authkey: bytes) -> None:
    """``auth.deliver_challenge`` on an asyncio connection."""
    message = b"{sha256}" + os.urandom(40)
    frames.send(auth._CHALLENGE + message)
    response = await frames.next_message()
    try:
        auth._verify(authkey, message, response, legacy_md5=False)
    except AuthenticationError:
        frames.send(auth._FAILURE)
        raise
    frames.send(auth._WELCOME)


# Proxies.

#: Special methods that Python calls without awaiting their result (``len(p)``, ``k in p``,
#: ``bool(p)``, ``p[k] = v``, ``del p[k]``): an async proxy has them under these names, to
#: be awaited (``await p.length()``); ``__enter__``/``__exit__`` become ``__aenter__`` and
#: ``__aexit__`` (``async with p``; a plain ``with`` would not await them). ``await p[k]``
#: works as it is; ``__iter__`` gives ``async for x in p``.
SPECIAL_NAMES = {
    "__enter__": "__aenter__",
    "__exit__": "__aexit__",
    "__len__": "length",
    "__contains__": "contains",
    "__bool__": "truth",
    "__setitem__": "setitem",
    "__delitem__": "delitem",
}


class AsyncTypedProxy:
    """Base of every async proxy: one per Protocol, ``async def`` methods typed from it."""

    _protocol_: ClassVar[type]
    _exposed_: ClassVar[tuple[str, ...]]
    _method_to_typeid_: ClassVar[dict[str, str]]
    _generated_: ClassVar[bool] = True
    _fingerprint_: ClassVar[str]

    __slots__ = ("__weakref__", "_connection", "_held_by", "_id", "_typeid")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_protocol_" in cls.__dict__:
            unpickling.expect_replies([cls._protocol_])
            if cls._generated_:
                _GENERATED[cls._protocol_] = cls

    def __init__(self, connection: AsyncConnection, typeid: str, ident: str) -> None:
        """A proxy that holds the reference the server made for it (released when it is
        collected, with the next request to that server)."""
        self._connection = connection
        self._typeid = typeid
        self._id = ident
        self._held_by = channel.session()

    def __del__(self) -> None:
        try:
            if self._held_by == channel.session():
                channel.release_later(self._connection.address, self._id)
        except Exception:  # interpreter shutdown: the session's end releases it
            pass

    async def _call(self, methodname: str, /, *args: object, **kwds: object) -> object:
        """Call ``methodname`` on the referent; the value, a new async proxy, or raises.

        Inside ``AsyncPipeline.call`` the request is queued (nothing is awaited).
        """
        pipeline = _capturing.get()
        if pipeline is not None:
            return pipeline._enqueue(self, (self._id, methodname, args, kwds, ()), True)
        kind, result = await self._connection.request(
            (self._id, methodname, args, kwds, ())
        )
        return await self._reply(kind, result)

    async def _call_self(
        self, methodname: str, /, *args: object, **kwds: object
    ) -> Self:
        """``__enter__ -> Self``: the server replies ``None``, this proxy is the result."""
        await self._call(methodname, *args, **kwds)
        return self

    async def _call_exit(
        self, methodname: str, /, *args: object, **kwds: object
    ) -> object:
        if len(args) >= 3:
            args = (*sendable_exception(args[0], args[1]), *args[3:])
        return await self._call(methodname, *args, **kwds)

    async def _get(self, name: str) -> object:
        """Read the attribute or property ``name`` of the referent."""
        return await self._call(GETATTR, name)

    async def _send(self, methodname: str, /, *args: object, **kwds: object) -> None:
        """A ``@oneway`` method: sent, not waited for."""
        request = (self._id, ONEWAY, (methodname, args), kwds, ())
        pipeline = _capturing.get()
        if pipeline is not None:
            pipeline._enqueue(self, request, False)
            return
        self._connection.send_oneway(request)

    async def _reply(self, kind: str, result: Any) -> Any:
        if kind == "#RETURN":
            return result
        if kind == ITSELF:  # ``-> Self`` returned its own object: this proxy
            return self
        if kind == PROXIED:
            typeid, _, ident = result
            return await _adopt(self._connection, typeid, ident)
        try:
            raise remote_error(kind, result)
        finally:
            del result

    def _aiter(self) -> AsyncIterator[Any]:
        """``async for x in proxy`` of a Protocol declaring ``__iter__``."""
        return _LazyIterator(self)

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError(
            f"{type(self).__name__} cannot be pickled: pass the sync proxy of the same "
            "object (create it with a TypedManager) to other processes"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._typeid!r} at {self._id!r}>"


class AsyncTypedIterator(AsyncTypedProxy, AsyncIterator[_T]):
    """A proxy of an iterator a method returned: ``async for``; each step is one call."""

    _exposed_ = ("__next__",)
    _method_to_typeid_: ClassVar[dict[str, str]] = {}
    __slots__ = ()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> _T:
        kind, result = await self._connection.request(
            (self._id, "__next__", (), _NO_KWDS, ())
        )
        if kind == "#ERROR" and isinstance(result, StopIteration):
            # Raised in a coroutine, StopIteration would become a RuntimeError.
            raise StopAsyncIteration
        item: _T = await self._reply(kind, result)
        return item


async def _adopt(connection: AsyncConnection, typeid: str, ident: str) -> Any:
    """The async proxy of a remote object the server made a reference for."""
    proxy = _holder(connection, typeid, ident)
    await check_fingerprint(connection, type(proxy), typeid)
    return proxy


def _holder(connection: AsyncConnection, typeid: str, ident: str) -> AsyncTypedProxy:
    """The async proxy that holds the reference from now on (built without awaiting)."""
    if typeid in (
        ITERATOR_TYPEID,
        GENERATOR_TYPEID,
    ):  # a generator steps as an iterator
        return AsyncTypedIterator(connection, typeid, ident)
    protocol = protocol_for_ref(typeid)
    if protocol is None:
        # The reference must not leak: release it with the next request.
        channel.release_later(connection.address, ident)
        raise TypeError(f"no Protocol is known for the remote object type {typeid!r}")
    return async_proxy_class_for(protocol)(connection, typeid, ident)


async def check_fingerprint(
    connection: AsyncConnection, cls: type[AsyncTypedProxy], typeid: str
) -> None:
    """Fail, naming the signatures that differ, if the server's Protocol is not ``cls``'s."""
    fingerprint = getattr(cls, "_fingerprint_", None)
    if not isinstance(fingerprint, str):
        return
    key = (connection.address, typeid, fingerprint)
    if key in _agreed:
        return
    kind, lines = await connection.server_call("fingerprint", typeid, fingerprint)
    if kind != "#RETURN":
        raise remote_error(kind, lines)
    if lines is not None:
        from typedmgr.proxy import StaleProxyError

        ours = interface_of(cls._protocol_).signature_lines
        differences = [f"  server: {line}" for line in lines if line not in ours]
        differences += [f"  client: {line}" for line in ours if line not in lines]
        raise StaleProxyError(
            f"{cls.__name__} was generated from another version of "
            f"{cls._protocol_.__qualname__} than the server at {connection.address!r} "
            "serves (regenerate with `typedmgr gen`, or update the server):\n"
            + "\n".join(differences or ["  (the same signatures, in another order)"])
        )
    _agreed.add(key)


_GENERATED: dict[type, type[AsyncTypedProxy]] = {}
_RUNTIME: dict[type, type[AsyncTypedProxy]] = {}
_RUNTIME_LOCK = threading.Lock()


def async_proxy_class_for(protocol: type) -> type[AsyncTypedProxy]:
    """The generated async proxy class of ``protocol`` if imported, else one built from
    its model."""
    generated = _GENERATED.get(protocol)
    if generated is not None:
        return generated
    with _RUNTIME_LOCK:
        built = _RUNTIME.get(protocol)
        if built is None:
            built = _RUNTIME[protocol] = _build_async_class(interface_of(protocol))
        return built


def _build_async_class(interface: Interface) -> type[AsyncTypedProxy]:
    namespace: dict[str, object] = {
        "_protocol_": interface.protocol,
        "_exposed_": interface.exposed,
        "_method_to_typeid_": interface.method_to_typeid,
        "_fingerprint_": interface.fingerprint,
        "_generated_": False,
        "__doc__": interface.doc,
        "__module__": interface.module,
        "__slots__": (),
    }
    names = {method.name for method in interface.methods}
    for method in interface.methods:
        if method.name == "__iter__":
            namespace["__aiter__"] = AsyncTypedProxy._aiter
            continue
        renamed = SPECIAL_NAMES.get(method.name)
        if renamed is None:
            namespace[method.name] = _async_method(method)
        elif renamed not in names:  # a Protocol's own ``length()`` wins
            namespace[renamed] = _async_method(method)
    return type(f"Async{interface.name}Proxy", (AsyncTypedProxy,), namespace)


def _async_method(method: Method) -> Callable[..., object]:
    """An ``async def`` proxy method that binds arguments like the sync one."""
    signature = inspect_signature(method.params, returns=method.returns)
    name = method.name
    if method.is_property:

        async def get(self: AsyncTypedProxy) -> object:
            return await self._get(name)

        get.__name__ = get.__qualname__ = name
        get.__doc__ = method.doc
        return get
    overloaded = bool(method.overloads)
    oneway = method.oneway
    itself = method.return_kind is ReturnKind.SELF
    exits = method.is_exit
    plain = not (oneway or itself or exits) and all(
        p.kind in (ParamKind.POSITIONAL_ONLY, ParamKind.POSITIONAL_OR_KEYWORD)
        for p in method.params
    )
    # Positional arguments of a method without keyword-only or variadic parameters are
    # sent as ``bind()`` would send them, their defaults appended, without binding.
    defaults = tuple(p.default for p in method.params if p.has_default)
    least = len(method.params) - len(defaults)
    most = len(method.params)

    async def call(self: AsyncTypedProxy, /, *args: object, **kwds: object) -> object:
        if overloaded:
            return await self._call(name, *args, **kwds)
        if plain and not kwds and least <= len(args) <= most:
            if len(args) < most:
                args = (*args, *defaults[len(defaults) - (most - len(args)) :])
            return await self._call(name, *args)
        bound = signature.bind(*args, **kwds)
        bound.apply_defaults()
        if oneway:
            await self._send(name, *bound.args, **bound.kwargs)
            return None
        if itself:
            return await self._call_self(name, *bound.args, **bound.kwargs)
        if exits:
            return await self._call_exit(name, *bound.args, **bound.kwargs)
        return await self._call(name, *bound.args, **bound.kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = method.doc
    call.__signature__ = inspect_signature(  # type: ignore[attr-defined]
        method.params, returns=method.returns, with_self=True
    )
    return call


class _LazyIterator:
    """``async for x in proxy`` of a Protocol with ``__iter__``: the remote ``__iter__``
    is called on the first step (``__aiter__`` itself cannot await)."""

    __slots__ = ("_iterator", "_proxy")

    def __init__(self, proxy: AsyncTypedProxy) -> None:
        self._proxy = proxy
        self._iterator: AsyncTypedIterator[object] | None = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> object:
        if self._iterator is None:
            self._iterator = cast(
                "AsyncTypedIterator[object]", await self._proxy._call("__iter__")
            )
        assert self._iterator is not None
        return await self._iterator.__anext__()


# Pipelines.


class AsyncReply(Generic[_T]):
    """The result of a call of an :class:`AsyncPipeline`, once the pipeline was sent."""

    __slots__ = ("_error", "_ready", "_value")

    def __init__(self) -> None:
        self._ready = False
        self._value: Any = None
        self._error: BaseException | None = None

    def value(self) -> _T:
        """The call's result; raises what the call raised."""
        if not self._ready:
            raise RuntimeError("the pipeline of this reply has not been sent")
        if self._error is not None:
            raise self._error
        result: _T = self._value
        return result

    def _resolve(
        self, value: object = None, error: BaseException | None = None
    ) -> None:
        self._value, self._error, self._ready = value, error, True


_capturing: contextvars.ContextVar[AsyncPipeline | None] = contextvars.ContextVar(
    "typedmgr_async_pipeline", default=None
)


class AsyncPipeline:
    """Calls of async proxies sent as one batch request per connection, answered by one
    message: fewer tasks and messages than ``asyncio.gather`` of the same calls.

    ``async with AsyncPipeline() as p: replies = [p.call(c.increment, by=n) ...]``; the
    calls go when the block ends (or at ``await p.send()``), run on the server in order.
    """

    def __init__(self) -> None:
        self._queued: list[
            tuple[AsyncTypedProxy, tuple[object, ...], AsyncReply[Any], bool]
        ] = []

    def call(
        self,
        method: Callable[_P, Coroutine[Any, Any, _T]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> AsyncReply[_T]:
        """Queue ``method(*args, **kwargs)``, a method of an async proxy (not awaited)."""
        queued = len(self._queued)
        token = _capturing.set(self)
        try:
            coroutine = method(*args, **kwargs)
            try:
                coroutine.send(None)
            except StopIteration:
                pass
            else:  # it awaited something: not a queued proxy call
                coroutine.close()
        finally:
            _capturing.reset(token)
        if len(self._queued) != queued + 1:
            raise TypeError(f"{method!r} is not a method of an async typedmgr proxy")
        return self._queued[-1][2]

    def _enqueue(
        self, proxy: AsyncTypedProxy, request: tuple[object, ...], replies: bool
    ) -> AsyncReply[Any]:
        reply: AsyncReply[Any] = AsyncReply()
        if not replies:
            reply._resolve(None)
        self._queued.append((proxy, request, reply, replies))
        return reply

    async def send(self) -> None:
        """Send the queued calls: one batch per run of calls on one connection."""
        queued, self._queued = self._queued, []
        while queued:
            connection = queued[0][0]._connection
            run = 0
            while run < len(queued) and queued[run][0]._connection is connection:
                run += 1
            calls, queued = queued[:run], queued[run:]
            batch = tuple(request for _, request, _, _ in calls)
            kind, results = await connection.request((None, BATCH, batch, {}, ()))
            waiting = [reply for _, _, reply, replies in calls if replies]
            if kind != "#RETURN":
                error = remote_error(kind, results)
                for reply in waiting:
                    reply._resolve(error=error)
                continue
            # Every remote object is held by its proxy before anything is awaited.
            made: list[tuple[AsyncReply[Any], object, BaseException | None]] = []
            for reply, (each_kind, each) in zip(waiting, results, strict=True):
                if each_kind == "#RETURN":
                    made.append((reply, each, None))
                elif each_kind == PROXIED:
                    try:
                        made.append(
                            (reply, _holder(connection, each[0], each[2]), None)
                        )
                    except Exception as e:
                        made.append((reply, None, e))
                else:
                    made.append((reply, None, remote_error(each_kind, each)))
            for reply, value, failure in made:
                if isinstance(value, AsyncTypedProxy):
                    try:
                        await check_fingerprint(connection, type(value), value._typeid)
                    except Exception as e:
                        reply._resolve(error=e)
                        continue
                reply._resolve(value, failure)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.send()


# Managers.


class AsyncTypedManager:
    """A client of a running typedmgr server, for asyncio code.

    ``async with AsyncShopManager(address=..., authkey=...) as m: shop = await m.Shop()``.
    Generated managers have one typed creation method per Protocol registration;
    ``AsyncTypedManager.of(ShopManager)`` builds an equivalent one at runtime, and
    :meth:`create` works on any.
    """

    def __init__(
        self,
        address: Any,
        authkey: bytes | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.address = address
        if authkey is None:
            authkey = peers.peer(address).authkey or bytes(
                process.current_process().authkey
            )
        self._authkey = bytes(authkey)
        self._ssl_context = ssl_context
        self._connection: AsyncConnection | None = None
        peers.remember(address, authkey=self._authkey, ssl_context=ssl_context)

    async def connect(self) -> None:
        """Open the connection (again, if it was lost)."""
        if self._connection is None or self._connection.closed:
            self._connection = await AsyncConnection.open(
                self.address, self._authkey, ssl_context=self._ssl_context
            )

    @property
    def connection(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("not connected: use `async with` or `await connect()`")
        return self._connection

    async def aclose(self) -> None:
        """Close the connection (the server's objects live on while proxies hold them).

        The releases of collected proxies still queued are done when this returns.
        """
        connection = self._connection
        if connection is None:
            return
        if channel._pending.get(self.address) and not connection.closed:
            with contextlib.suppress(Exception):
                # A server-level request with a reply carries them (a no-op question:
                # the fingerprint of no typeid).
                await connection.server_call("fingerprint", "", "")
        connection.close()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _create(
        self, typeid: str, proxytype: type[_A], /, *args: object, **kwds: object
    ) -> _A:
        """Create a remote object of ``typeid``; its ``proxytype`` proxy."""
        connection = self.connection
        await check_fingerprint(connection, proxytype, typeid)
        kind, result = await connection.server_call("create", typeid, *args, **kwds)
        if kind != PROXIED:
            raise remote_error(kind, result)
        _, _, ident = result
        return proxytype(connection, typeid, ident)

    async def create(
        self, typeid: str, protocol: type, /, *args: object, **kwds: object
    ) -> AsyncTypedProxy:
        """Create a remote object of ``typeid``, served as ``protocol``; its async proxy."""
        return await self._create(
            typeid, async_proxy_class_for(protocol), *args, **kwds
        )

    @classmethod
    def of(cls, manager: type) -> type[AsyncTypedManager]:
        """An async manager with a creation method per Protocol registration of
        ``manager`` (a ``TypedManager`` subclass), built at runtime."""
        built = _OF.get(manager)
        if built is not None:
            return built
        protocols: dict[str, tuple[type, object, bool]] = getattr(
            manager, "_protocols_", {}
        )
        namespace: dict[str, object] = {"__module__": manager.__module__}
        for typeid, (protocol, _, creates) in protocols.items():
            if creates:
                namespace[typeid] = _creation_method(typeid, protocol)
        built = type(f"Async{manager.__name__}", (cls,), namespace)
        return _OF.setdefault(manager, built)


_OF: weakref.WeakKeyDictionary[type, type[AsyncTypedManager]] = (
    weakref.WeakKeyDictionary()
)


def _creation_method(typeid: str, protocol: type) -> Callable[..., object]:
    async def create(
        self: AsyncTypedManager, /, *args: object, **kwds: object
    ) -> object:
        return await self._create(
            typeid, async_proxy_class_for(_origin(protocol)), *args, **kwds
        )

    create.__name__ = create.__qualname__ = typeid
    return create


def _origin(protocol: type) -> type:
    import typing

    origin = typing.get_origin(protocol)
    return origin if isinstance(origin, type) else protocol
