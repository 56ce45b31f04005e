"""Argument validation: binding a call to a Protocol method and checking each value's type."""

from __future__ import annotations

import collections
import dataclasses
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import (
    Annotated,
    Any,
    Literal,
    NewType,
    NotRequired,
    Optional,
    Protocol,
    TypedDict,
    TypeVar,
    Union,
    overload,
)
from typing_extensions import TypeAliasType

import pytest

from typedmgr import interface_of, proxy_class_for
from typedmgr._validation import Validator, validator_for


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Line(TypedDict):
    sku: str
    qty: int
    note: NotRequired[str]


class Loose(TypedDict, total=False):
    tag: str


class Animal:
    pass


class Dog(Animal):
    pass


UserId = NewType("UserId", int)
Number = TypeVar("Number", int, str)
Bounded = TypeVar("Bounded", bound=Animal)
Free = TypeVar("Free")
Ints = TypeAliasType("Ints", list[int])


class Counter(Protocol):
    def increment(self, by: int = 1) -> int: ...
    def value(self) -> int: ...


class Named(Protocol):
    name: str

    def hello(self) -> str: ...


class Forms(Protocol):
    def ints(self, a: int, b: float, c: complex) -> None: ...
    def texts(self, s: str, b: bytes, flag: bool) -> None: ...
    def nothing(self, n: None) -> None: ...
    def anything(self, o: object, a: Any) -> None: ...
    def unions(  # Optional and Union spelled the old ways on purpose
        self,
        o: Optional[int],  # noqa: UP045
        u: Union[int, str],  # noqa: UP007
        p: float | None,
    ) -> None: ...
    def literals(
        self, cur: Literal["EUR", "USD"], one: Literal[1], c: Literal[Color.RED]
    ) -> None: ...
    def lists(self, xs: list[int], ys: list[list[str]]) -> None: ...
    def tuples(
        self, var: tuple[int, ...], pair: tuple[int, str], empty: tuple[()]
    ) -> None: ...
    def maps(self, d: dict[str, int]) -> None: ...
    def sets(self, s: set[int], f: frozenset[str]) -> None: ...
    def abstract(
        self, seq: Sequence[int], m: Mapping[str, float], it: Iterable[str]
    ) -> None: ...
    def typed_dicts(self, line: Line, loose: Loose) -> None: ...
    def values(self, p: Point, c: Color, a: Animal) -> None: ...
    def new_type(self, user: UserId) -> None: ...
    def type_vars(self, n: Number, b: Bounded, f: Free) -> None: ...
    def remote(self, counter: Counter, named: Named | None = None) -> None: ...
    def misc(
        self,
        f: Callable[[int], int],
        cls: type[Animal],
        note: Annotated[str, "doc"],
        ints: Ints,
    ) -> None: ...
    def implicit(self, x: int = None) -> None: ...  # type: ignore[assignment]  # noqa: RUF013


class Kinds(Protocol):
    def kinds(
        self, a: int, /, b: int, c: int = 0, *rest: str, d: int, e: int = 0, **kw: float
    ) -> None: ...
    def plain(self, a: int, b: int = 0) -> None: ...
    def one(self, a: int) -> None: ...
    def none(self) -> None: ...
    def posonly(self, a: int, /) -> None: ...

    @overload
    def get(self, key: int) -> int: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    def get(self, key: int | str, default: str = "") -> int | str: ...


FORMS: Validator = validator_for(interface_of(Forms))
KINDS: Validator = validator_for(interface_of(Kinds))


def ok(validator: Validator, method: str, *args: object, **kwds: object) -> None:
    validator.check(method, args, kwds)


def refused(validator: Validator, method: str, *args: object, **kwds: object) -> str:
    with pytest.raises(TypeError) as raised:
        validator.check(method, args, kwds)
    return str(raised.value)


def test_message_names_protocol_method_parameter_and_both_types() -> None:
    """docs/guide.md's example message (Argument validation), word for word."""
    counter = validator_for(interface_of(Counter))
    message = refused(counter, "increment", "2")
    assert "Counter.increment(): parameter 'by' expects int, got str ('2')" == message
    counter.check("increment", (2,), {})
    counter.check("increment", (), {"by": 2})


