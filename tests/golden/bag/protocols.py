"""Properties, attribute declarations, special methods, context managers and iterators."""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Iterable, Iterator
from types import TracebackType
from typing import ClassVar, Protocol
from typing_extensions import Self, overload

from typedmgr import TypedManager


class Owner(Protocol):
    def name(self) -> str: ...


class Bag(Protocol):
    """A remote multiset."""

    size: int
    kind: ClassVar[str]  # not exposed: ClassVars belong to the class, not the object

    @property
    def label(self) -> str:
        """Read from the server on every access."""
        ...

    @property
    def owner(self) -> Owner: ...

    def __len__(self) -> int: ...

    def __getitem__(self, key: str) -> int: ...

    def __setitem__(self, key: str, value: int) -> None: ...

    def __delitem__(self, key: str) -> None: ...

    def __contains__(self, key: object) -> bool: ...

    def __iter__(self) -> Iterator[str]: ...

    def __bool__(self) -> bool: ...

    def counts(self, at_least: int = 0) -> Iterable[tuple[str, int]]: ...

    def squares(self, n: int) -> Generator[int, None, None]: ...

    @overload
    def pick(self, key: str) -> int: ...

    @overload
    def pick(self, key: str, default: str) -> int | str: ...

    def pick(self, key: str, default: str | None = None) -> int | str:
        """The count of ``key``, or ``default`` where it has none."""
        ...

    @overload
    def scaled(self, factor: int) -> int: ...

    @overload
    def scaled(self, factor: float) -> float: ...


class Ledger(Protocol):
    """A context manager on the server: ``with ledger:`` enters and leaves it there."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> bool:
        """True suppresses the exception the block raised, in the client."""
        ...

    def record(self, entry: str) -> None: ...

    def entries(self) -> list[str]: ...

    def suppress(self, on: bool) -> None: ...


class Lease(Protocol):
    # Its own Protocol: the same proxy, as with Self.
    def __enter__(self) -> Lease: ...  # noqa: PYI034 - spelled so on purpose

    def __exit__(self, *exc_info: object) -> None: ...

    def held(self) -> bool: ...

    def ledger(self) -> Ledger: ...


class OwnerImpl:
    def name(self) -> str:
        return "ann"


class BagImpl:
    kind = "bag"

    def __init__(self, label: str = "bag") -> None:
        self._items: Counter[str] = Counter()
        self._label = label
        self._owner = OwnerImpl()

    @property
    def size(self) -> int:
        return sum(self._items.values())

    @property
    def label(self) -> str:
        return self._label

    @property
    def owner(self) -> OwnerImpl:
        return self._owner

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, key: str) -> int:
        return self._items[key]

    def __setitem__(self, key: str, value: int) -> None:
        self._items[key] = value

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __bool__(self) -> bool:
        return bool(self._items)

    def counts(self, at_least: int = 0) -> list[tuple[str, int]]:
        return sorted((k, v) for k, v in self._items.items() if v >= at_least)

    def squares(self, n: int) -> Generator[int, None, None]:
        for i in range(n):
            yield i * i

    def pick(self, key: str, default: str | None = None) -> int | str:
        if key in self._items or default is None:
            return self._items[key]
        return default

    def scaled(self, factor: float) -> float:
        return self.size * factor


class LedgerImpl:
    def __init__(self) -> None:
        self._entries: list[str] = []
        self._suppress = False

    def __enter__(self) -> Self:
        self._entries.append("enter")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> bool:
        if exc_type is None:
            self._entries.append("exit")
        else:
            assert isinstance(exc, exc_type) and tb is None
            self._entries.append(f"exit {exc_type.__qualname__}: {exc}")
        return self._suppress

    def record(self, entry: str) -> None:
        self._entries.append(entry)

    def entries(self) -> list[str]:
        return list(self._entries)

    def suppress(self, on: bool) -> None:
        self._suppress = on


class LeaseImpl:
    def __init__(self) -> None:
        self._held = False
        self._ledger = LedgerImpl()

    def __enter__(self) -> None:  # returns nothing: the proxy is still the result
        self._held = True
        self._ledger.record("lease taken")

    def __exit__(self, *exc_info: object) -> None:
        self._held = False
        self._ledger.record(f"lease returned after {exc_info[0]!r}")

    def held(self) -> bool:
        return self._held

    def ledger(self) -> LedgerImpl:
        return self._ledger


class BagManager(TypedManager):
    pass


BagManager.register(Bag, BagImpl)
BagManager.register(Ledger, LedgerImpl)
BagManager.register(Lease, LeaseImpl)
