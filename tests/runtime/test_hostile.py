"""An authenticated but hostile peer cannot make the server run code."""

from __future__ import annotations

import os
import pickle
import sys
import types
from collections.abc import Iterator
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

import pytest

from shop_proxies import ShopManager
from tests.runtime.fixtures import RuntimeManager
from typedmgr import RefusedType, TypedManager
from typedmgr._channel import client
from typedmgr._errors import RefusedArgument

pytestmark = pytest.mark.process

AUTHKEY = b"hostile"


class Payload:
    """Unpickling this calls os.system: what any authkey holder can send the stdlib."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (f"touch {self.sentinel}",))


@pytest.fixture
def served() -> Iterator[ShopManager]:
    """The shop (Protocol registrations only: restricted unpickling by default)."""
    with ShopManager(address=("127.0.0.1", 0), authkey=AUTHKEY) as m:
        yield m


def request(conn: Connection, message: object) -> tuple[str, object]:
    """Send one raw message and read the reply."""
    conn.send(message)
    reply: tuple[str, object] = conn.recv()
    return reply


def test_a_code_running_pickle_is_refused_on_a_new_connection(
    served: ShopManager, tmp_path: Path
) -> None:
    """The first request of a connection is loaded through the allow-list too."""
    sentinel = tmp_path / "pwned"
    assert served.address is not None
    conn = client(served.address, authkey=AUTHKEY)
    kind, text = request(conn, (None, "create", ("Counter", Payload(sentinel)), {}))
    assert "#TRACEBACK" == kind
    assert "refused to load posix.system" in str(text)
    assert not sentinel.exists()
    assert 1 == served.Counter().increment()  # and the server goes on


def test_a_code_running_pickle_is_refused_in_a_call(
    served: ShopManager, tmp_path: Path
) -> None:
    """Arguments of calls on a long-lived connection are loaded through the allow-list."""
    sentinel = tmp_path / "pwned"
    counter = served.Counter()
    assert served.address is not None
    conn = client(served.address, authkey=AUTHKEY)
    assert ("#RETURN", None) == request(
        conn, (None, "accept_connection", ("rogue",), {})
    )
    kind, text = request(conn, (counter._id, "increment", (Payload(sentinel),), {}))
    assert "#TRACEBACK" == kind
    assert "refused to load posix.system" in str(text)
    assert not sentinel.exists()
    assert 2 == counter.increment(by=2)


def test_a_value_type_no_protocol_names_is_refused_with_how_to_allow_it(
    served: ShopManager,
) -> None:
    """A typed client sending an unannotated type gets an error naming it."""
    counter = served.Counter()
    with pytest.raises(RefusedArgument, match=r"decimal\.Decimal.*allow="):
        counter.increment(Decimal(1))  # type: ignore[arg-type]


class Lenient(RuntimeManager, allow=(Decimal,)):
    """The same registrations, with Decimal allowed."""


class Trusting(RuntimeManager, unpickling="full"):
    """The stdlib's trust model, chosen explicitly."""


@pytest.mark.parametrize("manager_class", [Lenient, Trusting])
def test_allowing_types_or_full_pickle_is_an_explicit_choice(
    manager_class: type[TypedManager],
) -> None:
    """allow=(Decimal,) or unpickling="full" let the Decimal through."""
    with manager_class(address=("127.0.0.1", 0)) as m:
        tally: Any = m.Tally()  # type: ignore[attr-defined]
        assert Decimal(3) == tally.add(Decimal(3))


def test_stdlib_style_registrations_keep_full_pickle() -> None:
    """A manager with plain string typeids stays a drop-in BaseManager (auto = full)."""

    class Mixed(TypedManager):
        pass

    Mixed.register("Box", list)
    server = Mixed(address=("127.0.0.1", 0), authkey=b"x").get_server()
    try:
        assert Decimal(1) == server.loads(pickle.dumps(Decimal(1)))  # type: ignore[attr-defined]
    finally:
        server.listener.close()  # type: ignore[attr-defined]


