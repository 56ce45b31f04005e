"""The rules of schema evolution, one row of docs/schema-evolution.md per case.

Each case is a method as a client was generated from it and the same method as the server
has it now; ``stale_methods`` compares the client's Protocol with the server's description
of its own, as a client does when their fingerprints differ.
"""

from __future__ import annotations

import collections.abc
import itertools
import sys
import types
import typing
from typing import Protocol

import pytest

from typedmgr import oneway
from typedmgr._compatibility import SchemaError, describe, stale_methods

_NAMESPACE: dict[str, object] = {
    "Protocol": Protocol,
    "Annotated": typing.Annotated,
    "Any": typing.Any,
    "Literal": typing.Literal,
    "NewType": typing.NewType,
    "Self": typing.Self,
    "Sequence": collections.abc.Sequence,
    "Mapping": collections.abc.Mapping,
    "TypeVar": typing.TypeVar,
    "oneway": oneway,
    "overload": typing.overload,
    "T": typing.TypeVar("T"),
    "UserId": typing.NewType("UserId", int),
}


_modules = itertools.count()


def _protocol(body: str, module: str) -> type:
    """``class Api(Protocol)`` with ``body`` (four-space indented members), in a new
    module of its own (annotations resolve there; overloads never meet a former case's)."""
    name = f"{module}_{next(_modules)}"
    namespace = types.ModuleType(name)
    vars(namespace).update(_NAMESPACE)
    sys.modules[name] = namespace
    exec(f"class Api(Protocol):\n{body}\n", vars(namespace))
    protocol = vars(namespace)["Api"]
    assert isinstance(protocol, type)
    return protocol


def _verdict(client: str, server: str) -> dict[str, str]:
    """The stale methods of a client with ``client``'s members against ``server``'s."""
    return stale_methods(
        _protocol(client, "client_side"), describe(_protocol(server, "server_side"))
    )


def _method(signature: str) -> str:
    return f"    def m(self{signature}: ...\n"


COMPATIBLE = [
    (
        "a method added",
        _method(") -> int"),
        _method(") -> int") + "    def n(self) -> None: ...",
    ),
    (
        "a positional parameter with a default added last",
        _method(", x: int) -> int"),
        _method(", x: int, y: int = 0) -> int"),
    ),
    (
        "a keyword-only parameter with a default added",
        _method(", x: int) -> int"),
        _method(", x: int, *, flag: bool = False) -> int"),
    ),
    (
        "*args added",
        _method(", x: int) -> int"),
        _method(", x: int, *rest: int) -> int"),
    ),
    (
        "**kwargs added",
        _method(", x: int) -> int"),
        _method(", x: int, **extra: str) -> int"),
    ),
    (
        "a positional-only parameter renamed",
        _method(", x: int, /) -> int"),
        _method(", y: int, /) -> int"),
    ),
    (
        "keyword-only parameters reordered",
        _method(", *, a: int, b: str) -> int"),
        _method(", *, b: str, a: int) -> int"),
    ),
    (
        "a positional-or-keyword parameter made positional-only",
        _method(", x: int) -> int"),
        _method(", x: int, /) -> int"),
    ),
    (
        "a keyword-only parameter made positional-or-keyword",
        _method(", *, a: int) -> int"),
        _method(", a: int) -> int"),
    ),
    (
        "a default added to a parameter",
        _method(", x: int) -> int"),
        _method(", x: int = 3) -> int"),
    ),
    (
        "a default removed",
        _method(", x: int = 1) -> int"),
        _method(", x: int) -> int"),
    ),
    (
        "a default changed",
        _method(", x: int = 1) -> int"),
        _method(", x: int = 3) -> int"),
    ),
    ("X -> X | None", _method(", x: int) -> int"), _method(", x: int | None) -> int")),
    ("int -> float", _method(", x: int) -> int"), _method(", x: float) -> int")),
    (
        "float -> complex",
        _method(", x: float) -> int"),
        _method(", x: complex) -> int"),
    ),
    (
        "bool -> int (a subclass)",
        _method(", x: bool) -> int"),
        _method(", x: int) -> int"),
    ),
    (
        "list -> Sequence (a registered ABC)",
        _method(", x: list[int]) -> int"),
        _method(", x: Sequence[int]) -> int"),
    ),
    (
        "dict -> Mapping",
        _method(", x: dict[str, int]) -> int"),
        _method(", x: Mapping[str, int]) -> int"),
    ),
    (
        "list[int] -> list[int | None] (copies)",
        _method(", x: list[int]) -> int"),
        _method(", x: list[int | None]) -> int"),
    ),
    (
        "tuple[int, int] -> tuple[int, ...]",
        _method(", x: tuple[int, int]) -> int"),
        _method(", x: tuple[int, ...]) -> int"),
    ),
    (
        "Literal narrower -> wider",
        _method(", x: Literal['a']) -> int"),
        _method(", x: Literal['a', 'b']) -> int"),
    ),
    (
        "Literal -> its type",
        _method(", x: Literal['a']) -> int"),
        _method(", x: str) -> int"),
    ),
    (
        "anything -> object",
        _method(", x: list[int]) -> int"),
        _method(", x: object) -> int"),
    ),
    ("anything -> Any", _method(", x: list[int]) -> int"), _method(", x: Any) -> int")),
    (
        "Annotated and NewType read as their type",
        _method(", x: Annotated[int, 'id']) -> UserId"),
        _method(", x: UserId) -> int"),
    ),
    ("a result narrowed", _method(") -> int | None"), _method(") -> int")),
    ("a result narrowed to a subclass", _method(") -> int"), _method(") -> bool")),
    (
        "a property's result narrowed",
        "    @property\n    def p(self) -> int | None: ...",
        "    @property\n    def p(self) -> int: ...",
    ),
    ("an attribute declaration narrowed", "    size: float", "    size: int"),
    (
        "@oneway added",
        _method(", x: int) -> None"),
        "    @oneway\n" + _method(", x: int) -> None"),
    ),
    ("the same type variable", _method(", x: T) -> T"), _method(", x: T) -> T")),
    ("Self", _method(") -> Self"), _method(") -> Self")),
]


