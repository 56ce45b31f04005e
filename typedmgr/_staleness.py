"""Whether a proxy class still agrees with the Protocol its server serves, per method.

Split from ``_proxy`` (``_proxy.check_fingerprint`` asks :func:`restricted_class`); the rules
are in docs/schema-evolution.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from multiprocessing import managers
from typing import TYPE_CHECKING, Any, NoReturn

from typedmgr import _compatibility
from typedmgr._client_errors import StaleProxyError
from typedmgr._model import interface_of

if TYPE_CHECKING:
    from typedmgr._endpoint import Endpoint

__all__ = ["restricted_class"]


# (server address, typeid, fingerprint) already found to agree, in this process.
_agreed: set[tuple[object, str, str]] = set()
# ... found to differ: the methods the server cannot serve, each with its message.
_stale: dict[tuple[object, str, str], dict[str, str]] = {}


def restricted_class(cls: object, typeid: str, endpoint: Endpoint) -> type | None:
    """``None`` if proxies of ``cls`` (a proxy class) from ``endpoint``'s server agree with
    its Protocol, else a subclass whose stale methods raise :class:`StaleProxyError` when
    called (``compatibility`` decides which).

    Asked once per server, typeid and fingerprint in a process, then remembered: calls cost
    nothing more. Stdlib proxies (no fingerprint) and servers that do not know the typeid's
    Protocol are not checked. A server too old to describe its methods fails the whole
    proxy here, listing the signatures that differ.
    """
    fingerprint = getattr(cls, "_fingerprint_", None)
    address = endpoint.address
    if not isinstance(fingerprint, str) or (address, typeid, fingerprint) in _agreed:
        return None
    assert isinstance(cls, type)
    key = (address, typeid, fingerprint)
    restricted = _stale_classes.get((cls, key))
    if restricted is None:
        stale = _stale.get(key)
        if stale is None:
            stale = _stale_methods(cls, typeid, fingerprint, endpoint)
            if not stale:
                _agreed.add(key)
                return None
            _stale[key] = stale
        restricted = _stale_classes.setdefault((cls, key), _stale_class(cls, stale))
    return restricted


def _stale_methods(
    cls: type[Any], typeid: str, fingerprint: str, endpoint: Endpoint
) -> dict[str, str]:
    """The server's verdict on each method of ``cls``: the stale ones, with messages."""
    protocol: type = cls._protocol_
    address = endpoint.address
    try:
        described = endpoint.server_rpc(
            "fingerprint", typeid, fingerprint, methods=True
        )
    except managers.RemoteError:  # a server from before schema evolution
        server_lines = endpoint.server_rpc("fingerprint", typeid, fingerprint)
        ours = interface_of(protocol).signature_lines
        differences = [f"  server: {line}" for line in server_lines if line not in ours]
        differences += [
            f"  client: {line}" for line in ours if line not in server_lines
        ]
        raise StaleProxyError(
            f"{cls.__name__} was generated from another version of "
            f"{protocol.__qualname__} than the server at {address!r} serves, which "
            "cannot tell which methods still agree (regenerate with `typedmgr gen`, or "
            "update the server):\n"
            + "\n".join(differences or ["  (the same signatures, in another order)"])
        ) from None
    if described is None:
        return {}
    try:
        reasons = _compatibility.stale_methods(protocol, described)
    except (_compatibility.SchemaError, RecursionError) as exc:
        raise StaleProxyError(
            f"the server at {address!r} describes {protocol.__qualname__} in a form "
            f"{cls.__name__} cannot read ({exc}); update typedmgr here, or regenerate"
        ) from None
    name = protocol.__qualname__
    return {
        method: f"{name}.{method} cannot be called on the server at {address!r}: "
        f"{reason} ({cls.__name__} was generated from another version of {name}: "
        "regenerate it with `typedmgr gen`, or update the server)"
        for method, reason in reasons.items()
    }


# The class of each proxy class's proxies from one server and typeid, if stale there.
_stale_classes: dict[tuple[type, tuple[object, str, str]], type] = {}


def _stale_class(cls: type[Any], stale: Mapping[str, str]) -> type:
    """``cls`` with each stale method (or property) raising :class:`StaleProxyError`."""
    interface = interface_of(cls._protocol_)
    namespace: dict[str, object] = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        #: The stale methods, each with the message its calls raise.
        "_stale_": dict(stale),
    }
    for name, message in stale.items():
        namespace[name] = _stale_member(
            name, message, is_property=interface.method(name).is_property
        )
    return type(cls.__name__, (cls,), namespace)


def _stale_member(name: str, message: str, *, is_property: bool) -> object:
    def stale(self: object, /, *args: object, **kwds: object) -> NoReturn:
        raise StaleProxyError(message)

    stale.__name__ = stale.__qualname__ = name
    stale.__doc__ = message
    return property(stale, doc=message) if is_property else stale
