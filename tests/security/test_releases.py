"""Class 4: a connection may release only the references its own session holds.

A decref, a release request or the releases riding on a request, sent on a connection that
names no session (or another session), used to free another client's object; in some runs
the victim's proxy then reached whatever object got the freed ident next.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from multiprocessing import managers
from typing import Any

import pytest

from tests.security.attack import Target, exchange, limited_server, session_less
from tests.security.targets import Guarded
from typedmgr._channel import RELEASE, client

pytestmark = pytest.mark.process


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    """A server of ledgers, under an address-space limit."""
    with limited_server("tests.security.targets:Guarded") as served:
        yield served


def releases(ident: str) -> dict[str, bytes]:
    """Every way a connection can ask to release ``ident``, as raw requests."""
    return {
        "decref": pickle.dumps((None, "decref", (ident,), {})),
        "release": pickle.dumps((None, RELEASE, (ident,) * 8, {})),
        "fifth element": pickle.dumps((None, "dummy", (), {}, (ident,) * 8)),
    }


@pytest.mark.parametrize("how", ["decref", "release", "fifth element"])
def test_a_session_less_connection_cannot_free_a_clients_object(
    target: Target, how: str
) -> None:
    """The victim's ledger survives, and its proxy still reaches it."""
    victim = Guarded(address=target.address, authkey=target.authkey)
    victim.connect()
    ledger: Any = victim.Ledger()  # type: ignore[attr-defined]
    assert 1 == ledger.load({7: 7})
    conn = session_less(target)
    conn.send_bytes(releases(ledger._id)[how])
    if how == "decref":
        kind, _ = conn.recv()
        assert "#TRACEBACK" == kind
    for _ in range(3):  # the stdlib's #GETVALUE of a freed ident fails with KeyError
        assert 1 == ledger.size()
    assert 2 == ledger.load({8: 8})


def test_a_fresh_connection_cannot_decref_a_clients_object(target: Target) -> None:
    """The stdlib way: ``decref`` as the one request of a new connection."""
    victim = Guarded(address=target.address, authkey=target.authkey)
    victim.connect()
    ledger: Any = victim.Ledger()  # type: ignore[attr-defined]
    for _ in range(3):
        conn = client(target.address, authkey=target.authkey)
        with pytest.raises(managers.RemoteError, match="holds no reference"):
            managers.dispatch(conn, None, "decref", (ledger._id,))  # type: ignore[attr-defined]
        conn.close()
    assert 0 == ledger.size()


def test_another_session_cannot_free_a_clients_object(target: Target) -> None:
    """A connection naming a session of its own releases only what that session holds."""
    victim = Guarded(address=target.address, authkey=target.authkey)
    victim.connect()
    ledger: Any = victim.Ledger()  # type: ignore[attr-defined]
    conn = client(target.address, authkey=target.authkey)
    managers.dispatch(  # type: ignore[attr-defined]
        conn, None, "accept_connection", ("x [typedmgr session 00000000deadbeef]",)
    )
    kind, _ = exchange(conn, releases(ledger._id)["decref"])
    assert "#TRACEBACK" == kind
    assert 0 == ledger.size()


def test_stdlib_clients_still_release_their_own(target: Target) -> None:
    """What a session-less connection created, another session-less one may release."""
    creator = client(target.address, authkey=target.authkey)
    ident, _ = managers.dispatch(creator, None, "create", ("Ledger",))  # type: ignore[attr-defined]
    other = client(target.address, authkey=target.authkey)
    managers.dispatch(other, None, "decref", (ident,))  # type: ignore[attr-defined]
    kind, _ = exchange(session_less(target), pickle.dumps((ident, "size", (), {})))
    assert "#TRACEBACK" == kind  # released: gone
