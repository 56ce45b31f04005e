"""Faults at the client: interrupted calls and servers that went away."""

from __future__ import annotations

import os
from multiprocessing.managers import dispatch  # type: ignore[attr-defined]
from typing import Any

import pytest

from tests.runtime.fixtures import RuntimeManager
from tests.watchdog import interrupt_after
from typedmgr import ServerConnectionError
from typedmgr._channel import client

pytestmark = pytest.mark.process


class Interrupted(Exception):
    """Raised by the test's alarm in the middle of a call."""


def test_an_interrupted_call_never_hands_its_reply_to_the_next_call() -> None:
    """After a call is interrupted between send and receive, the next call gets its own
    result (the interrupted reply is still due: served in order, it would come first)."""
    with RuntimeManager(address=("127.0.0.1", 0)) as m:
        tally: Any = m.Tally()  # type: ignore[attr-defined]
        with (
            pytest.raises(Interrupted),
            interrupt_after(0.1, Interrupted),
        ):
            tally.slow(0.5, "slow-result")
        assert "fast-result" == tally.slow(0, "fast-result")
        assert 1 == tally.add()


def test_a_vanished_server_raises_a_connection_error_naming_it() -> None:
    """Calling a proxy whose server stopped raises ServerConnectionError with the address."""
    m = RuntimeManager(address=("127.0.0.1", 0))
    m.start()
    tally: Any = m.Tally()  # type: ignore[attr-defined]
    address = m.address
    assert isinstance(address, tuple)
    m.shutdown()
    with pytest.raises(ServerConnectionError, match=str(address[1])):
        tally.add()


def test_garbage_on_a_connection_closes_it_and_the_server_goes_on() -> None:
    """A connection that sends a corrupt frame is dropped; other clients are still served."""
    with RuntimeManager(address=("127.0.0.1", 0), authkey=b"k") as m:
        tally: Any = m.Tally()  # type: ignore[attr-defined]
        assert m.address is not None
        rogue = client(m.address, authkey=b"k")
        dispatch(rogue, None, "accept_connection", ("rogue",))
        rogue.send_bytes(b"\x00")  # a well-framed message that is not a pickle
        kind, _ = rogue.recv()
        assert "#TRACEBACK" == kind
        os.write(rogue.fileno(), (-7).to_bytes(4, "big", signed=True) + b"garbage")
        with pytest.raises(EOFError):
            rogue.recv()
        assert 1 == tally.add()


class Small(RuntimeManager, max_message_size=1024):
    """A server that reads requests of at most 1 KiB."""


def test_an_oversized_request_closes_its_connection_only() -> None:
    """A request over max_message_size is not read; its sender's connection is closed."""
    with Small(address=("127.0.0.1", 0), authkey=b"k") as m:
        tally: Any = m.Tally()  # type: ignore[attr-defined]
        with pytest.raises(ServerConnectionError):
            tally.add(b"x" * 4096)
        assert 1 == tally.add()


@pytest.mark.parametrize("authkey", [None, b""])
def test_no_server_on_a_network_address_without_a_real_authkey(
    authkey: bytes | None,
) -> None:
    """An inherited or empty authkey on a non-loopback TCP address is refused."""
    m = RuntimeManager(address=("0.0.0.0", 0), authkey=authkey)
    with pytest.raises(ValueError, match="allow_insecure_network=True"):
        m.start()
    with pytest.raises(ValueError, match="empty or inherited authkey"):
        m.get_server()


def test_loopback_or_an_explicit_choice_may_use_the_inherited_key() -> None:
    """Loopback with the inherited key, and an explicit opt-in, are allowed."""
    RuntimeManager(address=("127.0.0.1", 0)).get_server().listener.close()  # type: ignore[attr-defined]
    RuntimeManager(
        address=("0.0.0.0", 0), allow_insecure_network=True
    ).get_server().listener.close()  # type: ignore[attr-defined]
