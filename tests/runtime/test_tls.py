"""TLS: clients check the server's certificate, servers may check clients', plaintext fails."""

from __future__ import annotations

import multiprocessing
import ssl
from collections.abc import Iterator
from multiprocessing import connection
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.certs import Authority
from tests.runtime.fixtures import RuntimeManager
from typedmgr import TypedManager
from typedmgr._channel import client, thread_connection
from typedmgr._server import TypedServer
from typedmgr._tls import TLSConnection

pytestmark = pytest.mark.process

AUTHKEY = b"tls tests"
FORK = multiprocessing.get_context("fork")
# What a refused peer may see: a failed handshake, or a closed connection after it.
REFUSED = (ssl.SSLError, ConnectionError, EOFError)


def board(manager: RuntimeManager) -> Any:
    """A new Board (RuntimeManager is registered at runtime: its methods are
    untyped)."""
    return manager.Board()  # type: ignore[attr-defined]


@pytest.fixture
def ca(tmp_path: Path) -> Authority:
    return Authority(tmp_path, "trusted")


@pytest.fixture
def other_ca(tmp_path: Path) -> Authority:
    return Authority(tmp_path, "other")


def serve(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> RuntimeManager:
    """A started TLS server on 127.0.0.1 (a fresh port: contexts are remembered by
    address)."""
    manager = RuntimeManager(
        address=("127.0.0.1", 0),
        authkey=AUTHKEY,
        ctx=FORK,
        ssl_context=client_context,
        server_ssl_context=server_context,
    )
    manager.start()
    return manager


@pytest.fixture
def served(ca: Authority) -> Iterator[RuntimeManager]:
    server = ca.issue("server", server=True)
    with serve(ca.server_context(server), ca.client_context()) as manager:
        yield manager


def test_calls_and_nested_proxies_travel_over_tls(served: RuntimeManager) -> None:
    """Calls and nested proxies work over TLS, and the thread's connection is a TLS
    one."""
    shared = board(served)
    tally = shared.tally("visits")
    assert tally.add(2) == 2
    found = shared.find("visits")
    assert found is not None and found.total() == 2
    conn = thread_connection(served.address, AUTHKEY, client)
    assert isinstance(conn, TLSConnection)
    assert conn._sock.version() in ("TLSv1.2", "TLSv1.3")


def test_a_plain_server_started_on_a_port_a_tls_server_had_is_talked_to_plainly(
    served: RuntimeManager,
) -> None:
    """Ports are reused: a plain server this process starts where its TLS server was
    is reached without TLS (what was known of the earlier server is forgotten)."""
    address = served.address
    assert isinstance(address, tuple)
    assert board(served).tally("tls").add() == 1
    served.shutdown()
    with RuntimeManager(address=address, authkey=AUTHKEY, ctx=FORK) as plain:
        assert board(plain).tally("plain").add(3) == 3
        conn = thread_connection(address, AUTHKEY, client)
        assert not isinstance(conn, TLSConnection)


def test_a_plaintext_client_cannot_talk_to_a_tls_server(served: RuntimeManager) -> None:
    """A plaintext stdlib client is refused, and the TLS server goes on serving."""
    with pytest.raises(REFUSED):
        assert served.address is not None
        conn = connection.Client(served.address, authkey=AUTHKEY)
        conn.send((None, "number_of_objects", (), {}))
        conn.recv()
    assert board(served).tally("after").add() == 1  # the server keeps serving


def test_a_client_trusting_another_ca_refuses_the_server(
    ca: Authority, other_ca: Authority
) -> None:
    """A client whose context trusts another CA refuses the server's certificate; one
    that trusts its CA connects."""
    server = ca.issue("server", server=True)
    with serve(ca.server_context(server), ca.client_context()) as manager:
        stranger = RuntimeManager(
            address=manager.address,
            authkey=AUTHKEY,
            ssl_context=other_ca.client_context(),
        )
        with pytest.raises(ssl.SSLCertVerificationError):
            stranger.connect()
        # This process's clients of that address now hold the wrong CA, as asked.
        trusting = RuntimeManager(
            address=manager.address, authkey=AUTHKEY, ssl_context=ca.client_context()
        )
        trusting.connect()
        assert board(trusting).tally("t").add(3) == 3


def test_mutual_tls_admits_only_clients_the_client_ca_signed(
    ca: Authority, other_ca: Authority
) -> None:
    """With a client CA, clients without a certificate or with another CA's are refused;
    a signed one connects again and again."""
    clients_ca = Authority(ca.directory, "clients")
    server = ca.issue("server", server=True)
    member = clients_ca.issue("member", server=False)
    outsider = other_ca.issue("outsider", server=False)
    server_context = ca.server_context(server, client_ca=clients_ca)
    with serve(server_context, ca.client_context(member)) as manager:
        assert board(manager).tally("m").add() == 1
        for identity in (None, outsider):
            client = RuntimeManager(
                address=manager.address,
                authkey=AUTHKEY,
                ssl_context=ca.client_context(identity),
            )
            with pytest.raises(REFUSED):
                client.connect()
        member_again = RuntimeManager(
            address=manager.address,
            authkey=AUTHKEY,
            ssl_context=ca.client_context(member),
        )
        member_again.connect()  # a new connection, a new handshake
        assert board(member_again).tally("m").add() == 1


def test_a_context_for_the_other_end_is_refused(ca: Authority) -> None:
    """A server context given as a client's, or a client context as a server's, is a
    ValueError."""
    server_context = ca.server_context(ca.issue("server", server=True))
    with pytest.raises(ValueError, match="made for servers"):
        TypedManager(("127.0.0.1", 0), AUTHKEY, ssl_context=server_context)
    with pytest.raises(ValueError, match="made for clients"):
        TypedManager(("127.0.0.1", 0), AUTHKEY, server_ssl_context=ca.client_context())


def test_tls_needs_a_tcp_address(ca: Authority, tmp_path: Path) -> None:
    """A TLS server on a unix socket is refused."""
    server_context = ca.server_context(ca.issue("server", server=True))
    with pytest.raises(ValueError, match="TLS needs a TCP address"):
        TypedServer(
            {}, str(tmp_path / "sock"), AUTHKEY, "pickle", ssl_context=server_context
        )


def test_starting_a_tls_server_needs_fork_and_a_client_context(ca: Authority) -> None:
    """start() with a server TLS context refuses a spawned server, and a manager with no
    client context."""
    server_context = ca.server_context(ca.issue("server", server=True))
    spawned = RuntimeManager(
        ("127.0.0.1", 0),
        AUTHKEY,
        ctx=multiprocessing.get_context("spawn"),
        ssl_context=ca.client_context(),
        server_ssl_context=server_context,
    )
    with pytest.raises(ValueError, match="cannot be sent to a spawned server"):
        spawned.start()
    mute = RuntimeManager(
        ("127.0.0.1", 0), AUTHKEY, ctx=FORK, server_ssl_context=server_context
    )
    with pytest.raises(ValueError, match="pass ssl_context"):
        mute.start()
