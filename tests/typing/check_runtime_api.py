"""The typed runtime API around generated proxies (checked, never run)."""

from __future__ import annotations

from typing_extensions import assert_type

from shop_proxies import CartProxy, CounterProxy, ShopProxy
from typedmgr import Pipeline, Reply


def pipelines(counter: CounterProxy, shop: ShopProxy) -> None:
    with Pipeline() as p:
        assert_type(p.call(counter.increment, by=2), Reply[int])
        assert_type(p.call(shop.cart, "ann"), Reply[CartProxy])
        assert_type(p.call(shop.find_cart, "ann"), Reply[CartProxy | None])
        p.call(counter.increment, by="2")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert_type(p.call(counter.value).value(), int)
