# mypy: disallow-any-expr
"""typedmgr's public API holds no Any a client could reach (checked, never run)."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from multiprocessing.managers import Server
from typing import assert_type

from shop_proxies import CounterProxy, ShopManager
from tests.golden.family.expected.proxies import QueryProxy
from tests.golden.family.protocols import Query
from typedmgr import (
    Interface,
    Pipeline,
    Reply,
    TypedManager,
    TypedProxy,
    interface_of,
    oneway,
    proxy_class_for,
)
from typedmgr._proxy import TypedGenerator, TypedIterator


class Subclassed(QueryProxy):
    """Subclassing a generated proxy names no Any either."""


def manager_api(key: bytes) -> None:
    m = ShopManager(address=("127.0.0.1", 50000), authkey=key)
    assert_type(m, ShopManager)
    m.connect()
    m.start()
    with m as entered:
        assert_type(entered, ShopManager)
    assert_type(m.get_server(), Server)
    m.shutdown()
    m.join(1.0)
    TypedManager.register("Thing", dict)
    ShopManager(address="/tmp/socket", authkey=key, reply_spin=0.0)
    ShopManager(address=1, authkey=key)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def proxy_api(counter: CounterProxy) -> None:
    assert_type(repr(counter), str)
    assert_type(pickle.dumps(counter), bytes)
    proxy: TypedProxy = counter
    assert_type(proxy_class_for(Query), type[TypedProxy])
    assert_type(interface_of(Query), Interface)
    print(proxy)


def iterator_api(it: TypedIterator[int]) -> None:
    assert_type(next(it), int)
    assert_type(iter(it), TypedIterator[int])


def pipeline_api(counter: CounterProxy) -> None:
    with Pipeline() as p:
        reply = p.call(counter.increment, by=1)
    assert_type(reply, Reply[int])
    assert_type(reply.value(), int)
    p.send()


def generator_api(g: TypedGenerator[int, str, bytes]) -> None:
    assert_type(g.send("x"), int)
    assert_type(iter(g), TypedGenerator[int, str, bytes])
    g.send(1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def decorate(line: str) -> None:
    """``oneway`` keeps the signature, and names no Any."""


fired = oneway(decorate)
assert_type(fired("x"), None)
as_callable: Callable[[str], None] = fired
