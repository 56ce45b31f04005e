"""The interface model: what a Protocol means, and what it cannot mean."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Protocol

import pytest

from tests.golden.bag.protocols import Bag
from tests.golden.forms.protocols import Forms, FormsImpl, Leaf, Node, NodeImpl
from tests.golden.forms.values import Color
from typedmgr import InterfaceError, TypedManager, interface_of, oneway
from typedmgr.model import (
    ITERATOR_TYPEID,
    NO_DEFAULT,
    ParamKind,
    ReturnKind,
    check_implementation,
    signature_of,
)


def test_methods_in_declaration_order_with_docstrings() -> None:
    """Methods keep the Protocol's order and docstrings; the Protocol's own doc is kept."""
    node = interface_of(Node)
    assert ("child", "maybe", "leaf") == node.exposed
    assert "A forward reference to this very Protocol." == node.method("child").doc
    assert node.doc is not None and node.doc.startswith("A remote node")
    assert interface_of(Leaf).doc is None  # never Protocol's own docstring


def test_parameter_kinds_defaults_and_annotations() -> None:
    """Every parameter kind, default and evaluated annotation is recorded."""
    kinds = interface_of(Forms).method("kinds")
    assert [
        ("a", ParamKind.POSITIONAL_ONLY, int, NO_DEFAULT),
        ("b", ParamKind.POSITIONAL_OR_KEYWORD, int, NO_DEFAULT),
        ("c", ParamKind.POSITIONAL_OR_KEYWORD, int, 2),
        ("args", ParamKind.VAR_POSITIONAL, str, NO_DEFAULT),
        ("d", ParamKind.KEYWORD_ONLY, int, NO_DEFAULT),
        ("e", ParamKind.KEYWORD_ONLY, int, 5),
        ("kwargs", ParamKind.VAR_KEYWORD, float, NO_DEFAULT),
    ] == [(p.name, p.kind, p.annotation, p.default) for p in kinds.params]
    assert Color.RED == interface_of(Forms).method("values").params[0].default


def test_return_kinds() -> None:
    """Values are copied; Protocols come back as remote objects, `P | None` as optional."""
    node = interface_of(Node)
    assert (ReturnKind.REMOTE, Node) == (
        node.method("child").return_kind,
        node.method("child").remote,
    )
    assert ReturnKind.OPTIONAL_REMOTE == node.method("maybe").return_kind
    assert ReturnKind.VALUE == interface_of(Leaf).method("value").return_kind
    assert {
        "child": "tests.golden.forms.protocols:Node",
        "maybe": "tests.golden.forms.protocols:Node",
        "leaf": "tests.golden.forms.protocols:Leaf",
    } == dict(node.method_to_typeid)
    assert frozenset({"maybe"}) == node.method_to_typeid.optional


def test_oneway_and_unexposed_members() -> None:
    """@oneway is recorded; private, static and class methods are not exposed."""

    class Mixed(Protocol):
        @oneway
        def fire(self, event: str) -> None: ...
        def _private(self) -> int: ...
        @staticmethod
        def helper() -> int: ...
        @classmethod
        def build(cls) -> int: ...

    assert ("fire",) == interface_of(Mixed).exposed
    assert interface_of(Mixed).method("fire").oneway


def test_inherited_protocols_come_first() -> None:
    """A Protocol extending another exposes the base's methods, then its own."""

    class Base(Protocol):
        def first(self) -> int: ...

    class Derived(Base, Protocol):
        def second(self) -> int: ...

    assert ("first", "second") == interface_of(Derived).exposed


class Item(Protocol):
    def name(self) -> str: ...


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("def m(self, x) -> int: ...", "Bad.m: parameter 'x' has no annotation"),
        ("def m(self): ...", "Bad.m: the return annotation is missing"),
        ("async def m(self) -> int: ...", "Bad.m: async methods cannot be proxied yet"),
        (
            "def m(self) -> list[Item]: ...",
            "Bad.m: returns list[Item]; remote objects inside containers",
        ),
        (
            "def m(self) -> dict[str, Item]: ...",
            "Bad.m: returns dict[str, Item]; remote objects inside containers cannot be proxied - return `P` or `P | None`",
        ),
        (
            "def m(self) -> Item | int: ...",
            "Bad.m: returns Item | int; a remote object can only be returned as `P` or `P | None`",
        ),
        (
            "def m(self) -> Iterator[Item]: ...",
            "Bad.m: returns Iterator[Item]; iterators of remote objects cannot be proxied",
        ),
        (
            "def m(self) -> AsyncIterator[int]: ...",
            "Bad.m: returns AsyncIterator[int]; async iterators cannot be proxied yet",
        ),
        (
            "@property\n    def p(self) -> int: ...\n    @p.setter\n    def p(self, v: int) -> None: ...",
            "Bad.p: only read-only properties can be proxied",
        ),
        (
            "def m(self, x: object = object()) -> int: ...",
            "Bad.m: parameter 'x' defaults to <object",
        ),
        (
            "def m(self, x: int = ...) -> int: ...",
            "Bad.m: parameter 'x' defaults to Ellipsis",
        ),
        (
            "@oneway\n    def m(self) -> int: ...",
            "Bad.m: a @oneway method must return None",
        ),
    ],
)
def test_unsupported_forms_name_protocol_and_method(body: str, message: str) -> None:
    """What cannot be proxied raises InterfaceError naming the Protocol and method."""
    namespace: dict[str, object] = {
        "Protocol": Protocol,
        "AsyncIterator": AsyncIterator,
        "Item": Item,
        "Iterator": Iterator,
        "oneway": oneway,
        "__name__": __name__,
    }
    exec(f"class Bad(Protocol):\n    {body}\n", namespace)
    with pytest.raises(InterfaceError, match="^" + re.escape(message)):
        interface_of(namespace["Bad"])