def test_a_long_received_value_is_shortened() -> None:
    """The received value's repr is truncated."""
    message = refused(FORMS, "texts", ["x" * 10_000] * 100, b"", True)
    assert len(message) < 200
    assert "..." in message


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("ints", (1, 1.5, 1j)),
        ("ints", (True, 1, 1)),  # bool is an int; float and complex take int (PEP 484)
        ("ints", (1, 2.0, 2.0)),
        ("texts", ("s", b"b", False)),
        ("nothing", (None,)),
        ("anything", (object(), [1, "x"])),
        ("unions", (None, 1, None)),
        ("unions", (3, "x", 2)),
        ("unions", (3, "x", 2.5)),
        ("literals", ("EUR", 1, Color.RED)),
        ("literals", ("USD", 1, Color.RED)),
        ("lists", ([1, 2], [["a"], []])),
        ("lists", ([], [])),
        ("tuples", ((), (1, "a"), ())),
        ("tuples", ((1, 2, 3), (1, "a"), ())),
        ("maps", ({"a": 1},)),
        ("sets", ({1, 2}, frozenset({"a"}))),
        ("abstract", ([1], {"a": 1.0}, ["x"])),
        ("abstract", ((1,), collections.OrderedDict(a=1), "xyz")),
        ("abstract", (range(3), {}, (s for s in [1]))),  # streams are not consumed
        ("typed_dicts", ({"sku": "B", "qty": 1}, {})),
        ("typed_dicts", ({"sku": "B", "qty": 1, "note": "n"}, {"tag": "t"})),
        ("values", (Point(1, 2), Color.BLUE, Dog())),
        ("new_type", (UserId(3),)),
        ("new_type", (3,)),
        ("type_vars", (1, Dog(), object())),
        ("type_vars", ("s", Animal(), None)),
        ("misc", (abs, Dog, "n", [1, 2])),
        ("implicit", (None,)),
        ("implicit", (1,)),
    ],
)
def test_accepted(method: str, args: tuple[object, ...]) -> None:
    """Values of the annotated types pass."""
    ok(FORMS, method, *args)


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("ints", ("1", 1.5, 1j), "parameter 'a' expects int, got str ('1')"),
        ("ints", (1.0, 1, 1), "parameter 'a' expects int, got float (1.0)"),
        ("ints", (1, "1.5", 1), "parameter 'b' expects float, got str"),
        ("ints", (1, 1j, 1), "parameter 'b' expects float, got complex"),
        ("ints", (1, 1, "j"), "parameter 'c' expects complex, got str"),
        ("texts", (b"s", b"b", True), "parameter 's' expects str, got bytes"),
        ("texts", ("s", "b", True), "parameter 'b' expects bytes, got str"),
        ("texts", ("s", bytearray(b"b"), True), "expects bytes, got bytearray"),
        ("texts", ("s", b"b", 1), "parameter 'flag' expects bool, got int (1)"),
        ("nothing", (0,), "parameter 'n' expects None, got int (0)"),
        ("unions", ("1", 1, None), "parameter 'o' expects int | None, got str"),
        ("unions", (1, 1.5, None), "parameter 'u' expects int | str, got float"),
        ("unions", (1, 1, "2"), "parameter 'p' expects float | None, got str"),
        ("literals", ("GBP", 1, Color.RED), "expects Literal['EUR', 'USD'], got str"),
        ("literals", ("EUR", True, Color.RED), "parameter 'one' expects Literal[1]"),
        ("literals", ("EUR", 1, "red"), "parameter 'c' expects Literal[<Color.RED"),
        ("literals", ("EUR", 1, Color.BLUE), "parameter 'c'"),
        ("lists", ((1,), []), "parameter 'xs' expects list[int], got tuple"),
        ("lists", ([1, "2"], []), ": xs[1] is str ('2')"),
        ("lists", ([], [["a"], [1]]), ": ys[1][0] is int (1)"),
        ("tuples", ((1, "2"), (1, "a"), ()), ": var[1] is str ('2')"),
        ("tuples", ([1], (1, "a"), ()), "parameter 'var' expects tuple[int, ...]"),
        ("tuples", ((), (1, 2), ()), ": pair[1] is int (2)"),
        ("tuples", ((), (1,), ()), "parameter 'pair' expects tuple[int, str]"),
        ("tuples", ((), (1, "a", 2), ()), "parameter 'pair'"),
        ("tuples", ((), (1, "a"), (1,)), "parameter 'empty' expects tuple[()]"),
        ("maps", ({"a": "1"},), ": d['a'] is str ('1')"),
        ("maps", ({1: 1},), ": d key 1 is int (1)"),
        ("maps", ([("a", 1)],), "parameter 'd' expects dict[str, int], got list"),
        ("sets", ({1, "2"}, frozenset()), ": s element is str ('2')"),
        ("sets", ({1}, {"a"}), "parameter 'f' expects frozenset[str], got set"),
        ("abstract", ([1, "2"], {}, []), ": seq[1] is str ('2')"),
        ("abstract", ({1}, {}, []), "parameter 'seq' expects Sequence[int], got set"),
        ("abstract", ([], {"a": "x"}, []), ": m['a'] is str ('x')"),
        ("abstract", ([], [], []), "parameter 'm' expects Mapping[str, float]"),
        ("abstract", ([], {}, [1]), ": it[0] is int (1)"),
        ("abstract", ([], {}, 1), "parameter 'it' expects Iterable[str], got int"),
        ("typed_dicts", ({"sku": "B"}, {}), ": it is missing key 'qty'"),
        ("typed_dicts", ({"sku": "B", "qty": "1"}, {}), ": line['qty'] is str"),
        ("typed_dicts", ({"sku": "B", "qty": 1, "x": 0}, {}), "has unknown key 'x'"),
        ("typed_dicts", ({"sku": "B", "qty": 1}, {"tag": 1}), ": loose['tag']"),
        ("typed_dicts", ([], {}), "parameter 'line' expects Line, got list"),
        ("values", ((1, 2), Color.RED, Dog()), "parameter 'p' expects Point"),
        ("values", (Point(1, 2), "red", Dog()), "parameter 'c' expects Color"),
        ("values", (Point(1, 2), Color.RED, object()), "parameter 'a' expects Animal"),
        ("new_type", ("3",), "parameter 'user' expects UserId, got str"),
        ("type_vars", (1.5, Dog(), None), "parameter 'n' expects ~Number, got float"),
        ("type_vars", (1, object(), None), "parameter 'b' expects ~Bounded"),
        ("misc", (1, Dog, "n", []), "parameter 'f' expects Callable[[int], int]"),
        ("misc", (abs, int, "n", []), "parameter 'cls' expects type[Animal]"),
        ("misc", (abs, Dog(), "n", []), "parameter 'cls' expects type[Animal]"),
        ("misc", (abs, Dog, 1, []), "parameter 'note'"),
        ("misc", (abs, Dog, "n", ["1"]), ": ints[0] is str ('1')"),
        ("implicit", ("1",), "parameter 'x' expects int"),  # 3.10 adds `| None`
    ],
)
def test_refused(method: str, args: tuple[object, ...], expected: str) -> None:
    """A value of another type is refused, naming the parameter and where it went wrong."""
    message = refused(FORMS, method, *args)
    assert message.startswith(f"Forms.{method}(): parameter ")
    assert expected in message


