"""register() checks implementations against their Protocols, at import time; a
factory's results are checked on the server, at the first creation of each class."""

from __future__ import annotations

import multiprocessing
from multiprocessing.managers import RemoteError
from typing import Any

import pytest

from shop.api import Cart, Counter
from shop.impl import CounterImpl
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


def unannotated_half_cart():  # type: ignore[no-untyped-def]  # nothing to check at import
    return HalfCart()


def unannotated_counter():  # type: ignore[no-untyped-def]
    return CounterImpl()


class LooseFactories(TypedManager):
    """Factories without return annotations: register() cannot see what they make."""


LooseFactories.register(Cart, unannotated_half_cart)
LooseFactories.register(Counter, unannotated_counter)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_factory_result_is_checked_at_its_first_creation(method: str) -> None:
    """Creating a Cart whose factory returns a HalfCart fails at creation, naming the
    factory, the class, the Protocol and the missing method; a good factory's result
    is created and used as before (the checked factory pickles for spawn)."""
    with LooseFactories(ctx=multiprocessing.get_context(method)) as m:
        # The creation methods register() added: there is no generated client here.
        create: Any = m
        with pytest.raises(RemoteError) as raised:
            create.Cart()
        assert (
            "InterfaceError: the factory unannotated_half_cart registered for Cart "
            "returned a HalfCart: HalfCart does not implement Cart: method 'checkout' "
            "is missing"
        ) in str(raised.value)
        # a good factory's result: its class checked once, served as before
        assert 3 == create.Counter().increment(by=3)
        assert 3 == create.Counter().increment(by=3)
