"""The interface model: what a Protocol means, and what it cannot mean."""

from __future__ import annotations

import re
import typing_extensions
from collections.abc import AsyncIterator, Generator, Iterator
from typing import ClassVar, Optional, Protocol, Self, Union

import pytest

from tests.golden.bag.protocols import Bag, Lease, Ledger
from tests.golden.family.protocols import (
    Blob,
    Numbers,
    Query,
    Readable,
    Sized as SizedBase,
    Source,
    Store,
    Stream,
)
from tests.golden.forms.protocols import Forms, FormsImpl, Leaf, Node, NodeImpl
from tests.golden.forms.values import Color
from tests.shadowing import ShadowsStr
from typedmgr import InterfaceError, TypedManager, interface_of, oneway
from typedmgr._model import (
    GENERATOR_TYPEID,
    ITERATOR_TYPEID,
    NO_DEFAULT,
    ParamKind,
    ReturnKind,
    check_implementation,
    signature_of,
)
from typedmgr._registration import returns_of


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
    assert frozenset({"maybe"}) == returns_of(node).optional


def test_buffers_are_values_in_every_position() -> None:
    """bytes, bytearray and memoryview, as parameters and results, are copied values."""
    buffers = interface_of(Forms).method("buffers")
    assert [bytearray, memoryview, memoryview | None] == [
        p.annotation for p in buffers.params
    ]
    assert (ReturnKind.VALUE, memoryview) == (buffers.return_kind, buffers.returns)


def test_oneway_and_unexposed_members() -> None:
    """@oneway is recorded; private methods are not exposed."""

    class Mixed(Protocol):
        @oneway
        def fire(self, event: str) -> None: ...
        def _private(self) -> int: ...

    assert ("fire",) == interface_of(Mixed).exposed
    assert interface_of(Mixed).method("fire").oneway


def test_async_methods_are_served_with_their_awaited_type() -> None:
    """``async def`` is accepted: the method's type is what the coroutine returns, it is
    marked async, and the fingerprint is the same as for the sync spelling (the wire is)."""

    class Sync(Protocol):
        def fetch(self, key: str, /) -> int: ...

    class Async(Protocol):
        async def fetch(self, key: str, /) -> int: ...

    method = interface_of(Async).method("fetch")
    assert method.is_async and not interface_of(Sync).method("fetch").is_async
    assert method.returns is int and method.return_kind is ReturnKind.VALUE
    assert interface_of(Sync).signature_lines == interface_of(Async).signature_lines


def test_inherited_protocols_come_first() -> None:
    """A Protocol extending another exposes the base's methods, then its own."""

    class Base(Protocol):
        def first(self) -> int: ...

    class Derived(Base, Protocol):
        def second(self) -> int: ...

    assert ("first", "second") == interface_of(Derived).exposed


class Item(Protocol):
    def name(self) -> str: ...


