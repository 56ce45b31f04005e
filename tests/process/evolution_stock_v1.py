"""Version 1 of the library ``stock``: loaded under that one name by
tests/process/evolution_stock.py, as each version would be installed."""

from __future__ import annotations

from typing import Protocol

from typedmgr import TypedManager


class Bin(Protocol):
    """One storage bin, returned by a Depot."""

    def level(self) -> int: ...
    def empty(self) -> None: ...


class Depot(Protocol):
    """Hands out bins."""

    def bin(self, name: str) -> Bin: ...


class BinImpl:
    def level(self) -> int:
        return 1

    def empty(self) -> None:
        return None


class DepotImpl:
    def bin(self, name: str) -> BinImpl:
        return BinImpl()


class StockServer(TypedManager):
    """Serves version 1."""


StockServer.register(Depot, DepotImpl)
