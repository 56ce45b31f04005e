"""Which methods of an older (or newer) client a server still serves: schema evolution.

A client generated from one version of a Protocol may meet a server of another. Their
fingerprints differ; the client then asks the server once for a description of its methods
(:func:`describe`: names, parameter kinds, names, default presence and annotations, as plain
values) and compares it with its own model, method by method (:func:`stale_methods`). The
methods found incompatible raise :class:`~typedmgr.StaleProxyError` when called; the others
work as before. The rules, as docs/schema-evolution.md tables them:

- the server may add methods, add parameters with defaults (positional ones after the
  client's, keyword-only ones anywhere), add ``*args``/``**kwargs``, rename positional-only
  parameters, widen a parameter's type and narrow a result's type;
- a parameter's type is widened when every value of the client's type is one of the
  server's: ``int`` -> ``int | None``, ``int`` -> ``float`` -> ``complex``, a class ->
  its base or an ABC it registers with (``list`` -> ``Sequence``), ``Literal["a"]`` ->
  ``Literal["a", "b"]`` -> ``str``, anything -> ``object`` or ``Any``. Containers are
  compared covariantly (``list[int]`` -> ``list[int | None]``): arguments and results are
  copies, so the invariance a type checker applies to mutable containers does not apply;
- anything else that changes (a removed or renamed method, a new required parameter, a
  renamed positional-or-keyword or keyword-only parameter, a narrowed parameter type, a
  widened result, a property that became a method) makes that method stale. Forms
  these rules cannot order (type variables, callables, forward references) must be equal.

Classes are compared by ``module:qualname`` and the names of their bases (and of the
``collections.abc`` and ``numbers`` ABCs they register with), never imported from the
server's description: a server cannot make a client import anything.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from typedmgr._model import (
    Method,
    Param,
    ParamKind,
    interface_of,
    method_signature_lines,
)
from typedmgr._typedesc import (
    SchemaError,
    TypeDesc,
    assignable,
    describe_type,
    read_str,
    read_tuple,
    read_type,
    spell,
)

__all__ = [
    "SCHEMA_FORMAT",
    "SchemaError",
    "TypeDesc",
    "assignable",
    "describe",
    "describe_type",
    "spell",
    "stale_methods",
]

#: The first item of a description: what a client checks before reading the rest.
SCHEMA_FORMAT = "typedmgr-schema/1"

_POSITIONAL = (ParamKind.POSITIONAL_ONLY, ParamKind.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True)
class _ParamSchema:
    name: str
    kind: ParamKind
    has_default: bool
    type: TypeDesc


@dataclass(frozen=True)
class _Signature:
    params: tuple[_ParamSchema, ...]
    returns: TypeDesc


@dataclass(frozen=True)
class _MethodSchema:
    name: str
    is_property: bool
    oneway: bool
    lines: tuple[str, ...]
    signatures: tuple[_Signature, ...]

    @property
    def text(self) -> str:
        return " / ".join(self.lines)


@functools.cache
def describe(protocol: type) -> tuple[object, ...]:
    """What a server sends a client whose fingerprint differs: its Protocol's methods."""
    interface = interface_of(protocol)
    return (
        SCHEMA_FORMAT,
        interface.protocol.__qualname__,
        tuple(_describe_method(m) for m in interface.methods),
    )


def _describe_method(method: Method) -> tuple[object, ...]:
    signatures = [(o.params, o.returns) for o in method.overloads] or [
        (method.params, method.returns)
    ]
    return (
        method.name,
        method.is_property,
        method.oneway,
        method_signature_lines(method),
        tuple(
            (tuple(_describe_param(p) for p in params), describe_type(returns))
            for params, returns in signatures
        ),
    )


def _describe_param(p: Param) -> tuple[object, ...]:
    return (p.name, p.kind.value, p.has_default, describe_type(p.annotation))


