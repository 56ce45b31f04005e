"""The reference example for real: servers in their own processes, typed clients in others."""

from __future__ import annotations

import ast
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shop.models import Category, Item, Receipt
from shop_proxies import CartProxy, CatalogProxy, CounterProxy, ShopManager
from typedmgr import RemoteTraceback

pytestmark = pytest.mark.process

AUTHKEY = "process-tests-key"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_started_manager_serves_typed_proxies() -> None:
    """`with ShopManager() as m` starts a local server; calls, values and nested proxies work."""
    with ShopManager() as m:
        shop = m.Shop()
        catalog = shop.catalog()
        assert isinstance(catalog, CatalogProxy)
        assert Item("G-7", "Go board", Category.GAMES, 30.0) == catalog.item("G-7")
        assert catalog.item("nope") is None
        assert ["B-1"] == [i.sku for i in catalog.items(Category.BOOKS)]
        assert 32.4 == catalog.price("G-7", currency="USD")
        cart = shop.cart("ann")
        assert isinstance(cart, CartProxy)
        assert shop.find_cart("nobody") is None
        found = shop.find_cart("ann")
        assert isinstance(found, CartProxy)
        assert 2 == cart.add("B-1", 2)
        assert 3 == found.add("B-1")
        receipt = cart.checkout()
        assert (
            Receipt("ann", [{"sku": "B-1", "qty": 3, "subtotal": 126.0}], 126.0)
            == receipt
        )
        assert {"B-1": 3} == shop.sales()
        counter = m.Counter(start=10)
        assert isinstance(counter, CounterProxy)
        assert 12 == counter.increment(by=2)


def test_remote_exception_keeps_the_server_traceback() -> None:
    """A KeyError raised in shop/impl.py is raised at the caller, server frames chained."""
    with ShopManager() as m:
        cart = m.Shop().cart("bob")
        with pytest.raises(KeyError, match="no such sku") as raised:
            cart.add("NOPE")
        cause = raised.value.__cause__
        assert isinstance(cause, RemoteTraceback)
        assert os.path.join("shop", "impl.py") in cause.tb
        assert "in add" in cause.tb


@pytest.fixture(params=["tcp", "unix"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """`typedmgr serve` in its own process; yields the address clients connect to."""
    address = "127.0.0.1:0" if request.param == "tcp" else str(tmp_path / "shop.sock")
    env = {**os.environ, "SHOP_KEY": AUTHKEY, "PYTHONPATH": str(EXAMPLES)}
    command = [sys.executable, "-m", "typedmgr", "serve", "shop.server:ShopManager"]
    proc = subprocess.Popen(
        [*command, "--address", address, "--authkey-env", "SHOP_KEY"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert "serving shop.server:ShopManager at" in banner, banner
        served: Any = ast.literal_eval(banner.split(" at ", 1)[1].strip())
        yield served
    finally:
        proc.terminate()
        proc.wait(10)


def customer(address: Any, name: str, visits: int, results: Any) -> None:
    """A client process: connect, shop, count visits; report what it saw and imported."""
    manager = ShopManager(address=address, authkey=AUTHKEY.encode())
    manager.connect()
    with manager:
        shop = manager.Shop()
        counter = shop.counter("visits")
        for _ in range(visits):
            counter.increment()
        shop.cart(name).add("T-3", 2)
        receipt = shop.cart(name).checkout()
        results.put((name, receipt.total, "shop.impl" in sys.modules))


def test_clients_in_other_processes_share_one_server(server: Any) -> None:
    """Four client processes connect() to a served shop; shared state is exact."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    names = ["ann", "bob", "cyd", "dan"]
    procs = [
        ctx.Process(target=customer, args=(server, name, 50, results)) for name in names
    ]
    for p in procs:
        p.start()
    seen = sorted(results.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(30)
        assert 0 == p.exitcode
    assert [(name, 25.0, False) for name in names] == seen
    manager = ShopManager(address=server, authkey=AUTHKEY.encode())
    manager.connect()
    with manager:
        shop = manager.Shop()
        assert 200 == shop.counter("visits").value()
        assert {"T-3": 8} == shop.sales()
    # Leaving the `with` block of a connect()ed manager left the server running.
    again = ShopManager(address=server, authkey=AUTHKEY.encode())
    again.connect()
    assert 200 == again.Shop().counter("visits").value()


def test_wrong_authkey_is_refused(server: Any) -> None:
    """A client with another key cannot connect."""
    manager = ShopManager(address=server, authkey=b"wrong")
    with pytest.raises(multiprocessing.AuthenticationError):
        manager.connect()


def test_serve_refuses_an_authkey_on_the_command_line() -> None:
    """`typedmgr serve` takes the key from the environment or a file, never argv."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "typedmgr",
            "serve",
            "shop.server:ShopManager",
            "--address",
            "127.0.0.1:0",
            "--authkey",
            "secret",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(EXAMPLES)},
        check=False,
        timeout=60,
    )
    assert 0 != result.returncode
    assert "--authkey-env" in result.stderr
