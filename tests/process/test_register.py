"""register() checks implementations against their Protocols, at import time."""

from __future__ import annotations

import pytest

from shop.api import Cart, Counter
from typedmgr import InterfaceError, TypedManager

pytestmark = pytest.mark.process


class NoValue:
    def increment(self, by: int = 1) -> int:
        return by


class NarrowIncrement:
    def increment(self) -> int:
        return 1

    def value(self) -> int:
        return 0


class HalfCart:
    def add(self, sku: str, qty: int = 1) -> int:
        return qty

    def lines(self) -> list[object]:
        return []


def make_half_cart() -> HalfCart:
    return HalfCart()


def test_missing_method_names_protocol_implementation_and_method() -> None:
    """An implementation missing a method fails register() naming all three."""

    class M(TypedManager):
        pass

    with pytest.raises(InterfaceError) as raised:
        M.register(Counter, NoValue)
    message = str(raised.value)
    assert "NoValue" in message
    assert "Counter" in message
    assert "'value'" in message
    assert "Counter" not in M._registry
    assert not hasattr(M, "Counter")


def test_incompatible_signature_names_the_method() -> None:
    """A method that cannot take the Protocol's arguments fails register()."""

    class M(TypedManager):
        pass

    with pytest.raises(InterfaceError, match=r"NarrowIncrement\.increment") as raised:
        M.register(Counter, NarrowIncrement)
    assert "Counter.increment" in str(raised.value)
    assert "Counter" not in M._registry


def test_factory_return_annotation_is_checked() -> None:
    """A factory's annotated return class is held against the Protocol too."""

    class M(TypedManager):
        pass

    with pytest.raises(
        InterfaceError, match="HalfCart does not implement Cart"
    ) as raised:
        M.register(Cart, make_half_cart)
    assert "'checkout'" in str(raised.value)
