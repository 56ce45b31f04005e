"""The Protocols of ``pep695_protocols``, spelled ``Protocol[T]`` (plain, invariant TypeVars)."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Generic, Protocol, TypeVar

from typedmgr import TypedManager

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


# Invariant, as the generated PairProxy declares an inferred variance (mypy would infer
# covariance for the PEP 695 Pair).
class Pair(Protocol[K, V]):  # type: ignore[misc]
    def first(self) -> K: ...

    def second(self) -> V: ...


class Box(Protocol[T]):
    def get(self) -> T: ...

    def put(self, item: T) -> None: ...

    def labelled(self, label: str) -> Pair[str, T]: ...

    def history(self) -> Iterator[T]: ...


class Crate(Protocol[T]):
    def box(self) -> Box[T]: ...


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


class CrateImpl(Generic[T]):
    def __init__(self, item: T) -> None:
        self._box = BoxImpl(item)

    def box(self) -> BoxImpl[T]:
        return self._box


def int_box(item: int = 0) -> BoxImpl[int]:
    return BoxImpl(item)


def str_crate(item: str = "") -> CrateImpl[str]:
    return CrateImpl(item)


class Pep695Manager(TypedManager):
    pass


Pep695Manager.register(Box[int], int_box, protocol_typeid="IntBox")
Pep695Manager.register(Crate[str], str_crate, protocol_typeid="StrCrate")
