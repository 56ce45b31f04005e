"""Waiting awake for replies: every setting gives the same results, slow replies stop it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.runtime.fixtures import RuntimeManager
from typedmgr import peers

pytestmark = pytest.mark.process


@pytest.fixture(params=[None, 0.0, 0.01], ids=["default", "never", "10ms"])
def manager(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[RuntimeManager]:
    m = RuntimeManager(
        address=str(tmp_path / "spin.sock"), authkey=b"spin", reply_spin=request.param
    )
    m.start()
    with m:
        yield m


def test_calls_fast_and_slow_get_their_own_replies(manager: RuntimeManager) -> None:
    tally: Any = manager.Tally()  # type: ignore[attr-defined]
    assert [tally.add(1) for _ in range(50)] == list(range(1, 51))
    assert "late" == tally.slow(0.05, "late")  # outlasts any wait awake: sleeps instead
    assert [tally.add(1) for _ in range(50)] == list(range(51, 101))


def test_the_setting_is_remembered_for_the_address(manager: RuntimeManager) -> None:
    given = manager._reply_spin
    expected = peers.Peer().reply_spin if given is None else given
    assert expected == peers.peer(manager.address).reply_spin


@pytest.mark.parametrize("bad", [-1e-6, float("nan")])
def test_a_negative_wait_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="reply_spin must be >= 0"):
        RuntimeManager(address=("127.0.0.1", 0), authkey=b"x", reply_spin=bad)
