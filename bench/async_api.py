"""What the async benchmark serves: a trivial call, and an ``async def`` that sleeps."""

from __future__ import annotations

import asyncio
from typing import Protocol

from typedmgr import TypedManager


class Ping(Protocol):
    def ping(self, n: int) -> int: ...
    async def nap(self, seconds: float) -> float: ...


class PingImpl:
    def ping(self, n: int) -> int:
        return n

    async def nap(self, seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds


class AsyncBenchManager(TypedManager):
    """Serves the async benchmark."""


AsyncBenchManager.register(Ping, PingImpl)
