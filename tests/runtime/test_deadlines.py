"""Deadlines: a call past its deadline raises within it, the next call gets its own reply,
and what the late reply carried is given back on the server."""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.certs import Authority
from tests.runtime.slow import SlowManager
from typedmgr import DeadlineExceeded, Pipeline, deadline
from typedmgr._deadlines import ConnectTimeout

pytestmark = pytest.mark.process

AUTHKEY = b"a key for the deadline tests"
#: How long the slow methods take, and the deadlines they miss.
SLOW = 1.5
LIMIT = 0.3
#: The error must come within its deadline and this much more.
GRACE = 0.5
#: Upper bound of any wait for the server to catch up.
PATIENCE = 30.0


@pytest.fixture
def manager() -> Iterator[Any]:
    """A started SlowManager without a default timeout."""
    with SlowManager(address=("127.0.0.1", 0), authkey=AUTHKEY) as m:
        yield m


def objects_settle_at(m: Any, expected: int) -> int:
    """The server's object count, polled until it is ``expected`` (or PATIENCE passed),
    once the late replies have been read (the objects they carry exist by then)."""
    end = time.monotonic() + PATIENCE
    while any(t.name == "typedmgr-late-replies" for t in threading.enumerate()):
        assert time.monotonic() < end, "late replies still unread"
        time.sleep(0.05)
    count: int = m._number_of_objects()
    while count != expected and time.monotonic() < end:
        time.sleep(0.05)
        count = m._number_of_objects()
    return count


def test_a_call_past_the_manager_timeout_raises_naming_it() -> None:
    """TypedManager(timeout=...): a method sleeping past it raises DeadlineExceeded within
    the timeout + 0.5 s, naming the address, the method and the time waited; the next call
    on the same proxy gets its own reply."""
    m: Any
    with SlowManager(address=("127.0.0.1", 0), authkey=AUTHKEY, timeout=LIMIT) as m:
        sleeper = m.Sleeper()
        baseline = m._number_of_objects()
        start = time.monotonic()
        with pytest.raises(DeadlineExceeded) as raised:
            sleeper.nap(SLOW, "late")
        elapsed = time.monotonic() - start
        assert LIMIT <= elapsed < LIMIT + GRACE
        error = raised.value
        assert isinstance(error, TimeoutError)
        assert "Sleeper.nap()" in str(error)
        assert repr(m.address) in str(error)
        assert error.method == "Sleeper.nap()"
        assert LIMIT <= error.waited < LIMIT + GRACE
        assert "fast" == sleeper.nap(0, "fast")
        assert "second" == sleeper.nap(0, "second")
        assert baseline == objects_settle_at(m, baseline)


def test_a_block_deadline_overrides_the_manager_default() -> None:
    """`with deadline(s)` tightens the manager's timeout; `with deadline(None)` lifts it."""
    m: Any
    with SlowManager(address=("127.0.0.1", 0), authkey=AUTHKEY, timeout=SLOW) as m:
        sleeper = m.Sleeper()
        with deadline(LIMIT), pytest.raises(DeadlineExceeded):
            sleeper.nap(SLOW, "late")
        with deadline(None):
            assert "patient" == sleeper.nap(SLOW + 0.2, "patient")
        assert "own" == sleeper.nap(0, "own")


def test_a_block_deadline_covers_all_its_calls_together(manager: Any) -> None:
    """Two calls of 0.2 s each in a 0.3 s block: the second one misses the deadline."""
    sleeper = manager.Sleeper()
    start = time.monotonic()
    with deadline(LIMIT), pytest.raises(DeadlineExceeded):
        sleeper.nap(0.2, "first")
        sleeper.nap(0.2, "second")
    assert time.monotonic() - start < LIMIT + GRACE
    assert "third" == sleeper.nap(0, "third")


