"""register() holds an annotated implementation to its Protocol's types, with a type
checker's rules for overriding: parameters contravariant, results covariant."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal, Protocol, TypedDict, TypeVar, overload

import pytest

from typedmgr import TypedManager
from typedmgr._model import InterfaceError
from typedmgr._model.conformance import is_subtype

T = TypeVar("T")


class Line(TypedDict):
    sku: str


class Kv(Protocol):
    def get(self, key: str) -> int: ...

    def put(self, key: str, value: int, *, ttl: float | None = None) -> None: ...


class Item(Protocol):
    def name(self) -> str: ...


class Shelf(Protocol):
    def item(self, index: int) -> Item | None: ...

    def names(self) -> Iterator[str]: ...

    def mode(self) -> Literal["r", "w"]: ...

    @overload
    def pick(self, key: str) -> int: ...

    @overload
    def pick(self, key: int) -> str: ...

    def pick(self, key: str | int) -> int | str: ...


class Manager(TypedManager):
    """A fresh manager class per registration: nothing leaks between tests."""


def register(protocol: type, impl: type) -> None:
    """Register ``impl`` for ``protocol`` on a manager class of its own."""
    manager: type[Manager] = type("M", (Manager,), {})
    manager.register(protocol, impl)


def test_the_issue_s_example_names_the_parameter_and_both_signatures() -> None:
    """``get(self, key: int) -> str`` for ``get(self, key: str) -> int`` is refused."""

    class KvImpl:
        def get(self, key: int) -> str:
            return str(key)

        def put(self, key: str, value: int, *, ttl: float | None = None) -> None: ...

    with pytest.raises(InterfaceError) as caught:
        register(Kv, KvImpl)
    assert str(caught.value).endswith(
        "KvImpl.get (for Kv.get): parameter 'key' takes int, the Protocol passes str; "
        "implementation get(self, key: int) -> str, Protocol get(self, key: str) -> int"
    )


def test_a_result_the_protocol_does_not_promise_is_refused() -> None:
    """A result type outside the Protocol's is named with both."""

    class KvImpl:
        def get(self, key: str) -> str | int:
            return key

        def put(self, key: str, value: int, *, ttl: float | None = None) -> None: ...

    with pytest.raises(
        InterfaceError, match=r"returns str \| int, the Protocol promises int"
    ):
        register(Kv, KvImpl)


def test_a_keyword_only_parameter_is_matched_by_name() -> None:
    """``ttl: int`` cannot take the ``float | None`` the Protocol passes."""

    class KvImpl:
        def get(self, key: str) -> int:
            return 0

        def put(self, key: str, value: int, *, ttl: int = 0) -> None: ...

    with pytest.raises(
        InterfaceError, match="parameter 'ttl' takes int, the Protocol passes"
    ):
        register(Kv, KvImpl)


def test_what_a_type_checker_accepts_is_accepted() -> None:
    """Wider parameters, narrower results, Any, missing annotations, Protocol results
    served by a class, generators for iterators, overloads covered by a union."""

    class KvImpl:
        def get(self, key: object) -> bool:  # bool is an int
            return True

        def put(self, key, value: float, *, ttl: Any = None) -> None:  # type: ignore[no-untyped-def]
            ...

    class ItemImpl:
        def name(self) -> str:
            return "x"

    class ShelfImpl:
        def item(self, index: int) -> ItemImpl | None:
            return None

        def names(self) -> Iterator[str]:
            yield "x"

        def mode(self) -> Literal["r"]:
            return "r"

        def pick(self, key: str | int) -> int | str:
            return key

    register(Kv, KvImpl)
    register(Shelf, ShelfImpl)


def test_each_overload_must_be_accepted() -> None:
    """An implementation taking only ``str`` cannot serve ``pick(key: int)``."""

    class ItemImpl:
        def name(self) -> str:
            return "x"

    class ShelfImpl:
        def item(self, index: int) -> ItemImpl | None:
            return None

        def names(self) -> Iterator[str]:
            yield "x"

        def mode(self) -> Literal["r", "w"]:
            return "r"

        def pick(self, key: str) -> int | str:
            return key

    with pytest.raises(
        InterfaceError, match="parameter 'key' takes str, the Protocol passes int"
    ):
        register(Shelf, ShelfImpl)


@pytest.mark.parametrize(
    ("sub", "sup", "expected"),
    [
        (int, float, True),  # the numeric promotion
        (float, int, False),
        (None, int | None, True),
        (int | None, int, False),
        (list[int], Sequence[int], True),
        (list[int], list[str], False),  # unrelated arguments, either way
        (list[bool], list[int], True),  # variance is not judged
        (Literal["r"], Literal["r", "w"], True),
        (Literal["x"], Literal["r", "w"], False),
        (Literal[1], int, True),
        (str, Literal["r"], False),
        (T, int, None),
        (Item, str, None),  # a Protocol: structural, or a proxy for a remote object
        (str, Item, None),
        (Any, int, True),
        (bytes, object, True),
        (Line, dict, None),  # a TypedDict: structural, and refuses issubclass()
        (list[object], list[Line], True),  # related one way: variance not judged
    ],
)
def test_subtypes(sub: object, sup: object, expected: bool | None) -> None:
    """is_subtype decides what annotations alone decide, and says None for the rest."""
    assert expected is is_subtype(sub, sup)
