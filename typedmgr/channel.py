"""Channel: the one connection per (thread, server) that a client process talks through.

The stdlib opens a fresh authenticated connection for every creation, incref and decref, each
served by a new server thread and, over TCP, stalled by Nagle and delayed ACKs (~130-180 ms).
typedmgr sends creation on the thread's existing connection instead, lets the proxy adopt the
reference the server made for it (no incref/decref pair), and queues releases of collected
proxies to ride on the next request: as its fifth element, ``(ident, methodname, args,
kwds, released)``, or as a ``RELEASE`` message in front of it. TCP sockets get TCP_NODELAY.

Every typedmgr request has that fifth element (``()`` when nothing is released): it tells
the server that the caller takes remote objects as ``PROXIED`` replies.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import secrets
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from multiprocessing import connection, process, reduction, util
from multiprocessing.context import AuthenticationError
from typing import TYPE_CHECKING, Any

from typedmgr import _stdlib, auth, frames, peers, tls, unpickling
from typedmgr.sessions import lease_name, session_name

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = [
    "BATCH",
    "GETATTR",
    "ONEWAY",
    "PROXIED",
    "RELEASE",
    "ServerConnectionError",
    "client",
    "dumps",
    "exchange",
    "exchange_many",
    "frame",
    "nodelay",
    "release_later",
    "release_now",
    "server_request",
    "server_rpc",
    "session",
    "thread_connection",
]

#: One-way request ``(None, RELEASE, (ident, ...), {})``: decref each ident, send no reply.
RELEASE = "#typedmgr-release"
#: One-way call ``(ident, ONEWAY, (methodname, args), kwds)``: no reply; failures are logged.
ONEWAY = "#typedmgr-oneway"
#: Attribute read ``(ident, GETATTR, (name,), {})`` of an exposed property or attribute.
GETATTR = "#typedmgr-getattr"
#: The reply to a typedmgr request for a remote object (a creation, or a method returning
#: one): ``(PROXIED, (typeid, exposed, ident))``. The stdlib's ``#PROXY`` pickles a Token,
#: which costs both ends a Python-level reduce; and with the ident last, the replies of
#: one typeid share their prefix, which the memo check then walks once (``unpickling``).
PROXIED = "#typedmgr-proxy"
#: The reply to a typedmgr call of a ``-> Self`` method that returned its referent itself:
#: ``(ITSELF, None)``; the caller's proxy is the result (no new reference).
ITSELF = "#typedmgr-itself"
#: Many requests in one ``(None, BATCH, (request, ...), {})``, run in order; the reply is
#: ``("#RETURN", [reply, ...])``, one reply for each request that has one.
BATCH = "#typedmgr-batch"

# Server-level requests a typedmgr server answers on a client's long-lived connection.
SERVER_RPCS = frozenset({"create", "incref", "decref", "fingerprint"})


def nodelay(conn: Connection) -> Connection:
    """Set TCP_NODELAY on a TCP connection (a no-op for unix sockets).

    The handshake is a series of small writes from both ends, which Nagle would hold until
    the peer's delayed ACK (~40 ms each).
    """
    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
    except OSError:
        return conn
    try:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    finally:
        sock.close()
    return conn


def client(
    address: Any, *, authkey: bytes | None = None, family: str | None = None
) -> Connection:
    """``multiprocessing.connection.Client`` with TCP_NODELAY and a SHA-256 handshake.

    Over TLS when a TLS context is known for ``address`` (``typedmgr.peers``).
    """
    context = peers.peer(address).ssl_context
    if context is not None:
        conn = tls.connect(address, context, timeout=CONNECT_TIMEOUT)
    else:
        conn = nodelay(connection.Client(address, family))
    if authkey is not None:
        try:
            auth.answer_challenge(conn, bytes(authkey))
            auth.deliver_challenge(conn, bytes(authkey), legacy_md5=False)
        except AuthenticationError as e:
            conn.close()
            raise AuthenticationError(
                f"the manager server at {address!r} refused this process's authkey "
                f"({e}); proxies unpickled here carry no authkey: make a TypedManager "
                "for that address with its authkey in this process first"
            ) from e
        except BaseException:
            conn.close()
            raise
    return conn


#: Seconds a TLS client waits for the TCP connection and the TLS handshake.
CONNECT_TIMEOUT = 30.0


class ServerConnectionError(ConnectionError):
    """The connection to a manager server failed or broke; the message names the server."""


def exchange(
    local: Any,
    address: Any,
    authkey: bytes,
    connect: Callable[..., Connection],
    request: tuple[object, ...] | bytes,
    patience: float = 0.0,
    *,
    loads: Callable[[bytes | bytearray], Any] | None = None,
) -> tuple[str, Any]:
    """Send ``request`` (or its pickle) on this thread's connection to ``address`` and
    return the reply.

    ``patience``: how long the server is expected to take (a batch), see ``Wire.read``.
    ``loads``: how to unpickle the reply, if not as ``reply_loader`` says.
    If anything interrupts the exchange (a signal, KeyboardInterrupt, a broken socket), the
    connection is closed and forgotten: a reply still in flight must never be read as the
    answer to the next call (the stdlib does exactly that).
    """
    wire = _wire(local, address, authkey, connect)
    conn = wire.conn
    parts: Sequence[frames.Buffer]
    if isinstance(request, bytes):
        parts = frames.framed(request)
    elif _large_arguments(request):
        parts = framed_uncopied(request)  # queued releases go before it (_outgoing)
    else:
        parts = frames.framed(_releasing(address, request))
    try:
        wire.write(_outgoing(address, parts))
        del parts  # a large request's memory can take the reply
        reply = wire.read(patience)
    except BaseException as exc:
        raise _drop(conn, local, address, exc) from None
    # A reply the loader refuses raises here and keeps the connection: it was read whole.
    loaded: tuple[str, Any] = (loads or reply_loader(address))(reply)
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
    replies not read by then become the error.
    """
    wire = _wire(local, address, authkey, connect)
    conn = wire.conn
    loads = reply_loader(address)
    results: list[tuple[str, Any] | BaseException] = []
    failure: BaseException | None = None
    try:
        wire.write(_outgoing(address, requests))
        while len(results) < replies:
            data = wire.read()  # loaded at once: a large one is in the wire's buffer
            try:
                results.append(loads(data))
            # A refused type: this reply's error, not the batch's.
            except Exception as exc:
                results.append(exc)
    except BaseException as exc:
        failure = _drop(conn, local, address, exc)
        if not isinstance(exc, Exception):
            raise
    if failure is not None:
        results.extend(failure for _ in range(replies - len(results)))
    return results


