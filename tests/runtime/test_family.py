"""Protocol hierarchies, ``-> Self``, overloads returning proxies and generators, in real
server processes, through the generated proxies and through classes built at runtime."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from tests.golden.family.expected.proxies import (
    BlobProxy,
    FamilyManager,
    NumbersProxy,
    QueryProxy,
    ReadableProxy,
    SizedProxy,
    SourceProxy,
    StoreProxy,
    StreamProxy,
)
from tests.tools import ROOT
from typedmgr import Pipeline, TypedProxy
from typedmgr._proxy import TypedGenerator

pytestmark = pytest.mark.process


@pytest.fixture(scope="module")
def store() -> Iterator[StoreProxy]:
    """A remote Store, on a server process of its own."""
    with FamilyManager(address=("127.0.0.1", 0), authkey=b"family") as m:
        yield m.Store()


def test_a_proxy_is_an_instance_of_the_proxies_of_the_protocols_it_extends(
    store: StoreProxy,
) -> None:
    """BlobProxy extends ReadableProxy and SizedProxy; inherited methods reach the server."""
    blob = store.open("a.txt")
    assert type(blob) is BlobProxy
    assert isinstance(blob, ReadableProxy)
    assert isinstance(blob, SizedProxy)
    assert [BlobProxy, ReadableProxy, SizedProxy, TypedProxy] == [
        c
        for c in type(blob).__mro__
        if c in (BlobProxy, ReadableProxy, SizedProxy, TypedProxy)
    ]
    assert b"hello" == blob.read(5)
    assert 5 == blob.tell()
    assert 11 == blob.size()
    assert "a.txt" == blob.name()
    assert "hello world" == blob.decode("latin-1")
    assert [b"hello", b" worl", b"d"] == blob.chunks(5)


def test_generic_hierarchies_keep_their_proxies(store: StoreProxy) -> None:
    """A Protocol extending Source[int] or Source[T] gives a SourceProxy subclass."""
    numbers = store.numbers()
    assert type(numbers) is NumbersProxy and isinstance(numbers, SourceProxy)
    assert (3, 3) == (numbers.get(), numbers.total())
    stream = store.stream()
    assert type(stream) is StreamProxy and isinstance(stream, SourceProxy)
    stream.push("y")
    assert "y" == stream.get()


def test_self_is_the_same_proxy_when_the_server_returns_the_same_object(
    store: StoreProxy,
) -> None:
    """`-> Self`: the caller's proxy for the referent itself, a new proxy for another."""
    query = store.query("users")
    assert query is query.where("a").limit(3)
    assert ["from users", "a", "limit 3"] == query.clauses()
    copy = query.copy()
    assert type(copy) is QueryProxy and copy is not query
    assert copy._id != query._id
    copy.where("b")
    assert ["from users", "a", "limit 3"] == query.clauses()
    assert query.parent() is None
    parent = copy.parent()
    assert type(parent) is QueryProxy
    assert parent._id == query._id
    assert query.root is query  # a `-> Self` property
    assert type(copy.root) is QueryProxy and copy.root._id == query._id


def test_self_returns_the_callers_own_subclass(store: StoreProxy) -> None:
    """A subclass of a generated proxy gets itself, or a new proxy of its own class."""

    class MyQuery(QueryProxy):
        pass

    query = store.query()
    mine = MyQuery(query._token, "pickle", authkey=b"family")
    assert mine is mine.where("x")
    copy = mine.copy()
    assert type(copy) is MyQuery
    assert ["from t", "x"] == copy.clauses()
    assert type(copy.root) is MyQuery and mine.root is mine


def test_self_in_a_pipeline(store: StoreProxy) -> None:
    """A pipelined `-> Self` call's reply is the proxy itself, or a new one."""
    query = store.query()
    with Pipeline() as p:
        same = p.call(query.where, "z")
        other = p.call(query.copy)
    assert same.value() is query
    assert type(other.value()) is QueryProxy and other.value() is not query


def test_overloads_return_proxies_or_none(store: StoreProxy) -> None:
    """Each overload keeps its return: a proxy, or None where `P | None` allows it."""
    assert type(store.open("a.txt")) is BlobProxy
    by_fd = store.open(3)
    assert type(by_fd) is BlobProxy and by_fd is not None
    assert "a.txt" == by_fd.name()
    assert store.open(4) is None
    assert ["from t"] == store.query().clauses()
    assert ["from x"] == store.query("x").clauses()


def test_generators_send_throw_and_close_on_the_server(store: StoreProxy) -> None:
    """A `-> Generator[...]` method gives a Generator proxy: send, throw, close, return."""
    feed = store.feed(10)
    assert isinstance(feed, TypedGenerator)
    assert 10 == next(feed)
    assert 15 == feed.send(5)
    with pytest.raises(ValueError, match="thrown") as raised:
        feed.throw(ValueError("thrown"))
    assert raised.value.__cause__ is not None  # the server's traceback
    done = store.feed(98)
    assert [98, 99] == [next(done), next(done)]
    with pytest.raises(StopIteration) as stopped:
        next(done)
    assert "stopped at 100" == stopped.value.value
    closing = store.feed(0)
    assert 0 == next(closing)
    closing.close()
    with pytest.raises(StopIteration):
        next(closing)
    assert ["a.txt"] == list(store.names())


RUNTIME_BUILT = """
from tests.golden.family.protocols import FamilyManager, Blob, Readable, Sized
from typedmgr import proxy_class_for

with FamilyManager(address=("127.0.0.1", 0), authkey=b"family") as m:
    store = m.Store()
    blob = store.open("a.txt")
    assert type(blob)._generated_ is False, type(blob)
    assert type(blob) is proxy_class_for(Blob)
    assert isinstance(blob, proxy_class_for(Readable))
    assert isinstance(blob, proxy_class_for(Sized))
    assert (blob.read(5), blob.size()) == (b"hello", 11)
    query = store.query()
    assert query.where("a") is query and query.root is query
    assert type(query.copy()) is type(query) and query.copy() is not query
    assert store.open(4) is None
    feed = store.feed(1)
    assert (next(feed), feed.send(2)) == (1, 3)
    print("ok")
"""


def test_runtime_built_proxies_mirror_the_hierarchy_too() -> None:
    """Without the generated module, the classes built at runtime extend each other alike."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(RUNTIME_BUILT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (0, "ok\n") == (result.returncode, result.stdout), result.stderr
