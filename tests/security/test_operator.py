"""Class 6 and 7: what a key holder may do to the server itself, and where it may serve.

``shutdown`` of a ``get_server()`` server took one request from any key holder, and
``debug_info`` handed out every object's ident and ``str()``. Now a server obeys
``shutdown`` only from the process that started it (``start()``), or from anyone if the
manager says ``remote_admin=True``; ``debug_info`` needs ``remote_admin`` too. The
non-loopback checks decide by the address a host resolves to, not by its spelling.
"""

from __future__ import annotations

from multiprocessing import managers

import pytest

from tests.security.attack import Target, limit_address_space, limited_server
from tests.security.targets import Guarded, Ledger, LedgerImpl
from typedmgr import TypedManager
from typedmgr._channel import client

pytestmark = pytest.mark.process


def operator_request(target: Target, name: str) -> object:
    """``name`` as the one request of a new, authenticated connection."""
    conn = client(target.address, authkey=target.authkey)
    try:
        return managers.dispatch(conn, None, name)  # type: ignore[attr-defined]
    finally:
        conn.close()


@pytest.mark.parametrize("name", ["shutdown", "debug_info"])
def test_a_key_holder_cannot_shut_down_or_list_a_served_server(name: str) -> None:
    """Refused with a one-line reason; the server serves on."""
    with limited_server("tests.security.targets:Guarded") as target:
        with pytest.raises(managers.RemoteError, match=f"{name} refused"):
            operator_request(target, name)
        m = Guarded(address=target.address, authkey=target.authkey)
        m.connect()
        assert 1 == m.Ledger().load({1: 1})  # type: ignore[attr-defined]


def test_remote_admin_lets_key_holders_administer() -> None:
    """The opt-in: debug_info answers, shutdown stops the server."""
    with limited_server("tests.security.targets:Administered") as target:
        assert isinstance(operator_request(target, "debug_info"), str)
        assert operator_request(target, "shutdown") is None


def test_a_started_server_obeys_only_its_starter() -> None:
    """Another key holder's shutdown is refused; the starting manager's works."""
    m = Guarded(address=("127.0.0.1", 0), authkey=b"starter")
    m.start(limit_address_space)
    with m:
        assert m.address is not None
        target = Target(m.address, b"starter", 0)
        with pytest.raises(managers.RemoteError, match="shutdown refused"):
            operator_request(target, "shutdown")
        assert 1 == m.Ledger().load({1: 1})  # type: ignore[attr-defined]
    process = m._process  # type: ignore[attr-defined]
    assert process.exitcode == 0


class Loose(TypedManager):
    """Protocol registrations, default authkey (the process's inherited one)."""


Loose.register(Ledger, LedgerImpl)


def test_exposure_is_decided_by_the_resolved_address() -> None:
    """A name that only looks like loopback is not loopback."""
    m = Loose(address=("127.attacker.example", 0))
    with pytest.raises(ValueError, match="empty or inherited authkey"):
        m.get_server()


def test_localhost_is_still_loopback() -> None:
    """What resolves to loopback serves with the inherited key, as before."""
    server = Loose(address=("localhost", 0)).get_server()
    server.listener.close()  # type: ignore[attr-defined]


class Strings(TypedManager):
    """A stdlib-style registration: full unpickling (an authenticated peer runs code)."""


Strings.register("Box", list)


class StringsOptIn(TypedManager, unpickling="full"):
    """The same, with the trust chosen explicitly."""


StringsOptIn.register("Box", list)


def test_string_registrations_are_not_served_beyond_this_host() -> None:
    """Refused before binding, naming the typeids, the risk and the opt-in."""
    m = Strings(address=("127.attacker.example", 0), authkey=b"strong key")
    with pytest.raises(ValueError, match=r"string registrations \(Box\).*unpickling"):
        m.get_server()


def test_string_registrations_serve_with_explicit_full_unpickling() -> None:
    """With the opt-in the check passes (the name then fails to resolve, to bind)."""
    m = StringsOptIn(address=("127.attacker.example", 0), authkey=b"strong key")
    with pytest.raises(OSError):  # socket.gaierror: bound nowhere
        m.get_server()


def test_string_registrations_still_serve_on_loopback_and_unix(
    tmp_path: object,
) -> None:
    """The drop-in is unchanged where only this host reaches it."""
    server = Strings(address=("127.0.0.1", 0), authkey=b"k").get_server()
    server.listener.close()  # type: ignore[attr-defined]
