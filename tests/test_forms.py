"""The one normaliser of annotation forms: each reader of annotations asks it alike."""

from __future__ import annotations

import typing
import typing_extensions
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NewType, Optional, Protocol, TypedDict, TypeVar, Union

import pytest

from typedmgr._forms import (
    is_empty_tuple,
    is_protocol,
    is_typed_dict,
    is_union,
    newtype_supertype,
    protocol_of,
)

T_co = TypeVar("T_co", covariant=True)
UserId = NewType("UserId", int)
AdminId = NewType("AdminId", UserId)


class Row(TypedDict):
    sku: str


class LooseRow(typing_extensions.TypedDict, total=False):
    sku: str


class OtherTypedDict(dict[str, object]):
    """What another library's TypedDict (mypy_extensions') looks like at run time."""

    __total__ = True


class NotADict:
    __total__ = True


@dataclass
class Point:
    x: int


class Box(Protocol[T_co]):
    def get(self) -> T_co: ...


@pytest.mark.parametrize(
    "tp", [Row, LooseRow, OtherTypedDict], ids=["typing", "typing_extensions", "other"]
)
def test_typed_dicts_of_every_library(tp: object) -> None:
    """typing's, typing_extensions' and another library's (a dict with ``__total__``)."""
    assert is_typed_dict(tp)


@pytest.mark.parametrize(
    "tp",
    [dict, dict[str, int], NotADict, Point, TypedDict, {"sku": "x"}, int],
    ids=[
        "dict",
        "dict[str, int]",
        "__total__",
        "dataclass",
        "TypedDict",
        "value",
        "int",
    ],
)
def test_not_typed_dicts(tp: object) -> None:
    """Dicts, aliases, TypedDict itself, values, and a non-dict class with ``__total__``."""
    assert not is_typed_dict(tp)


def test_newtype_supertype() -> None:
    """A NewType's own supertype, one step at a time; anything else has none."""
    assert int is newtype_supertype(UserId)
    assert UserId is newtype_supertype(AdminId)
    assert newtype_supertype(int) is None
    assert newtype_supertype(UserId | None) is None
    not_callable = type("NotCallable", (), {"__supertype__": int})()
    assert newtype_supertype(not_callable) is None


def test_empty_tuple_on_every_spelling() -> None:
    """``tuple[()]`` and ``Tuple[()]``; never a bare ``Tuple``, which takes any tuple."""
    assert is_empty_tuple(tuple[()])
    assert is_empty_tuple(typing.Tuple[()])  # noqa: UP006
    for other in (
        tuple,
        typing.Tuple,  # noqa: UP006 - bare: any tuple, though it has no args either
        tuple[int],
        tuple[int, ...],
        list[int],
        (),
    ):
        assert not is_empty_tuple(other), other


def test_unions() -> None:
    """``X | Y``, ``Optional`` and ``Union``; not a container of a union."""
    assert is_union(int | None)
    assert is_union(Optional[int])  # noqa: UP045
    assert is_union(Union[int, str])  # noqa: UP007
    assert not is_union(int)
    assert not is_union(list[int | None])


def test_protocols_bare_or_parametrized() -> None:
    """A Protocol class names itself, bare or parametrized; ABCs and unions name none."""
    assert is_protocol(Box)
    assert not is_protocol(Protocol)
    assert not is_protocol(Box[int])  # an alias, not a class
    assert Box is protocol_of(Box)
    assert Box is protocol_of(Box[int])
    assert protocol_of(Iterator[int]) is None
    assert protocol_of(Point) is None
    assert protocol_of(Box | None) is None
