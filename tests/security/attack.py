"""An attacker's tools: servers under an address-space limit, raw connections, payloads.

Every server runs in a spawned child that limits its own address space
(``resource.setrlimit``) before serving, so a regression fails its test instead of taking
the machine down; every address is loopback or a unix socket; every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import importlib
import queue
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing import managers
from multiprocessing.connection import Connection
from typing import Any, Self

import pytest

from tests.process.support import SPAWN, TIMEOUT, stop
from typedmgr import TypedManager
from typedmgr._channel import client

#: The address space a server process may use: room for its threads' stacks, no more.
ADDRESS_SPACE = 1024 * 1024 * 1024
AUTHKEY = b"key of the attacked server"


def limit_address_space(limit: int = ADDRESS_SPACE) -> None:
    """An initializer for ``start()``: the server process limits its own address space."""
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def serve_limited(
    manager: str, address: Any, authkey: bytes, limit: int, ready: Any
) -> None:
    """Child: limit the address space, then serve ``"module:Class"`` forever."""
    limit_address_space(limit)
    module, _, name = manager.partition(":")
    manager_class: type[TypedManager] = getattr(importlib.import_module(module), name)
    server = manager_class(address=address, authkey=authkey).get_server()
    ready.put(server.address)
    server.serve_forever()


@dataclass(frozen=True)
class Target:
    """A server under attack: where it listens, its key, its process id."""

    address: Any
    authkey: bytes
    pid: int


@contextlib.contextmanager
def limited_server(
    manager: str,
    address: Any = ("127.0.0.1", 0),
    *,
    authkey: bytes = AUTHKEY,
    limit: int = ADDRESS_SPACE,
) -> Iterator[Target]:
    """Serve ``manager`` in a child process whose address space is ``limit`` bytes."""
    ready: Any = SPAWN.Queue()
    proc = SPAWN.Process(
        target=serve_limited,
        args=(manager, address, authkey, limit, ready),
        daemon=True,
    )
    proc.start()
    try:
        try:
            served = ready.get(timeout=TIMEOUT)
        except queue.Empty:
            pytest.fail(f"the server did not start (exit code {proc.exitcode})")
        assert proc.pid is not None
        yield Target(served, authkey, proc.pid)
    finally:
        stop([proc])
        ready.close()


def session_less(target: Target) -> Connection:
    """An authenticated long-lived connection that names no session (a stdlib client's)."""
    conn = client(target.address, authkey=target.authkey)
    managers.dispatch(conn, None, "accept_connection", ("attacker",))  # type: ignore[attr-defined]
    return conn


def exchange(
    conn: Connection, payload: bytes, timeout: float = 10.0
) -> tuple[str, Any]:
    """Send one raw pickled request and read its reply within ``timeout`` seconds."""
    conn.send_bytes(payload)
    if not conn.poll(timeout):
        pytest.fail(f"no reply within {timeout} s")
    reply: tuple[str, Any] = conn.recv()
    return reply


def rss(pid: int) -> int:
    """The resident memory of process ``pid``, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def eventually(attempt: Callable[[], object], timeout: float = 20.0) -> object:
    """``attempt()``'s result once it stops raising connection errors, within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return attempt()
        except (OSError, EOFError, managers.RemoteError) as e:
            if time.monotonic() > deadline:
                pytest.fail(f"still failing after {timeout} s: {e!r}")
        time.sleep(0.05)  # a retry's pace, not a synchronisation


def op_string(text: str) -> bytes:
    """SHORT_BINUNICODE of ``text``."""
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data


def op_global(module: str, name: str) -> bytes:
    """A STACK_GLOBAL of ``module.name``."""
    return op_string(module) + op_string(name) + b"\x93"


def call(ident: str, method: str, args: bytes) -> bytes:
    """A request ``(ident, method, <args>, {})``; ``args`` is pickled code pushing a tuple."""
    return b"\x80\x04(" + op_string(ident) + op_string(method) + args + b"}t."


class Tripwire:
    """A loopback listener that counts who connects to it (and hangs up on them)."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.address: tuple[str, int] = self._sock.getsockname()
        self.connections = 0
        self._open = True
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while self._open:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._open = False
        self._thread.join(5)
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
