"""Channel: the one connection per (thread, server) that a client process talks through.

The stdlib opens a fresh authenticated connection for every creation, incref and decref, each
served by a new server thread and, over TCP, stalled by Nagle and delayed ACKs (see the
``create`` row of ``bench/run.py``). typedmgr sends creation on the thread's existing
connection instead, lets the proxy adopt the reference the server made for it (no
incref/decref pair), and queues releases of collected proxies to ride on the next request:
as its fifth element, ``(ident, methodname, args, kwds, released)``, or as a ``RELEASE``
message in front of it. TCP sockets get TCP_NODELAY.

Every typedmgr request has that fifth element (``()`` when nothing is released): it tells
the server that the caller takes remote objects as ``PROXIED`` replies.

This module holds the exchanges; connecting (``_connect``), the session's connections,
leases and queued releases (``_leases``) and encoding (``_encoding``) live beside it and
are re-exported here. Callers hold an ``_endpoint.Endpoint`` rather than calling it.
"""

from __future__ import annotations

import contextlib
import pickle
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from typedmgr import _deadlines, _frames, _peers, _stdlib
from typedmgr._connect import ServerConnectionError, client, nodelay
from typedmgr._encoding import (
    LARGE_PAYLOAD,
    PROTOCOL,
    carries_large,
    dumps,
    frame,
    framed_uncopied,
    large_arguments,
)
from typedmgr._inert import adopt_rebuilt
from typedmgr._leases import (
    epochs,
    pending,
    release_later,
    release_now,
    requeue,
    session,
    take_releases,
    thread_connection,
)
from typedmgr._replies import load_reply
from typedmgr._wire import (
    BATCH,
    GETATTR,
    ONEWAY,
    PROXIED,
    RELEASE,
)

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = [
    "BATCH",
    "GETATTR",
    "LARGE_PAYLOAD",
    "ONEWAY",
    "PROTOCOL",
    "PROXIED",
    "RELEASE",
    "ServerConnectionError",
    "carries_large",
    "client",
    "dumps",
    "exchange",
    "exchange_many",
    "frame",
    "framed_uncopied",
    "nodelay",
    "release_later",
    "release_now",
    "reply_loader",
    "server_reply",
    "server_rpc",
    "session",
    "thread_connection",
]


def exchange(
    local: Any,
    address: Any,
    authkey: bytes,
    connect: Callable[..., Connection],
    request: tuple[object, ...] | bytes,
    patience: float = 0.0,
    *,
    loads: Callable[[bytes | bytearray], Any] | None = None,
    typeid: object = None,
) -> tuple[str, Any]:
    """Send ``request`` (or its pickle) on this thread's connection to ``address`` and
    return the reply.

    ``patience``: how long the server is expected to take (a batch), see ``Wire.read``.
    ``loads``: how to unpickle the reply, if not as ``reply_loader`` says.
    ``typeid``: of the object called, to name the call in errors.
    If anything interrupts the exchange (a signal, KeyboardInterrupt, a broken socket), the
    connection is closed and forgotten: a reply still in flight must never be read as the
    answer to the next call (the stdlib does exactly that). Past its deadline
    (``_deadlines``), the connection is forgotten too, and handed to a thread that reads
    the late reply and gives back the remote objects it carried.
    """
    until = _deadlines.call_deadline(address)
    start = 0.0 if until is None else time.monotonic()
    wire = _wire(local, address, authkey, connect)
    conn = wire.conn
    parts: Sequence[_frames.Buffer]
    if isinstance(request, bytes):
        parts = _frames.framed(request)
    elif large_arguments(request):
        parts = framed_uncopied(request)  # queued releases go before it (_outgoing)
    else:
        parts = _frames.framed(_releasing(address, request))
    try:
        wire.write(_outgoing(address, parts))
        del parts  # a large request's memory can take the reply
        if until is not None and not _deadlines.readable(conn, until):
            _abandon(local, wire, address, 1)
            raise _late(address, request, typeid, start)
        reply = wire.read(patience)
    except _deadlines.DeadlineExceeded:
        raise
    except BaseException as exc:
        raise _drop(conn, local, address, exc) from None
    # A reply the loader refuses raises here and keeps the connection: it was read whole.
    loaded: tuple[str, Any] = (loads or reply_loader(address))(reply)
    adopt_rebuilt(address, authkey)  # the proxies it carried, now it is read
    return loaded