class Other(Protocol):
    def size(self) -> int: ...


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("def m(self, x) -> int: ...", "Bad.m: parameter 'x' has no annotation"),
        ("def m(self): ...", "Bad.m: the return annotation is missing"),
        (
            "def m(self) -> list[Item]: ...",
            "Bad.m: returns list[Item]; remote objects inside containers cannot be proxied - return `P` or `P | None`",
        ),
        (
            "def m(self) -> Optional[list[Item]]: ...",
            "Bad.m: returns list[Item] | None; remote objects inside containers",
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
        (
            "def m(self) -> Item | Other: ...",
            "Bad.m: returns Item | Other; a remote object can only be returned as `P` or `P | None`",
        ),
        (
            "def m(self) -> 'Missing': ...",
            "Bad.m: cannot resolve an annotation: name 'Missing' is not defined",
        ),
        (
            "def m(self, other: Self) -> None: ...",
            "Bad.m: `Self` cannot be proxied as a parameter - name the Protocol instead",
        ),
        (
            "def m(self) -> list[Self]: ...",
            "Bad.m: returns list[Self]; `Self` can only be returned as `Self` or `Self | None`",
        ),
        (
            "def m(self) -> Iterator[Self]: ...",
            "Bad.m: returns Iterator[Self]; `Self` can only be returned as `Self` or",
        ),
        (
            "def m(self) -> Self | int: ...",
            "Bad.m: returns Self | int; `Self` can only be returned as `Self` or",
        ),
        (
            "p: list[Self]",
            "Bad.p: declared list[Self]; `Self` can only be declared as `Self` or",
        ),
        (
            "def __enter__(self) -> list[Self]: ...",
            "Bad.__enter__: returns list[Self]; `Self` can only be returned as `Self`",
        ),
        (
            "@staticmethod\n    def helper() -> int: ...",
            "Bad.helper: static methods cannot be proxied - a proxy calls methods of one "
            "remote object; declare it as an instance method (the implementation may "
            "keep it a static method)",
        ),
        (
            "@classmethod\n    def build(cls) -> int: ...",
            "Bad.build: class methods cannot be proxied - a proxy calls methods of one "
            "remote object; declare it as an instance method",
        ),
        (
            "@overload\n    def o1(self, x: int) -> Item: ...\n"
            "    @overload\n    def o1(self, x: str) -> int: ...",
            "Bad.o1: overloads return Item and int; the server cannot tell which overload "
            "a call matched",
        ),
        (
            "@overload\n    def o2(self, x: int) -> Item: ...\n"
            "    @overload\n    def o2(self, x: str) -> Other: ...",
            "Bad.o2: overloads return Item and Other; the server cannot tell",
        ),
        (
            "@overload\n    def o3(self, x: int) -> Self: ...\n"
            "    @overload\n    def o3(self, x: str) -> Item: ...",
            "Bad.o3: overloads return Self and Item; the server cannot tell",
        ),
        (
            "@overload\n    def o4(self, x: int) -> Iterator[int]: ...\n"
            "    @overload\n    def o4(self, x: str) -> Generator[int, None, None]: ...",
            "Bad.o4: overloads return Iterator[int] and Generator[int, None, None];",
        ),
        (
            "@overload\n    @oneway\n    def o5(self, x: int) -> None: ...\n"
            "    @overload\n    def o5(self, x: str) -> None: ...",
            "Bad.o5: overloads cannot be @oneway",
        ),
        (
            "def __enter__(self, mode: str) -> Self: ...",
            "Bad.__enter__: a with statement calls __enter__(); the signature must accept it",
        ),
        (
            "def __exit__(self, exc_type: object, exc: object) -> None: ...",
            "Bad.__exit__: a with statement calls __exit__(exc_type, exc, tb); the",
        ),
        (
            "def __exit__(self, a: object, b: object, c: object, *, d: int) -> None: ...",
            "Bad.__exit__: a with statement calls __exit__(exc_type, exc, tb); the",
        ),
        (
            "@oneway\n    def __exit__(self, *exc: object) -> None: ...",
            "Bad.__exit__: __exit__ cannot be @oneway",
        ),
        ("x = 1", "Bad.x: only methods and properties can be proxied, not int members"),
        (
            "class Inner: ...",
            "Bad.Inner: only methods and properties can be proxied, not type members",
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
        "Optional": Optional,
        "Other": Other,
        "Self": Self,
        "Generator": Generator,
        "oneway": oneway,
        "overload": typing_extensions.overload,
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


def test_context_managers_return_the_proxy_itself() -> None:
    """``__enter__ -> Self`` or its own Protocol is the caller's proxy; others as usual."""
    ledger, lease = interface_of(Ledger), interface_of(Lease)
    for interface in (ledger, lease):
        assert ReturnKind.SELF == interface.method("__enter__").return_kind
        assert interface.method("__exit__").is_exit
        assert {"__enter__"} == returns_of(interface).caller_proxy
        assert "__enter__" not in interface.method_to_typeid
    assert "__enter__() -> Self" in ledger.signature_lines
    assert (
        "__exit__(exc_type: type[BaseException] | None, exc: BaseException | None, "
        "tb: traceback | None, /) -> bool"
    ) in ledger.signature_lines

    class Opener(Protocol):
        def __enter__(self) -> Ledger: ...  # another Protocol: a new remote object
        def __exit__(self, *exc: object) -> None: ...

    class Reader(Protocol):
        def __enter__(self) -> str: ...  # a value: copied
        def __exit__(self, *exc: object) -> None: ...

    opener = interface_of(Opener).method("__enter__")
    assert (ReturnKind.REMOTE, Ledger) == (opener.return_kind, opener.remote)
    assert ReturnKind.VALUE == interface_of(Reader).method("__enter__").return_kind


def test_overloads_are_recorded_in_order() -> None:
    """Every @overload signature is kept; the implementation's docstring is the method's."""
    pick = interface_of(Bag).method("pick")
    assert [int, int | str] == [o.returns for o in pick.overloads]
    assert [["key"], ["key", "default"]] == [
        [p.name for p in o.params] for o in pick.overloads
    ]
    assert "The count of ``key``, or ``default`` where it has none." == pick.doc
    assert interface_of(Bag).method("scaled").doc is None  # not typing's placeholder's


def test_optional_remote_returns_in_every_spelling() -> None:
    """`P | None`, `Optional[P]` and `Union[P, None]` all mean a remote object or None."""

    class Spellings(Protocol):
        def pipe(self) -> Item | None: ...
        def optional(self) -> Optional[Item]: ...  # noqa: UP045
        def union(self) -> Union[Item, None]: ...  # noqa: UP007

    interface = interface_of(Spellings)
    assert [(ReturnKind.OPTIONAL_REMOTE, Item)] * 3 == [
        (m.return_kind, m.remote) for m in interface.methods
    ]
    assert frozenset({"pipe", "optional", "union"}) == returns_of(interface).optional


def test_iterator_returns_stay_on_the_server() -> None:
    """A method returning an iterator of values is proxied by the iterator typeid."""

    class Source(Protocol):
        def items(self) -> Iterator[int]: ...

    method = interface_of(Source).method("items")
    assert (ReturnKind.ITERATOR, None) == (method.return_kind, method.remote)
    assert {"items": ITERATOR_TYPEID} == dict(interface_of(Source).method_to_typeid)


def test_overrides_keep_the_base_position_and_take_the_new_signature() -> None:
    """A redefined method stays where the first base declared it, with the latest signature."""

    class Base(Protocol):
        def first(self) -> int: ...
        def second(self) -> int: ...

    class Left(Base, Protocol):
        def left(self) -> int: ...

    class Right(Base, Protocol):
        def right(self) -> int: ...

    class Both(Left, Right, Protocol):
        def first(self, offset: int = 0) -> int:
            """Overridden."""
            ...

    both = interface_of(Both)
    assert ("first", "second", "right", "left") == both.exposed
    assert ["offset"] == [p.name for p in both.method("first").params]
    assert "Overridden." == both.method("first").doc
    assert both.doc is None  # Protocols' docstrings are not inherited


def test_methods_without_docstrings_have_none() -> None:
    """A method without a docstring has ``doc`` None; indentation is cleaned."""

    class Documented(Protocol):
        def bare(self) -> None: ...
        def told(self) -> None:
            """First line.

            Detail,
                indented.
            """

    documented = interface_of(Documented)
    assert documented.method("bare").doc is None
    assert "First line.\n\nDetail,\n    indented." == documented.method("told").doc


def test_declared_attributes_with_values_are_attributes() -> None:
    """`size: int = 0` is an attribute read from the server; a valued ClassVar is left out."""

    class Valued(Protocol):
        size: int = 0
        kind: ClassVar[str] = "valued"

        def grow(self) -> None: ...

    valued = interface_of(Valued)
    assert ("grow", "size") == valued.exposed
    assert valued.method("size").is_property
    assert int is valued.method("size").returns


def test_type_checking_only_names_resolve() -> None:
    """Annotations naming TYPE_CHECKING-only imports resolve, with or without __future__."""
    from tests.golden.forms.heavy import Report
    from tests.golden.quoted.heavy import Report as QuotedReport
    from tests.golden.quoted.protocols import Catalog

    assert Report is interface_of(Forms).method("type_checking_only").returns
    summary = interface_of(Catalog).method("summary")
    assert QuotedReport is summary.params[0].annotation
    assert list[QuotedReport] == summary.returns


def test_string_forward_references_resolve_without_future_import() -> None:
    """`-> "Entry"` and `Optional["Entry"]` name a Protocol defined further down."""
    from tests.golden.quoted.protocols import Catalog, Entry

    catalog = interface_of(Catalog)
    assert (ReturnKind.REMOTE, Entry) == (
        catalog.method("entry").return_kind,
        catalog.method("entry").remote,
    )
    assert ReturnKind.OPTIONAL_REMOTE == catalog.method("find").return_kind


def test_signature_lines_spell_every_kind() -> None:
    """Signature lines read like the Protocol's source: `/`, `*`, defaults, remote kinds."""
    forms = interface_of(Forms)
    lines = dict(zip(forms.exposed, forms.signature_lines, strict=True))
    assert (
        "kinds(a: int, /, b: int, c: int = 2, *args: str, d: int, e: int = 5, "
        "**kwargs: float) -> None"
    ) == lines["kinds"]
    assert "keyword_only(*, flag: bool = False) -> None" == lines["keyword_only"]
    assert "oneway fire(event: str) -> None" == lines["fire"]
    assert "maybe(name: str) -> Node | None" == interface_of(Node).signature_lines[1]


def _fingerprint(body: str) -> str:
    """The fingerprint of ``class Fp(Protocol)`` with ``body``, in module ``fp``."""
    namespace: dict[str, object] = {"Protocol": Protocol, "__name__": "fp"}
    exec(f"class Fp(Protocol):\n    {body}\n", namespace)
    protocol = namespace["Fp"]
    assert isinstance(protocol, type)
    return interface_of(protocol).fingerprint


def test_fingerprint_follows_the_signatures() -> None:
    """Equal signatures give equal fingerprints; any change of a signature changes it."""
    same = _fingerprint("def m(self, x: int) -> int: ...")
    assert same == _fingerprint("def m(self, x: int) -> int:\n        'Doc.'")
    assert 16 == len(same)
    for changed in (
        "def m(self, y: int) -> int: ...",
        "def m(self, x: int, /) -> int: ...",
        "def m(self, x: int = 1) -> int: ...",
        "def m(self, x: str) -> int: ...",
        "def m(self, x: int) -> str: ...",
    ):
        assert same != _fingerprint(changed), changed


def test_interfaces_are_computed_once() -> None:
    """interface_of caches: register() and the generator read the same object."""
    assert interface_of(Forms) is interface_of(Forms)


def test_creation_signature_of_classes_without_their_own_init() -> None:
    """No __init__ means no parameters; an inherited __init__ gives the base's."""

    class Empty:
        pass

    class Base:
        def __init__(self, size: int, /, *, name: str = "b") -> None: ...

    class Child(Base):
        pass

    assert () == signature_of("Empty", Empty)
    assert [
        ("size", ParamKind.POSITIONAL_ONLY, int, NO_DEFAULT),
        ("name", ParamKind.KEYWORD_ONLY, str, "b"),
    ] == [(p.name, p.kind, p.annotation, p.default) for p in signature_of("C", Child)]


def test_creation_signature_refuses_non_literal_defaults() -> None:
    """A constructor default the generated creation method cannot spell is named."""

    class Clocked:
        def __init__(self, clock: object = object()) -> None: ...

    with pytest.raises(
        InterfaceError, match=r"^M\.Clocked: parameter 'clock' defaults to <object"
    ):
        signature_of("M.Clocked", Clocked)


class Open(Protocol):
    def call(self, **options: int) -> None: ...


class Closed:
    def call(self, a: int = 0) -> None: ...


class Sized(Protocol):
    size: int


class SizeMethod:
    def size(self) -> int:
        return 0


class NameData:
    name = "not a method"


class Nameless:
    pass


def make_nameless() -> Nameless:
    return Nameless()


def make_anything():  # type: ignore[no-untyped-def]
    return Nameless()


@pytest.mark.parametrize(
    ("protocol", "impl", "message"),
    [
        (
            Open,
            Closed,
            "Closed.call (for Open.call): the Protocol accepts **options, "
            "the implementation has no **kwargs",
        ),
        (
            Sized,
            SizeMethod,
            "SizeMethod.size (for Sized.size): is a method, "
            "the Protocol reads an attribute",
        ),
        (Item, NameData, "NameData.name (for Item.name): is not a method"),
        (
            Item,
            make_nameless,
            "Nameless does not implement Item: method 'name' is missing",
        ),
    ],
)
def test_check_implementation_names_implementation_protocol_and_method(
    protocol: type, impl: object, message: str
) -> None:
    """check_implementation refuses, naming both sides, what the proxy could not call."""
    assert callable(impl)
    with pytest.raises(InterfaceError, match="^" + re.escape(message)):
        check_implementation(interface_of(protocol), impl)


def test_factories_without_a_declared_class_are_not_checked() -> None:
    """A factory whose return annotation names no class leaves nothing to check."""
    check_implementation(interface_of(Item), make_anything)


def test_an_annotation_naming_a_member_is_refused_with_the_way_out() -> None:
    """A method named like a builtin shadows it in the class's annotations (from 3.14 on
    whatever the order): the error names the member and says to spell builtins.str."""
    with pytest.raises(InterfaceError) as raised:
        interface_of(ShadowsStr)
    message = str(raised.value)
    assert message.startswith("ShadowsStr.name: the annotation of 'return' is ")
    assert "ShadowsStr.str, a member of the class" in message
    assert "spell it builtins.str" in message


def test_bases_are_the_protocols_extended_as_written() -> None:
    """``bases`` keeps type arguments and leaves out the standard library's Protocols."""
    assert (Readable, SizedBase) == interface_of(Blob).bases
    assert (Source[int],) == interface_of(Numbers).bases
    stream = interface_of(Stream)
    assert 1 == len(stream.bases) and Source is typing_extensions.get_origin(
        stream.bases[0]
    )
    assert interface_of(Blob).declares("tell")  # overridden
    assert not interface_of(Blob).declares("read")  # inherited
    assert ("size", "read", "tell", "name", "decode", "chunks") == interface_of(
        Blob
    ).exposed

    class Sizeable(typing_extensions.SupportsIndex, Protocol):
        def size(self) -> int: ...

    assert () == interface_of(Sizeable).bases


def test_self_returns_are_fluent_and_map_to_the_protocol() -> None:
    """``-> Self`` and ``-> Self | None`` wrap under the Protocol's own reference typeid."""
    query = interface_of(Query)
    assert ReturnKind.FLUENT == query.method("where").return_kind
    assert ReturnKind.OPTIONAL_FLUENT == query.method("parent").return_kind
    assert Query is query.method("where").remote
    assert "tests.golden.family.protocols:Query" == query.method_to_typeid["where"]
    typeids = returns_of(query)
    assert query.method_to_typeid == typeids.typeids
    assert frozenset({"where", "limit", "copy", "parent", "root"}) == typeids.fluent
    assert query.method("root").is_property
    assert frozenset({"parent"}) == typeids.optional
    assert frozenset() == typeids.caller_proxy

    class Child(Query, Protocol):
        def extra(self) -> int: ...

    assert Child is interface_of(Child).method("where").remote  # the subclass's own


def test_overloads_keep_each_return_and_agree_on_how_it_travels() -> None:
    """Overloads returning ``P`` and ``P | None`` make an optional remote method."""
    store = interface_of(Store)
    opened = store.method("open")
    assert (ReturnKind.OPTIONAL_REMOTE, Blob) == (opened.return_kind, opened.remote)
    assert [Blob, Blob | None] == [o.returns for o in opened.overloads]
    assert "open" in returns_of(store).optional
    assert ReturnKind.REMOTE == store.method("query").return_kind
    assert "query" not in returns_of(store).optional


def test_generators_get_their_own_typeid() -> None:
    """``-> Generator[...]`` wraps under the generator typeid; other iterators do not."""
    typeids = interface_of(Store).method_to_typeid
    assert (GENERATOR_TYPEID, ITERATOR_TYPEID) == (typeids["feed"], typeids["names"])


def test_static_and_class_method_implementations_serve_instance_methods() -> None:
    """A Protocol's instance method may be a static or class method of the implementation."""

    class Versioned(Protocol):
        def version(self, major: int) -> str: ...
        def kinds(self) -> list[str]: ...

    class Impl:
        @staticmethod
        def version(major: int) -> str:
            return str(major)

        @classmethod
        def kinds(cls) -> list[str]:
            return []

    class Missing:
        @staticmethod
        def version() -> str:
            return ""

        @classmethod
        def kinds(cls) -> list[str]:
            return []

    check_implementation(interface_of(Versioned), Impl)
    with pytest.raises(InterfaceError, match="takes 0 positional parameter"):
        check_implementation(interface_of(Versioned), Missing)


def test_register_refuses_class_and_static_methods() -> None:
    """register() fails on a Protocol declaring a class method, naming it; nothing is
    registered (the method is not silently dropped)."""

    class Registry(Protocol):
        def names(self) -> list[str]: ...
        @classmethod
        def kinds(cls) -> list[str]: ...

    class RegistryImpl:
        def names(self) -> list[str]:
            return []

        @classmethod
        def kinds(cls) -> list[str]:
            return []

    class M(TypedManager): ...

    with pytest.raises(
        InterfaceError,
        match=r"\.Registry\.kinds: class methods cannot be proxied - .* declare it as "
        r"an instance method \(the implementation may keep it a class method\)$",
    ):
        M.register(Registry, RegistryImpl)
    assert "Registry" not in M._registry
