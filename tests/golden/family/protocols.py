# mypy: disallow-any-expr
"""Protocol hierarchies, fluent ``-> Self`` methods, overloads returning remote objects and
generators: what real client libraries declare (issue 19). Any-free, so that this module
itself passes ``--disallow-any-expr``."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Generic, Literal, Protocol, TypeVar
from typing_extensions import Self, overload

from typedmgr import TypedManager, oneway

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

#: Type aliases: the generated proxies spell them so too (IDEs show ``Encoding``).
Encoding = Literal["utf-8", "latin-1"]
Chunks = list[bytes]


class Readable(Protocol):
    """Something to read bytes from."""

    def read(self, n: int = -1) -> bytes: ...

    def tell(self) -> int: ...


class Sized(Protocol):
    def size(self) -> int: ...


class Blob(Readable, Sized, Protocol):
    """Extends two Protocols: its proxy is a ReadableProxy and a SizedProxy."""

    def name(self) -> str: ...

    def tell(self) -> int:
        """Overridden: still the position, documented anew."""
        ...

    def decode(self, encoding: Encoding = "utf-8") -> str: ...

    def chunks(self, size: int) -> Chunks: ...


class Source(Protocol[T_co]):
    def get(self) -> T_co: ...


class Stream(Source[T], Protocol[T]):
    """Generic through the hierarchy: a ``StreamProxy[T]`` is a ``SourceProxy[T]``."""

    def push(self, item: T) -> None: ...


class Numbers(Source[int], Protocol):
    """Fixes the base's parameter: a ``NumbersProxy`` is a ``SourceProxy[int]``."""

    def total(self) -> int: ...


class Query(Protocol):
    """A fluent query builder."""

    def where(self, clause: str) -> Self: ...

    def limit(self, n: int) -> Self: ...

    def copy(self) -> Self: ...

    def parent(self) -> Self | None: ...

    @property
    def root(self) -> Self:
        """The first query of the chain of copies; read from the server."""
        ...

    def clauses(self) -> list[str]: ...

    def encoded(
        self, encodings: list[Encoding], strict: Encoding | None = None
    ) -> Chunks | None:
        """Aliases inside annotations keep their names too: ``list[Encoding]``."""
        ...

    @oneway
    def log(self, line: str) -> None: ...


class Store(Protocol):
    @overload
    def open(self, name: str, /) -> Blob: ...

    @overload
    def open(self, fd: int, /) -> Blob | None: ...

    def open(self, key: str | int, /) -> Blob | None:
        """A blob by name, or by descriptor (``None`` if none is open under it)."""
        ...

    @overload
    def query(self) -> Query: ...

    @overload
    def query(self, table: str) -> Query: ...

    def numbers(self) -> Numbers: ...

    def stream(self) -> Stream[str]: ...

    def feed(self, start: int) -> Generator[int, int | None, str]: ...

    def names(self) -> Iterator[str]: ...


class BlobImpl:
    def __init__(self, name: str, data: bytes) -> None:
        self._name = name
        self._data = data
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        chunk = self._data[self._pos : end]
        self._pos += len(chunk)
        return chunk

    def tell(self) -> int:
        return self._pos

    def size(self) -> int:
        return len(self._data)

    def name(self) -> str:
        return self._name

    def decode(self, encoding: Encoding = "utf-8") -> str:
        return self._data.decode(encoding)

    def chunks(self, size: int) -> Chunks:
        return [self._data[i : i + size] for i in range(0, len(self._data), size)]


class SourceImpl(Generic[T]):
    def __init__(self, items: list[T]) -> None:
        self._items = items

    def get(self) -> T:
        return self._items[-1]

    def push(self, item: T) -> None:
        self._items.append(item)

    def total(self) -> int:
        return len(self._items)


class QueryImpl:
    def __init__(self, clauses: list[str], parent: QueryImpl | None = None) -> None:
        self._clauses = clauses
        self._parent = parent
        self._log: list[str] = []

    def where(self, clause: str) -> Self:
        self._clauses.append(clause)
        return self

    def limit(self, n: int) -> Self:
        self._clauses.append(f"limit {n}")
        return self

    def copy(self) -> QueryImpl:
        return QueryImpl(list(self._clauses), parent=self)

    def parent(self) -> QueryImpl | None:
        return self._parent

    @property
    def root(self) -> QueryImpl:
        return self if self._parent is None else self._parent.root

    def clauses(self) -> list[str]:
        return list(self._clauses)

    def encoded(
        self, encodings: list[Encoding], strict: Encoding | None = None
    ) -> Chunks | None:
        chunks = [
            c.encode(strict or e)
            for c, e in zip(self._clauses, encodings, strict=False)
        ]
        return chunks or None

    def log(self, line: str) -> None:
        self._log.append(line)


class StoreImpl:
    def __init__(self) -> None:
        self._blobs = {"a.txt": BlobImpl("a.txt", b"hello world")}
        self._open = {3: self._blobs["a.txt"]}

    def open(self, key: str | int, /) -> BlobImpl | None:
        if isinstance(key, int):
            return self._open.get(key)
        return self._blobs[key]

    def query(self, table: str = "t") -> QueryImpl:
        return QueryImpl([f"from {table}"])

    def numbers(self) -> SourceImpl[int]:
        return SourceImpl([1, 2, 3])

    def stream(self) -> SourceImpl[str]:
        return SourceImpl(["x"])

    def feed(self, start: int) -> Generator[int, int | None, str]:
        value = start
        while value < 100:
            sent = yield value
            value += 1 if sent is None else sent
        return f"stopped at {value}"

    def names(self) -> Iterator[str]:
        return iter(sorted(self._blobs))


class FamilyManager(TypedManager):
    pass


FamilyManager.register(Store, StoreImpl)
FamilyManager.register(Blob, BlobImpl, create_method=False)