def test_not_a_protocol() -> None:
    """Only Protocol classes have interfaces."""
    with pytest.raises(InterfaceError, match=r"is not a typing\.Protocol class"):
        interface_of(FormsImpl)


PUT = "def put(self, key, value): ...\n"
GET = "def get(self, key, *, default=0): ...\n"
SPREAD = "def spread(self, *items): ...\n"


class Small(Protocol):
    def put(self, key: str, value: int, /) -> None: ...
    def get(self, key: str, *, default: int = 0) -> int: ...
    def spread(self, *items: int) -> None: ...


@pytest.mark.parametrize(
    ("impl", "message"),
    [
        (GET + SPREAD, "Impl does not implement Small: method 'put' is missing"),
        (
            "def put(self, key): ...\n" + GET + SPREAD,
            "Impl.put (for Small.put): takes 1 positional parameter(s), the Protocol passes 2",
        ),
        (
            PUT + "def get(self, key): ...\n" + SPREAD,
            "Impl.get (for Small.get): keyword parameter 'default' is missing",
        ),
        (
            PUT + GET + "def spread(self, items): ...\n",
            "Impl.spread (for Small.spread): the Protocol accepts *items, the implementation has no *args",
        ),
        (
            "def put(self, key, value, extra): ...\n" + GET + SPREAD,
            "Impl.put (for Small.put): requires parameter 'extra', which the Protocol does not pass",
        ),
    ],
)
def test_implementation_mismatches_are_named(impl: str, message: str) -> None:
    """register() refuses an implementation that cannot take the Protocol's calls."""
    namespace: dict[str, object] = {}
    body = "".join(f"    {line}\n" for line in impl.splitlines())
    exec(f"class Impl:\n{body}", namespace)

    class M(TypedManager): ...

    with pytest.raises(InterfaceError, match="^" + re.escape(message)):
        M.register(Small, namespace["Impl"])  # type: ignore[arg-type]


def test_matching_implementations_are_accepted() -> None:
    """Extra defaults, *args and **kwargs in the implementation are fine."""

    class Impl:
        def put(self, key: str, value: int, note: str = "") -> None: ...
        def get(self, *args: object, **kwargs: object) -> int:
            return 0

        def spread(self, *items: int) -> None: ...

    check_implementation(interface_of(Small), Impl)


def test_creation_signature_comes_from_the_constructor() -> None:
    """A class's __init__ (minus self) or a factory's parameters; unannotated means object."""
    assert [("scale", 1.0), ("label", "forms")] == [
        (p.name, p.default) for p in signature_of("FormsImpl", FormsImpl)
    ]

    def factory(size, *, name: str = "x"):  # type: ignore[no-untyped-def]
        return None

    params = signature_of("factory", factory)
    assert [object, str] == [p.annotation for p in params]


def test_register_derives_typeid_exposed_and_method_to_typeid() -> None:
    """register(P, impl) fills the stdlib registry from the model."""

    class M(TypedManager): ...

    M.register(Node, NodeImpl)
    factory, exposed, method_to_typeid, _ = M._registry["Node"]
    assert NodeImpl is factory
    assert ("child", "maybe", "leaf") == tuple(exposed)
    assert "tests.golden.forms.protocols:Leaf" == method_to_typeid["leaf"]
    # Returned Protocols are wrapped, never constructed: registered without a callable.
    assert M._registry["tests.golden.forms.protocols:Leaf"][0] is None
    assert callable(vars(M)["Node"])


def test_register_refuses_to_replace_manager_methods() -> None:
    """A Protocol named like a BaseManager method must be given another typeid."""

    class Connect(Protocol):
        def ping(self) -> int: ...

    Connect.__name__ = "connect"

    class M(TypedManager): ...

    with pytest.raises(ValueError, match=r"would replace BaseManager\.connect"):
        M.register(Connect)
    M.register(Connect, protocol_typeid="Connection")


def test_properties_attributes_dunders_and_iterators() -> None:
    """Read-only properties and attributes are exposed, so are declared special methods."""
    bag = interface_of(Bag)
    assert (
        "label",
        "owner",
        "__len__",
        "__getitem__",
        "__setitem__",
        "__delitem__",
        "__contains__",
        "__iter__",
        "__bool__",
        "counts",
        "squares",
        "pick",
        "scaled",
        "size",
    ) == bag.exposed
    assert [m.name for m in bag.methods if m.is_property] == ["label", "owner", "size"]
    assert ReturnKind.REMOTE == bag.method("owner").return_kind
    iterating = [m.name for m in bag.methods if m.return_kind is ReturnKind.ITERATOR]
    assert ["__iter__", "counts", "squares"] == iterating
    assert ITERATOR_TYPEID == bag.method_to_typeid["counts"]


def test_overloads_are_recorded_in_order() -> None:
    """Every @overload signature is kept; the implementation's docstring is the method's."""
    pick = interface_of(Bag).method("pick")
    assert [int, int | str] == [o.returns for o in pick.overloads]
    assert [["key"], ["key", "default"]] == [
        [p.name for p in o.params] for o in pick.overloads
    ]
    assert "The count of ``key``, or ``default`` where it has none." == pick.doc
    assert interface_of(Bag).method("scaled").doc is None  # not typing's placeholder's
