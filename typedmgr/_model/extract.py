"""Protocol -> Interface: what each member of a Protocol means, or why it cannot be proxied.

``interface_of(P)`` reads the Protocol's methods, properties and attribute declarations
(its bases' first, in source order), their full parameter lists with evaluated annotations,
and how each result travels back (a copied value, a remote object of another Protocol, or
such an object or ``None``, an iterator, the caller's own proxy). No other code decides
what a Protocol means.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import types
import typing
import typing_extensions
from collections.abc import Callable, Mapping

from typedmgr import _stdlib
from typedmgr._forms import is_protocol, is_union, protocol_of
from typedmgr._model.describe import annotation_text
from typedmgr._model.interface import Interface
from typedmgr._model.params import annotation_namespace, read_params, resolved_hints
from typedmgr._model.types import (
    DUNDERS,
    ONEWAY_ATTR,
    InterfaceError,
    Method,
    Overload,
    Param,
    ParamKind,
    ReturnKind,
    is_generator,
)

__all__ = ["interface_of"]

# Members a Protocol class always has; never part of an interface.
_IGNORED = frozenset(
    {
        "__init__",
        "__init_subclass__",
        "__subclasshook__",
        "__class_getitem__",
        "__protocol_attrs__",
        "__non_callable_proto_members__",
    }
)


@functools.cache
def interface_of(protocol: type) -> Interface:
    """Extract the interface of a Protocol class, or raise :class:`InterfaceError`."""
    if not is_protocol(protocol):
        raise InterfaceError(f"{protocol!r} is not a typing.Protocol class")
    name = protocol.__qualname__
    namespace = annotation_namespace(protocol)
    methods: list[Method] = []
    # ``size: int = 0`` and ``kind: ClassVar[str] = "x"`` are declarations with a value:
    # attributes (or class variables), which _declared_attributes reads, not members.
    declared = {
        attr
        for base in protocol.__mro__
        if base is protocol or is_protocol(base)
        for attr in _stdlib.class_annotation_names(base)
    }
    for attr in _own_members(protocol):
        if attr in _IGNORED or (attr.startswith("_") and attr not in DUNDERS):
            continue
        value = inspect.getattr_static(protocol, attr)
        if attr in declared and not inspect.isfunction(value):
            continue
        where = f"{name}.{attr}"
        if isinstance(value, (staticmethod, classmethod)):
            which = "static" if isinstance(value, staticmethod) else "class"
            raise InterfaceError(
                f"{where}: {which} methods cannot be proxied - a proxy calls methods of "
                "one remote object; declare it as an instance method (the "
                f"implementation may keep it a {which} method)"
            )
        if isinstance(value, property):
            methods.append(_property(where, value, namespace, protocol))
        elif inspect.isfunction(value):
            variants = _overload_variants(_declaring_class(protocol, attr), attr)
            if variants:
                methods.append(
                    _overloaded(where, attr, value, variants, namespace, protocol)
                )
            else:
                methods.append(_method(where, value, namespace, owner=protocol))
        else:
            raise InterfaceError(
                f"{where}: only methods and properties can be proxied, "
                f"not {type(value).__name__} members"
            )
    for attr, hint in _declared_attributes(protocol, namespace).items():
        where = f"{name}.{attr}"
        fluent = _fluent_kind(hint)
        remote: type | None
        if fluent is not None:
            kind, remote = fluent, protocol
        elif _mentions_self(hint):
            raise InterfaceError(
                f"{where}: declared {annotation_text(hint)}; `Self` can only be declared as "
                "`Self` or `Self | None`"
            )
        else:
            kind, remote = _return_kind(where, hint)
        methods.append(Method(attr, (), hint, kind, remote, None, is_property=True))
    own_doc = vars(protocol).get("__doc__")
    doc = inspect.cleandoc(own_doc) if isinstance(own_doc, str) else None
    return Interface(protocol, tuple(methods), doc)


def _declaring_class(protocol: type, attr: str) -> type:
    """The class of ``protocol``'s MRO whose body defines ``attr``."""
    return next((c for c in protocol.__mro__ if attr in vars(c)), protocol)


def _own_members(protocol: type) -> list[str]:
    """Names the Protocol and the Protocols it extends define, bases first, in source order."""
    names: dict[str, None] = {}
    for base in reversed(protocol.__mro__):
        if base in (
            object,
            typing.Protocol,
            typing_extensions.Protocol,
            typing.Generic,
        ):
            continue
        if base is protocol or is_protocol(base):
            names.update(dict.fromkeys(vars(base)))
    return list(names)


