"""A server that counts what clients ask of it, for tests of how many round trips a
client needs: connections accepted and requests served, read back through a ``Counts``
object it serves (string typeids, as a stdlib user registers them)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from multiprocessing.managers import BaseProxy
from typing import Any, ClassVar, Protocol

from tests.process.legacy import Family, Greeter
from typedmgr import TypedManager
from typedmgr._server import TypedServer

_connections = itertools.count()
_requests = itertools.count()
_seen = {"connections": 0, "requests": 0}


class CountingServer(TypedServer):
    """A TypedServer that counts accepted connections and served requests."""

    def handle_request(self, conn: Any) -> None:
        _seen["connections"] = next(_connections) + 1
        super().handle_request(conn)

    def _dispatch(self, conn: Any, request: Any) -> tuple[str, object] | None:
        _seen["requests"] = next(_requests) + 1
        return super()._dispatch(conn, request)


class Counts:
    """What the server has seen so far."""

    def seen(self) -> tuple[int, int]:
        """(connections accepted, requests served), this request included."""
        return _seen["connections"], _seen["requests"]


class Sleeper(Greeter):
    """A greeter whose answer can take its time."""

    def slowly(self, seconds: float, answer: str) -> str:
        time.sleep(seconds)
        return answer


class Tally(Protocol):
    """A Protocol with no generated module: its proxy class is built at runtime."""

    def add(self, n: int) -> int: ...


class TallyImpl:
    def __init__(self) -> None:
        self.total = 0

    def add(self, n: int) -> int:
        self.total += n
        return self.total


class CallingProxy(BaseProxy):
    """A hand-written stdlib proxy class that overrides ``_callmethod``, as users do."""

    _exposed_ = ("hello",)
    called: ClassVar[list[str]] = []

    def _callmethod(
        self, methodname: str, args: tuple[Any, ...] = (), kwds: Mapping[str, Any] = {}
    ) -> Any:
        self.called.append(methodname)
        return super()._callmethod(methodname, args, dict(kwds))

    def hello(self, name: str) -> str:
        answer: str = self._callmethod("hello", (name,))
        return answer


class CountingManager(TypedManager):
    """String registrations served by a CountingServer."""

    _Server = CountingServer


CountingManager.register("Counts", Counts)
CountingManager.register("Sleeper", Sleeper)
CountingManager.register("Family", Family, method_to_typeid={"eldest": "Member"})
CountingManager.register("Member", create_method=False)
CountingManager.register("Called", Greeter, CallingProxy)
CountingManager.register(Tally, TallyImpl)
