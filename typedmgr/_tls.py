"""TLS for TCP addresses: a ``Connection`` whose bytes travel through an ``ssl.SSLSocket``.

``multiprocessing.connection.Connection`` reads and writes its file descriptor directly, so
it cannot speak TLS. ``TLSConnection`` keeps its framing and its methods (``send``,
``recv_bytes``, ``poll``...) and moves the bytes through the SSL socket instead; everything
above it, the authkey handshake included, is unchanged. TLS comes in addition to the
authkey, not instead of it: TLS proves who the peers are and hides the traffic, the authkey
still decides who may use the server.
"""

from __future__ import annotations

import io
import os
import socket
import ssl
from collections.abc import Sequence
from multiprocessing import connection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["TLSConnection", "check_context", "connect", "handshake"]

# Parts smaller than this are joined into one write; larger ones are sent as they are.
_JOIN_LIMIT = 16 * 1024


class TLSConnection(connection.Connection):
    """A ``Connection`` over an established TLS socket."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        super().__init__(sock.fileno())
        self._sock = sock

    @property
    def ssl_socket(self) -> ssl.SSLSocket:
        """The TLS socket (a multiplexed connection reads and writes it unblocking)."""
        return self._sock

    def read_some(self, size: int) -> bytes:
        """Up to ``size`` decrypted bytes; ``b""`` when the peer closed."""
        return self._sock.recv(size)

    def read_into(self, view: memoryview) -> int:
        """Read decrypted bytes into ``view``; 0 when the peer closed."""
        return self._sock.recv_into(view)

    def write_parts(self, parts: Sequence[bytes | bytearray | memoryview]) -> None:
        """Encrypt and send ``parts`` in order (TLS records gain nothing from ``writev``):
        small ones joined, large ones from their own memory."""
        small: list[bytes | bytearray | memoryview] = []
        for part in parts:
            if len(part) < _JOIN_LIMIT:
                small.append(part)
                continue
            if small:
                self._sock.sendall(b"".join(small))
                small.clear()
            self._sock.sendall(part)
        if small:
            self._sock.sendall(b"".join(small))

    def _send(self, buf: bytes | memoryview, write: object = None) -> None:
        self._sock.sendall(buf)

    def _recv(self, size: int, read: object = None) -> io.BytesIO:
        buf = bytearray()
        while len(buf) < size:
            chunk = self._sock.recv(size - len(buf))
            if not chunk:
                raise EOFError if not buf else OSError("got end of file during message")
            buf += chunk
        return io.BytesIO(buf)

    def _poll(self, timeout: float | None) -> bool:
        # Decrypted bytes may wait inside the SSL object while the socket has none.
        return bool(self._sock.pending()) or super()._poll(timeout)  # type: ignore[misc]

    def _close(self, _close: object = None) -> None:
        self._sock.close()


def check_context(context: ssl.SSLContext, *, server_side: bool) -> None:
    """Refuse a context made for the other end, before any connection fails obscurely."""
    if server_side and context.protocol == ssl.PROTOCOL_TLS_CLIENT:
        raise ValueError(
            "this SSLContext is made for clients: a server needs "
            "ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, ...)"
        )
    if not server_side and context.protocol == ssl.PROTOCOL_TLS_SERVER:
        raise ValueError(
            "this SSLContext is made for servers: a client needs "
            "ssl.create_default_context(ssl.Purpose.SERVER_AUTH, ...)"
        )


def connect(
    address: tuple[str, int], context: ssl.SSLContext, timeout: float | None
) -> Connection:
    """A TLS connection to ``address``, the server's certificate checked by ``context``."""
    if not isinstance(address, tuple):
        raise ValueError(f"TLS needs a TCP address, not {address!r}")
    host = address[0]
    sock = socket.create_connection(address[:2], timeout=timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls_sock = context.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise
    tls_sock.settimeout(None)
    return TLSConnection(tls_sock)


def handshake(
    conn: Connection, context: ssl.SSLContext, timeout: float | None
) -> Connection:
    """The server's side: take over an accepted connection and run the TLS handshake.

    ``conn`` is closed either way; a failed handshake raises (``ssl.SSLError``, ``OSError``).
    """
    sock = socket.socket(fileno=os.dup(conn.fileno()))
    conn.close()
    try:
        sock.settimeout(timeout)
        tls_sock = context.wrap_socket(sock, server_side=True)
    except BaseException:
        sock.close()
        raise
    tls_sock.settimeout(None)
    return TLSConnection(tls_sock)