def _declared_attributes(
    protocol: type, namespace: Mapping[str, object]
) -> dict[str, object]:
    """Public attributes the Protocol declares (``size: int``), ClassVars left out."""
    declared = [
        attr
        for base in reversed(protocol.__mro__)
        if base is protocol or is_protocol(base)
        for attr in _stdlib.class_annotation_names(base)
        if not attr.startswith("_")
    ]
    if not declared:
        return {}
    where = f"{protocol.__qualname__}.{declared[0]}"
    hints = resolved_hints(where, protocol, namespace)
    return {
        attr: hints[attr]
        for attr in dict.fromkeys(declared)
        if typing.get_origin(hints[attr]) is not typing.ClassVar
        and hints[attr] is not typing.ClassVar
    }


def _property(
    where: str, prop: property, namespace: Mapping[str, object], owner: type
) -> Method:
    if prop.fset is not None or prop.fdel is not None:
        raise InterfaceError(f"{where}: only read-only properties can be proxied")
    if prop.fget is None:
        raise InterfaceError(f"{where}: a property without a getter")
    method = _method(where, prop.fget, namespace, owner=owner)
    return Method(
        method.name,
        (),
        method.returns,
        method.return_kind,
        method.remote,
        method.doc,
        is_property=True,
    )


def _method(
    where: str,
    func: Callable[..., object],
    namespace: Mapping[str, object],
    *,
    owner: type | None = None,
) -> Method:
    hints = resolved_hints(where, func, namespace)
    params = read_params(where, func, hints, require_annotations=True)[1:]
    name = func.__name__
    returns = hints.get("return")
    enters = name == "__enter__" and owner is not None and _is_own_type(returns, owner)
    fluent = _fluent_kind(returns) if owner is not None and not enters else None
    if any(_mentions_self(hints.get(p.name)) for p in params):
        raise InterfaceError(
            f"{where}: `Self` cannot be proxied as a parameter - name the Protocol "
            "instead (a method may return `Self` or `Self | None`)"
        )
    if _mentions_self(returns) and not enters and fluent is None:
        raise InterfaceError(
            f"{where}: returns {annotation_text(returns)}; `Self` can only be returned as "
            "`Self` or `Self | None` - not inside a container or an iterator"
        )
    if "return" not in hints:
        raise InterfaceError(f"{where}: the return annotation is missing")
    if enters:
        kind, remote = ReturnKind.SELF, None
    elif fluent is not None:
        kind, remote = fluent, owner
    else:
        kind, remote = _return_kind(where, returns)
    oneway = getattr(func, ONEWAY_ATTR, False) is True
    if oneway and returns not in (None, type(None)):
        raise InterfaceError(f"{where}: a @oneway method must return None")
    if name in ("__enter__", "__exit__"):
        _check_context_method(where, name, params, oneway)
    return Method(
        name,
        params,
        returns,
        kind,
        remote,
        inspect.getdoc(func),
        oneway,
        is_exit=name == "__exit__",
        is_async=inspect.iscoroutinefunction(func),
    )


def _fluent_kind(returns: object) -> ReturnKind | None:
    """``FLUENT`` for ``-> Self``, ``OPTIONAL_FLUENT`` for ``-> Self | None``, else None."""
    if returns is typing_extensions.Self:
        return ReturnKind.FLUENT
    if is_union(returns):
        args = typing.get_args(returns)
        if len(args) == 2 and typing_extensions.Self in args and type(None) in args:
            return ReturnKind.OPTIONAL_FLUENT
    return None


def _is_own_type(returns: object, protocol: type) -> bool:
    """``Self``, or the Protocol (or a Protocol it extends), bare or parametrized."""
    if returns is typing_extensions.Self:
        return True
    returned = protocol_of(returns)
    return returned is not None and returned in protocol.__mro__


def _check_context_method(
    where: str, name: str, params: tuple[Param, ...], oneway: bool
) -> None:
    """``with`` calls ``__enter__()`` and ``__exit__(exc_type, exc, tb)``: they must accept that."""
    if oneway:
        raise InterfaceError(f"{where}: {name} cannot be @oneway")
    positional = [
        p
        for p in params
        if p.kind in (ParamKind.POSITIONAL_ONLY, ParamKind.POSITIONAL_OR_KEYWORD)
    ]
    takes = 0 if name == "__enter__" else 3
    var_args = any(p.kind is ParamKind.VAR_POSITIONAL for p in params)
    required = [
        p
        for p in params
        if not p.has_default
        and p.kind not in (ParamKind.VAR_POSITIONAL, ParamKind.VAR_KEYWORD)
    ]
    if (
        (len(positional) < takes and not var_args)
        or len(required) > takes
        or any(p not in positional[:takes] for p in required)
    ):
        called = "()" if takes == 0 else "(exc_type, exc, tb)"
        raise InterfaceError(
            f"{where}: a with statement calls {name}{called}; the signature must accept it"
        )