def _wire(
    local: Any, address: Any, authkey: bytes, connect: Callable[..., Connection]
) -> frames.Wire:
    """The wire of this thread's session connection to ``address`` (made if need be)."""
    wire: frames.Wire | None = getattr(local, "wire", None)
    if wire is None or wire.conn is not getattr(local, "connection", None):
        thread_connection(address, authkey, connect)
        wire = local.wire
        assert wire is not None
    return wire


def reply_loader(address: Any) -> Callable[[bytes | bytearray], Any]:
    """How replies from ``address`` are unpickled: restricted unless the server is trusted."""
    return pickle.loads if peers.peer(address).full_pickle else unpickling.load_reply


def _drop(
    conn: Connection, local: Any, address: Any, exc: BaseException
) -> BaseException:
    """Close and forget an out-of-step connection; the error to report for it."""
    with contextlib.suppress(Exception):
        conn.close()
    if getattr(local, "connection", None) is conn:
        del local.connection
    if isinstance(exc, (EOFError, ConnectionError)) and not isinstance(
        exc, ServerConnectionError
    ):
        error = ServerConnectionError(
            f"lost the connection to the manager server at {address!r}: {exc!r}"
        )
        error.__cause__ = exc
        return error
    return exc


def thread_connection(
    address: Any, authkey: bytes, connect: Callable[..., Connection]
) -> Connection:
    """This thread's long-lived connection to ``address``, which names our session.

    Stdlib proxies share it and read it directly, which is safe: between two exchanges
    nothing is left buffered, since every request gets exactly one reply. They may also
    close it (when they know of no reference this process holds) and connect anew, naming
    no session: such a connection is closed and replaced, never used for our requests.
    """
    local, _ = _stdlib.address_local(address)
    wire: frames.Wire | None = getattr(local, "wire", None)
    conn: Connection | None = getattr(local, "connection", None)
    if wire is not None and conn is wire.conn:
        return conn
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()
    _ensure_lease(address, authkey, connect)
    name = process.current_process().name
    if threading.current_thread().name != "MainThread":
        name += "|" + threading.current_thread().name
    conn = _accepted(address, authkey, connect, session_name(name, _session))
    local.connection = conn
    local.wire = frames.Wire(conn, spin=peers.peer(address).reply_spin)
    return conn


