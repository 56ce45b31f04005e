"""Load: 8 processes x 10,000 calls on a shared counter guarded by the server: exact counts.

The manager server serves each connection in a thread of its own, so the counter's
implementation takes a lock; these tests hold the whole path (clients, wire, server threads,
references) to exact results under contention, over TCP on 127.0.0.1 and a unix socket.
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from shop_proxies import ShopManager
from tests.process import children, support
from tests.process.children import LoadRun
from tests.process.load_api import LoadClient, LoadCounter
from typedmgr import TypedManager

pytestmark = pytest.mark.process

PROCESSES = 8
CALLS = 10_000
TOTAL = PROCESSES * CALLS
AUTHKEY = b"load"
#: Seconds the children get for all their calls (each test's watchdog is the backstop).
CHILDREN_TIMEOUT = 45.0


@pytest.fixture(params=["tcp", "unix"])
def address(request: pytest.FixtureRequest, sockdir: Path) -> Any:
    """Where a test's server listens: a free port on 127.0.0.1, or a unix socket."""
    if request.param == "tcp":
        return ("127.0.0.1", 0)
    return str(sockdir / f"load-{uuid.uuid4().hex[:8]}.sock")


@pytest.fixture
def shop_address(address: Any) -> Iterator[Any]:
    """The shop, served by a process of its own for this test only."""
    with support.server_process("shop_proxies:ShopManager", address, AUTHKEY) as served:
        yield served


@pytest.fixture
def load_address(address: Any) -> Iterator[Any]:
    """Load counters, served by a process of their own for this test only."""
    with support.server_process(
        "tests.process.load_impl:LoadManager", address, AUTHKEY
    ) as served:
        yield served


@pytest.mark.parametrize("how", ["passed", "connected"])
def test_processes_share_a_counter_and_the_count_is_exact(
    shop_address: Any, how: str
) -> None:
    """8 children x 10,000 increments give 80,000, each value returned exactly once.

    ``passed``: the parent creates the counter and hands its proxy to the children.
    ``connected``: each child connect()s and looks the counter up by name (a nested proxy).
    """
    m = ShopManager(address=shop_address, authkey=AUTHKEY)
    m.connect()
    shop = m.Shop()  # held throughout: its calls carry the releases of dropped proxies
    baseline = _objects(m)
    if how == "passed":
        counter = m.Counter()
        runs: list[LoadRun] = support.run_children(
            children.increment_passed,
            [(counter, CALLS)] * PROCESSES,
            timeout=CHILDREN_TIMEOUT,
        )
    else:
        name = f"load-{uuid.uuid4().hex}"
        counter = shop.counter(name)
        runs = support.run_children(
            children.increment_connected,
            [(shop_address, AUTHKEY, name, CALLS)] * PROCESSES,
            timeout=CHILDREN_TIMEOUT,
        )
    _check_runs(runs)
    assert TOTAL == counter.value()
    # The children's references went with them; the parent's counter goes with its proxy.
    _wait_for(lambda: baseline + 1 == _objects(m))
    del counter
    gc.collect()
    shop.sales()
    assert baseline == _objects(m)


def test_pipelined_and_one_way_calls_keep_the_count_exact(load_address: Any) -> None:
    """8 children x 10,000 increments, a quarter one-way and 60 % pipelined: 80,000."""
    m = LoadClient(address=load_address, authkey=AUTHKEY)
    m.connect()
    keep: LoadCounter = children.create(m, "LoadCounter")
    baseline = _objects(m)
    counter: LoadCounter = children.create(m, "LoadCounter")
    runs: list[LoadRun] = support.run_children(
        children.increment_mixed,
        [(counter, CALLS // 100)] * PROCESSES,
        timeout=CHILDREN_TIMEOUT,
    )
    _check_runs(runs, complete=False)
    for values, bumps, _, _ in runs:
        assert CALLS * 3 // 4 == len(values)
        # A child's one-way calls ran in order with its other calls on its connection.
        steps = pairwise(zip(values, bumps, strict=True))
        early = [(v1, v2) for (v1, b1), (v2, b2) in steps if v2 - v1 < 1 + b2 - b1]
        assert [] == early[:5], "values that missed one-way calls sent before them"
    assert TOTAL == counter.value()
    _wait_for(lambda: baseline + 1 == _objects(m))
    del counter
    gc.collect()
    keep.value()  # carries the release of the dropped proxy
    assert baseline == _objects(m)


def _check_runs(runs: Sequence[LoadRun], *, complete: bool = True) -> None:
    """No value was returned twice, each child saw its own rise; print the call rate.

    ``complete``: every increment replied, so the values are exactly 1..TOTAL.
    """
    assert PROCESSES == len(runs)
    seen: set[int] = set()
    for values, _, _, _ in runs:
        falls = [(a, b) for a, b in pairwise(values) if a >= b]
        assert [] == falls[:5], "a child's successive values did not rise"
        assert set() == seen.intersection(values), "values returned twice"
        seen.update(values)
    if complete:
        assert set(range(1, TOTAL + 1)) == seen
    else:
        assert seen <= set(range(1, TOTAL + 1))
    begun = min(run[2] for run in runs)
    ended = max(run[3] for run in runs)
    # From the first child's first call to the last child's last (`pytest -rP` shows it).
    print(f"{TOTAL / (ended - begun):,.0f} calls/s")


def _objects(manager: TypedManager) -> int:
    """How many objects the manager's server holds references to."""
    count: int = manager._number_of_objects()  # type: ignore[attr-defined]
    return count


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Return once ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not reached within {timeout} s"
        time.sleep(0.02)
