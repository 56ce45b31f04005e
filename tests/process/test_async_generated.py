"""The generated async twins of the shop example against its real servers (`typedmgr
serve` and a server process, over TCP and a unix socket)."""

from __future__ import annotations

import asyncio

import pytest

from shop.models import Receipt
from shop_proxies import (
    AsyncCartProxy,
    AsyncCatalogProxy,
    AsyncCounterProxy,
    AsyncShopManager,
    AsyncShopProxy,
)
from tests.process.support import TIMEOUT, Served

pytestmark = pytest.mark.process


def test_generated_twins_create_call_and_nest(served_shop: Served) -> None:
    """``async with AsyncShopManager(...)``: typed creation, calls, nested twins, errors."""

    async def main() -> None:
        async with AsyncShopManager(
            address=served_shop.address, authkey=served_shop.authkey
        ) as m:
            shop = await m.Shop()
            assert type(shop) is AsyncShopProxy
            catalog = await shop.catalog()
            assert type(catalog) is AsyncCatalogProxy
            assert 45.36 == await catalog.price("B-1", currency="USD")
            cart = await shop.cart(f"async-{served_shop.how}")
            assert type(cart) is AsyncCartProxy
            assert 2 == await cart.add("B-1", qty=2)
            found = await shop.find_cart(f"async-{served_shop.how}")
            assert type(found) is AsyncCartProxy
            assert None is await shop.find_cart("nobody-async")
            receipt = await cart.checkout()
            assert receipt.total > 0
            assert Receipt is type(receipt)
            with pytest.raises(KeyError, match="NOPE"):
                await cart.add("NOPE")
            counter = await m.Counter(start=5)
            assert type(counter) is AsyncCounterProxy
            assert 6 == await counter.increment()

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))


def test_generated_twins_share_one_connection_among_concurrent_tasks(
    served_shop: Served,
) -> None:
    """Many tasks of one loop use one connection's twins at once; each gets its own
    answer."""

    async def main() -> None:
        async with AsyncShopManager(
            address=served_shop.address, authkey=served_shop.authkey
        ) as m:
            counters = await asyncio.gather(*(m.Counter(start=i) for i in range(50)))

            async def bump(counter: AsyncCounterProxy, start: int) -> tuple[int, int]:
                for _ in range(10):
                    await counter.increment()
                return start, await counter.value()

            results = await asyncio.gather(
                *(bump(c, i) for i, c in enumerate(counters))
            )
            assert [(i, i + 10) for i in range(50)] == results

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))
