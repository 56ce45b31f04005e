"""The model's vocabulary: parameters, methods, return kinds and the model's one error.

Plain data, decided by ``extract`` and read by everyone else (proxies, the server,
validation, compatibility, the generator); nothing here looks at a Protocol.
"""

from __future__ import annotations

import collections.abc
import enum
import inspect
import typing
import typing_extensions
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "DUNDERS",
    "GENERATOR_TYPEID",
    "ITERATOR_TYPEID",
    "NO_DEFAULT",
    "ONEWAY_ATTR",
    "InterfaceError",
    "Method",
    "Overload",
    "Param",
    "ParamKind",
    "ReturnKind",
    "inspect_signature",
    "iterator_typeid",
    "oneway",
]


class InterfaceError(TypeError):
    """A Protocol, or an implementation of it, that typedmgr cannot serve or proxy."""

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show


class _NoDefault(enum.Enum):
    """Marks a parameter without a default (``None`` is a real default)."""

    NO_DEFAULT = "NO_DEFAULT"


NO_DEFAULT = _NoDefault.NO_DEFAULT


class ParamKind(enum.Enum):
    """The five kinds of Python parameter, in the order a signature lists them."""

    POSITIONAL_ONLY = "positional-only"
    POSITIONAL_OR_KEYWORD = "positional-or-keyword"
    VAR_POSITIONAL = "*args"
    KEYWORD_ONLY = "keyword-only"
    VAR_KEYWORD = "**kwargs"


#: ``inspect``'s parameter kinds as the model's.
KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: ParamKind.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: ParamKind.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.VAR_POSITIONAL: ParamKind.VAR_POSITIONAL,
    inspect.Parameter.KEYWORD_ONLY: ParamKind.KEYWORD_ONLY,
    inspect.Parameter.VAR_KEYWORD: ParamKind.VAR_KEYWORD,
}
_INSPECT_KINDS = {kind: inspect_kind for inspect_kind, kind in KINDS.items()}


def inspect_signature(
    params: tuple[Param, ...],
    *,
    returns: object = inspect.Signature.empty,
    with_self: bool = False,
) -> inspect.Signature:
    """The ``inspect.Signature`` of a parameter list, for runtime-built methods."""
    parameters = [
        inspect.Parameter(
            p.name,
            _INSPECT_KINDS[p.kind],
            default=p.default if p.has_default else inspect.Parameter.empty,
            annotation=p.annotation,
        )
        for p in params
    ]
    if with_self:
        parameters.insert(
            0, inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
        )
    return inspect.Signature(parameters, return_annotation=returns)


class ReturnKind(enum.Enum):
    """How a method's result reaches the caller."""

    VALUE = "value"
    """Pickled and copied to the caller."""
    REMOTE = "remote"
    """Stays on the server; the caller gets a proxy of ``Method.remote``."""
    OPTIONAL_REMOTE = "optional-remote"
    """Like ``REMOTE``, but ``None`` comes back as ``None``."""
    ITERATOR = "iterator"
    """An iterator that stays on the server; the caller iterates a proxy of it."""
    SELF = "self"
    """``__enter__`` returning ``Self`` or its own Protocol: the caller keeps its proxy, and
    the server sends nothing back (no new reference, no copy of the referent)."""
    FLUENT = "fluent"
    """``-> Self`` (any other method): the caller's own proxy when the server returns the
    referent itself, else a new proxy of the same Protocol (``Method.remote``)."""
    OPTIONAL_FLUENT = "optional-fluent"
    """``-> Self | None``: like ``FLUENT``, but ``None`` comes back as ``None``."""


#: The typeid under which servers wrap the iterators methods return.
ITERATOR_TYPEID = "typedmgr:iterator"
#: The typeid under which servers wrap what methods declared ``-> Generator[...]`` return:
#: an iterator proxy that also forwards ``send()``, ``throw()`` and ``close()``.
GENERATOR_TYPEID = "typedmgr:generator"

#: Return kinds whose ``None`` result is ``None``, not a proxy of ``None``.
OPTIONAL_KINDS = frozenset({ReturnKind.OPTIONAL_REMOTE, ReturnKind.OPTIONAL_FLUENT})


@dataclass(frozen=True)
class Param:
    """One parameter; ``annotation`` is the evaluated annotation (``object`` if absent)."""

    name: str
    kind: ParamKind
    annotation: object
    default: object = NO_DEFAULT

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(frozen=True)
class Method:
    """One exposed method of a Protocol, ``self`` left out of ``params``."""

    name: str
    params: tuple[Param, ...]
    returns: object
    return_kind: ReturnKind
    remote: type | None
    doc: str | None
    oneway: bool = False
    """Marked ``@oneway``: the caller sends and goes on; the server logs failures."""
    is_property: bool = False
    """A read-only property or an attribute declaration: read from the server on access."""
    overloads: tuple[Overload, ...] = ()
    """The ``@overload`` signatures, if any; the proxy forwards calls as made."""
    is_exit: bool = False
    """``__exit__``: the proxy sends the exception in a form the server can load (a
    traceback never travels) and returns the server's answer, so ``True`` suppresses."""
    is_async: bool = False
    """``async def``: the server awaits the coroutine on its loop (``_server.coroutines``).
    Proxies see the awaited type; whether a method is async is the server's business, so it
    is not part of the fingerprint."""


@dataclass(frozen=True)
class Overload:
    """One ``@overload`` signature of a method."""

    params: tuple[Param, ...]
    returns: object


def iterator_typeid(method: Method) -> str:
    """The typeid an iterator-returning method's result is wrapped under."""
    returns = method.overloads[0].returns if method.overloads else method.returns
    if is_generator(returns):
        return GENERATOR_TYPEID
    return ITERATOR_TYPEID


def is_generator(returns: object) -> bool:
    """``Generator[...]``: its iterator proxy also forwards send, throw and close."""
    return (
        typing.get_origin(returns) is collections.abc.Generator
        or returns is collections.abc.Generator
    )


# The special methods a Protocol may declare; the proxy forwards exactly those it declares.
DUNDERS = frozenset(
    {
        "__len__",
        "__getitem__",
        "__setitem__",
        "__delitem__",
        "__contains__",
        "__iter__",
        "__bool__",
        "__enter__",
        "__exit__",
    }
)

ONEWAY_ATTR = "__typedmgr_oneway__"

_P = typing_extensions.ParamSpec("_P")


def oneway(method: Callable[_P, None], /) -> Callable[_P, None]:
    """Mark a Protocol method as one-way: proxies send the call and return ``None`` at once.

    The server runs it in order with the caller's other calls and logs an exception it
    raises (logger ``typedmgr.server``); nothing is sent back.
    """
    setattr(method, ONEWAY_ATTR, True)
    return method
