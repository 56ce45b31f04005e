"""Loose types a user's strict checkers hold the generated code to: object, Any, None,
overloads and generics, as results, properties, parameters and type arguments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, NoReturn, Optional, Protocol, TypeVar
from typing_extensions import overload  # typing.overload is recorded from 3.11 on only

from typedmgr import TypedManager

T = TypeVar("T")


class Loose(Protocol):
    """Results a proxy passes on unchanged: no cast may be redundant."""

    @property
    def tag(self) -> object: ...

    def obj(self) -> object: ...

    def anything(self, value: Any) -> Any: ...

    def nothing(self) -> None: ...

    def maybe(self) -> Optional[object]: ...

    def optional(self) -> int | None: ...

    def anys(self, *args: Any, **kwargs: Any) -> list[Any]: ...

    def objects(self) -> Iterator[object]: ...

    def fail(self) -> NoReturn: ...

    @overload
    def get(self, key: int) -> object: ...

    @overload
    def get(self, key: str) -> Any: ...

    def get(self, key: int | str) -> object:
        """An overload returning object, another returning Any."""
        ...

    @overload
    def put(self, value: int) -> None: ...

    @overload
    def put(self, value: str, *, strict: bool = False) -> None: ...

    def put(self, value: int | str, *, strict: bool = False) -> None: ...

    def holder(self) -> Holder[Any]: ...


class Holder(Protocol[T]):
    """A generic Protocol, created and returned with object and Any as its argument."""

    def get(self) -> T: ...

    def put(self, item: T) -> None: ...

    def swap(self, item: T) -> T: ...

    @overload
    def pick(self, index: int) -> T: ...

    @overload
    def pick(self, index: tuple[int, int]) -> list[T]: ...

    def pick(self, index: int | tuple[int, int]) -> T | list[T]: ...


class LooseImpl:
    def __init__(self) -> None:
        self.tag: object = "tag"
        self.values: list[object] = []

    def obj(self) -> object:
        return object()

    def anything(self, value: Any) -> Any:
        return value

    def nothing(self) -> None:
        return None

    def maybe(self) -> object | None:
        return None

    def optional(self) -> int | None:
        return 1

    def anys(self, *args: Any, **kwargs: Any) -> list[Any]:
        return [*args, *kwargs.values()]

    def objects(self) -> Iterator[object]:
        return iter(self.values)

    def fail(self) -> NoReturn:
        raise RuntimeError("always")

    def get(self, key: int | str) -> object:
        return self.values[key] if isinstance(key, int) else key

    def put(self, value: int | str, *, strict: bool = False) -> None:
        self.values.append(value)

    def holder(self) -> HolderImpl[Any]:
        return HolderImpl(None)


class HolderImpl(Generic[T]):
    def __init__(self, item: T) -> None:
        self._items = [item]

    def get(self) -> T:
        return self._items[-1]

    def put(self, item: T) -> None:
        self._items.append(item)

    def swap(self, item: T) -> T:
        old, self._items[-1] = self._items[-1], item
        return old

    def pick(self, index: int | tuple[int, int]) -> T | list[T]:
        if isinstance(index, int):
            return self._items[index]
        return self._items[index[0] : index[1]]


def object_holder(item: object = 0) -> HolderImpl[object]:
    return HolderImpl(item)


class LooseManager(TypedManager):
    pass


LooseManager.register(Loose, LooseImpl)
LooseManager.register(Holder[object], object_holder, protocol_typeid="ObjectHolder")
