"""String typeids on a TypedManager behave as on BaseManager, for typed and stdlib peers."""

from __future__ import annotations

import multiprocessing
import pickle
from multiprocessing import process
from multiprocessing.managers import BaseProxy, ListProxy
from typing import Any

import pytest

from tests.process import children
from tests.process.legacy import LegacyManager, StdlibClient
from tests.process.nesting import CountedSync, TypedSync
from tests.process.support import TIMEOUT, run_children, server_process
from tests.wiring import connections_opened, wait_for

pytestmark = pytest.mark.process

AUTHKEY = b"legacy-process-tests"
#: Stdlib proxies rebuilt from a reply authenticate with the process's key (gh-78740).
PROCESS_KEY = bytes(process.current_process().authkey)


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


def test_string_typeids_are_created_and_released_on_the_threads_connection() -> None:
    """Creating an object of a string typeid (one a stdlib base class registered too)
    opens no connection, and dropping its proxy releases it before the next line."""
    with CountedSync(address=("127.0.0.1", 0), authkey=PROCESS_KEY) as m:
        baseline = m._number_of_objects()  # type: ignore[attr-defined]
        m.dict()  # connects this thread, and the process's lease
        with connections_opened(m) as opened:
            for _ in range(10):
                shared = m.list([m.dict(a=1)])
                # The DictProxy reading shared[0] rebuilds takes and releases its
                # reference on the thread's connection and the lease, too.
                assert 1 == shared[0]["a"]
                probe = m.Probe()  # type: ignore[attr-defined]
        assert 0 == opened.count
        assert "AutoProxy[Probe]" == type(probe).__name__
        del shared, probe
        m.dict()  # a request, carrying the release of the count's own proxy
        assert baseline == m._number_of_objects()  # type: ignore[attr-defined]


def test_a_connection_a_stdlib_proxy_made_carries_no_creation() -> None:
    """A stdlib proxy closes the thread's connection when it knows of no reference left,
    and its next call connects anew, naming no session: creations must not go there."""
    with TypedSync(address=("127.0.0.1", 0), authkey=PROCESS_KEY) as m:
        queue = m.Queue()
        queue.put(m.list())
        # Unpickled outside a reply (from a pipe, say): a stdlib proxy of its own.
        got = queue.get()
        received = pickle.loads(pickle.dumps(got))
        assert isinstance(received, ListProxy)
        local, _ = BaseProxy._address_to_local[m.address]  # type: ignore[index]
        local.connection.close()  # as the stdlib's BaseProxy._decref may
        del local.connection
        received._connect()  # type: ignore[attr-defined]  # as its _callmethod then does
        stdlib_made = local.connection
        assert 0 == len(received)
        created = m.dict(a=1)
        assert stdlib_made.closed
        assert local.connection is local.wire.conn  # the session's
        assert 1 == created["a"]


def test_stdlib_proxies_in_a_typed_client_are_released_once() -> None:
    """An object another client holds too survives a typed client whose stdlib proxy
    received and released it, once that client's session has ended."""
    with server_process(
        "tests.process.legacy:CountedLegacyManager", ("127.0.0.1", 0), PROCESS_KEY
    ) as address:
        m = StdlibClient(address=address, authkey=PROCESS_KEY)
        m.connect()
        member: Any = m.SharedFamily().eldest()  # type: ignore[attr-defined]
        doorman: Any = m.Doorman()  # type: ignore[attr-defined]
        ours = doorman.serving()  # this thread's connection
        before = m._number_of_objects()  # type: ignore[attr-defined]
        [greeting] = run_children(children.eldest_then_exit, [(address, PROCESS_KEY)])
        assert "hi, kid" == greeting
        # The child's connections have ended on the server, its lease's session with them.
        wait_for(lambda: doorman.serving() == ours, timeout=TIMEOUT)
        assert "hi, mum" == member.hello("mum")
        assert before == m._number_of_objects()  # type: ignore[attr-defined]
