"""Proxy classes by Protocol: the generated class if one is imported, else one built at
runtime from the model, whose methods bind their arguments as the generated ones do, so
both send the same wire message.

Split from ``_proxy`` (``_proxy.proxy_class_for`` gives this module ``TypedProxy``, the
base of a class whose Protocol extends no other).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from typedmgr._model import (
    Interface,
    Method,
    ReturnKind,
    inspect_signature,
    interface_of,
    protocol_of,
)

__all__ = [
    "GENERATED",
    "build_class",
    "class_attributes",
    "class_for",
    "runtime_method",
    "runtime_namespace",
    "runtime_property",
]

#: The generated proxy class of each Protocol, as imported (``TypedProxy.__init_subclass__``).
GENERATED: dict[type, type] = {}
_RUNTIME: dict[type, type] = {}
_RUNTIME_LOCK = threading.RLock()  # a class is built after those it extends


def class_for(protocol: type, base: type) -> Any:
    """The generated proxy class of ``protocol`` if imported, else one built from its
    model, on ``base`` unless its Protocol extends others."""
    generated = GENERATED.get(protocol)
    if generated is not None:
        return generated
    with _RUNTIME_LOCK:
        built = _RUNTIME.get(protocol)
        if built is None:
            built = _RUNTIME[protocol] = build_class(interface_of(protocol), base)
        return built


def build_class(interface: Interface, base: type) -> type:
    """The proxy class of ``interface`` built from its model: its bases are the proxy
    classes of the Protocols it extends, as the generated class has them, else ``base``."""
    bases = tuple(
        dict.fromkeys(
            class_for(origin, base)
            for extended in interface.bases
            if (origin := protocol_of(extended)) is not None
        )
    )
    namespace = runtime_namespace(interface)
    return type(f"{interface.name}Proxy", bases or (base,), namespace)


def class_attributes(interface: Interface) -> dict[str, object]:
    """The class attributes of a proxy class of ``interface`` built at runtime (a sync
    one or an async twin): those a generated class has."""
    return {
        "_protocol_": interface.protocol,
        "_exposed_": interface.exposed,
        "_method_to_typeid_": interface.method_to_typeid,
        "_fingerprint_": interface.fingerprint,
        "_generated_": False,
        "__doc__": interface.doc,
        "__module__": interface.module,
    }


def runtime_namespace(interface: Interface) -> dict[str, object]:
    """The namespace of the proxy class of ``interface`` built at runtime: the class
    attributes and members a generated class has."""
    namespace = class_attributes(interface)
    for method in interface.methods:
        namespace[method.name] = (
            runtime_property(method) if method.is_property else runtime_method(method)
        )
    return namespace


def runtime_property(method: Method) -> property:
    """A proxy property reading ``method``'s attribute, as the generated one does."""
    name = method.name

    fluent = method.return_kind in (ReturnKind.FLUENT, ReturnKind.OPTIONAL_FLUENT)

    def get(self: Any) -> object:
        return self._get_fluent(name) if fluent else self._get(name)

    return property(get, doc=method.doc)


def runtime_method(method: Method) -> Callable[..., object]:
    """A proxy method that binds arguments like the generated one: same wire message."""
    signature = inspect_signature(method.params, returns=method.returns)
    name = method.name
    oneway = method.oneway
    overloaded = bool(method.overloads)

    itself = method.return_kind is ReturnKind.SELF
    fluent = method.return_kind in (ReturnKind.FLUENT, ReturnKind.OPTIONAL_FLUENT)
    exits = method.is_exit

    def call(self: Any, /, *args: object, **kwds: object) -> object:
        if overloaded:  # which overload applies is the server's business
            if fluent:
                return self._call_fluent(name, *args, **kwds)
            return self._call(name, *args, **kwds)
        bound = signature.bind(*args, **kwds)
        bound.apply_defaults()
        if oneway:
            self._send(name, *bound.args, **bound.kwargs)
            return None
        if itself:
            return self._call_self(name, *bound.args, **bound.kwargs)
        if fluent:
            return self._call_fluent(name, *bound.args, **bound.kwargs)
        if exits:
            return self._call_exit(name, *bound.args, **bound.kwargs)
        return self._call(name, *bound.args, **bound.kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = method.doc
    call.__signature__ = inspect_signature(  # type: ignore[attr-defined]
        method.params, returns=method.returns, with_self=True
    )
    return call