def _overload_variants(protocol: type, attr: str) -> list[Callable[..., object]]:
    """The ``@overload`` variants of ``protocol.attr``, in source order.

    Looked up by name, because a Protocol may give overloads without an implementation,
    leaving only typing's placeholder in the class. On Python 3.10 only
    ``typing_extensions.overload`` records them.
    """
    named = types.SimpleNamespace(
        __module__=protocol.__module__, __qualname__=f"{protocol.__qualname__}.{attr}"
    )
    return list(typing_extensions.get_overloads(named))  # type: ignore[arg-type]


# How each return kind of an overload travels, when every overload agrees on it.
_OVERLOAD_TRAVEL = {
    ReturnKind.VALUE: "value",
    ReturnKind.REMOTE: "remote",
    ReturnKind.OPTIONAL_REMOTE: "remote",
    ReturnKind.FLUENT: "self",
    ReturnKind.OPTIONAL_FLUENT: "self",
    ReturnKind.ITERATOR: "iterator",
}


def _overloaded(
    where: str,
    name: str,
    func: Callable[..., object],
    variants: list[Callable[..., object]],
    namespace: Mapping[str, object],
    owner: type,
) -> Method:
    """An overloaded method: every overload keeps its return; the server, which cannot tell
    which overload a call matched, wraps the result as all of them agree to."""
    methods = [_method(where, variant, namespace, owner=owner) for variant in variants]
    if any(m.oneway for m in methods):
        raise InterfaceError(f"{where}: overloads cannot be @oneway")
    travels = {_OVERLOAD_TRAVEL.get(m.return_kind, "value") for m in methods}
    remotes = {m.remote for m in methods}
    generators = {is_generator(m.returns) for m in methods}
    if len(travels) > 1 or len(remotes) > 1 or len(generators) > 1:
        returns = " and ".join(
            dict.fromkeys(annotation_text(m.returns) for m in methods)
        )
        raise InterfaceError(
            f"{where}: overloads return {returns}; the server cannot tell which overload "
            "a call matched, so either every overload returns a value, or every one "
            "returns the same remote object (`P` or `P | None` of one Protocol, or "
            "`Self` or `Self | None`), or an iterator of the same kind"
        )
    kinds = {m.return_kind for m in methods}
    kind = methods[0].return_kind
    if ReturnKind.OPTIONAL_REMOTE in kinds:
        kind = ReturnKind.OPTIONAL_REMOTE
    elif ReturnKind.OPTIONAL_FLUENT in kinds:
        kind = ReturnKind.OPTIONAL_FLUENT
    overloads = tuple(Overload(m.params, m.returns) for m in methods)
    # Without an implementation in the Protocol, ``func`` is typing's placeholder.
    own = func if func.__name__ == name else None
    doc = (own and inspect.getdoc(own)) or inspect.getdoc(variants[0])
    return Method(
        name,
        (),
        object,
        kind,
        methods[0].remote,
        doc,
        overloads=overloads,
    )


def _return_kind(where: str, returns: object) -> tuple[ReturnKind, type | None]:
    remote = protocol_of(returns)
    if remote is not None:
        return ReturnKind.REMOTE, remote
    args = typing.get_args(returns)
    if is_union(returns):
        remotes = [protocol_of(a) for a in args if protocol_of(a) is not None]
        others = [a for a in args if protocol_of(a) is None]
        if remotes and (len(remotes) > 1 or others != [type(None)]):
            raise InterfaceError(
                f"{where}: returns {annotation_text(returns)}; a remote object can only be "
                "returned as `P` or `P | None`"
            )
        if remotes:
            return ReturnKind.OPTIONAL_REMOTE, remotes[0]
    origin = typing.get_origin(returns)
    if origin in _ASYNC_ITERATOR_ORIGINS:
        raise InterfaceError(
            f"{where}: returns {annotation_text(returns)}; async iterators cannot be proxied yet"
        )
    if origin in _ITERATOR_ORIGINS or returns in _ITERATOR_ORIGINS:
        if _mentions_protocol(returns):
            raise InterfaceError(
                f"{where}: returns {annotation_text(returns)}; iterators of remote objects "
                "cannot be proxied - iterate over values, or return `P` per call"
            )
        return ReturnKind.ITERATOR, None
    if _mentions_protocol(returns):
        raise InterfaceError(
            f"{where}: returns {annotation_text(returns)}; remote objects inside containers "
            "cannot be proxied - return `P` or `P | None`, or expose a method per item"
        )
    return ReturnKind.VALUE, None


_ITERATOR_ORIGINS = frozenset(
    {collections.abc.Iterator, collections.abc.Generator, collections.abc.Iterable}
)
_ASYNC_ITERATOR_ORIGINS = frozenset(
    {collections.abc.AsyncIterator, collections.abc.AsyncGenerator}
)


def _mentions_protocol(tp: object) -> bool:
    return protocol_of(tp) is not None or any(
        _mentions_protocol(a) for a in typing.get_args(tp)
    )


def _mentions_self(tp: object) -> bool:
    return tp is typing_extensions.Self or any(
        _mentions_self(a) for a in typing.get_args(tp)
    )
