"""What a client of the generated shop proxies can rely on (checked, never run)."""

from __future__ import annotations

from typing_extensions import assert_type

from shop.models import Category, Item, OrderLine, Receipt
from shop_proxies import CartProxy, CatalogProxy, CounterProxy, ShopManager, ShopProxy


def creation(m: ShopManager) -> None:
    assert_type(m.Shop(), ShopProxy)
    assert_type(m.Counter(), CounterProxy)
    assert_type(m.Counter(start=3), CounterProxy)
    assert_type(m.Counter(3), CounterProxy)


def values(shop: ShopProxy) -> None:
    catalog = shop.catalog()
    assert_type(catalog, CatalogProxy)
    assert_type(catalog.item("B-1"), Item | None)
    assert_type(catalog.items(), list[Item])
    assert_type(catalog.items(Category.BOOKS), list[Item])
    assert_type(catalog.items(category=None), list[Item])
    assert_type(catalog.price("B-1"), float)
    assert_type(catalog.price("B-1", currency="USD"), float)
    assert_type(shop.sales(), dict[str, int])


def nested(shop: ShopProxy) -> None:
    cart = shop.cart("ann")
    assert_type(cart, CartProxy)
    assert_type(cart.add("B-1"), int)
    assert_type(cart.add("B-1", qty=2), int)
    assert_type(cart.lines(), list[OrderLine])
    assert_type(cart.checkout(), Receipt)
    assert_type(shop.find_cart("ann"), CartProxy | None)
    assert_type(shop.counter("visits").increment(by=2), int)
    found = shop.find_cart("ann")
    if found is not None:
        assert_type(found.checkout().total, float)


def rejected(m: ShopManager, shop: ShopProxy, counter: CounterProxy) -> None:
    counter.increment("2")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    counter.decrement()  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    shop.cart()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    catalog = shop.catalog()
    catalog.price(sku="B-1")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    catalog.price("B-1", "USD")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    catalog.price("B-1", currency="GBP")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    cart: CartProxy = shop.catalog()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    shop.find_cart("ann").checkout()  # type: ignore[union-attr]  # pyright: ignore[reportOptionalMemberAccess]
    m.Counter(start="0")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    m.Inventory()  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    print(cart)
