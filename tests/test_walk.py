"""The model's one walk: every Protocol reachable from some, each after those it extends."""

from __future__ import annotations

from typing import Protocol

import pytest

from tests.golden.family.protocols import (
    Blob,
    FamilyManager,
    Numbers,
    Query,
    Readable,
    Sized,
    Source,
    Store,
    Stream,
)
from tests.golden.forms.protocols import Leaf, Node
from typedmgr import InterfaceError
from typedmgr._model.walk import reachable
from typedmgr_codegen._render import collect_interfaces


def protocols(*roots: type, bases: bool = True) -> list[type]:
    return [i.protocol for i in reachable(*roots, bases=bases)]


def test_returns_and_bases_in_name_order_each_after_its_bases() -> None:
    """Store returns Blob, Query, Numbers and Stream; those extend Readable, Sized, Source.

    By name, Blob would come before Readable and Sized, and Numbers before Source: each is
    placed after the Protocols it extends instead, in the order it lists them.
    """
    assert [
        Readable,
        Sized,
        Blob,
        Source,
        Numbers,
        Query,
        Store,
        Stream,
    ] == protocols(Store)


def test_without_bases_only_what_methods_return() -> None:
    """What register() needs: the Protocols a proxy can be handed, not those extended."""
    assert [Blob, Numbers, Query, Store, Stream] == protocols(Store, bases=False)


def test_a_protocol_returning_itself_is_walked_once() -> None:
    """Node returns Node (and Node | None) and Leaf: a cycle ends, every Protocol once."""
    assert [Leaf, Node] == protocols(Node)
    assert protocols(Node) == protocols(Leaf, Node, Node)


def test_a_leaf_reaches_only_itself() -> None:
    """A Protocol returning no remote object reaches itself; no roots reach nothing."""
    assert [Leaf] == protocols(Leaf)
    assert () == reachable()


def test_the_generator_emits_what_the_walk_reaches() -> None:
    """collect_interfaces is the walk from every Protocol a manager registers."""
    assert [Readable, Sized, Blob, Source, Numbers, Query, Store, Stream] == [
        i.protocol for i in collect_interfaces([FamilyManager])
    ]


class Broken(Protocol):
    @staticmethod
    def make() -> int: ...


class ReturnsBroken(Protocol):
    def broken(self) -> Broken: ...


def test_a_reached_protocol_that_cannot_be_proxied_is_named() -> None:
    """The walk reads every Protocol it reaches: a bad one fails the walk, by name."""
    with pytest.raises(InterfaceError, match=r"^Broken\.make: static methods"):
        reachable(ReturnsBroken)
