"""What the attack tests serve: Protocols, implementations and managers with limits.

Importable by the spawned server processes (``tests.security.targets:Name``).
"""

from __future__ import annotations

import datetime
import types
from collections.abc import Callable
from typing import Any, Protocol

from typedmgr import TypedManager


def _manager(name: str, doc: str, **settings: Any) -> type[TypedManager]:
    """``class <name>(TypedManager, **settings)``, defined in this module.

    A typedmgr without these settings (the code before they existed, which these attacks
    are run against to show they fail there) gets the class without them.
    """

    def body(namespace: dict[str, Any]) -> None:
        namespace.update(__module__=__name__, __qualname__=name, __doc__=doc)

    try:
        made = types.new_class(name, (TypedManager,), settings, body)
    except TypeError:
        made = types.new_class(name, (TypedManager,), {}, body)
    return made


class Ledger(Protocol):
    """A server-side ledger of integer entries."""

    def load(self, entries: dict[int, int]) -> int: ...

    def size(self) -> int: ...


class LedgerImpl:
    def __init__(self) -> None:
        self._entries: dict[int, int] = {}

    def load(self, entries: dict[int, int]) -> int:
        self._entries.update(entries)
        return len(self._entries)

    def size(self) -> int:
        return len(self._entries)


def double(x: int) -> int:
    """A module-level function a ``Callable`` parameter may be given."""
    return 2 * x


class Forms(Protocol):
    """The annotation forms docs/guide.md lists (Type fidelity), both ways."""

    def echo_bytes(self, data: bytearray) -> bytearray: ...

    def name_of(self, kind: type[int]) -> str: ...

    def apply(self, function: Callable[[int], int], x: int) -> int: ...

    def later(self, when: datetime.datetime, hours: int) -> datetime.datetime: ...


class FormsImpl:
    def echo_bytes(self, data: bytearray) -> bytearray:
        return data + bytearray(b"!")

    def name_of(self, kind: type[int]) -> str:
        return kind.__name__

    def apply(self, function: Callable[[int], int], x: int) -> int:
        return function(x)

    def later(self, when: datetime.datetime, hours: int) -> datetime.datetime:
        return when + datetime.timedelta(hours=hours)


class Slow(Protocol):
    """An object whose construction takes a while (a user constructor doing real work)."""

    def ready(self) -> bool: ...


class SlowImpl:
    def __init__(self, marker: str, seconds: float) -> None:
        import pathlib
        import time

        pathlib.Path(marker).touch()  # the construction has begun
        time.sleep(seconds)  # the work this constructor does

    def ready(self) -> bool:
        return True


Guarded = _manager(
    "Guarded",
    "Default limits, but a short handshake deadline (the tests wait it out).",
    handshake_timeout=2.0,
)

Guarded.register(Ledger, LedgerImpl)
Guarded.register(Forms, FormsImpl)
Guarded.register(Slow, SlowImpl)


Thin = _manager(
    "Thin",
    "Limits as high as a careless configuration: thread creation fails first.",
    handshake_timeout=2.0,
    max_unauthenticated=1000,
    max_connections=1000,
)

Thin.register(Ledger, LedgerImpl)


Crowded = _manager("Crowded", "Room for eight connections at once.", max_connections=8)
Crowded.register(Ledger, LedgerImpl)

Capped = _manager("Capped", "A small per-client object cap.", max_session_objects=50)

Capped.register(Ledger, LedgerImpl)


Administered = _manager(
    "Administered",
    "Key holders may shut the server down and list its objects.",
    remote_admin=True,
)

Administered.register(Ledger, LedgerImpl)


class Smuggled:
    """Pickles as a proxy of the ledger at ``address``: what a hostile peer sends."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        from multiprocessing import managers

        from typedmgr._proxy import ProxyFactory

        token = managers.Token("Ledger", self.address, "7f0000000000")
        return (
            managers.RebuildProxy,  # type: ignore[attr-defined]
            (ProxyFactory(Ledger), token, "pickle", {"exposed": ("load", "size")}),
        )


class Oracle(Protocol):
    """A hostile server's object: its answer is whatever the server wants to send."""

    def answer(self, host: str, port: int) -> object: ...


class HostileOracle:
    def answer(self, host: str, port: int) -> object:
        return Smuggled((host, port))


class Hostile(TypedManager):
    """A server whose replies carry proxies of another address."""


Hostile.register(Oracle, HostileOracle)
Hostile.register(Ledger, LedgerImpl)
