"""Class 2: a peer without the key cannot stop the server, for a while or for good.

Idle connections that never authenticate used to hold a thread each, with no deadline: a
few hundred exhausted thread creation, and the ``RuntimeError`` killed the stdlib's
accepting thread, so the server listened on and served no one, ever again.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from multiprocessing import connection
from typing import Any

import pytest

from shop_proxies import ShopManager
from tests.process import children, support
from tests.security.attack import Target, eventually, limited_server
from tests.security.targets import Guarded
from typedmgr._auth import ServerBusyError, answer_challenge
from typedmgr._channel import client

pytestmark = pytest.mark.process

IDLE = 200


@contextlib.contextmanager
def idle_connections(target: Target, count: int) -> Iterator[list[socket.socket]]:
    """``count`` TCP connections to ``target`` that never say a word."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection(target.address, timeout=5))
        yield socks
    finally:
        for sock in socks:
            sock.close()


def served_call(target: Target) -> int:
    """A fresh client's create and call (raises while the server does not serve it)."""
    m = Guarded(address=target.address, authkey=target.authkey)
    m.connect()
    ledger: Any = m.Ledger()  # type: ignore[attr-defined]
    return int(ledger.load({1: 2}))


def test_idle_unauthenticated_connections_cannot_stop_the_server() -> None:
    """200 idle connections: refused beyond the cap, dropped at the handshake deadline;
    an honest client is served while they are held, and at once when they are gone."""
    with limited_server("tests.security.targets:Guarded") as target:
        with idle_connections(target, IDLE):
            assert 1 == eventually(lambda: served_call(target))
        assert 1 == eventually(lambda: served_call(target), timeout=5)


def test_the_accept_loop_survives_failing_thread_creation() -> None:
    """With caps higher than the address space allows threads for, creating a thread
    fails: the connection is dropped, the accept loop goes on, and the server serves again
    once the idle connections reach their deadline."""
    with limited_server(
        "tests.security.targets:Thin", limit=512 * 1024 * 1024
    ) as target:
        with idle_connections(target, IDLE):
            assert 1 == eventually(lambda: served_call(target))
        assert 1 == eventually(lambda: served_call(target), timeout=5)


def test_the_load_test_runs_while_200_idle_connections_are_held() -> None:
    """8 processes x 10,000 calls, exact, with the flood held open all along (default
    limits: the server drops the idle connections at its deadline, clients wait for a
    place instead of failing)."""
    processes, calls = 8, 10_000
    with (
        limited_server("shop.server:ShopManager") as target,
        idle_connections(target, IDLE),
    ):
        m = ShopManager(address=target.address, authkey=target.authkey)
        m.connect()
        counter = m.Counter()
        runs = support.run_children(
            children.increment_passed, [(counter, calls)] * processes, timeout=45
        )
        values = sorted(v for run in runs for v in run[0])
        assert list(range(1, processes * calls + 1)) == values
        assert processes * calls == counter.value()


def test_connections_beyond_the_cap_are_refused_politely() -> None:
    """The ninth connection of a server capped at eight gets a BUSY message naming the
    limit at once, instead of a thread; a place freed is a place taken."""
    with limited_server("tests.security.targets:Crowded") as target:
        held = [client(target.address, authkey=target.authkey) for _ in range(8)]
        extra = connection.Client(target.address)
        with pytest.raises(ServerBusyError, match="max_connections"):
            answer_challenge(extra, target.authkey)
        extra.close()
        held.pop().close()
        assert isinstance(
            eventually(lambda: client(target.address, authkey=target.authkey)),
            connection.Connection,
        )
        for conn in held:
            conn.close()
