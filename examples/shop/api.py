"""The shop's contract: importable by the server and by clients alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

from shop.models import Category, Item, OrderLine

if TYPE_CHECKING:
    from shop.models import Receipt

Currency = Literal["EUR", "USD"]


class Counter(Protocol):
    """A named tally kept on the server."""

    def increment(self, by: int = 1) -> int:
        """Add ``by`` and return the new value."""
        ...

    def value(self) -> int: ...


class Catalog(Protocol):
    """What the shop sells."""

    def item(self, sku: str) -> Item | None: ...

    def items(self, category: Category | None = None) -> list[Item]: ...

    def price(self, sku: str, /, *, currency: Currency = "EUR") -> float: ...


class Cart(Protocol):
    """One customer's cart; every client holding it sees the same cart."""

    def add(self, sku: str, qty: int = 1) -> int:
        """Add ``qty`` of ``sku``; return the quantity of it now in the cart."""
        ...

    def lines(self) -> list[OrderLine]: ...

    def checkout(self) -> Receipt:
        """Empty the cart and return what was bought."""
        ...


class Shop(Protocol):
    """The entry point: hands out the catalog, carts and counters."""

    def catalog(self) -> Catalog: ...

    def cart(self, customer: str) -> Cart:
        """The cart of ``customer``, created on first use."""
        ...

    def find_cart(self, customer: str) -> Cart | None:
        """The cart of ``customer`` if one exists."""
        ...

    def counter(self, name: str) -> Counter: ...

    def sales(self) -> dict[str, int]:
        """Units sold per sku, over all checkouts."""
        ...
