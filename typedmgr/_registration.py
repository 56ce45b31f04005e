"""Registrations: the record ``TypedManager.register()`` builds and the server reads.

A Protocol registration becomes one ``Registration``. The stdlib's registry still gets its
tuple ``(callable, exposed, method_to_typeid, proxytype)``, filled from the record as the
stdlib expects (stdlib clients and its own server code read it), and the tuple carries the
record (``RegistryEntry``) wherever the registry goes: to a spawned server, or to a server
made by ``get_server()`` or ``typedmgr serve``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from typedmgr import _stdlib
from typedmgr._model import (
    GENERATOR_TYPEID,
    Interface,
    InterfaceError,
    ReturnKind,
    check_implementation,
    inspect_signature,
    interface_of,
    iterator_typeid,
    ref_of,
    signature_of,
)
from typedmgr._model.types import OPTIONAL_KINDS
from typedmgr._model.walk import reachable
from typedmgr._proxy import ProxyFactory, TypedGenerator, TypedIterator

__all__ = [
    "Registration",
    "RegistryEntry",
    "Returns",
    "adopt_stdlib_creations",
    "creation_method",
    "registration_of",
    "returned_entries",
    "returned_protocols",
    "returns_of",
]

#: Return kinds of ``-> Self`` methods: the referent itself comes back as the caller's proxy.
_FLUENT_KINDS = frozenset({ReturnKind.FLUENT, ReturnKind.OPTIONAL_FLUENT})


@dataclass(frozen=True)
class Returns:
    """What the methods of a registration return, as the server treats their results."""

    #: Methods returning remote objects, each mapped to the typeid their results are
    #: served under (the stdlib's ``method_to_typeid``; not to be changed).
    typeids: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Methods declared ``-> P | None``: a ``None`` result is sent as ``None``.
    optional: frozenset[str] = frozenset()
    #: Methods whose result is always the caller's own proxy (``__enter__ -> Self``): the
    #: server replies ``None`` and the proxy returns itself, taking no new reference.
    caller_proxy: frozenset[str] = frozenset()
    #: Methods declared ``-> Self``: a result that is the referent itself is sent as
    #: ``ITSELF`` to a typedmgr caller, which keeps its proxy; another object is wrapped
    #: under the typeid the method maps to.
    fluent: frozenset[str] = frozenset()


def returns_of(interface: Interface) -> Returns:
    """What the methods of a Protocol return, from its model."""
    methods = interface.methods
    return Returns(
        typeids=dict(interface.method_to_typeid),
        optional=frozenset(m.name for m in methods if m.return_kind in OPTIONAL_KINDS),
        caller_proxy=frozenset(
            m.name for m in methods if m.return_kind is ReturnKind.SELF
        ),
        fluent=frozenset(m.name for m in methods if m.return_kind in _FLUENT_KINDS),
    )


@dataclass(frozen=True)
class Registration:
    """One typeid as ``register()`` made it and the server serves it."""

    typeid: str
    #: The Protocol it serves; ``None`` for a stdlib-style (string) registration.
    protocol: type | None
    #: What the server calls to create an object (``None``: it wraps a returned one).
    factory: Callable[..., object] | None
    #: Whether the manager got a creation method named after the typeid.
    create_method: bool
    #: Check call arguments against the Protocol (``None``: as the server's ``validate``).
    validate: bool | None
    exposed: Sequence[str] | None
    proxytype: Any
    returns: Returns

    def entry(self) -> RegistryEntry:
        """The stdlib registry's tuple for this registration, carrying it."""
        return RegistryEntry(self)


class RegistryEntry(tuple[Any, Any, Any, Any]):
    """The stdlib's ``(callable, exposed, method_to_typeid, proxytype)``, with the
    ``Registration`` it was filled from; pickles as that record."""

    registration: Registration

    def __new__(cls, registration: Registration) -> Self:
        self = super().__new__(
            cls,
            (
                registration.factory,
                registration.exposed,
                registration.returns.typeids,
                registration.proxytype,
            ),
        )
        self.registration = registration
        return self

    def __reduce__(self) -> tuple[type[RegistryEntry], tuple[Registration]]:
        return (RegistryEntry, (self.registration,))


def registration_of(typeid: str, entry: tuple[Any, ...]) -> Registration:
    """The record of a registry entry: its own, or one made for an entry the stdlib's
    ``register()`` wrote (string typeids, iterators: nothing to know beyond the tuple)."""
    found = getattr(entry, "registration", None)
    if isinstance(found, Registration):
        if found.typeid == typeid:
            return found
        return dataclasses.replace(found, typeid=typeid)  # the entry was copied
    factory, exposed, method_to_typeid, proxytype = entry
    typeids = method_to_typeid if isinstance(method_to_typeid, dict) else {}
    return Registration(
        typeid, None, factory, False, None, exposed, proxytype, Returns(typeids)
    )


