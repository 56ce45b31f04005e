"""The reference example from asyncio: many customers' calls in flight on one connection.

Run ``typedmgr gen`` first, then ``python examples/async_demo.py``. It starts a shop server
process, and one asyncio client fills and checks out a cart per customer, concurrently,
through the generated ``AsyncShopManager``.
"""

from __future__ import annotations

import asyncio
import secrets
import time

from shop_proxies import AsyncShopManager, ShopManager

CUSTOMERS = {f"customer-{i}": [("B-1", 1 + i % 3), ("T-3", 1)] for i in range(20)}


async def shop_for(m: AsyncShopManager, name: str) -> float:
    """Fill ``name``'s cart and check out: the receipt's total."""
    shop = await m.Shop()
    cart = await shop.cart(name)
    await asyncio.gather(*(cart.add(sku, qty) for sku, qty in CUSTOMERS[name]))
    await (await shop.counter("visits")).increment()
    return (await cart.checkout()).total


async def main(address: tuple[str, int] | str | bytes | None, authkey: bytes) -> None:
    """One asyncio client, every customer at once."""
    async with AsyncShopManager(address=address, authkey=authkey) as m:
        start = time.perf_counter()
        totals = await asyncio.gather(*(shop_for(m, name) for name in CUSTOMERS))
        took = (time.perf_counter() - start) * 1000
        visits = await (await (await m.Shop()).counter("visits")).value()
        print(f"{len(totals)} customers paid {sum(totals):.2f} EUR in {took:.1f} ms")
        print(f"visits: {visits}")


if __name__ == "__main__":
    key = secrets.token_bytes(16)
    with ShopManager(address=("127.0.0.1", 0), authkey=key) as server:
        asyncio.run(main(server.address, key))