def test_containers_cannot_be_built_by_name(served: ShopManager) -> None:
    """``list(range(10**12))`` by REDUCE would exhaust the memory: refused, never built."""
    bomb = b"\x80\x04cbuiltins\nlist\ncbuiltins\nrange\nJ\x00\x10\xa5\xd4\x85R\x85R."
    assert served.address is not None
    conn = client(served.address, authkey=AUTHKEY)
    kind, text = request_bytes(conn, bomb)
    assert "#TRACEBACK" == kind
    assert "refused to load builtins.list" in str(text)


def request_bytes(conn: Connection, payload: bytes) -> tuple[str, object]:
    """Send one raw pickled request and read the reply."""
    conn.send_bytes(payload)
    reply: tuple[str, object] = conn.recv()
    return reply


class OracleError(Exception):
    pass


class Oracle(Protocol):
    def answer(self) -> object: ...
    def number(self) -> int: ...
    def fail(self, module: str) -> int: ...


class HostileOracle:
    """A server-side object whose answer runs ``touch sentinel`` wherever it is unpickled."""

    def __init__(self, sentinel: str) -> None:
        self.sentinel = Path(sentinel)

    def answer(self) -> object:
        return Payload(self.sentinel)

    def number(self) -> int:
        return 7

    def fail(self, module: str) -> int:
        """Raise an OracleError, or an exception of a class living in ``module``."""
        if module == __name__:
            raise OracleError("no answer")
        error = type("Sneaky", (OracleError,), {"__module__": module})
        home = sys.modules[module] = types.ModuleType(module)  # the server's only
        home.Sneaky = error  # type: ignore[attr-defined]
        raise error("no answer")


class Oracles(TypedManager):
    pass


Oracles.register(Oracle, HostileOracle)


class TrustedOracles(TypedManager, unpickling="full"):
    pass


TrustedOracles.register(Oracle, HostileOracle)


def test_a_hostile_server_cannot_run_code_in_the_client(tmp_path: Path) -> None:
    """Replies are loaded through the client's allow-list: the payload never runs."""
    sentinel = tmp_path / "pwned-client"
    with Oracles(address=("127.0.0.1", 0), authkey=AUTHKEY) as m:
        oracle: Any = m.Oracle(str(sentinel))  # type: ignore[attr-defined]
        with pytest.raises(RefusedType, match=r"refused to load posix\.system"):
            oracle.answer()
        assert not sentinel.exists()
        assert 7 == oracle.number()  # the connection stays usable


def test_a_client_trusts_a_server_only_when_told(tmp_path: Path) -> None:
    """``unpickling="full"`` on the manager class: its replies load in full, payload and all."""
    sentinel = tmp_path / "trusted"
    with TrustedOracles(address=("127.0.0.1", 0), authkey=AUTHKEY) as m:
        oracle: Any = m.Oracle(str(sentinel))  # type: ignore[attr-defined]
        assert 0 == oracle.answer()  # os.system's exit status: the command ran
        assert sentinel.exists()


def test_exceptions_of_imported_modules_arrive_others_are_refused(
    tmp_path: Path,
) -> None:
    """A remote exception needs no allow-list entry if the client imported its class."""
    with Oracles(address=("127.0.0.1", 0), authkey=AUTHKEY) as m:
        oracle: Any = m.Oracle(str(tmp_path / "unused"))  # type: ignore[attr-defined]
        with pytest.raises(OracleError, match="no answer"):
            oracle.fail(__name__)
        with pytest.raises(
            RefusedType, match=r"refused to load never_imported_here\.Sneaky"
        ):
            oracle.fail("never_imported_here")
        assert "never_imported_here" not in sys.modules


def test_a_memo_bomb_is_refused_unread(served: ShopManager) -> None:
    """LONG_BINPUT to index 8e8: the C loader would clear a 12 GB memo before failing."""
    bomb = b"\x80\x04(\x8c\x010}\x8c\x03addr" + (814_022_987).to_bytes(4, "little")
    bomb += b"\x94}\x94t\x94."
    assert served.address is not None
    conn = client(served.address, authkey=AUTHKEY)
    kind, text = request_bytes(conn, bomb)
    assert "#TRACEBACK" == kind
    assert "memo index 814022987 exceeds" in str(text)
    assert 1 == served.Counter().increment()