def protocol_registration(
    typeid: str,
    protocol: type,
    factory: Callable[..., object] | None,
    *,
    proxytype: object,
    exposed: Sequence[str] | None,
    method_to_typeid: Mapping[str, str] | None,
    create_method: bool,
    validate: bool | None,
) -> Registration:
    """The record of ``register(protocol, factory, ...)``; ``InterfaceError`` if the
    Protocol cannot be proxied or ``factory`` does not implement it."""
    interface = interface_of(protocol)
    if factory is not None:
        check_implementation(interface, factory)
    proxytype = proxytype or ProxyFactory(protocol)
    return Registration(
        typeid=typeid,
        protocol=protocol,
        factory=CheckedFactory(factory, protocol)
        if factory is not None and not isinstance(factory, type)
        else factory,
        create_method=create_method,
        validate=validate,
        # What the stdlib's register() would have made of them.
        exposed=exposed or interface.exposed or getattr(proxytype, "_exposed_", None),
        proxytype=proxytype,
        returns=Returns(dict(method_to_typeid))
        if method_to_typeid
        else returns_of(interface),
    )


def returned_protocols(protocol: type) -> list[type]:
    """The Protocols that calls on a ``protocol`` proxy can bring back, each once
    (``protocol`` too, if one of its methods returns it): the model's walk, by returns."""
    interfaces = reachable(protocol, bases=False)
    returned = {m.remote for i in interfaces for m in i.methods if m.remote is not None}
    return [i.protocol for i in interfaces if i.protocol in returned]


def returned_entries(
    protocol: type, registry: Mapping[str, object]
) -> dict[str, tuple[Any, Any, Any, Any]]:
    """The registry entries the results of ``protocol``'s methods need, that
    ``registry`` lacks: their Protocols under their reference typeids, and iterators.

    Returned Protocols get no callable: the server wraps the returned object instead of
    calling a constructor on it (the stdlib ``method_to_typeid`` trap).
    """
    returned = returned_protocols(protocol)
    entries: dict[str, tuple[Any, Any, Any, Any]] = {}
    for current in (protocol, *returned):
        for method in interface_of(current).methods:
            if method.return_kind is not ReturnKind.ITERATOR:
                continue
            # ``iter`` on the server: a returned list or generator becomes an iterator.
            typeid = iterator_typeid(method)
            if typeid not in registry and typeid not in entries:
                entries[typeid] = _iterator_entry(typeid)
    for remote in returned:
        typeid = ref_of(remote)
        if typeid not in registry:
            interface = interface_of(remote)
            entries[typeid] = Registration(
                typeid=typeid,
                protocol=remote,
                factory=None,
                create_method=False,
                validate=None,
                exposed=interface.exposed,
                proxytype=ProxyFactory(remote),
                returns=returns_of(interface),
            ).entry()
    return entries


def _iterator_entry(typeid: str) -> tuple[Any, Any, Any, Any]:
    """The stdlib-style entry of the iterator (or generator) typeid."""
    proxytype: type = TypedGenerator if typeid == GENERATOR_TYPEID else TypedIterator
    exposed = (
        ("__next__", "send", "throw", "close")
        if typeid == GENERATOR_TYPEID
        else ("__next__",)
    )
    # The stdlib's register() takes the proxytype's mapping when given none.
    return (iter, exposed, getattr(proxytype, "_method_to_typeid_", None), proxytype)


class CheckedFactory:
    """A registered factory whose results are held against the Protocol on the server,
    each result class at its first creation: a result lacking a method fails that
    creation, naming the class, the Protocol and the method, instead of its first call.

    A class at module level, so that a registry holding it pickles (``start()`` with the
    spawn method) wherever the factory itself does.
    """

    def __init__(self, factory: Callable[..., object], protocol: type) -> None:
        self.factory = factory
        self.protocol = protocol
        self.checked: set[type] = set()
        self.__wrapped__ = factory  # inspect.signature() sees the factory's

    def __call__(self, *args: object, **kwds: object) -> object:
        result = self.factory(*args, **kwds)
        cls = type(result)
        # A class answering through __getattr__ has methods no static look-up finds.
        if cls not in self.checked and not hasattr(cls, "__getattr__"):
            try:
                check_implementation(interface_of(self.protocol), cls)
            except InterfaceError as exc:
                where = getattr(self.factory, "__qualname__", repr(self.factory))
                raise InterfaceError(
                    f"the factory {where} registered for {self.protocol.__qualname__} "
                    f"returned a {cls.__qualname__}: {exc}"
                ) from None
            self.checked.add(cls)
        return result

    def __getstate__(self) -> dict[str, object]:
        return {"factory": self.factory, "protocol": self.protocol, "checked": set()}


def adopt_stdlib_creations(manager: type) -> None:
    """Creation methods that a stdlib base registered (``SyncManager``'s ``list()``...)
    are replaced by ones that create on the thread's connection, like every other.

    The stdlib's open three connections, and the proxy's reference, taken on one of
    them, belongs to no session: a killed client would leak it.
    """
    for typeid in getattr(manager, "_registry", {}):
        method = getattr(manager, typeid, None)
        if _stdlib.is_stdlib_creation_method(method):
            setattr(manager, typeid, creation_method(typeid, None))


def creation_method(
    typeid: str, factory: Callable[..., object] | None
) -> Callable[..., object]:
    """The manager method named after ``typeid`` that creates an object and returns its
    proxy, with the factory's signature for introspection."""

    def create(self: Any, /, *args: object, **kwds: object) -> object:
        return self._create_proxy(typeid, self._registry[typeid][-1], *args, **kwds)

    create.__name__ = create.__qualname__ = typeid
    if factory is not None:
        try:
            params = signature_of(typeid, factory)
        except InterfaceError:
            return create  # introspection only: a creation method works without it
        create.__signature__ = inspect_signature(params, with_self=True)  # type: ignore[attr-defined]
    return create
