"""10,000 malformed messages at a live server: it answers each, and serves on."""

from __future__ import annotations

import os
import pickle
import random
import time
from multiprocessing.connection import Connection
from multiprocessing.managers import dispatch  # type: ignore[attr-defined]
from typing import Any

import pytest

from tests.runtime.fixtures import RuntimeManager
from typedmgr._channel import client

pytestmark = pytest.mark.process

AUTHKEY = b"fuzz"
FRAMES = 10_000


def valid_pickles() -> list[bytes]:
    """Real requests to mutate: calls, server functions, the one-way kinds."""
    messages: list[object] = [
        ("0", "add", (1,), {}),
        (None, "incref", ("0",), {}),
        (None, "#typedmgr-release", ("0",), {}),
        ("0", "#typedmgr-oneway", ("note", ("x",)), {}),
        ("0", "#typedmgr-getattr", ("size",), {}),
        (None, "fingerprint", ("Tally", "0" * 16), {}),
    ]
    return [pickle.dumps(m, protocol) for m in messages for protocol in (2, 4, 5)]


def mutate(rng: random.Random, data: bytes) -> bytes:
    """Flip, drop, insert or truncate bytes of a real pickle."""
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        at = rng.randrange(len(buffer)) if buffer else 0
        if choice < 0.4 and buffer:
            buffer[at] = rng.randrange(256)
        elif choice < 0.6 and buffer:
            del buffer[at]
        elif choice < 0.8:
            buffer.insert(at, rng.randrange(256))
        else:
            del buffer[at:]
    return bytes(buffer)


def session(address: Any) -> Connection:
    """An authenticated long-lived connection, as a proxy's."""
    conn = client(address, authkey=AUTHKEY)
    dispatch(conn, None, "accept_connection", ("fuzzer",))
    return conn


def thread_count(pid: int) -> int:
    """Threads of the server process."""
    return len(os.listdir(f"/proc/{pid}/task"))


def peak_memory_mib(pid: int) -> int:
    """The most resident memory the process has had (VmHWM)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    raise AssertionError("no VmHWM")


def test_the_server_survives_malformed_messages() -> None:
    """Mutated pickles in intact frames get replies, never a hang-up, a dead server or a
    leak; garbage framing on other connections changes nothing for them."""
    rng = random.Random(1234)
    seeds = valid_pickles()
    with RuntimeManager(address=("127.0.0.1", 0), authkey=AUTHKEY) as m:
        tally: Any = m.Tally()  # type: ignore[attr-defined]
        tally.add()
        pid = m._process.pid  # type: ignore[attr-defined]
        threads, objects = thread_count(pid), m._number_of_objects()  # type: ignore[attr-defined]
        conn = session(m.address)
        hangups: list[int] = []
        for sent in range(FRAMES):
            if sent % 500 == 0:  # now and then, garbage framing on a fresh connection
                raw = client(m.address, authkey=AUTHKEY)
                os.write(raw.fileno(), rng.randbytes(rng.randint(1, 64)))
                raw.close()
            try:
                conn.send_bytes(mutate(rng, rng.choice(seeds)))
                # A request naming no server function is answered with its name: read up
                # to that answer, past the mutant's own reply if it deserved one.
                probe = f"probe-{sent}"
                conn.send_bytes(pickle.dumps((None, probe, (), {})))
                while probe not in str(conn.recv_bytes()):
                    pass
            except (EOFError, OSError):
                hangups.append(sent)
                conn.close()
                conn = session(m.address)
        conn.close()
        # Every mutant came in an intact frame: a hang-up is a connection lost for no
        # reason (a server that dropped every connection passed the checks below).
        assert 0 == len(hangups), f"hung up on the mutants sent {hangups[:10]}..."
        assert 2 == tally.add()
        deadline = time.monotonic() + 5
        while thread_count(pid) > threads and time.monotonic() < deadline:
            time.sleep(0.05)
        assert threads == thread_count(pid)
        assert objects == m._number_of_objects()  # type: ignore[attr-defined]
        # A mutant storing to memo index ~8e8 once made the loader clear 12 GB (refused now).
        assert peak_memory_mib(pid) < 256
