"""Stdlib proxy classes created through a TypedManager talk the way typed proxies do.

AutoProxy, SyncManager's proxies and hand-written ``BaseProxy`` subclasses of string
typeids keep their classes' public behaviour, but call on the thread's session connection:
a returned remote object in one round trip, an interrupted call dropped, TLS, and
references counted against the client's session.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from multiprocessing.managers import ListProxy
from pathlib import Path
from typing import Any

import pytest

from tests.process.counting import CallingProxy, CountingManager
from tests.process.nesting import TypedSync
from tests.process.support import server_process, stop
from tests.runtime.certs import Authority
from tests.runtime.test_lifetime import wait_for

pytestmark = pytest.mark.process

AUTHKEY = b"stdlib proxies through typedmgr"


@pytest.fixture(scope="module")
def counting() -> Iterator[CountingManager]:
    """A client of a CountingServer in a process of its own."""
    with server_process(
        "tests.process.counting:CountingManager", ("127.0.0.1", 0), AUTHKEY
    ) as address:
        manager = CountingManager(address=address, authkey=AUTHKEY)
        manager.connect()
        yield manager


def test_a_returned_object_of_a_string_typeid_takes_one_round_trip(
    counting: CountingManager,
) -> None:
    """A method_to_typeid method of an AutoProxy returns its proxy on the thread's
    connection: no new connection, one request (the stdlib opens three connections)."""
    counts: Any = counting.Counts()  # type: ignore[attr-defined]
    family: Any = counting.Family()  # type: ignore[attr-defined]
    connections, requests = counts.seen()
    member = family.eldest()
    after_connections, after_requests = counts.seen()
    assert "AutoProxy[Member]" == type(member).__name__
    assert connections == after_connections
    assert after_requests - requests <= 3  # eldest(), and this seen()
    assert "hi, ann" == member.hello("ann")


def test_a_proxy_class_overriding_callmethod_keeps_its_override(
    counting: CountingManager,
) -> None:
    """A hand-written proxy class's own ``_callmethod`` still runs, and its ``super()``
    call goes on the thread's connection: no connection is opened."""
    counts: Any = counting.Counts()  # type: ignore[attr-defined]
    called: Any = counting.Called()  # type: ignore[attr-defined]
    connections, _ = counts.seen()
    assert isinstance(called, CallingProxy)
    assert "CallingProxy" == type(called).__name__
    assert "hello, cy" == called.hello("cy")
    assert ["hello"] == CallingProxy.called[-1:]
    assert connections == counts.seen()[0]


def test_runtime_built_proxies_are_created_and_released_as_generated_ones(
    counting: CountingManager,
) -> None:
    """A proxy class built at runtime (no generated module) adopts its reference as a
    generated one does: creating and dropping one costs one request, its release riding
    on the next request instead of an exchange of its own."""
    counts: Any = counting.Counts()  # type: ignore[attr-defined]
    counting.Tally()  # type: ignore[attr-defined]  # its class is checked once
    _, requests = counts.seen()  # carries the release of that one
    objects = counting._number_of_objects()  # type: ignore[attr-defined]
    for _ in range(10):
        tally: Any = counting.Tally()  # type: ignore[attr-defined]
        assert "TallyProxy" == type(tally).__name__
        del tally
    _, after = counts.seen()  # carries the last release
    assert 11 == after - requests  # ten creations, and this seen()
    assert objects == counting._number_of_objects()  # type: ignore[attr-defined]


class _Interrupted(Exception):
    """Raised by the signal handler in the middle of a call."""


def _interrupt(signum: int, frame: object) -> None:
    raise _Interrupted


def test_the_call_after_an_interrupted_one_gets_its_own_reply(
    counting: CountingManager,
) -> None:
    """An AutoProxy call interrupted by a signal between send and receive leaves no reply
    behind for the next call to read (the stdlib returns the old reply to it)."""
    sleeper: Any = counting.Sleeper()  # type: ignore[attr-defined]
    previous = signal.signal(signal.SIGUSR1, _interrupt)
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGUSR1))
    try:
        timer.start()
        with pytest.raises(_Interrupted):
            sleeper.slowly(1.0, "the interrupted call's reply")
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)
    assert "hello, bob" == sleeper.hello("bob")
    assert "later" == sleeper.slowly(0.0, "later")


def test_a_sync_manager_list_works_against_a_tls_server(tmp_path: Path) -> None:
    """SyncManager's list() proxy, created through a TypedManager, reaches a TLS server."""
    ca = Authority(tmp_path, "ca")
    manager = TypedSync(
        address=("127.0.0.1", 0),
        authkey=AUTHKEY,
        ctx=multiprocessing.get_context("fork"),
        ssl_context=ca.client_context(),
        server_ssl_context=ca.server_context(ca.issue("server", server=True)),
    )
    with manager:
        shared = manager.list([1, 2])
        assert isinstance(shared, ListProxy)
        shared.append(3)
        assert [1, 2, 3] == shared[:]
        holder = manager.dict(items=shared)
        assert [1, 2, 3] == holder["items"][:]


def _hold_stdlib_proxies_and_wait(address: Any, ready: Any) -> None:
    """Child process: take references through stdlib proxy classes, report, wait to die."""
    client = CountingManager(address=address, authkey=AUTHKEY)
    client.connect()
    kept = [
        client.Sleeper(),  # type: ignore[attr-defined]
        client.Family().eldest(),  # type: ignore[attr-defined]
    ]
    ready.put(len(kept))
    threading.Event().wait()


def test_a_killed_clients_stdlib_proxy_references_are_released(
    counting: CountingManager,
) -> None:
    """What a client held through stdlib proxy classes (created, and returned by a
    method) is released when that client is killed."""
    baseline = counting._number_of_objects()  # type: ignore[attr-defined]
    ctx = multiprocessing.get_context("spawn")
    ready: Any = ctx.Queue()
    child = ctx.Process(
        target=_hold_stdlib_proxies_and_wait, args=(counting.address, ready)
    )
    child.start()
    try:
        assert 2 == ready.get(timeout=30)
        held = counting._number_of_objects()  # type: ignore[attr-defined]
        assert baseline + 2 == held  # the sleeper, and the family's eldest
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(10)
        wait_for(
            lambda: counting._number_of_objects() == baseline,  # type: ignore[attr-defined]
            10.0,
        )
    finally:
        stop([child])
        ready.close()
