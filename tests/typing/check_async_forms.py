# mypy: disallow-any-expr
"""The async twins of every annotation form, typing aliases and factory creation methods
(checked, never run)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import assert_type

from tests.golden.forms.expected.proxies import (
    AsyncFormsManager,
    AsyncFormsProxy,
    AsyncLeafProxy,
    AsyncNodeProxy,
)
from tests.golden.forms.heavy import Report
from tests.golden.forms.values import Color, Point, Row, UserId
from tests.golden.plain.expected.proxies import AsyncPlainManager, AsyncStoreProxy


async def creation(m: AsyncFormsManager) -> None:
    assert_type(await m.Forms(), AsyncFormsProxy)
    assert_type(await m.Forms(2.0, label="x"), AsyncFormsProxy)
    assert_type(await m.Tree(), AsyncNodeProxy)


async def values(f: AsyncFormsProxy, uid: UserId) -> None:
    assert_type(await f.scalars(1, 2.0, "c", b"d", True), None)
    assert_type(
        await f.containers([1], {"k": [1.0]}, (1, 2), {"s"}),
        frozenset[tuple[str, int]],
    )
    assert_type(await f.unions("a", None, None), int | None)
    assert_type(await f.literal(), str)
    assert_type(await f.literal("w", 2), str)
    assert_type(await f.callables(str, print), Callable[[str], bool])
    assert_type(await f.values(), Row)
    assert_type((await f.values(Color.BLUE, Point(1.0, 2.0)))["id"], UserId)
    assert_type(await f.abstract([uid]), Mapping[UserId, Point])
    assert_type(await f.type_checking_only(), Report)
    assert_type(await f.int(), int)
    assert_type(await f.list(3), list[int])
    assert_type(await f.fire("event"), None)  # @oneway: sent, not waited for


async def kinds(f: AsyncFormsProxy) -> None:
    assert_type(await f.kinds(1, 2, d=4), None)
    assert_type(await f.kinds(1, b=2, d=4), None)
    assert_type(await f.kinds(1, 2, 3, "x", "y", d=4, e=5, extra=1.5), None)
    assert_type(await f.keyword_only(), None)
    assert_type(await f.keyword_only(flag=True), None)


async def nested(f: AsyncFormsProxy) -> None:
    root = await f.root()
    assert_type(root, AsyncNodeProxy)
    child = await root.child("a")
    assert_type(child, AsyncNodeProxy)
    assert_type(await child.maybe("b"), AsyncNodeProxy | None)
    leaf = await root.leaf()
    assert_type(leaf, AsyncLeafProxy)
    assert_type(await leaf.value(), int)


async def rejected(m: AsyncFormsManager, f: AsyncFormsProxy) -> None:
    await f.kinds(a=1, b=2, d=4)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    await f.kinds(1, 2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    await f.kinds(1, 2, 3, 4, d=4)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await f.keyword_only(True)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    await f.literal("x")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await f.unions(1.5, None, None)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await f.abstract([1])  # type: ignore[list-item]  # pyright: ignore[reportArgumentType]
    await m.Forms(1.0, "x")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    leaf: AsyncLeafProxy = await f.root()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    print(leaf)


async def plain(m: AsyncPlainManager) -> None:
    store = await m.Store(10)
    assert_type(store, AsyncStoreProxy)
    assert_type(await m.Store(10, name="s"), AsyncStoreProxy)
    assert_type(await m.Store(capacity=None), AsyncStoreProxy)
    assert_type(await m.SharedStore(), AsyncStoreProxy)
    assert_type(await m.SharedStore(prefix="p"), AsyncStoreProxy)
    assert_type(await store.get("k"), bytes | None)
    assert_type(await store.put("k", b"v"), None)
    assert_type(await store.keys(), list[str])
    assert_type(await store.sizes(), dict[str, int])
    await m.Store()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    await store.put("k", "v")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    (await store.get("k")).decode()  # type: ignore[union-attr]  # pyright: ignore[reportOptionalMemberAccess]
