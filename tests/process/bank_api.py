"""A bank's Protocols, for which no generated module exists, and a client-only manager.

Proxies of these Protocols are always built at runtime from the model. A process that only
connects to a bank imports this module, never ``tests.process.bank_impl``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from typedmgr import TypedManager


@dataclass(frozen=True)
class Statement:
    """A copy of an account's state, returned by value."""

    owner: str
    balance: int
    entries: tuple[tuple[str, int], ...]


class Account(Protocol):
    """One account; every holder of a proxy sees the same balance."""

    def deposit(self, amount: int, /, *, note: str = "") -> int:
        """Add ``amount``; return the new balance."""
        ...

    def withdraw(self, amount: int) -> int: ...

    def statement(self) -> Statement: ...

    def calls(self) -> int:
        """How many deposits and withdrawals reached the implementation."""
        ...


class Bank(Protocol):
    """Opens and finds accounts."""

    def open(self, owner: str) -> Account: ...

    def find(self, owner: str) -> Account | None: ...

    def owners(self) -> list[str]: ...


class BankClient(TypedManager):
    """Knows the Protocols only: connects to a bank served by another process."""


BankClient.register(Bank)
BankClient.register(Account)
