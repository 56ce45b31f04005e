"""String typeids on a TypedManager behave as on BaseManager, for typed and stdlib peers."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest

from tests.process import children
from tests.process.legacy import LegacyManager, StdlibClient
from tests.process.support import server_process

pytestmark = pytest.mark.process

AUTHKEY = b"legacy-process-tests"


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_string_typeids_get_autoproxies(method: str) -> None:
    """register('Greeter', Greeter) then m.Greeter() returns a working AutoProxy."""
    with LegacyManager(ctx=multiprocessing.get_context(method)) as m:
        greeter: Any = children.create(m, "Greeter", "hey")
        assert "AutoProxy[Greeter]" == type(greeter).__name__
        assert greeter._isauto
        assert {"hello", "greeted"} == set(greeter._exposed_)
        assert "hey, ann" == greeter.hello("ann")
        assert ["ann"] == greeter.greeted()
        member: Any = children.create(m, "Family").eldest()
        assert "AutoProxy[Member]" == type(member).__name__
        assert "hi, bob" == member.hello("bob")
        d: Any = children.create(m, "Dict")
        d["x"] = 1
        assert {"x": 1} == d.copy()
        with pytest.raises(TypeError):
            greeter.hello()  # raised on the server, as with the stdlib
        with pytest.raises(AttributeError):
            greeter._private()  # not exposed: no such proxy method


def test_stdlib_client_uses_a_typed_server() -> None:
    """A plain BaseManager client connects to a TypedManager serving string typeids."""
    with server_process(
        "tests.process.legacy:LegacyManager", ("127.0.0.1", 0), AUTHKEY
    ) as address:
        m = StdlibClient(address=address, authkey=AUTHKEY)
        m.connect()
        greeter: Any = m.Greeter()  # type: ignore[attr-defined]
        assert "hello, cyd" == greeter.hello("cyd")
        member: Any = m.Family().eldest()  # type: ignore[attr-defined]
        assert "hi, dan" == member.hello("dan")
        typed = LegacyManager(address=address, authkey=AUTHKEY)
        typed.connect()
        assert "hello, eve" == children.create(typed, "Greeter").hello("eve")
