"""Protocols, implementations and a manager shared by the runtime tests (and their children)."""

from __future__ import annotations

import threading
import time
from multiprocessing.connection import Connection
from typing import Protocol

from tests.wiring import CountingServer, Doorman, DoormanImpl
from typedmgr import TypedManager, oneway
from typedmgr._server import TypedServer


class Tally(Protocol):
    def add(self, n: int = 1) -> int: ...
    def total(self) -> int: ...
    def slow(self, seconds: float, result: str) -> str: ...
    def fail(self, message: str) -> int: ...
    @oneway
    def note(self, text: str) -> None: ...
    def notes(self) -> list[str]: ...


class Board(Protocol):
    def tally(self, name: str) -> Tally: ...
    def find(self, name: str) -> Tally | None: ...


class TallyImpl:
    def __init__(self) -> None:
        self._total = 0
        self._notes: list[str] = []
        self._lock = threading.Lock()

    def add(self, n: int = 1) -> int:
        with self._lock:
            self._total += n
            return self._total

    def total(self) -> int:
        return self._total

    def slow(self, seconds: float, result: str) -> str:
        time.sleep(seconds)
        return result

    def fail(self, message: str) -> int:
        raise ValueError(message)

    def note(self, text: str) -> None:
        if text == "boom":
            raise RuntimeError("a one-way call failed")
        self._notes.append(text)

    def notes(self) -> list[str]:
        return list(self._notes)


class BoardImpl:
    def __init__(self) -> None:
        self._tallies: dict[str, TallyImpl] = {}

    def tally(self, name: str) -> TallyImpl:
        return self._tallies.setdefault(name, TallyImpl())

    def find(self, name: str) -> TallyImpl | None:
        return self._tallies.get(name)


class RuntimeManager(TypedManager):
    """Registered at runtime only: its proxies are built from the model, not generated."""


RuntimeManager.register(Tally, TallyImpl)
RuntimeManager.register(Board, BoardImpl)


class CountedRuntimeManager(RuntimeManager):
    """RuntimeManager on a server that counts the connections it accepts."""

    _Server = CountingServer


CountedRuntimeManager.register(Doorman, DoormanImpl)


class Counter(Protocol):
    """Another version of the shop's Counter: ``increment`` grew a keyword with a default
    (compatible), ``value`` may return a float (not what an older client expects)."""

    def increment(self, by: int = 1, *, note: str = "") -> int: ...
    def value(self) -> float: ...


class NewerCounterImpl:
    def __init__(self, start: int = 0) -> None:
        self._value = start

    def increment(self, by: int = 1, *, note: str = "") -> int:
        self._value += by
        return self._value

    def value(self) -> float:
        return self._value / 2


class NewerShopManager(TypedManager):
    """A server that registers a newer Counter under the shop's typeid."""


NewerShopManager.register(Counter, NewerCounterImpl)


class SchemalessServer(TypedServer):
    """A server from before schema evolution: it answers ``fingerprint`` with its
    signature lines only, and cannot describe its methods."""

    def fingerprint(  # type: ignore[override]
        self, c: Connection, typeid: str, fingerprint: str
    ) -> tuple[object, ...] | None:
        """The server RPC as it was: ``None`` if equal, else the signature lines."""
        return super().fingerprint(c, typeid, fingerprint)


class SchemalessShopManager(NewerShopManager):
    """NewerShopManager on a server from before schema evolution."""

    _Server = SchemalessServer


class Ledger(Protocol):
    """Records what it is called with: shows whether a call reached the implementation."""

    def record(
        self, account: str, amount: float, *, memo: str | None = None
    ) -> int: ...
    def entries(self) -> list[str]: ...
    @oneway
    def log(self, account: str) -> None: ...
    def merge(self, other: Tally) -> int: ...


class LedgerImpl:
    def __init__(self) -> None:
        self._entries: list[str] = []

    def record(self, account: str, amount: float, *, memo: str | None = None) -> int:
        self._entries.append(repr((account, amount, memo)))
        return len(self._entries)

    def entries(self) -> list[str]:
        return list(self._entries)

    def log(self, account: str) -> None:
        self._entries.append(repr(account))

    def merge(self, other: Tally) -> int:
        self._entries.append(type(other).__name__)
        return len(self._entries)


class ValidatingManager(TypedManager, validate=True):
    """Checks every call's arguments against the Protocols."""


ValidatingManager.register(Ledger, LedgerImpl)
ValidatingManager.register(Tally, TallyImpl)
ValidatingManager.register(Board, BoardImpl)
ValidatingManager.register(Tally, TallyImpl, protocol_typeid="LaxTally", validate=False)


class LaxManager(TypedManager):
    """Validates nothing but the one registration that asks for it."""


LaxManager.register(Ledger, LedgerImpl)
LaxManager.register(Tally, TallyImpl)
LaxManager.register(Ledger, LedgerImpl, protocol_typeid="StrictLedger", validate=True)