def exchange_many(
    local: Any,
    address: Any,
    authkey: bytes,
    connect: Callable[..., Connection],
    requests: list[bytes],
    replies: int,
) -> list[tuple[str, Any] | BaseException]:
    """Write framed ``requests`` in one go, then read ``replies`` replies (a pipeline's chunk).

    A broken or interrupted exchange drops the connection, as :func:`exchange` does; the
    replies not read by then become the error (past the deadline: ``DeadlineExceeded``).
    """
    until = _deadlines.call_deadline(address)
    start = time.monotonic()
    wire = _wire(local, address, authkey, connect)
    conn = wire.conn
    loads = reply_loader(address)
    results: list[tuple[str, Any] | BaseException] = []
    failure: BaseException | None = None
    try:
        wire.write(_outgoing(address, requests))
        while len(results) < replies:
            data: bytes | bytearray | None = wire.buffered()
            if data is None:
                if until is not None and not _deadlines.readable(conn, until):
                    _abandon(local, wire, address, replies - len(results))
                    raise _late(address, f"{replies} pipelined calls", None, start)
                data = (
                    wire.read()
                )  # loaded at once: a large one is in the wire's buffer
            try:
                results.append(loads(data))
            # A refused type: this reply's error, not the batch's.
            except Exception as exc:
                results.append(exc)
    except _deadlines.DeadlineExceeded as exc:
        failure = exc
    except BaseException as exc:
        failure = _drop(conn, local, address, exc)
        if not isinstance(exc, Exception):
            raise
    if failure is not None:
        results.extend(failure for _ in range(replies - len(results)))
    else:
        adopt_rebuilt(address, authkey)
    return results


def _late(
    address: Any, request: object, typeid: object, start: float
) -> _deadlines.DeadlineExceeded:
    """The error of a call to ``address``, begun at ``start``, whose reply is late."""
    waited = time.monotonic() - start
    return _deadlines.DeadlineExceeded(address, _describe(request, typeid), waited)


def _describe(request: object, typeid: object) -> str:
    """A call as errors name it: ``Cart.add()``, ``creating Cart``, ``a pipeline``."""
    if isinstance(request, str):
        return request
    if not isinstance(request, tuple) or len(request) < 3:
        return "a pipeline of calls"
    ident, name, args = request[:3]
    if ident is None and name == "create" and isinstance(args, tuple) and args:
        return f"creating {args[0]}"
    if ident is None:
        return f"{name}()"
    if name == GETATTR and isinstance(args, tuple) and args:
        name = args[0]
        return f"{typeid}.{name}" if typeid else f"attribute {name!r}"
    return f"{typeid}.{name}()" if typeid else f"{name}()"


def _abandon(local: Any, wire: _frames.Wire, address: Any, replies: int) -> None:
    """Forget this thread's connection, whose ``replies`` replies are late; a daemon thread
    reads them, releases the remote objects they carry and closes it."""
    if getattr(local, "connection", None) is wire.conn:
        del local.connection
    threading.Thread(
        target=_drain,
        args=(wire, address, replies),
        name="typedmgr-late-replies",
        daemon=True,
    ).start()


#: Seconds a late reply is waited for before its connection is closed unread.
LATE_REPLY_LIMIT = 600.0


