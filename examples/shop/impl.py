"""Server-side implementations; clients never import this module."""

from __future__ import annotations

import threading
from collections import Counter as Tally

from shop.models import Category, Item, OrderLine, Receipt

_RATES = {"EUR": 1.0, "USD": 1.08}

STOCK = (
    Item("B-1", "Structure and Interpretation", Category.BOOKS, 42.0),
    Item("G-7", "Go board", Category.GAMES, 30.0),
    Item("T-3", "Spirit level", Category.TOOLS, 12.5),
)


class CounterImpl:
    def __init__(self, start: int = 0) -> None:
        self._value = start
        self._lock = threading.Lock()

    def increment(self, by: int = 1) -> int:
        with self._lock:
            self._value += by
            return self._value

    def value(self) -> int:
        return self._value


class CatalogImpl:
    def __init__(self, items: tuple[Item, ...] = STOCK) -> None:
        self._items = {i.sku: i for i in items}

    def item(self, sku: str) -> Item | None:
        return self._items.get(sku)

    def items(self, category: Category | None = None) -> list[Item]:
        return [i for i in self._items.values() if category in (None, i.category)]

    def price(self, sku: str, /, *, currency: str = "EUR") -> float:
        return round(self._items[sku].price * _RATES[currency], 2)


class CartImpl:
    def __init__(self, customer: str, catalog: CatalogImpl, sold: Tally[str]) -> None:
        self._customer = customer
        self._catalog = catalog
        self._sold = sold
        self._qty: Tally[str] = Tally()
        self._lock = threading.Lock()

    def add(self, sku: str, qty: int = 1) -> int:
        if self._catalog.item(sku) is None:
            raise KeyError(f"no such sku: {sku}")
        with self._lock:
            self._qty[sku] += qty
            return self._qty[sku]

    def lines(self) -> list[OrderLine]:
        with self._lock:
            return [
                OrderLine(sku=sku, qty=qty, subtotal=qty * self._catalog.price(sku))
                for sku, qty in sorted(self._qty.items())
            ]

    def checkout(self) -> Receipt:
        with self._lock:
            lines = [
                OrderLine(sku=sku, qty=qty, subtotal=qty * self._catalog.price(sku))
                for sku, qty in sorted(self._qty.items())
            ]
            self._sold.update(self._qty)
            self._qty.clear()
        return Receipt(self._customer, lines, sum(line["subtotal"] for line in lines))


class ShopImpl:
    def __init__(self, name: str = "typedmgr shop") -> None:
        self.name = name
        self._catalog = CatalogImpl()
        self._carts: dict[str, CartImpl] = {}
        self._counters: dict[str, CounterImpl] = {}
        self._sold: Tally[str] = Tally()
        self._lock = threading.Lock()

    def catalog(self) -> CatalogImpl:
        return self._catalog

    def cart(self, customer: str) -> CartImpl:
        with self._lock:
            if customer not in self._carts:
                self._carts[customer] = CartImpl(customer, self._catalog, self._sold)
            return self._carts[customer]

    def find_cart(self, customer: str) -> CartImpl | None:
        return self._carts.get(customer)

    def counter(self, name: str) -> CounterImpl:
        with self._lock:
            return self._counters.setdefault(name, CounterImpl())

    def sales(self) -> dict[str, int]:
        with self._lock:
            return dict(self._sold)


_SHARED: ShopImpl | None = None
_SHARED_LOCK = threading.Lock()


def shared_shop() -> ShopImpl:
    """The one shop every client of this server shares."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = ShopImpl()
        return _SHARED
