"""Values the shop's Protocols pass around; they travel by copy (pickle)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypedDict


class Category(enum.Enum):
    BOOKS = "books"
    GAMES = "games"
    TOOLS = "tools"


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    category: Category
    price: float


class OrderLine(TypedDict):
    sku: str
    qty: int
    subtotal: float


@dataclass(frozen=True)
class Receipt:
    customer: str
    lines: list[OrderLine]
    total: float
