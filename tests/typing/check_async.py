# mypy: disallow-any-expr
"""What a client of the generated async twins can rely on (checked, never run)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import assert_type

from shop.models import Category, Item, OrderLine, Receipt
from shop_proxies import (
    AsyncCartProxy,
    AsyncCatalogProxy,
    AsyncCounterProxy,
    AsyncShopManager,
    AsyncShopProxy,
)
from tests.golden.bag.expected.proxies import (
    AsyncBagManager,
    AsyncBagProxy,
    AsyncLeaseProxy,
    AsyncLedgerProxy,
    AsyncOwnerProxy,
)
from tests.golden.generic.expected.proxies import (
    AsyncBoxProxy,
    AsyncGenericManager,
    AsyncPairProxy,
)
from typedmgr import AsyncTypedIterator


async def creation(key: bytes) -> None:
    async with AsyncShopManager(address=("127.0.0.1", 50000), authkey=key) as m:
        assert_type(m, AsyncShopManager)
        assert_type(await m.Shop(), AsyncShopProxy)
        assert_type(await m.Counter(), AsyncCounterProxy)
        assert_type(await m.Counter(start=3), AsyncCounterProxy)
        assert_type(await m.Counter(3), AsyncCounterProxy)
        await m.Counter("3")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        m.Shop().cart("ann")  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    client = AsyncShopManager(("127.0.0.1", 50000), key)
    assert_type(await client.connect(), None)
    assert_type(await client.aclose(), None)


async def values(shop: AsyncShopProxy) -> None:
    catalog = await shop.catalog()
    assert_type(catalog, AsyncCatalogProxy)
    assert_type(await catalog.item("B-1"), Item | None)
    assert_type(await catalog.items(), list[Item])
    assert_type(await catalog.items(Category.BOOKS), list[Item])
    assert_type(await catalog.items(category=None), list[Item])
    assert_type((await catalog.items())[0].category, Category)
    assert_type(await shop.sales(), dict[str, int])
    assert_type(await catalog.price("B-1"), float)
    assert_type(await catalog.price("B-1", currency="USD"), float)
    await catalog.price("B-1", currency="GBP")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await catalog.price(sku="B-1")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


async def nested(shop: AsyncShopProxy) -> None:
    cart = await shop.cart("ann")
    assert_type(cart, AsyncCartProxy)
    assert_type(await shop.cart(customer="ann"), AsyncCartProxy)
    assert_type(await cart.add("B-1"), int)
    assert_type(await cart.add("B-1", qty=2), int)
    assert_type(await cart.lines(), list[OrderLine])
    assert_type(await cart.checkout(), Receipt)
    assert_type(await shop.find_cart("ann"), AsyncCartProxy | None)
    counter = await shop.counter("visits")
    assert_type(counter, AsyncCounterProxy)
    assert_type(await counter.increment(by=2), int)
    assert_type(await counter.value(), int)
    found = await shop.find_cart("ann")
    if found is not None:
        assert_type(found, AsyncCartProxy)
        assert_type((await found.checkout()).total, float)
    await cart.add("B-1", qty="2")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    n: int = cart.add("B-1")  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    print(n)


async def properties_specials_iterators(m: AsyncBagManager) -> None:
    bag = await m.Bag(label="x")
    assert_type(bag, AsyncBagProxy)
    assert_type(await bag.label(), str)
    assert_type(await bag.size(), int)
    assert_type(await bag.owner(), AsyncOwnerProxy)
    assert_type(await (await bag.owner()).name(), str)
    assert_type(await bag.length(), int)
    assert_type(await bag["apple"], int)
    assert_type(await bag.contains("apple"), bool)
    assert_type(await bag.truth(), bool)
    assert_type(await bag.setitem("apple", 3), None)
    assert_type(await bag.delitem("apple"), None)
    async for key in bag:
        assert_type(key, str)
    assert_type(bag.__aiter__(), AsyncIterator[str])
    squares = await bag.squares(3)
    assert_type(squares, AsyncTypedIterator[int])
    async for square in squares:
        assert_type(square, int)
    assert_type(await squares.__anext__(), int)
    assert_type(await bag.counts(at_least=2), AsyncTypedIterator[tuple[str, int]])
    assert_type(await bag.pick("apple"), int)
    assert_type(await bag.pick("apple", "none"), int | str)
    assert_type(await bag.scaled(2), int)
    assert_type(await bag.scaled(2.5), float)
    await bag.pick(1)  # type: ignore[call-overload, misc]  # pyright: ignore[reportArgumentType]
    await bag.setitem("apple", "3")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    bag.label = "y"  # type: ignore[method-assign, assignment]  # pyright: ignore[reportAttributeAccessIssue]
    len(bag)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    for _ in bag:  # type: ignore[attr-defined, misc]  # pyright: ignore[reportGeneralTypeIssues, reportUnknownVariableType]
        pass


async def context_managers(m: AsyncBagManager) -> None:
    ledger = await m.Ledger()
    async with ledger as entered:
        assert_type(entered, AsyncLedgerProxy)
        assert_type(await entered.record("x"), None)
        assert_type(await entered.entries(), list[str])
    async with await m.Lease() as lease:
        assert_type(lease, AsyncLeaseProxy)
        assert_type(await lease.ledger(), AsyncLedgerProxy)
        assert_type(await lease.held(), bool)
    assert_type(await ledger.__aexit__(None, None, None), bool)
    async with await m.Bag():  # type: ignore[attr-defined]  # pyright: ignore[reportGeneralTypeIssues]
        pass  # Bag declares no __enter__/__exit__: its proxy is no context manager
    with ledger:  # type: ignore[attr-defined]  # pyright: ignore[reportGeneralTypeIssues]
        pass  # the async twin is used with ``async with``


async def generics(m: AsyncGenericManager) -> None:
    ints = await m.IntBox(1)
    assert_type(ints, AsyncBoxProxy[int])
    assert_type(await ints.get(), int)
    assert_type(await ints.labelled("x"), AsyncPairProxy[str, int])
    assert_type(await (await ints.labelled("x")).second(), int)
    assert_type(await ints.history(), AsyncTypedIterator[int])
    assert_type(await (await m.StrBox()).get(), str)
    await ints.put("one")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await m.IntBox("1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    objects: AsyncBoxProxy[object] = ints  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    print(objects)


async def runtime_api(m: AsyncShopManager) -> None:
    from shop.api import Counter
    from typedmgr import (
        AsyncConnection,
        AsyncTypedProxy,
        async_proxy_class_for,
    )

    assert_type(async_proxy_class_for(Counter), type[AsyncTypedProxy])
    assert_type(await m.create("Counter", Counter, 1), AsyncTypedProxy)
    assert_type(m.connection, AsyncConnection)
    assert_type(m.connection.in_flight, int)
    assert_type(m.connection.closed, bool)
    assert_type(await m.connection.settled(), None)
    assert_type(m.connection.close(), None)
    await m.create(Counter, 1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert_type(await m.__aenter__(), AsyncShopManager)


async def iterators(shop: AsyncShopProxy, m: AsyncBagManager) -> None:
    bag = await m.Bag()
    squares = await bag.squares(2)
    assert_type(squares.__aiter__(), AsyncTypedIterator[int])
    assert_type([x async for x in squares], list[int])
    assert_type([k async for k in bag], list[str])
    assert_type({k: await bag[k] async for k in bag}, dict[str, int])
    assert_type(await anext(squares, None), int | None)


async def pipelines(counter: AsyncCounterProxy, shop: AsyncShopProxy) -> None:
    from typedmgr import AsyncPipeline, AsyncReply

    async with AsyncPipeline() as p:
        assert_type(p, AsyncPipeline)
        assert_type(p.call(counter.increment, by=2), AsyncReply[int])
        assert_type(p.call(counter.value), AsyncReply[int])
        cart = p.call(shop.cart, "ann")
        assert_type(cart, AsyncReply[AsyncCartProxy])
        p.call(counter.increment, by="2")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert_type(cart.value(), AsyncCartProxy)
    assert_type(await p.send(), None)
