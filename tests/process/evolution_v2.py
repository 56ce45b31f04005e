"""Version 2 of tests/process/evolution_v1.py's library: every kind of change once.

Compatible with version 1's clients: ``history`` added, ``restock`` grew parameters with
defaults, ``scale`` takes a wider type, ``label`` returns a narrower one, ``price`` and
``count`` changed only in ways a version 1 client cannot call correctly (and a version 2
client against a version 1 server can). Incompatible: ``audit`` removed, ``reserve``
requires a new parameter, ``price`` takes a narrower type, ``count`` may return ``None``.
"""

from __future__ import annotations

from typing import Protocol

from typedmgr import TypedManager


class Inventory(Protocol):
    """Stock levels by SKU."""

    def stock(self, sku: str) -> int: ...
    def restock(
        self, sku: str, qty: int, urgent: bool = False, *, note: str = ""
    ) -> int: ...
    def scale(self, factor: float | None) -> float: ...
    def label(self, sku: str) -> str: ...
    def reserve(self, sku: str, qty: int) -> int: ...
    def price(self, sku: str, cents: int) -> int: ...
    def count(self) -> int | None: ...
    def history(self) -> list[str]: ...
    def calls(self) -> list[str]: ...


class InventoryImpl:
    def __init__(self) -> None:
        self._calls: list[str] = []

    def stock(self, sku: str) -> int:
        self._calls.append("stock")
        return 5

    def restock(
        self, sku: str, qty: int, urgent: bool = False, *, note: str = ""
    ) -> int:
        self._calls.append(f"restock {sku} {qty} {urgent} {note!r}")
        return 5 + qty

    def scale(self, factor: float | None) -> float:
        self._calls.append(f"scale {factor!r}")
        return 1.0 if factor is None else factor * 1.5

    def label(self, sku: str) -> str:
        self._calls.append("label")
        return f"<{sku}>"

    def reserve(self, sku: str, qty: int) -> int:
        self._calls.append(f"reserve {sku} {qty}")
        return qty

    def price(self, sku: str, cents: int) -> int:
        self._calls.append(f"price {cents!r}")
        return cents

    def count(self) -> int | None:
        self._calls.append("count")
        return None

    def history(self) -> list[str]:
        return ["restocked"]

    def calls(self) -> list[str]:
        return list(self._calls)


class InventoryServer(TypedManager):
    """Serves version 2."""


InventoryServer.register(Inventory, InventoryImpl)


class InventoryClient(TypedManager):
    """A client of version 2: its proxies are built from version 2's Protocol."""


InventoryClient.register(Inventory)