@pytest.mark.parametrize(
    ("client", "server"), [c[1:] for c in COMPATIBLE], ids=[c[0] for c in COMPATIBLE]
)
def test_compatible_changes(client: str, server: str) -> None:
    """A client of the older method calls the newer one correctly: nothing is stale."""
    assert {} == _verdict(client, server)


INCOMPATIBLE = [
    (
        "method removed",
        _method(") -> int"),
        "    def n(self) -> int: ...",
        "the server's Api has no 'm'",
    ),
    (
        "a required positional parameter added",
        _method(", x: int) -> int"),
        _method(", x: int, y: int) -> int"),
        "the server requires 'y', which the client does not send",
    ),
    (
        "a required keyword-only parameter added",
        _method(", x: int) -> int"),
        _method(", x: int, *, y: int) -> int"),
        "the server requires 'y'",
    ),
    (
        "a parameter removed",
        _method(", x: int, y: int) -> int"),
        _method(", x: int) -> int"),
        "the server takes 1 positional argument(s), the client sends 2",
    ),
    (
        "a keyword-only parameter removed",
        _method(", *, y: int = 0) -> int"),
        _method(") -> int"),
        "the server has no parameter 'y'",
    ),
    (
        "a parameter inserted before another",
        _method(", x: int, y: int = 0) -> int"),
        _method(", x: int, z: int = 0, y: int = 0) -> int"),
        "parameter 2 is 'z' on the server",
    ),
    (
        "a positional-or-keyword parameter renamed",
        _method(", x: int) -> int"),
        _method(", y: int) -> int"),
        "parameter 1 is 'y' on the server",
    ),
    (
        "a keyword-only parameter renamed",
        _method(", *, x: int) -> int"),
        _method(", *, y: int) -> int"),
        "the server has no parameter 'x'",
    ),
    (
        "a positional parameter made keyword-only",
        _method(", x: int) -> int"),
        _method(", *, x: int) -> int"),
        "the server takes 0 positional argument(s), the client sends 1",
    ),
    (
        "a keyword-only parameter made positional-only",
        _method(", *, x: int) -> int"),
        _method(", x: int, /) -> int"),
        "the server has no parameter 'x'",
    ),
    (
        "X | None -> X",
        _method(", x: int | None) -> int"),
        _method(", x: int) -> int"),
        "parameter 'x' takes int on the server, the client sends int | None",
    ),
    (
        "float -> int",
        _method(", x: float) -> int"),
        _method(", x: int) -> int"),
        "parameter 'x' takes int on the server, the client sends float",
    ),
    (
        "Sequence -> list",
        _method(", x: Sequence[int]) -> int"),
        _method(", x: list[int]) -> int"),
        "takes list[int] on the server",
    ),
    (
        "list[int] -> list[str]",
        _method(", x: list[int]) -> int"),
        _method(", x: list[str]) -> int"),
        "takes list[str] on the server",
    ),
    (
        "Literal wider -> narrower",
        _method(", x: Literal['a', 'b']) -> int"),
        _method(", x: Literal['a']) -> int"),
        "parameter 'x' takes Literal['a']",
    ),
    (
        "a result widened",
        _method(") -> int"),
        _method(") -> int | None"),
        "the server returns int | None, which the client's int does not cover",
    ),
    (
        "a result changed",
        _method(") -> int"),
        _method(") -> str"),
        "the server returns str",
    ),
    (
        "a property's result widened",
        "    @property\n    def p(self) -> int: ...",
        "    @property\n    def p(self) -> float: ...",
        "the server returns float",
    ),
    (
        "a property made a method",
        "    @property\n    def p(self) -> int: ...",
        "    def p(self) -> int: ...",
        "a method on the server, a property here",
    ),
    (
        "*args removed",
        _method(", *xs: int) -> int"),
        _method(") -> int"),
        "the server takes no *xs",
    ),
    (
        "**kwargs removed",
        _method(", **kw: int) -> int"),
        _method(") -> int"),
        "the server takes no **kw",
    ),
    (
        "a type variable made concrete",
        _method(", x: T) -> int"),
        _method(", x: int) -> int"),
        "parameter 'x' takes int on the server, the client sends T",
    ),
]


