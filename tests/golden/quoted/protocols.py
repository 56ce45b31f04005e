"""String annotations without `from __future__ import annotations`, and names that collide.

Forward references to a Protocol defined further down, names imported only under
TYPE_CHECKING (a Literal of one of their enum members too), classes whose ``__module__`` is
private (``io.BytesIO`` says ``_io``), the empty tuple, attribute declarations with values, a
parameter named like the generated module's ``typing`` alias, and methods named ``str``,
``float`` and ``property`` (which shadow the builtins in the class's annotations: from
Python 3.14 on, whatever their order, so the other methods spell ``builtins.str``).
"""

import builtins
import io
import pathlib
import typing
from typing import ClassVar, Literal, Optional, Protocol

from typedmgr import TypedManager

if typing.TYPE_CHECKING:
    from tests.golden.quoted.heavy import Mode, Report


class Catalog(Protocol):
    """A remote catalog."""

    size: int = 0
    kind: ClassVar[str] = "catalog"

    def entry(self, name: builtins.str) -> "Entry":
        """The entry called ``name``, created on first use."""
        ...

    def find(self, name: builtins.str) -> Optional["Entry"]: ...

    def summary(self, report: "Report") -> "list[Report]": ...

    def tune(self, mode: "Literal[Mode.FAST]") -> None: ...

    def nothing(self) -> tuple[()]: ...

    def dump(self, where: pathlib.PurePosixPath) -> io.BytesIO: ...

    def forward(self, _typing: int, /, _builtins: builtins.str = "b") -> builtins.str:
        """Parameters named like the generated module's aliases."""
        ...

    def str(self, x: "builtins.str") -> "dict[builtins.str, builtins.float]": ...

    def float(self) -> "builtins.float": ...

    def property(self) -> int: ...


class Entry(Protocol):
    def value(self) -> int: ...


class EntryImpl:
    def value(self) -> int:
        return 1


class CatalogImpl:
    kind = "catalog"

    def __init__(self) -> None:
        self.size = 0
        self.entries: dict[builtins.str, EntryImpl] = {}

    def entry(self, name: builtins.str) -> EntryImpl:
        return self.entries.setdefault(name, EntryImpl())

    def find(self, name: builtins.str) -> EntryImpl | None:
        return self.entries.get(name)

    def summary(self, report: object) -> list[object]:
        return [report]

    def tune(self, mode: object) -> None: ...

    def nothing(self) -> tuple[()]:
        return ()

    def dump(self, where: pathlib.PurePosixPath) -> io.BytesIO:
        return io.BytesIO(builtins.str(where).encode())

    def forward(self, _typing: int, /, _builtins: builtins.str = "b") -> builtins.str:
        return _builtins * _typing

    def str(self, x: builtins.str) -> dict[builtins.str, builtins.float]:
        return {x: 1.0}

    def float(self) -> builtins.float:
        return 1.0

    def property(self) -> int:
        return 0


class QuotedManager(TypedManager):
    pass


QuotedManager.register(Catalog, CatalogImpl)
