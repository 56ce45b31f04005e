"""Pipelined and one-way calls."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Self

import pytest

from tests.runtime.fixtures import RuntimeManager
from tests.tools import log_to
from typedmgr import Pipeline, RemoteTraceback
from typedmgr._channel import BATCH, client
from typedmgr._errors import RefusedArgument, UnpicklableResult
from typedmgr._pipeline import BATCH_CALLS

pytestmark = pytest.mark.process


@pytest.fixture
def manager(server_log: Path) -> Iterator[RuntimeManager]:
    """A RuntimeManager over TCP whose server logs to ``server_log``."""
    m = RuntimeManager(address=("127.0.0.1", 0), authkey=b"pipeline")
    m.start(log_to, (str(server_log),))
    with m:
        yield m


def test_pipelined_replies_arrive_in_order(manager: RuntimeManager) -> None:
    """Each Reply holds the result of its own call, in the order the calls were made."""
    tally: Any = manager.Tally()  # type: ignore[attr-defined]
    with Pipeline() as p:
        replies = [p.call(tally.add, n) for n in range(1, 101)]
    assert [n * (n + 1) // 2 for n in range(1, 101)] == [r.value() for r in replies]


def test_reply_value_sends_the_pipeline(manager: RuntimeManager) -> None:
    """Asking for a value before the block ends sends what is queued."""
    tally: Any = manager.Tally()  # type: ignore[attr-defined]
    p = Pipeline()
    first = p.call(tally.add, 2)
    assert 2 == first.value()
    assert 2 == tally.total()


def test_a_failed_pipelined_call_raises_at_its_reply_only(
    manager: RuntimeManager,
) -> None:
    """An exception is raised by its own Reply, with the server traceback; others are fine."""
    tally: Any = manager.Tally()  # type: ignore[attr-defined]
    with Pipeline() as p:
        before = p.call(tally.add, 1)
        failed = p.call(tally.fail, "broken")
        after = p.call(tally.add, 1)
    assert 1 == before.value()
    assert 2 == after.value()
    with pytest.raises(ValueError, match="broken") as raised:
        failed.value()
    assert isinstance(raised.value.__cause__, RemoteTraceback)
    assert "in fail" in raised.value.__cause__.tb


def test_pipelined_nested_returns_are_proxies(manager: RuntimeManager) -> None:
    """A pipelined method returning a Protocol gives a working proxy."""
    board: Any = manager.Board()  # type: ignore[attr-defined]
    with Pipeline() as p:
        made = p.call(board.tally, "x")
        missing = p.call(board.find, "nope")
    assert 3 == made.value().add(3)
    assert missing.value() is None


def test_calling_something_else_is_refused() -> None:
    """Pipeline.call only takes methods of typed proxies."""
    with pytest.raises(TypeError, match="not a method of a typedmgr proxy"):
        Pipeline().call(len, [1])


def test_oneway_calls_run_in_order_and_failures_are_logged(
    manager: RuntimeManager, server_log: Path
) -> None:
    """One-way calls return None at once, run in order, and a failure lands in the log."""
    tally: Any = manager.Tally()  # type: ignore[attr-defined]
    assert tally.note("a") is None
    tally.note("boom")
    with Pipeline() as p:
        p.call(tally.note, "b")
        p.call(tally.note, "c")
    assert ["a", "b", "c"] == tally.notes()
    logged = server_log.read_text()
    assert "one-way call note() failed" in logged
    assert "RuntimeError: a one-way call failed" in logged


def test_a_batch_the_server_refuses_is_sent_call_by_call(
    manager: RuntimeManager,
) -> None:
    """An argument the server will not load fails its own call; the others run once each."""
    tally: Any = manager.Tally()  # type: ignore[attr-defined]
    with Pipeline() as p:
        before = p.call(tally.add, 1)
        refused = p.call(tally.add, Decimal(5))
        after = p.call(tally.add, 2)
    assert (1, 3) == (before.value(), after.value())
    with pytest.raises(
        RefusedArgument, match=r"parameter 'n' of type decimal\.Decimal"
    ):
        refused.value()
    assert 3 == tally.total()


def test_an_argument_that_does_not_pickle_fails_its_call_only(
    manager: RuntimeManager,
) -> None:
    """The call is never sent and its Reply says why; the rest of the pipeline runs."""
    tally: Any = manager.Tally()  # type: ignore[attr-defined]
    with Pipeline() as p:
        before = p.call(tally.add, 1)
        unsent = p.call(tally.add, lambda: 1)
        after = p.call(tally.add, 2)
    assert (1, 3) == (before.value(), after.value())
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        unsent.value()


class PicklesOnlyWhereMade(str):
    """Pickles in the process that made it; its copy in the server refuses to pickle."""

    origin: int

    def __new__(cls, text: str, origin: int) -> Self:
        made = super().__new__(cls, text)
        made.origin = origin
        return made

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        if os.getpid() != self.origin:
            raise TypeError("this string stays where it was made")
        return (PicklesOnlyWhereMade, (str(self), self.origin))


class Trusting(RuntimeManager, unpickling="full"):
    """Loads any pickle, so a PicklesOnlyWhereMade can reach the server."""


def test_a_reply_that_does_not_pickle_fails_alone() -> None:
    """One reply of a batch the server cannot pickle raises; the others arrive."""
    with Trusting(address=("127.0.0.1", 0), authkey=b"pipeline") as m:
        tally: Any = m.Tally()  # type: ignore[attr-defined]
        tally.note(PicklesOnlyWhereMade("stuck", os.getpid()))
        with Pipeline() as p:
            before = p.call(tally.add, 1)
            stuck = p.call(tally.notes)
            after = p.call(tally.add, 2)
        assert (1, 3) == (before.value(), after.value())
        with pytest.raises(UnpicklableResult, match=r"Tally\.notes\(\).*stays where"):
            stuck.value()


def test_more_calls_than_one_batch_holds(manager: RuntimeManager) -> None:
    """A pipeline longer than a batch is sent as several, in order."""
    tally: Any = manager.Tally()  # type: ignore[attr-defined]
    count = 2 * BATCH_CALLS + 7
    with Pipeline() as p:
        replies = [p.call(tally.add, 1) for _ in range(count)]
    assert list(range(1, count + 1)) == [r.value() for r in replies]


def test_calls_to_two_servers_keep_their_order(manager: RuntimeManager) -> None:
    """A pipeline across servers sends each run of calls to its server, in order."""
    with RuntimeManager(address=("127.0.0.1", 0), authkey=b"other") as other:
        here: Any = manager.Tally()  # type: ignore[attr-defined]
        there: Any = other.Tally()  # type: ignore[attr-defined]
        with Pipeline() as p:
            replies = [p.call((here if n % 3 else there).add, n) for n in range(30)]
        sums = {0: 0, 1: 0}
        expected = []
        for n in range(30):
            sums[bool(n % 3)] += n
            expected.append(sums[bool(n % 3)])
        assert expected == [r.value() for r in replies]


def test_a_batch_inside_a_batch_is_refused(manager: RuntimeManager) -> None:
    """A hand-made nested batch gets an error for that entry, and the server goes on."""
    tally: Any = manager.Tally()  # type: ignore[attr-defined]
    assert manager.address is not None
    conn = client(manager.address, authkey=b"pipeline")
    conn.send((None, "accept_connection", ("nested",), {}))
    assert ("#RETURN", None) == conn.recv()
    add: tuple[Any, ...] = (tally._id, "add", (4,), {})
    conn.send((None, BATCH, (add, (None, BATCH, (add,), {}), add), {}))
    kind, replies = conn.recv()
    conn.close()
    assert "#RETURN" == kind
    assert [("#RETURN", 4), ("#RETURN", 8)] == [replies[0], replies[2]]
    assert "#ERROR" == replies[1][0]
    assert "cannot hold a batch" in str(replies[1][1])
    assert 9 == tally.add(1)
