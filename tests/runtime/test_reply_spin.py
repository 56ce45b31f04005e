"""Waiting awake for replies and requests: every setting gives the same results."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.runtime.fixtures import RuntimeManager
from typedmgr import _peers

pytestmark = pytest.mark.process


class SleepingServer(RuntimeManager, request_spin=0):
    """A server whose threads sleep as soon as they have nothing to read."""


class WakefulServer(RuntimeManager, request_spin=0.01):
    """A server whose threads wait awake for 10 ms."""


@pytest.fixture(
    params=[
        (RuntimeManager, None),
        (RuntimeManager, 0.0),
        (SleepingServer, 0.01),
        (WakefulServer, 0.0),
    ],
    ids=["defaults", "client-sleeps", "server-sleeps", "server-10ms"],
)
def manager(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[RuntimeManager]:
    manager_class, reply_spin = request.param
    m = manager_class(
        address=str(tmp_path / "spin.sock"), authkey=b"spin", reply_spin=reply_spin
    )
    m.start()
    with m:
        yield m


def test_calls_fast_and_slow_get_their_own_replies(manager: RuntimeManager) -> None:
    """Replies waited for awake and a reply that outlasts the wait each go to their own
    call."""
    tally: Any = manager.Tally()  # type: ignore[attr-defined]
    assert [tally.add(1) for _ in range(50)] == list(range(1, 51))
    assert "late" == tally.slow(0.05, "late")  # outlasts any wait awake: sleeps instead
    assert [tally.add(1) for _ in range(50)] == list(range(51, 101))


def test_the_setting_is_remembered_for_the_address(manager: RuntimeManager) -> None:
    """The manager's reply_spin (or the default) is what this process's clients of its
    address use."""
    given = manager._reply_spin
    expected = _peers.Peer().reply_spin if given is None else given
    assert expected == _peers.peer(manager.address).reply_spin


def test_the_server_class_keeps_its_setting() -> None:
    """request_spin given as a class keyword is the server class's, the default
    otherwise."""
    assert 0 == SleepingServer._Server.request_spin
    assert 0.01 == WakefulServer._Server.request_spin
    assert 0 < RuntimeManager._Server.request_spin < 0.001


@pytest.mark.parametrize("bad", [-1e-6, float("nan")])
def test_a_negative_wait_is_refused(bad: float) -> None:
    """A negative or NaN reply_spin or request_spin is a ValueError naming the
    setting."""
    with pytest.raises(ValueError, match="reply_spin must be >= 0"):
        RuntimeManager(address=("127.0.0.1", 0), authkey=b"x", reply_spin=bad)
    with pytest.raises(ValueError, match="request_spin must be >= 0"):
        type("Bad", (RuntimeManager,), {}, request_spin=bad)
