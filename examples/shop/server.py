"""The shop's manager: Protocols registered with their implementations."""

from __future__ import annotations

from shop.api import Counter, Shop
from shop.impl import CounterImpl, ShopImpl
from typedmgr import TypedManager


class ShopManager(TypedManager):
    """Serves one shared shop; Catalog and Cart are reached through it."""


ShopManager.register(Shop, ShopImpl)
ShopManager.register(Counter, CounterImpl)
