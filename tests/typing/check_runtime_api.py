# mypy: disallow-any-expr
"""The typed runtime API around generated proxies (checked, never run)."""

from __future__ import annotations

from typing import assert_type

from shop_proxies import CartProxy, CatalogProxy, CounterProxy, ShopProxy
from tests.golden.bag.expected.proxies import BagProxy
from typedmgr import Pipeline, Reply


def pipelines(counter: CounterProxy, shop: ShopProxy, catalog: CatalogProxy) -> None:
    with Pipeline() as p:
        assert_type(p, Pipeline)
        assert_type(p.call(counter.increment, by=2), Reply[int])
        assert_type(p.call(shop.cart, "ann"), Reply[CartProxy])
        assert_type(p.call(shop.find_cart, "ann"), Reply[CartProxy | None])
        assert_type(p.call(catalog.price, "B-1", currency="USD"), Reply[float])
        p.call(counter.increment, by="2")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        p.call(counter.increment, step=2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
        p.call(catalog.price, sku="B-1")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
        p.call(catalog.price, "B-1", "USD")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    assert_type(p.call(counter.value).value(), int)


def pipelined_overloads(bag: BagProxy) -> None:
    with Pipeline() as p:
        assert_type(p.call(bag.pick, "apple"), Reply[int])
        assert_type(p.call(bag.pick, "apple", "none"), Reply[int | str])
        assert_type(p.call(bag.scaled, 2.5), Reply[float])
