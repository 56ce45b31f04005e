# mypy: disallow-any-expr
"""What a client of the generated shop proxies can rely on (checked, never run)."""

from __future__ import annotations

from typing import assert_type

from shop.api import Cart, Catalog, Counter, Currency, Shop
from shop.models import Category, Item, OrderLine, Receipt
from shop_proxies import CartProxy, CatalogProxy, CounterProxy, ShopManager, ShopProxy


def creation(key: bytes) -> None:
    with ShopManager(address=("127.0.0.1", 50000), authkey=key) as m:
        assert_type(m, ShopManager)
        assert_type(m.Shop(), ShopProxy)
        assert_type(m.Counter(), CounterProxy)
        assert_type(m.Counter(start=3), CounterProxy)
        assert_type(m.Counter(3), CounterProxy)
    client = ShopManager(
        ("127.0.0.1", 50000), key, serializer="pickle", allow_insecure_network=True
    )
    assert_type(client.connect(), None)
    assert_type(client.Shop(), ShopProxy)


def values(shop: ShopProxy) -> None:
    catalog = shop.catalog()
    assert_type(catalog, CatalogProxy)
    assert_type(catalog.item("B-1"), Item | None)
    assert_type(catalog.items(), list[Item])
    assert_type(catalog.items(Category.BOOKS), list[Item])
    assert_type(catalog.items(category=None), list[Item])
    assert_type(catalog.items()[0].category, Category)
    assert_type(shop.sales(), dict[str, int])


def keyword_and_positional_only(catalog: CatalogProxy, currency: Currency) -> None:
    assert_type(catalog.price("B-1"), float)
    assert_type(catalog.price("B-1", currency="USD"), float)
    assert_type(catalog.price("B-1", currency=currency), float)
    counter = ShopManager().Counter()
    assert_type(counter.increment(), int)
    assert_type(counter.increment(2), int)
    assert_type(counter.increment(by=2), int)


def nested(shop: ShopProxy) -> None:
    cart = shop.cart("ann")
    assert_type(cart, CartProxy)
    assert_type(shop.cart(customer="ann"), CartProxy)
    assert_type(cart.add("B-1"), int)
    assert_type(cart.add("B-1", qty=2), int)
    assert_type(cart.lines(), list[OrderLine])
    assert_type(cart.lines()[0]["qty"], int)
    assert_type(cart.checkout(), Receipt)
    assert_type(cart.checkout().lines, list[OrderLine])
    assert_type(shop.find_cart("ann"), CartProxy | None)
    assert_type(shop.counter("visits"), CounterProxy)
    assert_type(shop.counter("visits").increment(by=2), int)
    assert_type(shop.counter("visits").value(), int)
    found = shop.find_cart("ann")
    if found is not None:
        assert_type(found, CartProxy)
        assert_type(found.checkout().total, float)


def proxies_satisfy_their_protocols(m: ShopManager) -> None:
    # Code written against the Protocols accepts the proxies.
    shop: Shop = m.Shop()
    catalog: Catalog = shop.catalog()
    cart: Cart = shop.cart("ann")
    maybe: Cart | None = shop.find_cart("ann")
    counter: Counter = m.Counter()
    print(catalog, cart, maybe, counter)


def rejected(m: ShopManager, shop: ShopProxy, counter: CounterProxy, s: str) -> None:
    counter.increment("2")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    counter.increment(step=2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    counter.decrement()  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    shop.cart()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    shop.cart("ann", "bob")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    catalog = shop.catalog()
    catalog.items("books")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    catalog.price(sku="B-1")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    catalog.price("B-1", "USD")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    catalog.price("B-1", currency="GBP")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    catalog.price("B-1", currency=s)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    cart: CartProxy = shop.catalog()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    shop.counter("visits").add("B-1")  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    shop.find_cart("ann").checkout()  # type: ignore[union-attr]  # pyright: ignore[reportOptionalMemberAccess]
    found: CartProxy = shop.find_cart("ann")  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    total: int = shop.cart("ann").checkout().total  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    shop.cart("ann").lines()[0]["price"]  # type: ignore[typeddict-item]  # pyright: ignore[reportGeneralTypeIssues]
    m.Counter(start="0")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    m.Shop("main")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    m.Inventory()  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    print(cart, found, total)
