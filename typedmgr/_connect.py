"""Connecting a client to a server: the socket (or TLS), TCP_NODELAY and both handshakes.

Split from ``_channel``, which re-exports :func:`client`, :func:`nodelay` and
:class:`ServerConnectionError`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import struct
import time
from multiprocessing import connection
from multiprocessing.context import AuthenticationError
from typing import TYPE_CHECKING, Any

from typedmgr import _auth, _deadlines, _peers, _stdlib, _tls

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["ServerConnectionError", "client", "nodelay"]


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

    Over TLS when a TLS context is known for ``address`` (``typedmgr._peers``). Connecting
    and the handshakes together take at most the address's ``connect_timeout`` (or what
    is left of the enclosing ``deadline()``): ``deadlines.ConnectTimeout`` past it. A
    server that cannot be reached raises :class:`ServerConnectionError`, naming it.
    """
    if authkey is None:
        raise AuthenticationError(
            f"no authkey for the manager server at {address!r} in this process (a "
            "proxy unpickled here carries none, and never uses the process's own): make "
            "a TypedManager for that address with its authkey in this process first"
        )
    # A server at its connection limit refuses politely (``gate.BUSY``): wait for a
    # place, within the connect budget.
    budget = _deadlines.connect_budget(address)
    give_up = time.monotonic() + budget
    pause = 0.01
    while True:
        try:
            left = max(give_up - time.monotonic(), 0.001)
            return _authenticated(address, authkey, family, left)
        except _auth.ServerBusyError:
            if time.monotonic() + pause > give_up:
                raise
            time.sleep(pause)
            pause = min(2 * pause, 0.5)


def _authenticated(
    address: Any, authkey: bytes, family: str | None, budget: float
) -> Connection:
    """One connection to ``address`` and both handshakes, within ``budget`` seconds."""
    start = time.monotonic()
    context = _peers.peer(address).ssl_context
    try:
        if context is not None:
            conn = _tls.connect(address, context, timeout=budget)
        else:
            conn = _open(address, family, budget)
    except TimeoutError as e:
        raise _deadlines.ConnectTimeout(address, "connect", budget) from e
    except ssl.SSLError:  # a certificate refused: not a server that is away
        raise
    except OSError as e:
        raise ServerConnectionError(
            f"cannot connect to the manager server at {address!r}: "
            f"{e.strerror or e}; is it running, at this address? (once it is, "
            "the next call connects again)"
        ) from e
    try:
        _receive_timeout(conn, max(budget - (time.monotonic() - start), 0.001))
        _auth.answer_challenge(conn, bytes(authkey))
        _auth.deliver_challenge(conn, bytes(authkey), legacy_md5=False)
        _receive_timeout(conn, None)
    except AuthenticationError as e:
        conn.close()
        raise AuthenticationError(_refusal(address, authkey, e)) from e
    except _auth.ServerBusyError:
        conn.close()
        raise
    except (OSError, EOFError) as e:
        conn.close()
        if isinstance(e, (TimeoutError, BlockingIOError, ssl.SSLWantReadError)):
            raise _deadlines.ConnectTimeout(address, "authkey handshake", budget) from e
        raise ServerConnectionError(
            f"the manager server at {address!r} closed the connection during the "
            f"authkey handshake ({e!r}): is it a TLS server (this client needs "
            "ssl_context=...), or at its connection limit?"
        ) from e
    except BaseException:
        conn.close()
        raise
    return conn


def _open(address: Any, family: str | None, timeout: float) -> Connection:
    """A plain connection to ``address``, connected within ``timeout`` seconds, with
    reads that give up after ``timeout`` (until ``_receive_timeout(conn, None)``)."""
    family = family or _stdlib.address_type(address)
    if family == "AF_INET" and isinstance(address, tuple):
        sock = socket.create_connection(address[:2], timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    elif family == "AF_UNIX":
        sock = socket.socket(socket.AF_UNIX)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except BaseException:
            sock.close()
            raise
    else:  # a Windows pipe
        return connection.Client(address, family)
    sock.settimeout(None)  # blocking again: Connection reads the descriptor directly
    return connection.Connection(sock.detach())


def _receive_timeout(conn: Connection, seconds: float | None) -> None:
    """Make a read on ``conn`` give up after ``seconds`` (``None``: never)."""
    if isinstance(conn, _tls.TLSConnection):
        conn._sock.settimeout(seconds)
        return
    sec = 0 if seconds is None else int(seconds)
    usec = 0 if seconds is None else max(int((seconds - sec) * 1e6), 1)
    with contextlib.suppress(OSError):
        sock = socket.socket(fileno=os.dup(conn.fileno()))
        try:
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", sec, usec)
            )
        finally:
            sock.close()


def _refusal(address: Any, authkey: bytes, error: AuthenticationError) -> str:
    """Why the handshake with ``address`` failed, and what to do about it."""
    text = str(error)
    if text not in ("digest sent was rejected", "digest received was wrong"):
        return f"the manager server at {address!r}: {text}"
    if _peers.peer(address).authkey is None:
        return (
            f"the manager server at {address!r} refused this process's own authkey: "
            "proxies unpickled here carry no authkey; make a TypedManager for that "
            "address with its authkey in this process first"
        )
    return (
        f"wrong authkey: the manager server at {address!r} was started with another "
        "key than this client's (compare the authkey= given here with the server's "
        "--authkey-env/--authkey-file, or its TypedManager(authkey=...))"
    )


class ServerConnectionError(ConnectionError):
    """The connection to a manager server failed or broke; the message names the server."""

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show
