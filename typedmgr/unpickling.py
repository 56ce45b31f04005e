"""Restricted unpickling: a peer's message may only name the types the Protocols name.

The stdlib server unpickles whatever an authenticated peer sends, and a pickle can name any
importable callable (``os.system``): remote code execution for anyone who has the authkey.
A typedmgr server whose registrations are all Protocols loads requests through an allow-list
instead: a few harmless builtins, typedmgr's own tokens, and the value types the registered
Protocols mention in their signatures (and the types those contain). Anything else is refused
before it is imported, and the sender gets an error naming it and how to allow it.
"""

from __future__ import annotations

import builtins
import dataclasses
import enum
import io
import pickle
import typing
from collections.abc import Iterable

from typedmgr.model import Interface, is_protocol

__all__ = ["BUILTIN_EXCEPTIONS", "AllowList", "RefusedType", "value_types"]

# Builtins a pickle may construct by name. Containers, numbers and strings have opcodes of
# their own; constructing them by name (``list(range(10**12))``) is how a message asks for
# unbounded memory or time, so they are not here.
_SAFE = frozenset(("builtins", name) for name in ("complex", "range", "slice"))
# Tokens and proxies a client may pass as arguments (never AutoProxy: it exec()s names).
_TYPEDMGR = frozenset(
    {
        ("multiprocessing.managers", "Token"),
        ("multiprocessing.managers", "RebuildProxy"),
        ("typedmgr.proxy", "ProxyFactory"),
        ("typedmgr.proxy", "TypedIterator"),
        (
            "typedmgr.proxy",
            "ClientException",
        ),  # what a client's failed `with` block sends
    }
)
# What a ``with`` block that raised sends to ``__exit__``, when the Protocol declares one.
BUILTIN_EXCEPTIONS = frozenset(
    cls
    for cls in vars(builtins).values()
    if isinstance(cls, type) and issubclass(cls, BaseException)
)


class RefusedType(pickle.UnpicklingError):
    """A message named a type outside the allow-list."""


class AllowList:
    """The globals a restricted load may resolve: ``(module, qualified name)`` pairs."""

    def __init__(self, types: Iterable[type], *, tokens: bool = True) -> None:
        """``tokens=False`` leaves out typedmgr's tokens and proxies, whose load has effects."""
        self.allowed = set(_SAFE | _TYPEDMGR) if tokens else set(_SAFE)
        self.allowed.update((t.__module__, t.__qualname__) for t in types)

    def loads(self, data: bytes) -> object:
        """Unpickle ``data``, refusing any global not in the allow-list."""
        return _Unpickler(io.BytesIO(data), self.allowed).load()


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, allowed: set[tuple[str, str]]) -> None:
        super().__init__(file)
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> typing.Any:
        if (module, name) not in self._allowed:
            raise RefusedType(
                f"refused to load {module}.{name}: the server accepts only the types its "
                "Protocols name; if this type is a value the server may load, allow it "
                "with `class MyManager(TypedManager, allow=(TheType,))`"
            )
        return super().find_class(module, name)


def value_types(interfaces: Iterable[Interface]) -> set[type]:
    """The Protocols themselves, and every class their signatures mention, transitively."""
    found: set[type] = set()
    for interface in interfaces:
        found.add(interface.protocol)
        for method in interface.methods:
            if method.is_exit:
                found.update(BUILTIN_EXCEPTIONS)
            for annotation in (method.returns, *(p.annotation for p in method.params)):
                _collect(annotation, found)
            for overload in method.overloads:
                for annotation in (
                    overload.returns,
                    *(p.annotation for p in overload.params),
                ):
                    _collect(annotation, found)
            for param in method.params:
                if isinstance(param.default, enum.Enum):
                    found.add(type(param.default))
    return found


def _collect(annotation: object, found: set[type]) -> None:
    supertype = getattr(annotation, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        _collect(supertype, found)
        return
    for arg in typing.get_args(annotation):
        if isinstance(arg, enum.Enum):  # Literal[Color.RED]
            found.add(type(arg))
        else:
            _collect(arg, found)
    if (
        not isinstance(annotation, type)
        or annotation in found
        or is_protocol(annotation)
        or annotation.__module__ == "builtins"  # built by opcodes, never by name
    ):
        return
    found.add(annotation)
    if (
        dataclasses.is_dataclass(annotation)
        or _is_typed_dict(annotation)
        or _is_named_tuple(annotation)
    ):
        try:
            hints = typing.get_type_hints(annotation)
        except Exception:
            return  # an unresolvable field type: its values will be refused, by name
        for hint in hints.values():
            _collect(hint, found)


def _is_typed_dict(cls: type) -> bool:
    return isinstance(getattr(cls, "__total__", None), bool)


def _is_named_tuple(cls: type) -> bool:
    return issubclass(cls, tuple) and hasattr(cls, "_fields")
