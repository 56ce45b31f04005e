"""Annotation -> admitted classes: what a message may construct, or pass as a value only,
given the Protocols whose signatures it serves (and the types those contain).
"""

from __future__ import annotations

import builtins
import collections.abc
import dataclasses
import datetime
import enum
import inspect
import sys
import typing
from collections.abc import Iterable

from typedmgr._forms import is_typed_dict, newtype_supertype
from typedmgr._model import GENERATOR_TYPEID, Interface, is_protocol, iterator_typeid

__all__ = ["BUILTIN_EXCEPTIONS", "value_objects", "value_types"]

# What a ``with`` block that raised sends to ``__exit__``, when the Protocol declares one.
BUILTIN_EXCEPTIONS = frozenset(
    cls
    for cls in vars(builtins).values()
    if isinstance(cls, type) and issubclass(cls, BaseException)
)


def value_types(interfaces: Iterable[Interface]) -> set[type]:
    """Every class the Protocols' signatures mention as a value, transitively: what a
    message may construct."""
    found: set[type] = set()
    for interface in interfaces:
        for annotation, _ in _annotations(interface):
            _collect(annotation, found, set())
        for method in interface.methods:
            if method.is_exit or iterator_typeid(method) == GENERATOR_TYPEID:
                found.update(BUILTIN_EXCEPTIONS)  # __exit__'s, a generator's throw()
            for param in method.params:
                if isinstance(param.default, enum.Enum):
                    found.add(type(param.default))
    return found


def value_objects(interfaces: Iterable[Interface]) -> set[object]:
    """What a message may pass but never call: the Protocols themselves (proxies name
    them), the classes of ``type[X]`` parameters and, for ``Callable`` parameters, the
    module-level functions of the Protocol's own module."""
    found: set[object] = set()
    for interface in interfaces:
        found.add(interface.protocol)
        values: set[object] = set()
        for annotation, home in _annotations(interface):
            _collect(annotation, set(), values, home)
        found |= values
    return found


def _annotations(interface: Interface) -> Iterable[tuple[object, str]]:
    home = interface.protocol.__module__
    for method in interface.methods:
        for annotation in (method.returns, *(p.annotation for p in method.params)):
            yield annotation, home
        for overload in method.overloads:
            for annotation in (
                overload.returns,
                *(p.annotation for p in overload.params),
            ):
                yield annotation, home


_CALLABLES = (collections.abc.Callable, typing.Callable)


def _collect(
    annotation: object, found: set[type], values: set[object], home: str = ""
) -> None:
    """Add to ``found`` the classes ``annotation`` admits as constructed values, and to
    ``values`` what it admits as values only."""
    supertype = newtype_supertype(annotation)
    if supertype is not None:
        _collect(supertype, found, values, home)
        return
    origin = typing.get_origin(annotation)
    if origin is type:  # type[X]: the class X itself, never an instance
        for arg in typing.get_args(annotation):
            _class_values(arg, values)
        return
    if origin in _CALLABLES or annotation in _CALLABLES:
        values.update(_module_functions(home))
    for arg in typing.get_args(annotation):
        if isinstance(arg, enum.Enum):  # Literal[Color.RED]
            found.add(type(arg))
        elif not isinstance(arg, list):  # Callable[[args], result]
            _collect(arg, found, values, home)
        else:
            for item in arg:
                _collect(item, found, values, home)
    if annotation is bytearray:
        found.add(bytearray)  # loaded through the allow-list's safe bytearray
        return
    if (
        not isinstance(annotation, type)
        or annotation in found
        or is_protocol(annotation)
        or annotation.__module__ == "builtins"  # built by opcodes, never by name
    ):
        return
    found.add(annotation)
    if issubclass(annotation, (datetime.datetime, datetime.time)):
        found.update((datetime.timezone, datetime.timedelta))  # aware values
    if (
        dataclasses.is_dataclass(annotation)
        or is_typed_dict(annotation)
        or _is_named_tuple(annotation)
    ):
        try:
            hints = typing.get_type_hints(annotation)
        except Exception:
            return  # an unresolvable field type: its values will be refused, by name
        for hint in hints.values():
            _collect(hint, found, values, annotation.__module__)


def _class_values(arg: object, values: set[object]) -> None:
    """The classes ``type[arg]`` admits: ``arg`` itself, or each of a union."""
    if typing.get_origin(arg) in (
        typing.Union,
        getattr(__import__("types"), "UnionType", None),
    ):
        for member in typing.get_args(arg):
            _class_values(member, values)
    elif isinstance(arg, type) and arg is not object:
        values.add(arg)


def _module_functions(home: str) -> list[object]:
    """The functions defined at the top level of module ``home`` (already imported)."""
    module = sys.modules.get(home)
    if module is None:
        return []
    return [
        f
        for f in vars(module).values()
        if inspect.isfunction(f)
        and f.__module__ == home
        and f.__qualname__ == f.__name__
    ]


def _is_named_tuple(cls: type) -> bool:
    return issubclass(cls, tuple) and hasattr(cls, "_fields")
