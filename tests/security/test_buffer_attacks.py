"""Class 5 again, out of band: buffers announced beside a pickle cannot exhaust the server,
nor slip past its loader.

Out-of-band messages (docs/performance.md, "Large payloads") announce their buffers'
kinds and sizes before the bytes come; the server reads each buffer into memory of its
own. A hostile key holder announces what it likes: sizes beyond the message limit, sizes
it never sends, more or fewer buffers than its pickle takes, kinds that do not exist, or
such a message where none was agreed to.
"""

from __future__ import annotations

import os
import pickle
import socket
import struct
from collections.abc import Iterator
from multiprocessing import managers
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest

from tests.security.attack import Target, limited_server, rss, session_less
from tests.security.targets import Guarded
from typedmgr import _buffers
from typedmgr._channel import client

pytestmark = pytest.mark.process

MiB = 1024 * 1024
# The wire format, spelled out here rather than taken from the code under test.
PAD = 16 * 1024
LIMIT = 256 * MiB  # TypedServer.max_message_size


def announcing(
    pickled: bytes, specs: list[tuple[bytes, int]], pad: bool = True
) -> bytes:
    """An out-of-band message's header, pickle and pad, announcing ``specs`` (kind, size)."""
    body = struct.pack("!H", len(specs))
    body += b"".join(struct.pack("!cQ", kind, size) for kind, size in specs) + pickled
    return struct.pack("!iI", -2, len(body)) + body + (bytes(PAD) if pad else b"")


def request(ident: str, method: str, buffers: int) -> bytes:
    """A pickled request passing ``buffers`` out-of-band arguments."""
    args = tuple(pickle.PickleBuffer(bytearray(1)) for _ in range(buffers))
    return pickle.dumps((ident, method, args, {}), 5, buffer_callback=lambda _: False)


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with limited_server("tests.security.targets:Guarded") as served:
        yield served


@pytest.fixture(scope="module")
def blobs(target: Target) -> Any:
    m = Guarded(address=target.address, authkey=target.authkey)
    m.connect()
    return m.Blobs()  # type: ignore[attr-defined]


def agreed(target: Target) -> Connection:
    """A long-lived connection on which the server agreed to out-of-band messages."""
    conn = client(target.address, authkey=target.authkey)
    name = _buffers.declare("attacker")
    dispatch: Any = managers.dispatch  # type: ignore[attr-defined]
    answer = dispatch(conn, None, "accept_connection", (name,))
    assert _buffers.ACCEPTED == answer
    return conn


def closed(conn: Connection, timeout: float = 10.0) -> bool:
    """Whether the server closed ``conn`` (without a reply)."""
    if not conn.poll(timeout):
        return False
    try:
        conn.recv_bytes()
    except (EOFError, OSError):
        return True
    return False


def test_the_server_answers_the_declaration_only(target: Target) -> None:
    """A name without the tag (a stdlib client's) gets the stdlib's ``None``."""
    conn = client(target.address, authkey=target.authkey)
    dispatch: Any = managers.dispatch  # type: ignore[attr-defined]
    assert None is dispatch(conn, None, "accept_connection", ("a stdlib client",))


def test_buffers_past_the_message_limit_close_the_connection_unread(
    target: Target, blobs: Any
) -> None:
    """A 2 GiB buffer announced: refused before anything is allocated or read."""
    before = rss(target.pid)
    conn = agreed(target)
    conn._send(announcing(request(blobs._id, "size", 1), [(b"y", 2048 * MiB)]))  # type: ignore[attr-defined]
    assert closed(conn)
    assert rss(target.pid) - before < 16 * MiB
    assert 3 == blobs.size(b"abc")


def test_announced_buffers_never_sent_cost_what_arrived_beyond_a_bound(
    target: Target, blobs: Any
) -> None:
    """Eight peers announcing 200 MiB each, sending a few KiB: the server allocates ahead
    of arrival 256 MiB at most, process-wide (the first one's), and the others' buffers
    grow as their bytes come; an honest large call is served meanwhile."""
    before = rss(target.pid)
    liars = []
    for _ in range(8):
        conn = agreed(target)
        message = announcing(request(blobs._id, "size", 1), [(b"a", 200 * MiB)])
        conn._send(message + b"x" * 4096)  # type: ignore[attr-defined]
        liars.append(conn)
    payload = bytes(2 * MiB)
    for _ in range(5):  # the server has read what the liars sent meanwhile
        assert len(payload) == blobs.size(payload)
    assert rss(target.pid) - before < 256 * MiB + 32 * MiB
    for conn in liars:
        conn.close()


