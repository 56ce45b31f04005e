# mypy: disallow-any-expr
"""Protocol hierarchies, `-> Self`, overloads returning proxies, generators (checked, never run)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import assert_type

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
from tests.golden.family.protocols import (
    Blob,
    Numbers,
    Query,
    Readable,
    Sized,
    Source,
    Store,
    Stream,
)
from typedmgr import Pipeline, Reply


def dump(r: ReadableProxy) -> bytes:
    return r.read()


def measure(s: SizedProxy) -> int:
    return s.size()


def hierarchies(store: StoreProxy) -> None:
    blob = store.open("a.txt")
    assert_type(blob, BlobProxy)
    assert_type(blob.read(5), bytes)  # inherited from ReadableProxy
    assert_type(blob.size(), int)  # inherited from SizedProxy
    assert_type(blob.tell(), int)
    assert_type(blob.decode("latin-1"), str)  # encoding: Encoding, an alias
    assert_type(blob.chunks(2), list[bytes])  # -> Chunks, an alias
    assert_type(dump(blob), bytes)
    assert_type(measure(blob), int)
    readable: ReadableProxy = blob
    as_blob: Blob = blob
    as_readable: Readable = blob
    as_sized: Sized = blob
    print(readable, as_blob, as_readable, as_sized)


def not_the_other_way(readable: ReadableProxy, store: StoreProxy) -> None:
    back: BlobProxy = readable  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    sized: SizedProxy = store.query()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    store.open("a.txt").read("5")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    store.open("a.txt").decode("ascii")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    print(back, sized)


def generic_hierarchies(store: StoreProxy) -> None:
    numbers = store.numbers()
    assert_type(numbers, NumbersProxy)
    assert_type(numbers.get(), int)  # SourceProxy[int].get
    ints: SourceProxy[int] = numbers
    objects: SourceProxy[object] = numbers  # covariant, as Source is
    as_numbers: Numbers = numbers
    as_source: Source[int] = numbers
    stream = store.stream()
    assert_type(stream, StreamProxy[str])
    assert_type(stream.get(), str)
    strs: SourceProxy[str] = stream
    as_stream: Stream[str] = stream
    print(ints, objects, as_numbers, as_source, strs, as_stream)
    wrong: SourceProxy[str] = numbers  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    stream.push(1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    print(wrong)


class MyQuery(QueryProxy):
    def first_clause(self) -> str:
        return self.clauses()[0]


def fluent(store: StoreProxy, mine: MyQuery) -> None:
    query = store.query("users")
    assert_type(query, QueryProxy)
    assert_type(query.where("a").limit(3), QueryProxy)
    assert_type(query.copy(), QueryProxy)
    assert_type(query.parent(), QueryProxy | None)
    assert_type(query.root, QueryProxy)
    assert_type(mine.root, MyQuery)
    assert_type(mine.where("a"), MyQuery)  # Self: subclasses included
    assert_type(mine.where("a").first_clause(), str)
    assert_type(mine.parent(), MyQuery | None)
    as_query: Query = query
    print(as_query)
    query.where(1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    query.parent().where("a")  # type: ignore[union-attr]  # pyright: ignore[reportOptionalMemberAccess]
    query.where("a").first_clause()  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    with Pipeline() as p:
        assert_type(p.call(mine.where, "a"), Reply[MyQuery])
        assert_type(p.call(query.copy), Reply[QueryProxy])


def overloads(store: StoreProxy) -> None:
    assert_type(store.open("a.txt"), BlobProxy)
    assert_type(store.open(3), BlobProxy | None)
    assert_type(store.query(), QueryProxy)
    assert_type(store.query("t"), QueryProxy)
    store.open(3).name()  # type: ignore[union-attr]  # pyright: ignore[reportOptionalMemberAccess]
    store.open(b"a")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    with Pipeline() as p:
        assert_type(p.call(store.open, 3), Reply[BlobProxy | None])


def generators(store: StoreProxy) -> None:
    feed = store.feed(1)
    assert_type(feed, Generator[int, int | None, str])
    assert_type(next(feed), int)
    assert_type(feed.send(2), int)
    assert_type(feed.throw(ValueError("x")), int)
    feed.close()
    assert_type(store.names(), Iterator[str])
    feed.send("2")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    store.names().send(None)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]


def against_protocols(m: FamilyManager) -> None:
    # The proxy of every Protocol is that Protocol: Generator returns, overloads returning
    # proxies, `-> Self` and hierarchies included.
    store: Store = m.Store()
    print(store)
