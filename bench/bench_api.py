"""What the benchmark serves: the shop's Counter and Shop, plus an echo for payloads."""

from __future__ import annotations

from typing import Protocol

from shop.api import Counter, Shop
from shop.impl import CounterImpl, ShopImpl
from typedmgr import TypedManager


class Echo(Protocol):
    def echo(self, data: bytes) -> bytes: ...


class EchoImpl:
    def echo(self, data: bytes) -> bytes:
        return data


class BenchManager(TypedManager):
    """typedmgr's side of the benchmark."""


BenchManager.register(Counter, CounterImpl)
BenchManager.register(Shop, ShopImpl)
BenchManager.register(Echo, EchoImpl)
