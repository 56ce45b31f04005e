"""The one walk over Protocols: every Protocol reachable from some, each after its bases.

``register()`` registers what a Protocol's methods return, and the generator emits a proxy
class for every Protocol a manager can hand out; both need the same set, and the generator
needs it in an order where a class statement comes after those of its bases.
"""

from __future__ import annotations

from typedmgr._forms import protocol_of
from typedmgr._model.extract import interface_of
from typedmgr._model.interface import Interface

__all__ = ["reachable"]


def reachable(*protocols: type, bases: bool = True) -> tuple[Interface, ...]:
    """The interfaces of ``protocols`` and of every Protocol reachable from them.

    A Protocol is reached through what its methods return (``-> P``, ``-> P | None``) and,
    with ``bases``, through the Protocols it extends. The order is stable (by module and
    qualified name) with each Protocol after those it extends that were reached.
    Raises ``InterfaceError`` for any reached Protocol that cannot be proxied.
    """
    found: dict[type, Interface] = {}

    def visit(protocol: type) -> None:
        """Depth first, returns before bases: the first Protocol that fails is reported."""
        if protocol in found:
            return
        found[protocol] = interface = interface_of(protocol)
        for method in interface.methods:
            if method.remote is not None:
                visit(method.remote)
        if bases:
            for base in _extended(interface):
                visit(base)

    for protocol in protocols:
        visit(protocol)
    ordered: dict[type, Interface] = {}

    def place(interface: Interface) -> None:
        """A class statement needs its bases defined: each Protocol after those it extends."""
        if interface.protocol in ordered:
            return
        for base in _extended(interface):
            if base in found:
                place(found[base])
        ordered[interface.protocol] = interface

    for interface in sorted(
        found.values(), key=lambda i: (i.module, i.protocol.__qualname__)
    ):
        place(interface)
    return tuple(ordered.values())


def _extended(interface: Interface) -> list[type]:
    """The Protocol classes ``interface`` extends (its bases, unparametrized)."""
    extended: list[type] = []
    for base in interface.bases:
        origin = protocol_of(base)
        assert origin is not None  # Interface.bases keeps Protocols only
        extended.append(origin)
    return extended
