"""Stdlib-style registrations (string typeids) on a TypedManager, and a stdlib client."""

from __future__ import annotations

from multiprocessing.managers import BaseManager, DictProxy

from tests.wiring import CountingServer, Doorman, DoormanImpl
from typedmgr import TypedManager


class Greeter:
    def __init__(self, greeting: str = "hello") -> None:
        self._greeting = greeting
        self._greeted: list[str] = []

    def hello(self, name: str) -> str:
        self._greeted.append(name)
        return f"{self._greeting}, {name}"

    def greeted(self) -> list[str]:
        return list(self._greeted)

    def _private(self) -> str:
        return "not exposed"


class Family:
    def __init__(self) -> None:
        self._eldest = Greeter("hi")

    def eldest(self) -> Greeter:
        return self._eldest


def make_dict() -> dict[str, int]:
    return {}


_FAMILY = Family()


def shared_family() -> Family:
    """The one family every client reaches, and so the one eldest member."""
    return _FAMILY


class LegacyManager(TypedManager):
    """Registered exactly as a BaseManager would be."""


LegacyManager.register("Greeter", Greeter)
LegacyManager.register("Family", Family, method_to_typeid={"eldest": "Member"})
LegacyManager.register(
    "SharedFamily", shared_family, method_to_typeid={"eldest": "Member"}
)
# The stdlib way to serve returned objects: a typeid without a callable.
LegacyManager.register("Member", create_method=False)
LegacyManager.register("Dict", make_dict, DictProxy)


class CountedLegacyManager(LegacyManager):
    """LegacyManager on a server that counts the connections it accepts and serves."""

    _Server = CountingServer


CountedLegacyManager.register(Doorman, DoormanImpl)


class StdlibClient(BaseManager):
    """A plain stdlib client of the same server."""


StdlibClient.register("Greeter")
StdlibClient.register("Family", method_to_typeid={"eldest": "Member"})
StdlibClient.register("SharedFamily", method_to_typeid={"eldest": "Member"})
StdlibClient.register("Member", create_method=False)
StdlibClient.register("Doorman")  # served by CountedLegacyManager only
