"""PEP 695 generic Protocols (Python 3.12+ syntax): imported only there, by test_pep695.

``pep695_classic`` declares the same Protocols with ``Protocol[T]``; the two must mean the
same to typedmgr. Kept out of mypy's file list (pyproject) so older Pythons never parse it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Protocol

from typedmgr import TypedManager


class Pair[K: Hashable, V](Protocol):
    def first(self) -> K: ...

    def second(self) -> V: ...


class Box[T](Protocol):
    def get(self) -> T: ...

    def put(self, item: T) -> None: ...

    def labelled(self, label: str) -> Pair[str, T]: ...

    def history(self) -> Iterator[T]: ...


class Crate[T](Protocol):  # a T of its own, alike: the generated module declares one
    def box(self) -> Box[T]: ...


class PairImpl[K: Hashable, V]:
    def __init__(self, first: K, second: V) -> None:
        self._pair = (first, second)

    def first(self) -> K:
        return self._pair[0]

    def second(self) -> V:
        return self._pair[1]


class BoxImpl[T]:
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


class CrateImpl[T]:
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
