"""start(): a server process of the generated manager's source, typed proxies to it."""

from __future__ import annotations

import os
from typing import Any

import pytest

from shop.models import Category, Item, OrderLine, Receipt
from shop_proxies import CartProxy, CatalogProxy, CounterProxy, ShopManager, ShopProxy
from tests.process.support import SPAWN
from typedmgr import RemoteTraceback

pytestmark = pytest.mark.process


def test_with_block_starts_a_server_and_serves_typed_proxies() -> None:
    """`with ShopManager() as m` serves typed proxies, nested ones and copied values."""
    with ShopManager() as m:
        shop = m.Shop()
        assert isinstance(shop, ShopProxy)
        catalog = shop.catalog()
        assert isinstance(catalog, CatalogProxy)
        item = catalog.item("G-7")
        assert Item("G-7", "Go board", Category.GAMES, 30.0) == item
        assert item is not None
        assert Category.GAMES is item.category
        assert catalog.item("nope") is None
        assert ["B-1"] == [i.sku for i in catalog.items(Category.BOOKS)]
        assert 32.4 == catalog.price("G-7", currency="USD")
        assert shop.find_cart("ann") is None
        cart = shop.cart("ann")
        assert isinstance(cart, CartProxy)
        found = shop.find_cart("ann")
        assert isinstance(found, CartProxy)
        assert shop.find_cart("nobody") is None
        assert 2 == cart.add("B-1", 2)
        assert 3 == found.add("B-1")  # the same cart, through another proxy
        line: OrderLine = {"sku": "B-1", "qty": 3, "subtotal": 126.0}
        assert [line] == cart.lines()
        receipt = found.checkout()
        assert Receipt("ann", [line], 126.0) == receipt
        assert [] == cart.lines()
        assert {"B-1": 3} == shop.sales()
        counter = m.Counter(start=10)
        assert isinstance(counter, CounterProxy)
        assert 12 == counter.increment(by=2)
        assert 12 == counter.value()


def test_start_under_spawn_serves_the_source_managers_registry() -> None:
    """start() with a 'spawn' context, then shutdown(), leaves no server process behind."""
    m = ShopManager(ctx=SPAWN)
    m.start()
    process: Any = m._process  # type: ignore[attr-defined]
    try:
        assert process.is_alive()
        shop = m.Shop()
        counter = shop.counter("spawned")
        assert [1, 2, 3] == [counter.increment() for _ in range(3)]
        assert 3 == shop.counter("spawned").value()  # the same object, a new proxy
        assert 7 == m.Counter(5).increment(2)
    finally:
        m.shutdown()
    process.join(10)
    assert not process.is_alive()


def test_remote_exception_carries_the_server_traceback() -> None:
    """A KeyError raised in shop/impl.py is raised at the caller, server frames chained."""
    with ShopManager() as m:
        cart = m.Shop().cart("bob")
        with pytest.raises(KeyError, match="no such sku: nope") as raised:
            cart.add("nope")
        assert type(raised.value) is KeyError
        cause = raised.value.__cause__
        assert isinstance(cause, RemoteTraceback)
        assert os.path.join("shop", "impl.py") in cause.tb
        assert "in add" in cause.tb
        assert "KeyError: 'no such sku: nope'" in cause.tb
        assert 1 == cart.add("B-1")  # the connection is still in step