def _accepted(
    address: Any, authkey: bytes, connect: Callable[..., Connection], name: str
) -> Connection:
    """A new connection the server will serve as long-lived, under ``name``."""
    conn = connect(address, authkey=authkey)
    _stdlib.dispatch(conn, "accept_connection", (name,))
    return conn


# This process's session, and its lease connection to each server: when the process dies,
# the leases close and the servers release what the session held (typedmgr.sessions).
_session = secrets.token_hex(8)
_leases: dict[Any, Connection] = {}
_leases_lock = threading.Lock()
# Held for a release on a lease (see release_now); and whether this thread is in one.
_lease_lock = threading.Lock()
_in_release = threading.local()


def _new_session() -> None:
    """In a forked child: a session of its own; the parent's leases are not ours to close."""
    global _session, _leases_lock, _lease_lock
    _session = secrets.token_hex(8)
    _leases.clear()
    _leases_lock, _lease_lock = threading.Lock(), threading.Lock()


os.register_at_fork(after_in_child=_new_session)


def session() -> str:
    """This process's session: a proxy whose reference it holds releases it when collected."""
    return _session


def _ensure_lease(
    address: Any, authkey: bytes, connect: Callable[..., Connection]
) -> None:
    with _leases_lock:
        if address not in _leases:
            _leases[address] = _accepted(
                address, authkey, connect, lease_name(_session)
            )


def server_request(
    address: Any,
    authkey: bytes,
    connect: Callable[..., Connection],
    name: str,
    /,
    *args: object,
    **kwds: object,
) -> tuple[str, Any]:
    """The reply to a server-level request on this thread's connection (releases go too)."""
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
    kind, result = server_request(address, authkey, connect, name, *args, **kwds)
    if kind == "#RETURN":
        return result
    raise _stdlib.convert_to_error(kind, result)


# Releases waiting for the next request, per server address. Whatever is still queued when
# the process exits is released by the server when the session's lease closes.
_pending: dict[Any, list[str]] = {}
_pending_lock = threading.Lock()
# A forked child must never send its parent's releases.
os.register_at_fork(after_in_child=_pending.clear)


def release_later(address: Any, ident: str) -> None:
    """A proxy holding a reference was collected: queue the decref for the next request."""
    with _pending_lock:
        _pending.setdefault(address, []).append(ident)


def release_now(address: Any, ident: str, held: set[Any], key: object) -> None:
    """A stdlib-class proxy holding a reference of this session was collected: release it
    now, on the session's lease, as the stdlib releases at once (on a connection of its
    own, which names no session). Its own requests cannot carry queued releases.
    """
    _stdlib.release_reference(held, key)
    lease = _leases.get(address)
    # No lease: it broke, and the server released the session's references with it.
    if lease is None:
        return
    if getattr(_in_release, "active", False):  # a signal handler's, amid a release
        release_later(address, ident)
        return
    _in_release.active = True
    try:
        with _lease_lock:
            lease.send_bytes(dumps((None, "decref", (ident,), {}, ())))
            lease.recv_bytes()
    except Exception:  # a lost server has released it
        util.info("release of %r on the lease to %r failed", ident, address)
    finally:
        _in_release.active = False


