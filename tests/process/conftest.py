"""Fixtures of the process tests: served shops (tests/conftest.py puts the
example on sys.path, and children inherit it)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.process import support
from tests.process.support import Served


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
        with support.server_process(
            "shop_proxies:ShopManager", address, authkey
        ) as served:
            yield Served(served, authkey, str(request.param))