def stale_methods(protocol: type, description: object) -> dict[str, str]:
    """The methods of ``protocol`` a server described so cannot serve, each with why.

    The reason names both signatures: ``"...: the server has `f(x: int) -> int`, the
    client `f(x: str) -> int`"``. Raises :class:`SchemaError` for a description this
    client cannot read (a newer format, or not a description at all).
    """
    server_name, server = _parse(description)
    client = _parse(describe(protocol))[1]
    stale: dict[str, str] = {}
    for name, mine in client.items():
        theirs = server.get(name)
        if theirs is None:
            stale[name] = (
                f"the server's {server_name} has no {name!r}, the client has "
                f"`{mine.text}`"
            )
            continue
        problem = _method_problem(mine, theirs)
        if problem is not None:
            stale[name] = (
                f"{problem}: the server has `{theirs.text}`, the client `{mine.text}`"
            )
    return stale


def _method_problem(mine: _MethodSchema, theirs: _MethodSchema) -> str | None:
    if mine.is_property != theirs.is_property:
        return (
            "a property on the server, a method here"
            if theirs.is_property
            else "a method on the server, a property here"
        )
    if mine.is_property:
        if assignable(theirs.signatures[0].returns, mine.signatures[0].returns):
            return None
        return _returns_problem(mine.signatures[0], theirs.signatures[0])
    sends_defaults = len(mine.signatures) == 1  # overloaded calls go as made
    for signature in mine.signatures:
        problems = [
            _signature_problem(signature, server_signature, sends_defaults)
            for server_signature in theirs.signatures
        ]
        if None not in problems:
            return (
                problems[0] if len(problems) == 1 else "no overload on the server fits"
            )
    return None


def _returns_problem(mine: _Signature, theirs: _Signature) -> str:
    return (
        f"the server returns {spell(theirs.returns)}, which the client's "
        f"{spell(mine.returns)} does not cover"
    )


def _signature_problem(
    mine: _Signature, theirs: _Signature, sends_defaults: bool
) -> str | None:
    problem = _call_problem(mine.params, theirs.params, sends_defaults)
    if problem is not None:
        return problem
    if not assignable(theirs.returns, mine.returns):
        return _returns_problem(mine, theirs)
    return None


def _call_problem(
    mine: tuple[_ParamSchema, ...],
    theirs: tuple[_ParamSchema, ...],
    sends_defaults: bool,
) -> str | None:
    """Whether every call the client sends binds, with acceptable types, on the server.

    A generated (or runtime-built) method sends every positional parameter by position and
    every keyword-only one by name, defaults included; an overloaded one sends what it was
    given, so a parameter the client may leave out must have a default on the server too.
    """
    sent = [p for p in mine if p.kind in _POSITIONAL]
    taken = [p for p in theirs if p.kind in _POSITIONAL]
    my_star = _var(mine, ParamKind.VAR_POSITIONAL)
    their_star = _var(theirs, ParamKind.VAR_POSITIONAL)
    my_stars = _var(mine, ParamKind.VAR_KEYWORD)
    their_stars = _var(theirs, ParamKind.VAR_KEYWORD)
    by_name = {
        p.name: p
        for p in theirs
        if p.kind in (ParamKind.POSITIONAL_OR_KEYWORD, ParamKind.KEYWORD_ONLY)
    }
    bound: set[str] = set()
    for index, p in enumerate(sent):
        if index < len(taken):
            target = taken[index]
            if (
                p.kind is ParamKind.POSITIONAL_OR_KEYWORD
                and target.kind is ParamKind.POSITIONAL_OR_KEYWORD
                and p.name != target.name
            ):
                return f"parameter {index + 1} is {target.name!r} on the server"
            bound.add(target.name)
        elif their_star is not None:
            target = their_star
        else:
            return (
                f"the server takes {len(taken)} positional argument(s), the client "
                f"sends {len(sent)}"
            )
        problem = _param_problem(p, target, sends_defaults)
        if problem is not None:
            return problem
    if my_star is not None:
        if their_star is None:
            return f"the server takes no *{my_star.name}"
        if len(taken) > len(sent):
            return (
                f"*{my_star.name} would fill the server's parameter "
                f"{taken[len(sent)].name!r}"
            )
        problem = _param_problem(my_star, their_star, sends_defaults)
        if problem is not None:
            return problem
    for p in mine:
        if p.kind is not ParamKind.KEYWORD_ONLY:
            continue
        target_or_none = by_name.get(p.name)
        if target_or_none is not None and target_or_none.name in bound:
            return f"keyword {p.name!r} also fills a positional parameter on the server"
        if target_or_none is None:
            if their_stars is None:
                return f"the server has no parameter {p.name!r}"
            target_or_none = their_stars
        else:
            bound.add(p.name)
        problem = _param_problem(p, target_or_none, sends_defaults)
        if problem is not None:
            return problem
    if my_stars is not None:
        if their_stars is None:
            return f"the server takes no **{my_stars.name}"
        reachable = [p for p in by_name.values() if p.name not in bound]
        for target in (*reachable, their_stars):
            if not assignable(my_stars.type, target.type):
                return (
                    f"**{my_stars.name} ({spell(my_stars.type)}) may fill the server's "
                    f"{target.name!r}, which takes {spell(target.type)}"
                )
    for p in theirs:
        if p.name in bound or p.has_default:
            continue
        if p.kind in (ParamKind.VAR_POSITIONAL, ParamKind.VAR_KEYWORD):
            continue
        return f"the server requires {p.name!r}, which the client does not send"
    return None


