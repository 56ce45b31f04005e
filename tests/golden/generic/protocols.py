"""Generic Protocols: generic proxies, and creation methods that fix the parameters."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Generic, Protocol, TypeVar

from typedmgr import TypedManager

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
K_co = TypeVar("K_co", bound=Hashable, covariant=True)
V_co = TypeVar("V_co", covariant=True)


class Pair(Protocol[K_co, V_co]):
    def first(self) -> K_co: ...

    def second(self) -> V_co: ...


class Box(Protocol[T]):
    def get(self) -> T: ...

    def put(self, item: T) -> None: ...

    def labelled(self, label: str) -> Pair[str, T]: ...

    def history(self) -> Iterator[T]: ...


class PairImpl(Generic[K, V]):
    def __init__(self, first: K, second: V) -> None:
        self._pair = (first, second)

    def first(self) -> K:
        return self._pair[0]

    def second(self) -> V:
        return self._pair[1]


class BoxImpl(Generic[T]):
    def __init__(self, item: T) -> None:
        self._items = [item]

    def get(self) -> T:
        return self._items[-1]

    def put(self, item: T) -> None:
        self._items.append(item)

    def labelled(self, label: str) -> PairImpl[str, T]:
        return PairImpl(label, self._items[-1])

    def history(self) -> Iterator[T]:
        return iter(list(self._items))


def int_box(item: int = 0) -> BoxImpl[int]:
    return BoxImpl(item)


def str_box(item: str = "") -> BoxImpl[str]:
    return BoxImpl(item)


class GenericManager(TypedManager):
    pass


GenericManager.register(Box[int], int_box, protocol_typeid="IntBox")
GenericManager.register(Box[str], str_box, protocol_typeid="StrBox")
