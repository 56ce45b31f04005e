# mypy: disallow-any-expr
"""Every annotation form the generator understands, as a client sees it (checked, never run)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import assert_type

from tests.golden.forms.expected.proxies import (
    FormsManager,
    FormsProxy,
    LeafProxy,
    NodeProxy,
)
from tests.golden.forms.heavy import Report
from tests.golden.forms.protocols import Forms, Leaf, Node
from tests.golden.forms.values import Color, Point, Row, UserId


def creation(m: FormsManager) -> None:
    assert_type(m.Forms(), FormsProxy)
    assert_type(m.Forms(2.0, label="x"), FormsProxy)
    assert_type(m.Tree(), NodeProxy)  # protocol_typeid="Tree" names the method


def values(f: FormsProxy, uid: UserId) -> None:
    assert_type(f.scalars(1, 2.0, "c", b"d", True), None)
    assert_type(
        f.containers([1], {"k": [1.0]}, (1, 2), {"s"}), frozenset[tuple[str, int]]
    )
    assert_type(f.unions("a", None, None), int | None)
    assert_type(f.literal(), str)
    assert_type(f.literal("w", 2), str)
    assert_type(f.callables(str, print), Callable[[str], bool])
    assert_type(f.values(), Row)
    assert_type(f.values(Color.BLUE, Point(1.0, 2.0))["id"], UserId)
    assert_type(f.abstract([uid]), Mapping[UserId, Point])
    assert_type(f.type_checking_only(), Report)
    assert_type(f.int(), int)  # methods named like builtins do not shadow them
    assert_type(f.list(3), list[int])
    assert_type(f.fire("event"), None)  # @oneway


def buffers(f: FormsProxy, view: memoryview) -> None:
    assert_type(f.buffers(bytearray(b"a"), view), memoryview)
    assert_type(f.buffers(bytearray(), memoryview(b"x"), None), memoryview)
    f.buffers(b"bytes", view)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    f.buffers(bytearray(), b"bytes")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def kinds(f: FormsProxy) -> None:
    assert_type(f.kinds(1, 2, d=4), None)
    assert_type(f.kinds(1, b=2, d=4), None)
    assert_type(f.kinds(1, 2, 3, "x", "y", d=4, e=5, extra=1.5), None)
    assert_type(f.keyword_only(), None)
    assert_type(f.keyword_only(flag=True), None)


def nested(f: FormsProxy) -> None:
    root = f.root()
    assert_type(root, NodeProxy)
    assert_type(root.child("a"), NodeProxy)  # forward reference to its own Protocol
    assert_type(root.child("a").maybe("b"), NodeProxy | None)
    assert_type(root.leaf(), LeafProxy)
    assert_type(root.leaf().value(), int)


def proxies_satisfy_their_protocols(m: FormsManager) -> None:
    forms: Forms = m.Forms()
    node: Node = m.Tree()
    leaf: Leaf = m.Tree().leaf()
    print(forms, node, leaf)


def rejected(m: FormsManager, f: FormsProxy, uid: UserId) -> None:
    f.kinds(a=1, b=2, d=4)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    f.kinds(1, 2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    f.kinds(1, 2, 3, 4, d=4)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    f.kinds(1, 2, d=4, extra="x")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    f.keyword_only(True)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    f.literal("x")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    f.literal(level=3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    f.unions(1.5, None, None)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    f.abstract([1])  # type: ignore[list-item]  # pyright: ignore[reportArgumentType]
    f.values("red")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    f.callables(len, print)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    f.root().maybe("b").leaf()  # type: ignore[union-attr]  # pyright: ignore[reportOptionalMemberAccess]
    m.Forms(1.0, "x")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    m.Node()  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    leaf: LeafProxy = f.root()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    print(leaf)