class CounterImpl:
    def increment(self, by: int = 1) -> int:
        return by

    def value(self) -> int:
        return 0


class NamedImpl:
    def __init__(self) -> None:
        self.name = "n"

    def hello(self) -> str:
        return "hi"


class Unnamed:
    def hello(self) -> str:
        return "hi"


def test_protocol_parameters_take_proxies_and_referents() -> None:
    """A Protocol-typed argument is a proxy of it, or (in the server) an object with its
    members; anything else is refused."""
    proxy = object.__new__(proxy_class_for(Counter))
    ok(FORMS, "remote", proxy)
    ok(FORMS, "remote", CounterImpl(), NamedImpl())
    ok(FORMS, "remote", CounterImpl(), object.__new__(proxy_class_for(Named)))
    assert "parameter 'counter' expects Counter, got int" in refused(FORMS, "remote", 1)
    assert "parameter 'counter'" in refused(
        FORMS, "remote", object.__new__(proxy_class_for(Named))
    )
    assert "parameter 'named' expects Named | None, got Unnamed" in refused(
        FORMS, "remote", CounterImpl(), Unnamed()
    )


def kinds(
    a: int, /, b: int, c: int = 0, *rest: str, d: int, e: int = 0, **kw: float
) -> None:
    """The same signature as Kinds.kinds: Python's own messages to compare with."""