@pytest.mark.parametrize(
    ("client", "server", "reason"),
    [c[1:] for c in INCOMPATIBLE],
    ids=[c[0] for c in INCOMPATIBLE],
)
def test_incompatible_changes(client: str, server: str, reason: str) -> None:
    """The method is stale, with the reason and both signatures (the client's alone for
    a method the server no longer has)."""
    verdict = _verdict(client, server)
    assert 1 == len(verdict), verdict
    [(name, message)] = verdict.items()
    assert name in ("m", "p")
    assert reason in message
    if "has no 'm'" in message:  # removed: only the client's signature exists
        assert "the client has `m() -> int`" in message
    else:
        assert "the server has `" in message
        assert "the client `" in message


def test_overloads_are_matched_one_by_one() -> None:
    """Each client overload needs a server overload that accepts its calls; a defaulted
    parameter of an overload may be left out, so the server's must have a default too."""
    overloads = (
        "    @overload\n    def m(self, x: int) -> int: ...\n"
        "    @overload\n    def m(self, x: str) -> str: ...\n"
        "    def m(self, x: int | str) -> int | str: ...\n"
    )
    widened = overloads.replace("x: str) -> str", "x: str | bytes) -> str")
    assert {} == _verdict(overloads, widened)
    fewer = (
        "    @overload\n    def m(self, x: int) -> int: ...\n"
        "    @overload\n    def m(self, x: bytes) -> str: ...\n"
        "    def m(self, x: int | bytes) -> int | str: ...\n"
    )
    assert "no overload on the server fits" in _verdict(overloads, fewer)["m"]


def _plain(value: object) -> bool:
    """Only tuples, strings, bools: what any client can load restricted."""
    if isinstance(value, tuple):
        return all(_plain(v) for v in value)
    return isinstance(value, (str, bool))


def test_a_description_is_plain_values() -> None:
    """What the server sends names classes, never pickles them."""
    protocol = _protocol(
        _method(", x: list[int] | None, *, y: Literal[1, 'a'] = 1) -> Sequence[T]"),
        "described",
    )
    assert _plain(describe(protocol))


@pytest.mark.parametrize(
    "garbage",
    [None, ("typedmgr-schema/9", "Api", ()), ("typedmgr-schema/1", "Api", (("m",),))],
)
def test_an_unreadable_description_is_an_error(garbage: object) -> None:
    """A description of another format (or none) raises SchemaError, never guesses."""
    with pytest.raises(SchemaError):
        stale_methods(_protocol(_method(") -> int"), "client_side"), garbage)
