"""Every annotation form of the spine, with `from __future__ import annotations`."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Optional, Protocol, Union

from tests.golden.forms.values import Color, Point, Row, UserId
from typedmgr import TypedManager, oneway

if TYPE_CHECKING:
    from tests.golden.forms.heavy import Report


class Node(Protocol):
    """A remote node; docstrings travel to the proxy.

    Second paragraph, kept as written.
    """

    def child(self, name: str) -> Node:
        """A forward reference to this very Protocol."""
        ...

    def maybe(self, name: str) -> Node | None: ...

    def leaf(self) -> Leaf: ...


class Leaf(Protocol):
    def value(self) -> int: ...


class Forms(Protocol):
    def scalars(self, a: int, b: float, c: str, d: bytes, e: bool) -> None: ...

    def containers(
        self, a: list[int], b: dict[str, list[float]], c: tuple[int, ...], d: set[str]
    ) -> frozenset[tuple[str, int]]: ...

    def unions(
        self, a: int | str, b: Optional[int], c: Union[str, None]
    ) -> int | None: ...

    def literal(
        self, mode: Literal["r", "w"] = "r", level: Literal[1, 2] = 1
    ) -> str: ...

    def callables(
        self, key: Callable[[int], str], hook: Callable[..., None]
    ) -> Callable[[str], bool]: ...

    def values(self, color: Color = Color.RED, at: Point | None = None) -> Row: ...

    def abstract(self, items: Sequence[UserId]) -> Mapping[UserId, Point]: ...

    def type_checking_only(self) -> Report: ...

    def buffers(
        self, a: bytearray, v: memoryview, o: memoryview | None = None
    ) -> memoryview:
        """Large ones travel out of band; a memoryview arrives as a view of its bytes."""
        ...

    def kinds(
        self,
        a: int,
        /,
        b: int,
        c: int = 2,
        *args: str,
        d: int,
        e: int = 5,
        **kwargs: float,
    ) -> None: ...

    def keyword_only(self, *, flag: bool = False) -> None: ...

    def int(self) -> builtins.int:
        """A method named like a builtin the other annotations use."""
        ...

    def list(self, n: builtins.int) -> builtins.list[builtins.int]: ...

    def root(self) -> Node: ...

    @oneway
    def fire(self, event: str) -> None: ...


class NodeImpl:
    def child(self, name: str) -> NodeImpl:
        return self

    def maybe(self, name: str) -> NodeImpl | None:
        return None

    def leaf(self) -> object:
        return object()


class FormsImpl:
    def __init__(self, scale: float = 1.0, *, label: str = "forms") -> None:
        self.scale = scale

    def scalars(
        self, a: object, b: object, c: object, d: object, e: object
    ) -> None: ...
    def containers(self, a: object, b: object, c: object, d: object) -> Any: ...
    def unions(self, a: object, b: object, c: object) -> Any: ...
    def literal(self, mode: str = "r", level: int = 1) -> str:
        return mode

    def callables(self, key: object, hook: object) -> Any: ...
    def values(self, color: object = None, at: object = None) -> Any: ...
    def abstract(self, items: object) -> Any: ...
    def type_checking_only(self) -> Any: ...
    def buffers(self, a: object, v: memoryview, o: object = None) -> memoryview:
        return v

    def kinds(
        self,
        a: int,
        /,
        b: int,
        c: int = 2,
        *args: str,
        d: int,
        e: int = 5,
        **kwargs: float,
    ) -> None: ...
    def keyword_only(self, *, flag: bool = False) -> None: ...
    def int(self) -> builtins.int:
        return 0

    def list(self, n: builtins.int) -> builtins.list[builtins.int]:
        return []

    def root(self) -> NodeImpl:
        return NodeImpl()

    def fire(self, event: str) -> None: ...


class FormsManager(TypedManager):
    pass


FormsManager.register(Forms, FormsImpl)
FormsManager.register(Node, NodeImpl, protocol_typeid="Tree")
