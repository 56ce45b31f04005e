"""Value types from another module: the generated module must import them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NewType, TypedDict

UserId = NewType("UserId", int)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Point:
    x: float
    y: float


class Row(TypedDict):
    id: UserId
    tags: list[str]
