"""Protocols of the async tests: sync and ``async def`` methods, returned remote objects,
iterators, a context manager; implementations; a manager serving them."""

from __future__ import annotations

import asyncio
import fractions
import random
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Protocol, Self

from typedmgr import TypedManager, oneway


class Item(Protocol):
    """A remote object another method returns."""

    def value(self) -> int: ...


class Session(Protocol):
    """A context manager: ``async with`` on its async proxy."""

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None: ...
    def state(self) -> str: ...


class Echo(Protocol):
    """Calls that answer what they were asked, sync and async, quickly or after a while."""

    @property
    def name(self) -> str: ...
    def echo(self, tag: int, delay: float = 0.0) -> int: ...
    async def aecho(self, tag: int, delay: float = 0.0) -> int: ...
    def jitter(self, tag: int, most: float) -> int: ...
    def item(self, value: int) -> Item: ...
    async def aitem(self, value: int, delay: float = 0.0) -> Item: ...
    def maybe(self, value: int | None) -> Item | None: ...
    def count(self, n: int) -> Iterator[int]: ...
    async def wait_open(self) -> str: ...
    def open(self) -> None: ...
    def wait_gate(self) -> str: ...
    @oneway
    def open_later(self) -> None: ...
    def fail(self, message: str) -> int: ...
    async def afail(self, message: str) -> int: ...
    def session(self) -> Session: ...
    def loops(self) -> int: ...
    async def meet(self, n: int) -> int: ...
    def blob(self, data: bytes, times: int = 1) -> bytes: ...
    def size(self, data: bytes) -> int: ...
    def thread(self) -> int: ...
    def thread_count(self) -> int: ...
    def odd(self) -> object: ...


class Table(Protocol):
    """Special methods: named, awaitable methods on its async proxy."""

    def __len__(self) -> int: ...
    def __contains__(self, key: object) -> bool: ...
    def __getitem__(self, key: str) -> int: ...
    def __setitem__(self, key: str, value: int) -> None: ...
    def __delitem__(self, key: str) -> None: ...
    def __iter__(self) -> Iterator[str]: ...
    def __bool__(self) -> bool: ...


class TableImpl:
    def __init__(self) -> None:
        self._data: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __getitem__(self, key: str) -> int:
        return self._data[key]

    def __setitem__(self, key: str, value: int) -> None:
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __bool__(self) -> bool:
        return bool(self._data)


class ItemImpl:
    def __init__(self, value: int) -> None:
        self._value = value

    def value(self) -> int:
        return self._value


class SessionImpl:
    def __init__(self) -> None:
        self._state = "new"

    def __enter__(self) -> Self:
        self._state = "open"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        self._state = "closed" if exc_type is None else f"failed: {exc}"
        return None

    def state(self) -> str:
        return self._state


class EchoImpl:
    def __init__(self) -> None:
        self.name = "echo"
        self._gate = threading.Event()
        self._loops: set[int] = set()

    def echo(self, tag: int, delay: float = 0.0) -> int:
        if delay:
            time.sleep(delay)
        return tag

    async def aecho(self, tag: int, delay: float = 0.0) -> int:
        self._loops.add(id(asyncio.get_running_loop()))
        await asyncio.sleep(delay)
        return tag

    def jitter(self, tag: int, most: float) -> int:
        time.sleep(random.uniform(0, most))
        return tag

    def item(self, value: int) -> ItemImpl:
        return ItemImpl(value)

    async def aitem(self, value: int, delay: float = 0.0) -> ItemImpl:
        await asyncio.sleep(delay)
        return ItemImpl(value)

    def maybe(self, value: int | None) -> ItemImpl | None:
        return None if value is None else ItemImpl(value)

    def count(self, n: int) -> Iterator[int]:
        return iter(range(n))

    async def wait_open(self) -> str:
        while not self._gate.is_set():
            await asyncio.sleep(0.001)
        return "opened"

    def open(self) -> None:
        self._gate.set()

    def open_later(self) -> None:
        self._gate.set()

    def wait_gate(self) -> str:
        """Block this server thread until ``open`` is called (a sync method's wait)."""
        return "opened" if self._gate.wait(20) else "timed out"

    def fail(self, message: str) -> int:
        raise KeyError(message)

    async def afail(self, message: str) -> int:
        await asyncio.sleep(0)
        raise ValueError(message)

    def session(self) -> SessionImpl:
        return SessionImpl()

    def loops(self) -> int:
        return len(self._loops)

    def blob(self, data: bytes, times: int = 1) -> bytes:
        return data * times

    def size(self, data: bytes) -> int:
        return len(data)

    def thread(self) -> int:
        """The server thread that runs this call."""
        return threading.get_ident()

    def thread_count(self) -> int:
        """The server's threads."""
        return threading.active_count()

    def odd(self) -> object:
        """A value of a type no Protocol names: a client refuses to load it."""
        return fractions.Fraction(1, 3)

    async def meet(self, n: int) -> int:
        """Return once ``n`` callers are waiting here at the same time (a barrier)."""
        self._loops.add(id(asyncio.get_running_loop()))
        self._waiting = getattr(self, "_waiting", 0) + 1
        arrived = self._waiting
        while self._waiting < n:
            await asyncio.sleep(0.001)
        return arrived


class AioManager(TypedManager):
    """Serves the async tests' Protocols."""


AioManager.register(Echo, EchoImpl)
AioManager.register(Item, ItemImpl)
AioManager.register(Session, SessionImpl)
AioManager.register(Table, TableImpl)
