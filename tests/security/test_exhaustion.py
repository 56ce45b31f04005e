"""Class 5: one message, or one client, cannot exhaust the server.

Before: 1-byte opcodes building empty sets turned 2 MiB into +476 MiB; a length header
claiming 256 MiB made the server allocate it up front; one session could create objects
without end; a dict of colliding integer keys took the GIL for seconds (quadratic).
"""

from __future__ import annotations

import pickle
import struct
import threading
import time
from collections.abc import Iterator
from multiprocessing import managers
from pathlib import Path
from typing import Any

import pytest

from tests.security.attack import (
    Target,
    call,
    exchange,
    limited_server,
    rss,
    session_less,
)
from tests.security.targets import Capped, Guarded
from typedmgr._channel import client

pytestmark = pytest.mark.process

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    """A server of ledgers, under an address-space limit."""
    with limited_server("tests.security.targets:Guarded") as served:
        yield served


def ledger_of(target: Target) -> Any:
    m = Guarded(address=target.address, authkey=target.authkey)
    m.connect()
    return m.Ledger()  # type: ignore[attr-defined]


def test_opcodes_that_build_containers_are_charged(target: Target) -> None:
    """2 MiB of EMPTY_SET opcodes would build ~460 MiB: refused within its budget."""
    ledger = ledger_of(target)
    before = rss(target.pid)
    bomb = call(ledger._id, "load", b"(" + b"\x8f" * (2 * MiB) + b"l\x85")
    kind, text = exchange(session_less(target), bomb, timeout=20)
    assert "#TRACEBACK" == kind
    assert "builds more objects than its size allows" in text
    assert rss(target.pid) - before < 200 * MiB
    assert 0 == ledger.size()


def test_a_length_header_is_not_an_allocation(target: Target) -> None:
    """Headers claiming 200 MiB each cost the server what arrived, not what was claimed."""
    ledger = ledger_of(target)
    before = rss(target.pid)
    liars = []
    for _ in range(8):
        conn = session_less(target)
        conn._send(struct.pack("!i", 200 * MiB) + b"\x80\x04" + b"N" * 65536)  # type: ignore[attr-defined]
        liars.append(conn)
    for _ in range(20):  # the server has read what they sent meanwhile
        assert 0 == ledger.size()
    assert rss(target.pid) - before < 64 * MiB
    for conn in liars:
        conn.close()


def test_one_client_cannot_create_objects_without_end() -> None:
    """A session at its cap gets a one-line error naming the limit and the fix."""
    with limited_server("tests.security.targets:Capped") as target:
        m = Capped(address=target.address, authkey=target.authkey)
        m.connect()
        held = [m.Ledger() for _ in range(50)]  # type: ignore[attr-defined]
        with pytest.raises(managers.RemoteError, match="max_session_objects"):
            m.Ledger()  # type: ignore[attr-defined]
        del held[:10]
        assert 0 == m.Ledger().size()  # type: ignore[attr-defined]  # room again


def test_colliding_keys_are_refused_before_they_take_the_lock() -> None:
    """A dict whose keys share one hash is refused in milliseconds, and another client's
    calls meanwhile are not held up."""
    with limited_server("tests.security.targets:Guarded") as target:
        ledger = ledger_of(target)
        modulus = 2**61 - 1  # hash(n * modulus) == 0 for every int n
        colliding = {n * modulus: 0 for n in range(1, 30_000)}
        conn = session_less(target)
        started = time.monotonic()
        kind, text = exchange(
            conn, pickle.dumps((ledger._id, "load", (colliding,), {})), timeout=30
        )
        elapsed = time.monotonic() - started
        assert "#TRACEBACK" == kind
        assert "keys of one hash" in text
        assert elapsed < 2.0, f"the refusal took {elapsed:.1f} s"
        assert 0 == ledger.size()


def test_large_honest_messages_still_load(target: Target) -> None:
    """The budget is proportional: a 4 MB dict of distinct int keys loads, fast."""
    ledger = ledger_of(target)
    entries = {n: n for n in range(300_000)}
    assert len(entries) == ledger.load(entries)


def test_a_message_longer_than_the_limit_is_refused_unread(target: Target) -> None:
    """The first request of a connection is read through the same bounded reader."""
    conn = client(target.address, authkey=target.authkey)
    conn._send(struct.pack("!i", 1024 * MiB))  # type: ignore[attr-defined]
    kind, text = conn.recv()
    assert "#TRACEBACK" == kind
    assert "exceeds the limit" in text


def build_slowly(target: Target, marker: Path) -> None:
    """Create an object whose constructor touches ``marker``, then works for 5 s."""
    m = Guarded(address=target.address, authkey=target.authkey)
    m.connect()
    m.Slow(str(marker), 5.0)  # type: ignore[attr-defined]


def test_a_slow_constructor_does_not_hold_up_other_clients(tmp_path: Path) -> None:
    """Constructors run outside the server's mutex: while one client's object takes 5 s
    to build, another client creates and releases objects as usual."""
    with limited_server("tests.security.targets:Guarded") as target:
        marker = tmp_path / "building"
        slow = threading.Thread(target=build_slowly, args=(target, marker), daemon=True)
        slow.start()
        deadline = time.monotonic() + 10
        while not marker.exists():  # the slow construction has begun
            assert time.monotonic() < deadline, "the slow constructor never ran"
            time.sleep(0.01)
        started = time.monotonic()
        assert 1 == ledger_of(target).load({1: 1})
        elapsed = time.monotonic() - started
        assert elapsed < 2.0, f"a creation waited {elapsed:.1f} s for another's"
        slow.join(10)
