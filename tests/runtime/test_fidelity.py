"""Properties, special methods and iterators, through generated and runtime-built proxies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.golden.bag.expected.proxies import BagManager, BagProxy, OwnerProxy
from tests.golden.bag.protocols import Bag
from typedmgr import interface_of
from typedmgr._proxy import TypedIterator, _build_proxy_class

pytestmark = pytest.mark.process


@pytest.fixture(params=["generated", "runtime-built"])
def bag(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A remote Bag, through the generated BagProxy or a class built from the model."""
    with BagManager(address=("127.0.0.1", 0), authkey=b"bag") as m:
        generated = m.Bag(label="groceries")
        assert isinstance(generated, BagProxy)
        if request.param == "generated":
            yield generated
        else:
            built = _build_proxy_class(interface_of(Bag))
            assert built is not BagProxy
            yield built(generated._token, "pickle", authkey=b"bag")


def test_special_methods_reach_the_referent(bag: Any) -> None:
    """len(), [], del, in, bool() and iteration run on the server's object."""
    assert not bag
    assert 0 == len(bag)
    bag["apple"] = 3
    bag["pear"] = 1
    assert bag
    assert 2 == len(bag)
    assert 3 == bag["apple"]
    assert "pear" in bag
    assert "plum" not in bag
    del bag["pear"]
    assert ["apple"] == list(bag)
    assert 0 == bag["plum"]  # Counter semantics, decided on the server


def test_properties_and_attributes_are_read_from_the_server(bag: Any) -> None:
    """A property, a plain attribute and a Protocol-typed property, read on each access."""
    assert "groceries" == bag.label
    assert 0 == bag.size
    bag["fig"] = 4
    assert 4 == bag.size
    owner = bag.owner
    assert isinstance(owner, OwnerProxy)
    assert "ann" == owner.name()


def test_iterators_stay_on_the_server(bag: Any) -> None:
    """Methods returning iterators give iterator proxies, whatever the server returned."""
    for key, value in {"a": 1, "b": 5, "c": 7}.items():
        bag[key] = value
    counts = bag.counts(at_least=5)
    assert isinstance(counts, TypedIterator)
    assert [("b", 5), ("c", 7)] == list(counts)
    squares = bag.squares(4)
    assert 0 == next(squares)
    assert [1, 4, 9] == list(squares)
    assert [] == list(squares)


def test_unexposed_members_stay_private(bag: Any) -> None:
    """ClassVars and undeclared attributes are not reachable through the proxy."""
    assert not hasattr(bag, "kind")
    with pytest.raises(Exception, match="not exposed"):
        bag._get("_items")


def test_overloaded_methods_forward_the_call_as_made(bag: Any) -> None:
    """Each overload reaches the one implementation on the server."""
    bag["a"] = 2
    assert 2 == bag.pick("a")
    assert "none" == bag.pick("zz", "none")
    assert 4 == bag.scaled(2)
    assert 1.0 == bag.scaled(0.5)
