"""The shop's manager: Protocols registered with their implementations."""

from __future__ import annotations

from shop.api import Counter, Shop
from shop.impl import CounterImpl, shared_shop
from typedmgr import TypedManager


class ShopManager(TypedManager):
    """Serves one shop shared by all clients; Catalog and Cart are reached through it."""


ShopManager.register(Shop, shared_shop)
ShopManager.register(Counter, CounterImpl)