def test_a_late_creation_leaves_no_object_behind(manager: Any) -> None:
    """A creation past its deadline raises; the object created late is released."""
    baseline = manager._number_of_objects()
    start = time.monotonic()
    with deadline(LIMIT), pytest.raises(DeadlineExceeded, match="creating Sleeper"):
        manager.Sleeper(SLOW)
    assert time.monotonic() - start < LIMIT + GRACE
    assert baseline == objects_settle_at(manager, baseline)
    sleeper = manager.Sleeper()
    assert "after" == sleeper.nap(0, "after")
    assert baseline + 1 == manager._number_of_objects()


def test_a_late_returned_object_is_released(manager: Any) -> None:
    """A method returning a remote object past its deadline: the object is given back."""
    sleeper = manager.Sleeper()
    baseline = manager._number_of_objects()
    with deadline(LIMIT), pytest.raises(DeadlineExceeded, match=r"Sleeper\.child\(\)"):
        sleeper.child(SLOW)
    assert baseline == objects_settle_at(manager, baseline)
    child = sleeper.child(0)
    assert "child" == child.nap(0, "child")


def test_a_late_iterator_step_raises_and_the_iterator_goes_on(manager: Any) -> None:
    """next() past its deadline raises; later calls get their own replies."""
    sleeper = manager.Sleeper()
    steps = sleeper.count(SLOW, 3)
    with deadline(LIMIT), pytest.raises(DeadlineExceeded):
        next(steps)
    assert "own" == sleeper.nap(0, "own")
    end = time.monotonic() + PATIENCE
    while True:  # the late step still runs on the server until it is done
        try:
            step = next(steps)
        except ValueError as e:
            assert "already executing" in str(e)
            assert time.monotonic() < end
            time.sleep(0.05)
            continue
        break
    assert 1 == step  # step 0 was computed, and dropped with its late reply


def test_a_late_pipeline_fails_each_reply_and_releases_its_objects(
    manager: Any,
) -> None:
    """A pipeline past its deadline: every Reply raises DeadlineExceeded; the remote
    object it returned late is released; the next call gets its own reply."""
    sleeper = manager.Sleeper()
    baseline = manager._number_of_objects()
    with deadline(LIMIT), Pipeline() as p:
        late = p.call(sleeper.nap, SLOW, "late")
        child = p.call(sleeper.child, 0)
    for reply in (late, child):
        with pytest.raises(DeadlineExceeded):
            reply.value()
    assert "own" == sleeper.nap(0, "own")
    assert baseline == objects_settle_at(manager, baseline)


def test_connecting_has_its_own_deadline() -> None:
    """A listener that never starts the handshake: ConnectTimeout after connect_timeout."""
    with socket.create_server(("127.0.0.1", 0)) as mute:
        address = mute.getsockname()
        m = SlowManager(address=address, authkey=AUTHKEY, connect_timeout=LIMIT)
        start = time.monotonic()
        with pytest.raises(ConnectTimeout) as raised:
            m.connect()
        assert time.monotonic() - start < LIMIT + GRACE
        assert isinstance(raised.value, TimeoutError)
        assert repr(address) in str(raised.value)


def test_deadlines_over_tls(tmp_path: Path) -> None:
    """Over TLS too: a late call raises in time, its late reply (a remote object) is
    drained and released, and the next call gets its own reply."""
    ca = Authority(tmp_path, "ca")
    server_context = ca.server_context(ca.issue("localhost", server=True))
    m: Any
    with SlowManager(
        address=("127.0.0.1", 0),
        authkey=AUTHKEY,
        ctx=multiprocessing.get_context("fork"),
        ssl_context=ca.client_context(),
        server_ssl_context=server_context,
        timeout=LIMIT,
    ) as m:
        sleeper = m.Sleeper()
        baseline = m._number_of_objects()
        start = time.monotonic()
        with pytest.raises(DeadlineExceeded, match=r"Sleeper\.child\(\)"):
            sleeper.child(SLOW)
        assert time.monotonic() - start < LIMIT + GRACE
        assert "own" == sleeper.nap(0, "own")
        assert baseline == objects_settle_at(m, baseline)
