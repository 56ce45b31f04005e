"""A multiplexed connection is full duplex: large replies due while a large request is
being written stall neither end (the deadlock that hung the first multiplexed server).

The first server's reader thread wrote each reply itself: while a client's receive buffer
was full it stopped reading, and a client still writing a request larger than the socket
buffers waited for it forever. These tests make both directions outgrow the buffers at
once, and fail on a deadline rather than hang.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.process.aio_api import AioManager
from tests.process.support import TIMEOUT
from tests.runtime.certs import Authority
from typedmgr import AsyncTypedManager, _channel
from typedmgr._encoding import dumps
from typedmgr._frames import frame
from typedmgr._leases import session
from typedmgr._replies import load_reply
from typedmgr._sessions import session_name
from typedmgr._wire import MUX, MUX_ID, MUX_VERSION, PROXIED

pytestmark = pytest.mark.process

AUTHKEY = b"duplex tests"
MB = 1024 * 1024
#: Replies due at once: more than both ends' socket buffers (4 MiB each at most here,
#: pinned smaller on the client's end), less than the server's bound on what it holds.
REPLIES = 4
REPLY_SIZE = 4 * MB
#: The request written meanwhile: larger than the server's receive buffer could grow.
REQUEST_SIZE = 40 * MB


@pytest.fixture(scope="module", params=["tcp", "unix"])
def served(request: pytest.FixtureRequest, sockdir: Path) -> Iterator[AioManager]:
    address: Any = (
        ("127.0.0.1", 0) if request.param == "tcp" else str(sockdir / "duplex.sock")
    )
    with AioManager(address=address, authkey=AUTHKEY) as manager:
        yield manager


class RawClient:
    """A multiplexed client that does one thing at a time: it writes a whole request
    before it reads anything (the worst peer a server can have, short of a hostile one)."""

    def __init__(self, address: Any, behind_mux: bytes = b"") -> None:
        """``behind_mux``: bytes written right behind the MUX request, before its reply."""
        conn = _channel.client(address, authkey=AUTHKEY)  # both authkey handshakes
        self.sock = socket.socket(fileno=os.dup(conn.fileno()))
        conn.close()
        # Small buffers here: the server's replies back up into its own buffers soon.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        self.sock.settimeout(TIMEOUT)  # a deadlock fails the test, not the run
        name = session_name("raw duplex client", session())
        accepted = self.plain((None, "accept_connection", (name,), {}))
        assert "#RETURN" == accepted[0], accepted
        assert ("#RETURN", MUX_VERSION) == self.plain(
            (None, MUX, (MUX_VERSION,), {}, ()), behind_mux
        )

    def plain(self, request: tuple[object, ...], behind: bytes = b"") -> Any:
        self.sock.sendall(frame(dumps(request)) + behind)
        return load_reply(self.read())

    def send(self, rid: int, request: tuple[object, ...]) -> None:
        self.sock.sendall(frame(MUX_ID.pack(rid) + dumps(request)))

    def reply(self) -> tuple[int, Any]:
        message = self.read()
        (rid,) = MUX_ID.unpack_from(message)
        return rid, load_reply(message[MUX_ID.size :])

    def read(self) -> bytes:
        size = int.from_bytes(self.exactly(4), "big", signed=True)
        assert size >= 0, "no reply here is longer than 2 GiB"
        return self.exactly(size)

    def exactly(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self.sock.recv(min(size - len(data), MB))
            if not chunk:
                raise EOFError("the server closed the connection")
            data += chunk
        return bytes(data)


def test_a_request_written_behind_the_mux_request_is_answered(
    served: AioManager,
) -> None:
    """A client need not wait for the MUX reply: a request in the same write, read with
    the MUX request, is answered on the multiplexed connection."""
    create: tuple[object, ...] = (None, "create", ("Echo",), {}, ())
    client = RawClient(served.address, frame(MUX_ID.pack(5) + dumps(create)))
    try:
        rid, (kind, (_, _, echo)) = client.reply()
        assert (5, PROXIED) == (rid, kind)
        client.send(6, (echo, "echo", (7,), {}, ()))
        assert (6, ("#RETURN", 7)) == client.reply()
    finally:
        client.sock.close()


def test_a_large_request_written_while_large_replies_are_due(
    served: AioManager,
) -> None:
    """Requests whose replies outgrow the socket buffers, then a request that does too,
    written whole before any reply is read: the server reads on while its replies wait,
    and every reply arrives (on the first server: a deadlock, both ends writing)."""
    client = RawClient(served.address)
    try:
        client.send(1, (None, "create", ("Echo",), {}, ()))
        kind, (_, _, echo) = client.reply()[1]
        assert PROXIED == kind
        chunk = b"r" * MB
        try:
            for rid in range(2, 2 + REPLIES):
                client.send(rid, (echo, "blob", (chunk, REPLY_SIZE // MB), {}, ()))
            client.send(99, (echo, "size", (b"q" * REQUEST_SIZE,), {}, ()))
        except TimeoutError:
            pytest.fail(
                "deadlock: the server stopped reading requests while its replies "
                f"({REPLIES} of {REPLY_SIZE} bytes) waited to be written"
            )
        replies = dict(client.reply() for _ in range(REPLIES + 1))
        assert ("#RETURN", REQUEST_SIZE) == replies.pop(99)
        assert {
            rid: ("#RETURN", chunk * (REPLY_SIZE // MB)) for rid in range(2, 6)
        } == (replies)
    finally:
        client.sock.close()


def test_the_async_client_reads_while_it_writes(served: AioManager) -> None:
    """The asyncio client, its replies and requests both outgrowing the socket buffers
    at once, among small calls: all arrive whole, within the deadline."""

    async def main() -> None:
        async with asyncio.timeout(TIMEOUT):
            async with AsyncTypedManager.of(AioManager)(served.address, AUTHKEY) as m:
                echo: Any = await m.Echo()  # type: ignore[attr-defined]
                chunk = b"a" * MB
                big = [echo.blob(chunk, REPLY_SIZE // MB) for _ in range(REPLIES)]
                small = [echo.echo(i) for i in range(100)]
                request = echo.size(b"b" * REQUEST_SIZE)
                results = await asyncio.gather(*big, request, *small)
                assert [chunk * (REPLY_SIZE // MB)] * REPLIES == results[:REPLIES]
                assert [REQUEST_SIZE, *range(100)] == results[REPLIES:]

    asyncio.run(main())


def test_a_client_that_stops_reading_holds_the_server_to_its_bound(
    served: AioManager,
) -> None:
    """A client that writes on and never reads: the server stops reading it once its
    replies pass the bound (memory stays bounded), and other clients are served."""
    from typedmgr._server.mux import HELD_LIMIT

    client = RawClient(served.address)
    client.sock.settimeout(3.0)
    stuck = threading.Event()
    try:
        client.send(1, (None, "create", ("Echo",), {}, ()))
        echo = client.reply()[1][1][2]
        chunk = b"s" * MB

        def flood() -> None:
            try:
                for rid in range(2, 2 + 2 * HELD_LIMIT // MB):
                    client.send(rid, (echo, "blob", (chunk, 1), {}, ()))
            except (TimeoutError, OSError):
                stuck.set()  # the server stopped reading: the bound holds

        writer = threading.Thread(target=flood)
        writer.start()
        writer.join(TIMEOUT + 5)
        assert stuck.is_set()
        other = AioManager(address=served.address, authkey=AUTHKEY)
        other.connect()
        assert 5 == other.Echo().echo(5)  # type: ignore[attr-defined]
    finally:
        client.sock.close()


def test_large_messages_both_ways_over_tls(tmp_path: Path) -> None:
    """Over TLS (one thread of the server reads and writes the SSL socket, unblocking):
    replies and a request beyond the socket buffers at once, among small calls."""
    ca = Authority(tmp_path, "duplex")
    client_context = ca.client_context()
    manager = AioManager(
        address=("127.0.0.1", 0),
        authkey=AUTHKEY,
        ssl_context=client_context,
        server_ssl_context=ca.server_context(ca.issue("server", server=True)),
        ctx=multiprocessing.get_context("fork"),  # an SSLContext does not pickle
    )
    with manager:

        async def main() -> None:
            async with asyncio.timeout(TIMEOUT):
                client = AsyncTypedManager.of(AioManager)(
                    manager.address, AUTHKEY, ssl_context=client_context
                )
                async with client:
                    echo: Any = await client.Echo()  # type: ignore[attr-defined]
                    chunk = b"t" * MB
                    big = [echo.blob(chunk, REPLY_SIZE // MB) for _ in range(REPLIES)]
                    small = [echo.aecho(i) for i in range(100)]
                    request = echo.size(b"u" * REQUEST_SIZE)
                    results = await asyncio.gather(*big, request, *small)
                    assert [chunk * (REPLY_SIZE // MB)] * REPLIES == results[:REPLIES]
                    assert [REQUEST_SIZE, *range(100)] == results[REPLIES:]

        asyncio.run(main())