@pytest.mark.parametrize(
    ("sent", "used", "refusal"),
    [
        (2, 1, "sent 2 out-of-band buffers where its pickle takes 1"),
        (1, 2, "takes more out-of-band buffers than the 1 it sent"),
    ],
)
def test_buffers_the_pickle_does_not_take_one_by_one_are_refused(
    target: Target, blobs: Any, sent: int, used: int, refusal: str
) -> None:
    """More buffers than the pickle takes, or fewer: an error reply, and the connection
    serves the next request."""
    conn = agreed(target)
    specs = [(b"y", 1)] * sent
    conn._send(announcing(request(blobs._id, "size", used), specs) + b"b" * sent)  # type: ignore[attr-defined]
    assert conn.poll(10)
    kind, text = conn.recv()
    assert "#TRACEBACK" == kind
    assert refusal in text
    conn.send((blobs._id, "size", (b"four",), {}))
    assert ("#RETURN", 4) == conn.recv()


def test_a_request_of_no_shape_is_answered_on_an_agreed_connection(
    target: Target, blobs: Any
) -> None:
    """Not a tuple: an error reply, as on any connection, and the connection serves on."""
    conn = agreed(target)
    conn.send(5)
    kind, _ = conn.recv()
    assert "#TRACEBACK" == kind
    conn.send((blobs._id, "size", (b"four",), {}, ()))
    assert ("#RETURN", 4) == conn.recv()


@pytest.mark.parametrize(
    "specs",
    [[], [(b"y", 1)] * 257, [(b"z", 1)]],
    ids=["no buffers", "257 buffers", "unknown kind"],
)
def test_malformed_announcements_close_the_connection(
    target: Target, blobs: Any, specs: list[tuple[bytes, int]]
) -> None:
    """No buffers, more than 256, a kind that does not exist: the stream cannot be trusted further, the server serves on."""
    conn = agreed(target)
    conn._send(announcing(request(blobs._id, "size", len(specs)), specs))  # type: ignore[attr-defined]
    assert closed(conn)
    assert 3 == blobs.size(b"abc")


def test_buffers_where_none_were_agreed_to_close_the_connection(
    target: Target, blobs: Any
) -> None:
    """A connection that did not declare them (a stdlib client's) never takes them."""
    conn = session_less(target)
    conn._send(announcing(request(blobs._id, "size", 1), [(b"y", 1)]) + b"b")  # type: ignore[attr-defined]
    assert closed(conn)
    assert 3 == blobs.size(b"abc")


def test_buffers_as_the_first_request_are_refused(target: Target, blobs: Any) -> None:
    """The first request of a connection (before any agreement) is read in band."""
    conn = client(target.address, authkey=target.authkey)
    conn._send(announcing(request(blobs._id, "size", 1), [(b"y", 1)]) + b"b")  # type: ignore[attr-defined]
    kind, text = conn.recv()
    assert "#TRACEBACK" == kind
    assert "corrupt message length -2" in text
    assert 3 == blobs.size(b"abc")


def test_buffers_without_the_key_are_a_failed_handshake(
    target: Target, blobs: Any
) -> None:
    """In place of the challenge's answer: refused, and nothing is allocated."""
    before = rss(target.pid)
    with socket.create_connection(target.address, timeout=10) as sock:
        sock.settimeout(None)  # Connection reads the descriptor: blocking
        conn = Connection(os.dup(sock.fileno()))
        assert conn.recv_bytes(256).startswith(b"#CHALLENGE#")
        conn._send(announcing(b"", [(b"y", 200 * MiB)], pad=False))  # type: ignore[attr-defined]
        assert conn.poll(10)
        assert b"#FAILURE#" == conn.recv_bytes(256)
        conn.close()
    assert rss(target.pid) - before < 16 * MiB
    assert 3 == blobs.size(b"abc")


def test_a_pickle_with_buffers_is_still_restricted(
    target: Target, blobs: Any, tmp_path: Path
) -> None:
    """Buffers or not, the pickle names only what the allow-list admits."""
    sentinel = tmp_path / "owned"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return os.system, (f"touch {sentinel}",)

    pickled = pickle.dumps(
        (blobs._id, "size", (pickle.PickleBuffer(bytearray(1)), Payload()), {}),
        5,
        buffer_callback=lambda _: False,
    )
    conn = agreed(target)
    conn._send(announcing(pickled, [(b"a", 1)]) + b"b")  # type: ignore[attr-defined]
    kind, text = conn.recv()
    assert "#TRACEBACK" == kind
    assert "RefusedType: refused to load posix.system" in text
    assert not sentinel.exists()
