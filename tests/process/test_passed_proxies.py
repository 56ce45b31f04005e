"""Proxies handed to child processes keep working there, nested proxies included."""

from __future__ import annotations

import multiprocessing
import uuid

import pytest

from shop_proxies import ShopManager
from tests.process import children
from tests.process.support import Served, run_children

pytestmark = pytest.mark.process

TIMES = 20
PROXY_NAMES = ["ShopProxy", "CounterProxy", "CounterProxy", "CartProxy", "CartProxy"]


def test_proxies_pickled_into_spawned_children(served_shop: Served) -> None:
    """Proxies passed as spawn Process args work, methods returning proxies too (gh-99595)."""
    m = ShopManager(address=served_shop.address, authkey=served_shop.authkey)
    m.connect()
    shop = m.Shop()
    direct, nested = f"direct-{uuid.uuid4().hex}", f"nested-{uuid.uuid4().hex}"
    counter = shop.counter(direct)
    customers = [f"kid-{i}-{uuid.uuid4().hex}" for i in range(2)]
    outcomes = run_children(
        children.use_passed_shop,
        [(shop, counter, nested, customer, TIMES) for customer in customers],
    )
    for names, stranger_is_none, quantity, _, implementations in outcomes:
        assert PROXY_NAMES == names
        assert stranger_is_none
        assert 2 == quantity
        assert [] == implementations
    assert 2 * TIMES == counter.value()
    assert 2 * TIMES == shop.counter(nested).value()
    for customer in customers:
        cart = shop.find_cart(customer)
        assert cart is not None
        assert 2 == cart.lines()[0]["qty"]
    assert counter.increment() == 2 * TIMES + 1  # the parent's proxies still work


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_proxies_of_a_started_manager_in_children(method: str) -> None:
    """Proxies of a start()ed server, handed to spawn or fork children, return proxies."""
    ctx = multiprocessing.get_context(method)
    with ShopManager() as m:
        shop = m.Shop()
        counter = m.Counter()
        outcomes = run_children(
            children.use_passed_shop,
            [(shop, counter, "nested", "kid", TIMES)],
            ctx=ctx,
        )
        [(names, stranger_is_none, quantity, value, _)] = outcomes
        assert PROXY_NAMES == names
        assert stranger_is_none
        assert 2 == quantity
        assert TIMES == value
        assert TIMES == counter.value()
        assert TIMES == shop.counter("nested").value()