def _param_problem(
    mine: _ParamSchema, theirs: _ParamSchema, sends_defaults: bool
) -> str | None:
    if not assignable(mine.type, theirs.type):
        return (
            f"parameter {mine.name!r} takes {spell(theirs.type)} on the server, the "
            f"client sends {spell(mine.type)}"
        )
    if (
        not sends_defaults
        and mine.has_default
        and not theirs.has_default
        and theirs.kind not in (ParamKind.VAR_POSITIONAL, ParamKind.VAR_KEYWORD)
    ):
        return f"the client may leave out {mine.name!r}, the server requires it"
    return None


def _var(params: Iterable[_ParamSchema], kind: ParamKind) -> _ParamSchema | None:
    return next((p for p in params if p.kind is kind), None)


# Reading a description: every shape checked, since it comes from another process.


def _parse(description: object) -> tuple[str, Mapping[str, _MethodSchema]]:
    items = read_tuple(description)
    if len(items) != 3 or items[0] != SCHEMA_FORMAT:
        raise SchemaError(f"not a {SCHEMA_FORMAT} description: {items[:1]!r}")
    methods: dict[str, _MethodSchema] = {}
    for entry in read_tuple(items[2]):
        name, is_property, oneway, lines, signatures = read_tuple(entry, 5)
        methods[read_str(name)] = _MethodSchema(
            read_str(name),
            bool(is_property),
            bool(oneway),
            tuple(read_str(line) for line in read_tuple(lines)),
            tuple(_parse_signature(s) for s in read_tuple(signatures)),
        )
        if not methods[read_str(name)].signatures:
            raise SchemaError(f"method {name!r} has no signature")
    return read_str(items[1]), methods


def _parse_signature(signature: object) -> _Signature:
    params, returns = read_tuple(signature, 2)
    parsed: list[_ParamSchema] = []
    for param in read_tuple(params):
        name, kind, has_default, annotation = read_tuple(param, 4)
        try:
            param_kind = ParamKind(kind)
        except ValueError:
            raise SchemaError(f"unknown parameter kind {kind!r}") from None
        parsed.append(
            _ParamSchema(
                read_str(name), param_kind, bool(has_default), read_type(annotation)
            )
        )
    return _Signature(tuple(parsed), read_type(returns))
