"""Fixtures of the process tests: a watchdog, served shops (tests/conftest.py puts the
example on sys.path, and children inherit it)."""

from __future__ import annotations

import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from tests.process import children, support
from tests.process.support import Served

#: Seconds after which a process test is interrupted: no process test may hang.
WATCHDOG = 60.0


class Hung(Exception):
    """A process test ran past ``WATCHDOG`` seconds."""


def _expire(signum: int, frame: FrameType | None) -> None:
    raise Hung(f"the test was still running after {WATCHDOG} s")


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """Interrupt a test that runs past ``WATCHDOG`` seconds (wherever it blocks).

    A timer signal, not a watchdog thread: forking a multi-threaded process (which 3.12+
    warns about) could deadlock the children the tests start.
    """
    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, WATCHDOG)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def sockdir() -> Iterator[Path]:
    """A directory for unix sockets, short enough for AF_UNIX's 108-byte limit."""
    path = Path(tempfile.mkdtemp(prefix="typedmgr-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(
    # Per module: servers that outlive it are children of this process, and CPython's
    # TestSyncManagerTypes waits 5 s for every child but its manager to go away.
    scope="module",
    params=["cli-tcp", "cli-unix", "process-tcp", "process-unix"],
)
def served_shop(request: pytest.FixtureRequest, sockdir: Path) -> Iterator[Served]:
    """The shop served by `typedmgr serve` or by a process running get_server().serve_forever().

    Over TCP on 127.0.0.1 or over a unix socket; shared by the tests of one parameter, which
    therefore use names of their own for counters and carts.
    """
    how, transport = str(request.param).split("-")
    authkey = f"key-of-{request.param}".encode()
    address: Any = (
        ("127.0.0.1", 0)
        if transport == "tcp"
        else str(sockdir / f"{how}-{uuid.uuid4().hex[:8]}.sock")
    )
    if how == "cli":
        with support.cli_server(
            "shop.server:ShopManager", support.as_cli_address(address), authkey
        ) as served:
            yield Served(served, authkey, str(request.param))
    else:
        with support.server_process(children.serve_shop, address, authkey) as served:
            yield Served(served, authkey, str(request.param))