def plain(a: int, b: int = 0) -> None: ...
def one(a: int) -> None: ...
def none() -> None: ...
def posonly(a: int, /) -> None: ...


FUNCTIONS: dict[str, Callable[..., None]] = {
    "kinds": kinds,
    "plain": plain,
    "one": one,
    "none": none,
    "posonly": posonly,
}


@pytest.mark.parametrize(
    ("method", "args", "kwds"),
    [
        ("kinds", (), {}),
        ("kinds", (1,), {}),
        ("kinds", (1, 2), {}),
        ("kinds", (1, 2), {"b": 1, "d": 1}),
        ("kinds", (1,), {"c": 1}),
        ("kinds", (1,), {"d": 1, "e": 1}),
        ("plain", (1, 2, 3), {}),
        ("plain", (), {"b": 1}),
        ("plain", (1,), {"a": 1}),
        ("plain", (1,), {"z": 1}),
        ("plain", (), {}),
        ("one", (1, 2), {}),
        ("one", (), {}),
        ("none", (1,), {}),
        ("none", (), {"x": 1}),
        ("posonly", (), {"a": 1}),
        ("posonly", (1,), {"a": 1}),
    ],
)
def test_binding_errors_read_like_pythons(
    method: str, args: tuple[object, ...], kwds: dict[str, object]
) -> None:
    """A call Python would not bind fails with Python's message, named after the Protocol."""
    with pytest.raises(TypeError) as python:
        FUNCTIONS[method](*args, **kwds)
    expected = str(python.value).replace(f"{method}()", f"Kinds.{method}()")
    with pytest.raises(TypeError) as ours:
        KINDS.check(method, args, kwds)
    assert expected == str(ours.value)


def test_every_kind_of_parameter_is_checked() -> None:
    """Positional-only, keyword, *args items, keyword-only and **kwargs values."""
    ok(KINDS, "kinds", 1, 2, 3, "x", "y", d=4, e=5, f=1.5, g=2)
    ok(KINDS, "kinds", 1, b=2, d=4)
    ok(KINDS, "kinds", 1, 2, d=4, a=0.5)  # `a` is positional-only: it goes to **kw
    assert "parameter 'a' expects int" in refused(KINDS, "kinds", "1", 2, d=4)
    assert "parameter 'b' expects int" in refused(KINDS, "kinds", 1, b="2", d=4)
    assert "parameter *rest (argument 5) expects str, got int (5)" in refused(
        KINDS, "kinds", 1, 2, 3, "x", 5, d=4
    )
    assert "parameter 'd' expects int, got str" in refused(KINDS, "kinds", 1, 2, d="4")
    assert "parameter **kw (keyword 'f') expects float, got str" in refused(
        KINDS, "kinds", 1, 2, d=4, f="x"
    )


def test_overloaded_methods_take_a_call_any_overload_accepts() -> None:
    """An @overload'ed method accepts what one overload accepts; the error lists each."""
    ok(KINDS, "get", 1)
    ok(KINDS, "get", "k", "d")
    message = refused(KINDS, "get", "k")
    assert message.startswith("Kinds.get(): no overload matches the arguments:")
    assert "parameter 'key' expects int, got str ('k')" in message
    assert "missing 1 required positional argument: 'default'" in message


def test_names_the_protocol_does_not_declare_are_not_checked() -> None:
    """A method outside the Protocol (a stdlib `exposed` extra) is left to the server."""
    ok(FORMS, "not_declared", 1, 2, x=3)
