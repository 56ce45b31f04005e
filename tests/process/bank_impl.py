"""The bank's server side: implementations and the manager that serves them."""

from __future__ import annotations

import threading

from tests.process.bank_api import Account, Bank, Statement
from typedmgr import TypedManager


class AccountImpl:
    def __init__(self, owner: str = "anonymous") -> None:
        self._owner = owner
        self._entries: list[tuple[str, int]] = []
        self._calls = 0
        self._lock = threading.Lock()

    def _balance(self) -> int:
        return sum(amount for _, amount in self._entries)

    def deposit(self, amount: int, /, *, note: str = "") -> int:
        with self._lock:
            self._calls += 1
            self._entries.append((note, amount))
            return self._balance()

    def withdraw(self, amount: int) -> int:
        with self._lock:
            self._calls += 1
            if amount > self._balance():
                raise ValueError(f"insufficient funds in {self._owner}'s account")
            self._entries.append(("withdrawal", -amount))
            return self._balance()

    def statement(self) -> Statement:
        with self._lock:
            return Statement(self._owner, self._balance(), tuple(self._entries))

    def calls(self) -> int:
        return self._calls


class BankImpl:
    def __init__(self) -> None:
        self._accounts: dict[str, AccountImpl] = {}
        self._lock = threading.Lock()

    def open(self, owner: str) -> AccountImpl:
        with self._lock:
            return self._accounts.setdefault(owner, AccountImpl(owner))

    def find(self, owner: str) -> AccountImpl | None:
        return self._accounts.get(owner)

    def owners(self) -> list[str]:
        with self._lock:
            return sorted(self._accounts)


_BANK = BankImpl()


def shared_bank() -> BankImpl:
    """The one bank every client of a server shares."""
    return _BANK


class BankManager(TypedManager):
    """Serves the bank; no generated module exists for its Protocols."""


BankManager.register(Bank, shared_bank)
BankManager.register(Account, AccountImpl)
