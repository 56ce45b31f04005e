"""Version 2 of the library ``stock``: ``Bin.empty`` removed, ``Bin.fill`` added; the
Depot is unchanged (its fingerprint is version 1's)."""

from __future__ import annotations

from typing import Protocol

from typedmgr import TypedManager


class Bin(Protocol):
    """One storage bin, returned by a Depot."""

    def level(self) -> int: ...
    def fill(self, n: int) -> int: ...


class Depot(Protocol):
    """Hands out bins."""

    def bin(self, name: str) -> Bin: ...


class BinImpl:
    def level(self) -> int:
        return 2

    def fill(self, n: int) -> int:
        return n


class DepotImpl:
    def bin(self, name: str) -> BinImpl:
        return BinImpl()


class StockServer(TypedManager):
    """Serves version 2."""


StockServer.register(Depot, DepotImpl)