def _take(address: Any) -> list[str]:
    with _pending_lock:
        queued = _pending.get(address)
        if not queued:
            return []
        taken = list(queued)
        queued.clear()
        return taken


#: The pickle protocol of typedmgr's messages. Protocol 5 (Python 3.8+; the default from
#: 3.14) has an opcode for a bytearray's bytes; protocol 4 rebuilds it by calling
#: ``builtins.bytearray``, which a restricted loader refuses (called with a size, it would
#: allocate that much).
PROTOCOL = 5

#: A bytes or bytearray at least this large, as an argument of a call or as its result, is
#: written from its own memory beside the rest of the message (one ``writev``), not copied
#: into the message's pickle: for 64 MiB, that copy took 55 ms here. The bytes on the wire
#: are those of the in-band pickle, so the receiver reads it as any other message.
LARGE_PAYLOAD = 64 * 1024


def carries_large(values: Iterable[object]) -> bool:
    """Whether one of ``values`` is a bytes or bytearray of ``LARGE_PAYLOAD`` or more."""
    return any(
        isinstance(v, (bytes, bytearray)) and len(v) >= LARGE_PAYLOAD for v in values
    )


class _Parts:
    """A pickler's file that keeps what it is given: the C pickler writes a payload of
    64 KiB or more straight to its file, as the object itself (no copy)."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[frames.Buffer] = []

    def write(self, data: frames.Buffer) -> int:
        self.parts.append(data)
        return len(data)


def _large_arguments(request: tuple[object, ...]) -> bool:
    """Whether a request ``(ident, method, args, kwds, releases)`` passes a large payload."""
    args, kwds = request[2], request[3]
    return (isinstance(args, tuple) and carries_large(args)) or (
        isinstance(kwds, dict) and carries_large(kwds.values())
    )


def framed_uncopied(message: object) -> Sequence[frames.Buffer]:
    """``message`` pickled and framed as parts to write, its large payloads uncopied."""
    out = _Parts()
    try:
        pickle.Pickler(out, PROTOCOL).dump(message)
    except Exception:
        return frames.framed(dumps(message))
    return [frames.header(sum(map(len, out.parts))), *out.parts]


def dumps(message: object) -> bytes:
    """Pickle a message as ``Connection.send`` would, without its per-message pickler.

    ``ForkingPickler.dumps`` builds a new pickler and copies its dispatch table for every
    message (measured: 2.8 us against 0.45 us for ``pickle.dumps``). What plain pickle
    refuses and the stdlib's reducers handle (dict views, sockets) falls back to it.
    """
    try:
        return pickle.dumps(message, PROTOCOL)
    except Exception:
        return bytes(reduction.ForkingPickler.dumps(message))


def _releasing(address: Any, request: tuple[object, ...]) -> bytes:
    """``request`` pickled, with the releases queued for ``address`` as its fifth element."""
    if not _pending.get(address):  # unlocked peek: the hot path stays one dict lookup
        return dumps(request)
    idents = _take(address)
    if not idents:
        return dumps(request)
    try:
        return dumps((*request[:4], tuple(idents)))
    except BaseException:  # the request does not pickle: its releases wait for the next
        with _pending_lock:
            _pending.setdefault(address, []).extend(idents)
        raise


def _outgoing(address: Any, parts: Sequence[frames.Buffer]) -> Sequence[frames.Buffer]:
    """Framed ``parts``, preceded by the releases queued for ``address``."""
    if not _pending.get(address):  # unlocked peek: the hot path stays one dict lookup
        return parts
    idents = _take(address)
    if not idents:
        return parts
    return [frame((None, RELEASE, tuple(idents), {})), *parts]


def frame(message: object) -> bytes:
    """One message, pickled and framed as ``Connection.send`` would."""
    return frames.frame(dumps(message))