def _drain(wire: _frames.Wire, address: Any, replies: int) -> None:
    conn = wire.conn
    until = time.monotonic() + LATE_REPLY_LIMIT
    try:
        held: list[str] = []
        for _ in range(replies):
            data: bytes | bytearray | None = wire.buffered()
            if data is None:
                if not _deadlines.readable(conn, until):
                    return
                data = wire.read()
            with contextlib.suppress(Exception):
                held += _proxied(reply_loader(address)(data))
        if held:  # on this connection: its session holds them
            wire.write([frame((None, RELEASE, tuple(held), {}))])
    except Exception:
        pass
    finally:
        with contextlib.suppress(Exception):
            conn.close()


def _proxied(reply: Any) -> list[str]:
    """The idents of the remote objects a reply (or a batch's replies) hands over."""
    kind, result = reply
    if kind == PROXIED:
        return [result[2]]
    if kind == "#RETURN" and isinstance(result, list):
        return [
            item[1][2]
            for item in result
            if isinstance(item, tuple) and len(item) == 2 and item[0] == PROXIED
        ]
    return []


def _wire(
    local: Any, address: Any, authkey: bytes, connect: Callable[..., Connection]
) -> _frames.Wire:
    """The wire of this thread's session connection to ``address`` (made if need be)."""
    wire: _frames.Wire | None = getattr(local, "wire", None)
    if (
        wire is None
        or wire.conn is not getattr(local, "connection", None)
        or local.epoch != epochs.get(address, 0)
    ):
        thread_connection(address, authkey, connect, local)
        wire = local.wire
        assert wire is not None
    return wire


def reply_loader(address: Any) -> Callable[[bytes | bytearray], Any]:
    """How replies from ``address`` are unpickled: restricted unless the server is trusted."""
    return pickle.loads if _peers.peer(address).full_pickle else load_reply


def _drop(
    conn: Connection, local: Any, address: Any, exc: BaseException
) -> BaseException:
    """Close and forget an out-of-step connection; the error to report for it."""
    with contextlib.suppress(Exception):
        conn.close()
    if getattr(local, "connection", None) is conn:
        del local.connection
    if isinstance(exc, (EOFError, OSError)) and not isinstance(
        exc, (ServerConnectionError, TimeoutError, ssl.SSLError)
    ):
        error = ServerConnectionError(
            f"lost the connection to the manager server at {address!r}: {exc!r}"
        )
        error.__cause__ = exc
        return error
    return exc


def server_reply(
    address: Any,
    authkey: bytes,
    connect: Callable[..., Connection],
    name: str,
    /,
    *args: object,
    **kwds: object,
) -> tuple[str, Any]:
    """The raw ``(kind, result)`` reply to a server-level request (``create``, ...) on this
    thread's connection (releases go too); :func:`server_rpc` unwraps it."""
    local, _ = _stdlib.address_local(address)
    return exchange(local, address, authkey, connect, (None, name, args, kwds, ()))


def server_rpc(
    address: Any,
    authkey: bytes,
    connect: Callable[..., Connection],
    name: str,
    /,
    *args: object,
    **kwds: object,
) -> Any:
    """The result of a server-level function called on this thread's connection."""
    kind, result = server_reply(address, authkey, connect, name, *args, **kwds)
    if kind == "#RETURN":
        return result
    raise _stdlib.convert_to_error(kind, result)


def _releasing(address: Any, request: tuple[object, ...]) -> bytes:
    """``request`` pickled, with the releases queued for ``address`` as its fifth element."""
    if not pending.get(address):  # unlocked peek: the hot path stays one dict lookup
        return dumps(request)
    idents = take_releases(address)
    if not idents:
        return dumps(request)
    try:
        return dumps((*request[:4], tuple(idents)))
    except BaseException:  # the request does not pickle: its releases wait for the next
        requeue(address, idents)
        raise


def _outgoing(
    address: Any, parts: Sequence[_frames.Buffer]
) -> Sequence[_frames.Buffer]:
    """Framed ``parts``, preceded by the releases queued for ``address``."""
    if not pending.get(address):  # unlocked peek: the hot path stays one dict lookup
        return parts
    idents = take_releases(address)
    if not idents:
        return parts
    return [frame((None, RELEASE, tuple(idents), {})), *parts]
