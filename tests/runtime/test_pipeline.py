"""Pipelined and one-way calls."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.fixtures import RuntimeManager
from typedmgr import Pipeline, RemoteTraceback

pytestmark = pytest.mark.process


def log_to(path: str) -> None:
    """Server initializer: send the server's log to a file the test can read."""
    logging.basicConfig(filename=path, level=logging.INFO, force=True)


@pytest.fixture
def server_log(tmp_path: Path) -> Path:
    """Where the server process logs."""
    return tmp_path / "server.log"


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
