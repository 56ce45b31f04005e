"""Version 1 of a small library, as a client generated before version 2 knows it.

tests/process/evolution_v2.py is the same library a release later; test_evolution.py
serves one version and calls it with proxies of the other.
"""

from __future__ import annotations

from typing import Protocol

from typedmgr import TypedManager


class Inventory(Protocol):
    """Stock levels by SKU."""

    def stock(self, sku: str) -> int: ...
    def restock(self, sku: str, qty: int) -> int: ...
    def scale(self, factor: int) -> float: ...
    def label(self, sku: str) -> str | None: ...
    def audit(self) -> list[str]: ...
    def reserve(self, sku: str) -> int: ...
    def price(self, sku: str, cents: float) -> int: ...
    def count(self) -> int: ...
    def calls(self) -> list[str]: ...


class InventoryImpl:
    def __init__(self) -> None:
        self._calls: list[str] = []

    def stock(self, sku: str) -> int:
        self._calls.append("stock")
        return 5

    def restock(self, sku: str, qty: int) -> int:
        self._calls.append(f"restock {sku} {qty}")
        return 5 + qty

    def scale(self, factor: int) -> float:
        self._calls.append(f"scale {factor!r}")
        return factor * 1.5

    def label(self, sku: str) -> str | None:
        self._calls.append("label")
        return None

    def audit(self) -> list[str]:
        self._calls.append("audit")
        return ["ok"]

    def reserve(self, sku: str) -> int:
        self._calls.append(f"reserve {sku}")
        return 1

    def price(self, sku: str, cents: float) -> int:
        self._calls.append(f"price {cents!r}")
        return round(cents)

    def count(self) -> int:
        self._calls.append("count")
        return 1

    def calls(self) -> list[str]:
        return list(self._calls)


class InventoryServer(TypedManager):
    """Serves version 1."""


InventoryServer.register(Inventory, InventoryImpl)


class InventoryClient(TypedManager):
    """A client of version 1: its proxies are built from version 1's Protocol."""


InventoryClient.register(Inventory)
