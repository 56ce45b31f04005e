# mypy: disallow-any-expr
"""Typing aliases, factory creation methods and untyped constructors (checked, never run)."""

from __future__ import annotations

from typing import assert_type

from tests.golden.plain.expected.proxies import PlainManager, StoreProxy
from tests.golden.plain.protocols import Store


def creation(m: PlainManager) -> None:
    assert_type(m.Store(10), StoreProxy)  # typed from StoreImpl.__init__
    assert_type(m.Store(10, name="s"), StoreProxy)
    assert_type(m.Store(capacity=None), StoreProxy)  # unannotated: object, not Any
    assert_type(m.SharedStore(), StoreProxy)  # typed from the factory shared_store()
    assert_type(m.SharedStore(prefix="p"), StoreProxy)


def values(store: StoreProxy) -> None:
    # Optional[bytes], List[str], Dict[str, int] reach clients as builtin generics.
    assert_type(store.get("k"), bytes | None)
    assert_type(store.put("k", b"v"), None)
    assert_type(store.keys(), list[str])
    assert_type(store.sizes(), dict[str, int])
    as_protocol: Store = store
    print(as_protocol)


def rejected(m: PlainManager, store: StoreProxy) -> None:
    m.Store()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    m.SharedStore(1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    store.put("k", "v")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    store.get("k").decode()  # type: ignore[union-attr]  # pyright: ignore[reportOptionalMemberAccess]
