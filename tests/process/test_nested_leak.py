"""Proxies passed into managed objects are released (gh-103136, "nested proxies leak").

The stdlib server rebuilds a proxy of its own object that arrives in a request without a
reference, and stashes the object in ``id_to_local_proxy_obj`` for good: whatever a
managed list or a method argument ever referred to lives until the server stops. A
``TypedServer`` counts such proxies as references and releases them when it drops them.
Every test runs a real server process and real clients; ``Probe`` reads the server's books.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from multiprocessing import process
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any

import pytest

from tests.process import nesting
from tests.process.nesting import (
    StdlibNesting,
    StdlibSync,
    SyncClient,
    TypedNesting,
    TypedSync,
)
from tests.process.support import SPAWN, TIMEOUT, server_process, stop

pytestmark = pytest.mark.process

#: Stdlib proxies that a reply carries authenticate with the process's key (gh-78740), so
#: the servers of these tests use it too; spawned children inherit it.
AUTHKEY = bytes(process.current_process().authkey)


@contextlib.contextmanager
def served(
    server_class: type[BaseManager], client_class: type[BaseManager], address: Any
) -> Iterator[Any]:
    """A connected ``client_class`` manager of ``server_class`` served by another process."""
    name = f"{server_class.__module__}:{server_class.__qualname__}"
    with server_process(name, address, AUTHKEY) as where:
        manager = client_class(address=where, authkey=AUTHKEY)
        manager.connect()
        yield manager


@pytest.fixture(params=["tcp", "unix"])
def address(request: pytest.FixtureRequest, sockdir: Path) -> Any:
    """Where the server listens: 127.0.0.1 or a unix socket."""
    if request.param == "tcp":
        return ("127.0.0.1", 0)
    return str(sockdir / f"nested-{os.getpid()}-{time.monotonic_ns()}.sock")


def settles(
    counts: Callable[[], object], expected: object, timeout: float = 5.0
) -> bool:
    """Whether ``counts()`` becomes ``expected`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while counts() != expected:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_stdlib_server_keeps_what_passed_proxies_referred_to() -> None:
    """The baseline: with the stdlib server, objects passed as proxies are never freed.

    Its count goes back to one (the probe) while the items live on in
    ``id_to_local_proxy_obj``; so do a dict stored in a managed list, and a list that
    travelled through a managed queue.
    """
    with served(StdlibNesting, StdlibNesting, ("127.0.0.1", 0)) as m:
        probe = m.Probe()
        assert (1, 0, 0) == probe.counts()
        holder = m.Holder()
        for i in range(3):
            assert i == holder.keep(m.Item(i))
        holder.clear()
        del holder
        assert (1, 3, 3) == probe.counts()  # nothing refers to the items: still alive
    with served(StdlibSync, StdlibSync, ("127.0.0.1", 0)) as m:
        probe = m.Probe()
        outer = m.list()
        outer.append(m.dict(a=1))
        queue = m.Queue()
        queue.put(m.list([m.dict(b=2)]))
        assert 2 == queue.get()[0]["b"]
        del outer, queue
        assert settles(probe.counts, (1, 3, 0))


def test_protocol_argument_kept_by_the_server_is_released(address: Any) -> None:
    """A Protocol method keeps a proxy argument: counted while kept, freed when dropped."""
    with served(TypedNesting, TypedNesting, address) as m:
        probe = m.Probe()
        assert (1, 0, 0) == probe.counts()
        holder = m.Holder()
        loose = m.Item(7)
        for i in range(3):
            assert i == holder.keep(m.Item(i))  # the server calls the item it was given
        assert 7 == holder.peek(loose)
        assert 3 == holder.held()
        assert (6, 0, 4) == probe.counts()  # probe, holder, loose, three kept items
        del loose
        assert (5, 0, 3) == probe.counts()
        holder.clear()
        assert (2, 0, 0) == probe.counts()
        holder.keep(m.Item(8))
        holder.keep(m.Item(9))
        del holder  # the holder and the items only it referred to
        assert (1, 0, 0) == probe.counts()
        assert 1 == m._number_of_objects()


@pytest.mark.parametrize("client_class", [TypedSync, SyncClient])
def test_stdlib_containers_holding_proxies_are_released(
    client_class: type[BaseManager], address: Any
) -> None:
    """Managed lists, dicts and queues of proxies on a TypedServer, typed or stdlib client.

    Proxies read back from a container (by value, the stdlib way) keep working, including
    one the container dropped as it replied (``pop``, ``Queue.get``).
    """
    with served(TypedSync, client_class, address) as m:
        probe = m.Probe()
        assert (1, 0, 0) == probe.counts()
        pets = m.dict(ferrets=2)
        outer = m.list([pets, m.dict(hamsters=4)])
        nested = m.dict(pets=pets, inner=m.list([m.dict(deep=1)]))
        del pets
        assert 2 == outer[0]["ferrets"]
        outer[0]["ferrets"] = 3
        assert 3 == nested["pets"]["ferrets"]
        assert 1 == nested["inner"][0]["deep"]
        assert (7, 0, 0) == probe.counts()
        popped = outer.pop()  # the list's proxy is gone when the client increfs
        assert 4 == popped["hamsters"]
        queue = m.Queue()
        queue.put(m.list([m.dict(passed=1)]))
        received = queue.get()
        assert 1 == received[0]["passed"]
        del popped, received
        assert (
            7,
            0,
            0,
        ) == probe.counts()  # probe, outer, ferrets, nested, inner, deep, queue
        del outer, nested, queue
        assert settles(probe.counts, (1, 0, 0))
        assert 1 == m._number_of_objects()


@pytest.mark.parametrize("manager_class", [TypedNesting, TypedSync])
def test_killed_client_releases_the_proxies_it_passed_in(
    manager_class: type[BaseManager], address: Any
) -> None:
    """After a SIGKILL, objects the client passed into others are released as well."""
    with served(manager_class, manager_class, address) as m:
        probe = m.Probe()
        assert (1, 0, 0) == probe.counts()
        ours, theirs = SPAWN.Pipe()
        child = SPAWN.Process(
            target=nesting.hold_then_wait, args=(manager_class, m.address, theirs)
        )
        child.start()
        try:
            assert ours.poll(TIMEOUT), "the child did not report"
            ours.recv()
            assert probe.counts()[0] > 1
            os.kill(child.pid or 0, signal.SIGKILL)
            child.join(TIMEOUT)
            assert settles(probe.counts, (1, 0, 0)), probe.counts()
        finally:
            stop([child])
