"""What the benchmark serves: the shop's Counter and Shop, an echo for payloads, and a clock
that reads the server process's CPU time."""

from __future__ import annotations

import time
from typing import Protocol

from shop.api import Counter, Shop
from shop.impl import CounterImpl, ShopImpl
from typedmgr import TypedManager


class Echo(Protocol):
    def echo(self, data: bytes) -> bytes: ...
    def echo_array(self, data: bytearray) -> bytearray: ...


class EchoImpl:
    def echo(self, data: bytes) -> bytes:
        return data

    def echo_array(self, data: bytearray) -> bytearray:
        return data


class Clock(Protocol):
    def cpu(self) -> float:
        """CPU seconds the server process has used, all its threads (dead ones too)."""
        ...


class ClockImpl:
    def cpu(self) -> float:
        return time.process_time()


class BenchManager(TypedManager):
    """typedmgr's side of the benchmark."""


BenchManager.register(Counter, CounterImpl)
BenchManager.register(Shop, ShopImpl)
BenchManager.register(Echo, EchoImpl)
BenchManager.register(Clock, ClockImpl)
