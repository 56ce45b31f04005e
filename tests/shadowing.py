"""A Protocol with a method named like a builtin, which shadows it in the annotations of the
class body: no ``from __future__ import annotations`` here, so they are evaluated there."""

from typing import Protocol


class ShadowsStr(Protocol):
    def str(self) -> int: ...

    def name(self) -> str: ...  # type: ignore[valid-type]  # the method above
