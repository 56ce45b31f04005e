"""The server's reference books: per object, per client session, and in flight.

Driven in process through the server's own request handler with the requests clients send,
so that the order of a client's last requests and its session's end is the test's to choose.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.runtime.fixtures import Tally, TallyImpl
from typedmgr import TypedManager
from typedmgr._channel import PROXIED, RELEASE
from typedmgr._server import TypedServer

ANN, BOB = "a" * 16, "b" * 16
#: The one object every creation of "Shared" returns: its ident comes back each time.
SHARED = TallyImpl()


class Books(TypedManager):
    pass


Books.register(Tally, TallyImpl)
Books.register(Tally, lambda: SHARED, protocol_typeid="Shared")


@pytest.fixture
def server() -> Iterator[TypedServer]:
    server = Books(address=("127.0.0.1", 0), authkey=b"books").get_server()
    assert isinstance(server, TypedServer)
    try:
        yield server
    finally:
        server.listener.close()


def request(server: TypedServer, session: str | None, *message: Any) -> Any:
    """What ``server`` replies to ``message`` from a connection of ``session``."""
    server._connection.session = session
    reply = server._handle(None, message)  # type: ignore[arg-type]
    if reply is None:
        return None
    kind, result = reply
    assert kind in ("#RETURN", PROXIED), result
    return result


def create(server: TypedServer, session: str | None, typeid: str) -> str:
    """The ident of a new object of ``typeid``, created by a client of ``session``."""
    _, _, ident = request(server, session, None, "create", (typeid,), {})
    return str(ident)


def test_a_release_read_after_its_sessions_end_is_not_counted_again(
    server: TypedServer,
) -> None:
    """A release read after its session ended (which released it already) leaves other
    holders' references alone."""
    ident = create(server, ANN, "Tally")
    request(server, BOB, None, "incref", (ident,), {})
    server._end_session(ANN)  # Ann's lease closed before her last release was read
    request(server, ANN, None, RELEASE, (ident,), {})
    assert 1 == server.id_to_refcount[ident]  # Bob's reference
    request(server, BOB, None, RELEASE, (ident,), {})
    assert ident not in server.id_to_refcount


def test_a_stale_release_leaves_a_new_holder_of_the_ident_alone(
    server: TypedServer,
) -> None:
    """A release repeated after its object was disposed of leaves a new object with the
    same ident alone."""
    ident = create(server, ANN, "Shared")
    request(server, ANN, None, RELEASE, (ident,), {})
    assert ident not in server.id_to_refcount
    again = create(server, BOB, "Shared")
    assert ident == again
    request(server, ANN, None, RELEASE, (ident,), {})  # sent twice by a confused client
    assert 1 == server.id_to_refcount[ident]


def test_a_sessions_end_releases_what_it_held_and_nothing_else(
    server: TypedServer,
) -> None:
    """A session's end releases the references it held, not those of other sessions or
    of no session."""
    mine = create(server, ANN, "Tally")
    request(server, ANN, None, "incref", (mine,), {})
    shared = create(server, ANN, "Tally")
    request(server, BOB, None, "incref", (shared,), {})
    stdlib = create(server, None, "Tally")  # a reference of no session
    server._end_session(ANN)
    assert {shared: 1, stdlib: 1} == server.id_to_refcount
    server._end_session(BOB)
    assert {stdlib: 1} == server.id_to_refcount
