"""Class 1: loading a message never connects anywhere, nor signs anyone's challenge.

A request (or a reply) may carry a proxy whose token names another address. The stdlib's
``RebuildProxy`` increfs it while loading: the receiver connects there and answers that
address's challenge, with the process's own key when it has none for it. These attacks
point such tokens at a tripwire listener, which must never see a connection.
"""

from __future__ import annotations

import pickle
from multiprocessing import AuthenticationError
from typing import Any

import pytest

from tests.security.attack import (
    Tripwire,
    call,
    exchange,
    limited_server,
    op_global,
    op_string,
    session_less,
)
from tests.security.targets import Hostile, Ledger, Smuggled
from typedmgr._proxy import proxy_class_for

pytestmark = pytest.mark.process


def test_a_request_carrying_a_foreign_proxy_connects_nowhere() -> None:
    """The server loads the proxy inert: no connection to the address its token names."""
    with limited_server("tests.security.targets:Guarded") as target, Tripwire() as wire:
        m = Hostile(address=target.address, authkey=target.authkey)
        m.connect()
        ledger: Any = m.Ledger()  # type: ignore[attr-defined]
        conn = session_less(target)
        request: tuple[object, ...] = (
            ledger._id,
            "size",
            (Smuggled(wire.address),),
            {},
        )
        kind, _ = exchange(conn, pickle.dumps(request))
        assert 0 == wire.connections
        assert "#ERROR" == kind  # loaded, then size() refused the argument
        assert 0 == ledger.size()


@pytest.mark.parametrize("factory", ["ProxyFactory", "TypedIterator"])
def test_a_proxy_class_cannot_be_called_directly_while_loading(factory: str) -> None:
    """REDUCE on ``ProxyFactory(P)`` (or ``TypedIterator``) with a token: refused unbuilt."""
    with limited_server("tests.security.targets:Guarded") as target, Tripwire() as wire:
        host, port = wire.address
        token = (
            op_global("multiprocessing.managers", "Token")
            + b")\x81"  # Token.__new__(Token), then its state (typeid, address, id)
            + op_string("Ledger")
            + op_string(host)
            + b"J"
            + port.to_bytes(4, "little")
            + b"\x86"
            + op_string("7f00")
            + b"\x87b"
        )
        if factory == "ProxyFactory":
            callee = (
                op_global("typedmgr", "ProxyFactory")
                + op_global("tests.security.targets", "Ledger")
                + b"\x85R"
            )
        else:
            callee = op_global("typedmgr", "TypedIterator")
        args = b"(" + callee + token + op_string("pickle") + b"\x86R" + b"\x85"
        kind, text = exchange(
            session_less(target), call("0", "size", args)[:-2] + b"t."
        )
        assert 0 == wire.connections
        assert "#TRACEBACK" == kind
        assert "refused to call" in text


def test_a_hostile_server_cannot_make_its_client_connect_elsewhere() -> None:
    """A reply carrying a proxy of another address is loaded inert on the client too."""
    with limited_server("tests.security.targets:Hostile") as target, Tripwire() as wire:
        m = Hostile(address=target.address, authkey=target.authkey)
        m.connect()
        m.Ledger()  # type: ignore[attr-defined]  # this process has Ledger proxies
        oracle: Any = m.Oracle()  # type: ignore[attr-defined]
        planted: Any = oracle.answer(*wire.address)
        assert 0 == wire.connections
        rebuilt_as = type(planted)
        assert proxy_class_for(Ledger) is rebuilt_as
        with pytest.raises(AuthenticationError, match="no authkey"):
            planted.size()  # no key for that address in this process: refused unsent
        assert 0 == wire.connections


def test_an_unpickled_proxy_never_signs_with_the_process_authkey() -> None:
    """A proxy rebuilt by plain pickle (a queue) for an address no manager here knows
    refuses to connect, instead of answering that address's challenge with our key."""
    with Tripwire() as wire:
        with pytest.raises(AuthenticationError, match="no authkey"):
            pickle.loads(pickle.dumps(Smuggled(wire.address)))
        assert 0 == wire.connections
