"""Lifetime and connections: creation on the thread's connection, release on client death."""

from __future__ import annotations

import copy
import multiprocessing
import os
import pickle
import signal
import time
from collections.abc import Callable, Iterator
from multiprocessing.managers import BaseProxy
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.fixtures import CountedRuntimeManager, RuntimeManager
from tests.wiring import connections_opened

pytestmark = pytest.mark.process


@pytest.fixture(params=["tcp", "unix"])
def manager(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RuntimeManager]:
    """A started RuntimeManager over TCP on 127.0.0.1 or a unix socket."""
    address: Any = ("127.0.0.1", 0) if request.param == "tcp" else str(tmp_path / "s")
    with CountedRuntimeManager(address=address, authkey=b"lifetime") as m:
        yield m


def hold_objects_then_wait(address: Any, ready: Any) -> None:
    """Child process: take references of every kind, report, and wait to be killed."""
    m = RuntimeManager(address=address, authkey=b"lifetime")
    m.connect()
    board: Any = m.Board()  # type: ignore[attr-defined]
    kept = [board, m.Tally(), board.tally("a"), board.tally("b"), board.find("a")]  # type: ignore[attr-defined]
    dropped: Any = m.Tally()  # type: ignore[attr-defined]
    del dropped  # its release is queued, never sent: the kill must release it too
    ready.send(len(kept))
    time.sleep(60)


def wait_for(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``condition()`` held; fails after ``timeout``."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "condition not reached in time"
        time.sleep(0.01)
    return time.monotonic() - start


def test_killed_client_releases_everything_it_held(manager: RuntimeManager) -> None:
    """After a client's SIGKILL the server's object count is back to baseline within 2 s."""
    baseline = manager._number_of_objects()  # type: ignore[attr-defined]
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    child = ctx.Process(target=hold_objects_then_wait, args=(manager.address, theirs))
    child.start()
    try:
        assert ours.poll(30), "the child did not report"
        assert 5 == ours.recv()
        assert manager._number_of_objects() > baseline  # type: ignore[attr-defined]
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(10)
        wait_for(lambda: manager._number_of_objects() == baseline, 2.0)  # type: ignore[attr-defined]
    finally:
        child.kill()
        child.join(10)


def test_released_proxies_are_reclaimed_on_the_next_call(
    manager: RuntimeManager,
) -> None:
    """Proxies collected in this process are released with the next request."""
    keep: Any = manager.Tally()  # type: ignore[attr-defined]
    baseline = manager._number_of_objects()  # type: ignore[attr-defined]
    for _ in range(20):
        manager.Tally()  # type: ignore[attr-defined]
    keep.total()
    assert baseline == manager._number_of_objects()  # type: ignore[attr-defined]


def test_releases_wait_out_a_request_that_does_not_pickle(
    manager: RuntimeManager,
) -> None:
    """Releases queued for a request that fails before it is sent go with the next one."""
    keep: Any = manager.Tally()  # type: ignore[attr-defined]
    baseline = manager._number_of_objects()  # type: ignore[attr-defined]
    for _ in range(3):
        manager.Tally()  # type: ignore[attr-defined]
    with pytest.raises((AttributeError, TypeError, pickle.PicklingError)):
        keep.add(lambda: 1)
    keep.total()
    assert baseline == manager._number_of_objects()  # type: ignore[attr-defined]


def test_creation_and_nested_returns_open_no_new_connections(
    manager: RuntimeManager,
) -> None:
    """After the first call, creating and returning remote objects reuses the connection."""
    board: Any = manager.Board()  # type: ignore[attr-defined]
    board.tally("warm-up")
    with connections_opened(manager) as opened:
        for i in range(20):
            manager.Tally()  # type: ignore[attr-defined]
            board.tally(f"t{i}").add()
            assert board.find("missing") is None
    assert 0 == opened.count


def test_the_connection_count_sees_a_proxy_reconnect(manager: RuntimeManager) -> None:
    """What the test above counts includes a connection a proxy opens on its own."""
    tally: Any = manager.Tally()  # type: ignore[attr-defined]
    tally.add()
    with connections_opened(manager) as opened:
        local, _ = BaseProxy._address_to_local[manager.address]  # type: ignore[index]
        local.connection.close()  # as a dropped connection would be
        del local.connection
        assert 2 == tally.add()  # on a new connection
    assert 1 == opened.count


def use_board_in_child(board: Any, results: Any) -> None:
    """Child process: a received proxy whose method returns another proxy (gh-99595)."""
    tally = board.tally("shared")
    results.send(tally.add(5))


def test_proxy_sent_to_a_spawned_child_returns_nested_proxies() -> None:
    """A proxy pickled into a spawned child still returns typed nested proxies there."""
    with RuntimeManager() as m:
        board: Any = m.Board()  # type: ignore[attr-defined]
        board.tally("shared").add(1)
        ctx = multiprocessing.get_context("spawn")
        ours, theirs = ctx.Pipe()
        child = ctx.Process(target=use_board_in_child, args=(board, theirs))
        child.start()
        child.join(30)
        assert 0 == child.exitcode
        assert ours.poll(5)
        assert 6 == ours.recv()
        assert 6 == board.tally("shared").total()


def test_an_adopted_proxy_is_built_as_init_builds_one(manager: RuntimeManager) -> None:
    """Returned proxies skip ``__init__``; they must end up with the state of one that
    takes a reference of its own."""
    board: Any = manager.Board()  # type: ignore[attr-defined]
    adopted = board.tally("same")
    token = copy.copy(adopted._token)
    built = type(adopted)(token, "pickle", manager=adopted._manager)
    assert vars(built).keys() == vars(adopted).keys()
    for name, value in vars(built).items():
        if name not in ("_token", "_serial"):
            assert value == getattr(adopted, name), name
    if "_serial" in vars(built):  # each proxy has a serial of its own (3.12.8+)
        assert isinstance(adopted._serial, int)
        assert adopted._serial != built._serial
    assert (token.typeid, token.address, token.id) == (
        adopted._token.typeid,
        adopted._token.address,
        adopted._token.id,
    )
    assert 1 == adopted.add(1)


def add_after_the_parent_dropped(tallies: list[Any], channel: Any) -> None:
    """Forked child: once the parent has released its references, use the inherited proxies."""
    channel.send("started")
    assert channel.poll(30)
    channel.recv()
    channel.send([tally.add(1) for tally in tallies])


def test_a_forked_child_holds_references_of_its_own(manager: RuntimeManager) -> None:
    """Proxies inherited at a fork (created and returned ones) take the child's own
    references: the parent's releases leave them working, and the child's end frees them."""
    board: Any = manager.Board()  # type: ignore[attr-defined]
    baseline = manager._number_of_objects()  # type: ignore[attr-defined]
    tallies = [manager.Tally(), board.tally("inherited")]  # type: ignore[attr-defined]
    ctx = multiprocessing.get_context("fork")
    ours, theirs = ctx.Pipe()
    child = ctx.Process(target=add_after_the_parent_dropped, args=(tallies, theirs))
    child.start()
    try:
        assert ours.poll(30), "the child did not start"
        assert (
            "started" == ours.recv()
        )  # its references are taken before its target runs
        del tallies
        board.find("nothing")  # carries this process's releases
        ours.send("go")
        assert ours.poll(30), "the child did not report"
        assert [1, 1] == ours.recv()
        child.join(30)
        assert 0 == child.exitcode
        wait_for(lambda: manager._number_of_objects() == baseline, 2.0)  # type: ignore[attr-defined]
    finally:
        child.kill()
        child.join(10)
