# mypy: disallow-any-expr
"""Properties, special methods and iterators of a generated proxy (checked, never run)."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import assert_type

from tests.golden.bag.expected.proxies import (
    BagManager,
    BagProxy,
    LeaseProxy,
    LedgerProxy,
    OwnerProxy,
)
from tests.golden.bag.protocols import Bag, Lease, Ledger, Owner


def bag_client(m: BagManager) -> None:
    bag = m.Bag(label="x")
    assert_type(bag, BagProxy)
    assert_type(len(bag), int)
    assert_type(bag["apple"], int)
    bag["apple"] = 3
    del bag["apple"]
    assert_type("apple" in bag, bool)
    for key in bag:
        assert_type(key, str)
    assert_type(bag.label, str)
    assert_type(bag.size, int)
    assert_type(bag.owner, OwnerProxy)
    assert_type(bag.counts(at_least=2), Iterable[tuple[str, int]])
    assert_type(bag.squares(3), Generator[int, None, None])  # as the Protocol declares
    assert_type(bag.squares(3).send(None), int)
    assert_type(next(bag.squares(3)), int)
    assert_type(bag.pick("apple"), int)
    assert_type(bag.pick("apple", "none"), int | str)
    assert_type(bag.scaled(2), int)
    assert_type(bag.scaled(2.5), float)
    bag.pick(1)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
    bag["apple"] = "3"  # type: ignore[assignment]  # pyright: ignore[reportArgumentType]
    bag.label = "y"  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
    bag.squares(3).send(1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    bag.counts().send(None)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    bag.size = 3  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
    len(m.Bag(1))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def context_managers(m: BagManager) -> None:
    ledger = m.Ledger()
    with ledger as entered:
        assert_type(entered, LedgerProxy)
        entered.record("x")
    with m.Lease() as lease:  # ``__enter__ -> Lease`` in the Protocol: the proxy too
        assert_type(lease, LeaseProxy)
        assert_type(lease.ledger(), LedgerProxy)
    assert_type(ledger.__exit__(None, None, None), bool)
    with m.Bag():  # type: ignore[attr-defined]  # pyright: ignore[reportGeneralTypeIssues]
        pass  # Bag declares no __enter__/__exit__: its proxy is no context manager
    ledger.__exit__(ValueError(), None, None)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def against_protocols(bag: BagProxy) -> None:
    owner: Owner = bag.owner
    # Not a Bag, as documented: ``size: int`` is settable in the Protocol but read on the
    # proxy, and the ClassVar ``kind`` is not exposed.
    as_bag: Bag = bag  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    print(owner, as_bag)


def context_managers_against_protocols(ledger: LedgerProxy, lease: LeaseProxy) -> None:
    as_ledger: Ledger = ledger
    as_lease: Lease = lease
    print(as_ledger, as_lease)
