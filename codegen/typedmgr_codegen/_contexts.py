"""Template contexts: each generated class and method as ready-made code items.

Every decision about the generated code is made here or in ``_spelling``; the templates only
lay the items out, and ``render`` hands each item to ``layout`` (the one place that breaks
lines).
"""

from __future__ import annotations

import contextlib
import types
import typing
import typing_extensions
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from typedmgr._model import (
    Interface,
    InterfaceError,
    Method,
    Param,
    ParamKind,
    ReturnKind,
    interface_of,
    protocol_of,
)
from typedmgr_codegen._aliases import alias_names, inner_aliases
from typedmgr_codegen._layout import Def, Statement
from typedmgr_codegen._spelling import TypeWriter, docstring, quoted

__all__ = [
    "MethodContext",
    "ProxyContext",
    "class_attributes",
    "manager_ref",
    "overload_variants",
    "proxy_context",
]


@dataclass(frozen=True)
class MethodContext:
    header: Def
    """The ``def`` line; in a stub without a docstring, or for an overload, with its
    ``: ...`` body."""
    doc: str | None = None
    body: tuple[Statement, ...] = ()
    """The statements (none for an overload; a stub shows none)."""
    decorator: str | None = None
    module_only: bool = False
    """An overloaded method's implementation: in the .py, never in the stub."""


@dataclass(frozen=True)
class ProxyContext:
    header: Statement
    doc: str | None
    attributes: list[Statement]
    """The class attributes the runtime reads, each after a comment saying why."""
    methods: list[MethodContext]


def manager_ref(manager: type) -> str:
    return f"{manager.__module__}:{manager.__qualname__}"


def proxy_context(
    interface: Interface, name: str, writer: TypeWriter, bare_overload: bool
) -> ProxyContext:
    shadowed = frozenset(interface.exposed)
    methods = []
    for method in interface.methods:
        if _inherited(interface, method):
            continue  # the base proxy class has it, with this very signature
        if method.overloads:
            methods += _overloaded(
                interface,
                method,
                writer,
                shadowed,
                bare_overload and "overload" not in shadowed,
            )
            continue
        where = f"{interface.name}.{method.name}"
        aliases = alias_names(interface, method)
        with writer.naming(inner_aliases(interface, method)):
            params, call_args = _signature(
                where, method.params, writer, shadowed, aliases
            )
            with _located(where):
                returns = writer.returns(method, shadowed)
        if "return" in aliases and method.return_kind is ReturnKind.VALUE:
            returns = writer.named(*aliases["return"])
        methods.append(
            MethodContext(
                _def_header(
                    method.name, params, returns, writer.stub and not method.doc
                ),
                docstring(method.doc, 8),
                _body(method, returns, call_args, writer),
                _property_decorator(writer, shadowed) if method.is_property else None,
            )
        )
    header, attributes = class_attributes(
        interface, name, writer, shadowed, "_typedmgr.TypedProxy"
    )
    return ProxyContext(
        header=header,
        doc=docstring(interface.doc, 4),
        attributes=attributes,
        methods=methods,
    )


def class_attributes(
    interface: Interface,
    name: str,
    writer: TypeWriter,
    shadowed: frozenset[str],
    base: str,
    *,
    twin: bool = False,
) -> tuple[Statement, list[Statement]]:
    """A proxy class's ``class`` line (on ``base`` unless its Protocol extends others,
    whose proxies it extends then) and the class attributes the runtime reads, each after
    a comment saying why: the same for a sync proxy and its async twin."""
    module = writer.imports.alias(interface.module, runtime=True, in_stub=False)
    typing_alias = writer.imports.alias("typing", runtime=True)
    exposed = ", ".join(quoted(n) for n in interface.exposed)
    typeids = interface.method_to_typeid
    mapping = ", ".join(f"{quoted(k)}: {quoted(typeids[k])}" for k in sorted(typeids))
    # The proxies of the Protocols it extends, with their type arguments: a proxy of
    # ``Blob(Readable, Protocol)`` is a ``ReadableProxy``, to checkers and isinstance.
    extended = [writer.proxy_type(base, shadowed) for base in interface.bases]
    bases = ", ".join(extended) or base
    if interface.type_params:
        type_params = ", ".join(writer.spell(t) for t in interface.type_params)
        bases += f", {typing_alias}.Generic[{type_params}]"
    exposed_value = f"({exposed},)" if len(interface.exposed) == 1 else f"({exposed})"
    attributes = [
        Statement(
            "# The Protocol proxied: proxies of it the server returns are of this class.",
            1,
        ),
        Statement(
            f"_protocol_: {typing_alias}.ClassVar[type] = "
            f"{module}.{interface.protocol.__qualname__}",
            1,
        ),
        Statement(
            "# The Protocol's methods, by name: what the server lets this proxy call.",
            1,
        ),
        Statement(
            f"_exposed_: {typing_alias}.ClassVar[tuple[str, ...]] = {exposed_value}", 1
        ),
        Statement(
            "# Methods whose result stays on the server: the typeid of its proxy.", 1
        ),
        Statement(
            f"_method_to_typeid_: {typing_alias}.ClassVar[dict[str, str]] = {{{mapping}}}",
            1,
        ),
        *(
            Statement(line, 1)
            for line in (
                (
                    "# A hash of the Protocol's signatures: if the server's differs, the",
                    "# twin's first creation there raises StaleProxyError, naming them.",
                )
                if twin
                else (
                    "# A hash of the Protocol's signatures: if the server's differs, it tells",
                    "# which methods still agree, and calling another raises StaleProxyError.",
                )
            )
        ),
        Statement(f"_fingerprint_ = {quoted(interface.fingerprint)}", 1),
    ]
    return Statement(f"class {name}({bases}):", 0), attributes


def _def_header(name: str, params: list[str], returns: str, dots: bool) -> Def:
    """A method's ``def`` line at one indent, ``self`` first; ``dots``: with no body but
    ``...`` (an overload, or a stub's method without a docstring)."""
    suffix = ": ..." if dots else ":"
    return Def(f"def {name}", ("self", *params), returns, 1, suffix)


def _passes_unchanged(annotation: object) -> bool:
    """Whether what ``_call`` returns (``object``) needs no cast to ``annotation``.

    A cast to ``object`` (or ``object | None``) is redundant, which ``mypy --strict`` and
    basedpyright strict report; a cast to ``Any`` would put an ``Any`` expression in the
    module, where ``object`` is already accepted as ``Any``.
    """
    members = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    return any(m is object or m is typing.Any for m in members)


def _is_union(annotation: object) -> bool:
    return typing.get_origin(annotation) is typing.Union or isinstance(
        annotation, types.UnionType
    )


def _never_returns(annotation: object) -> bool:
    return annotation is typing.NoReturn or annotation is typing_extensions.Never


def _body(
    method: Method,
    returns: str,
    call_args: list[str],
    writer: TypeWriter,
    *,
    awaits: bool = False,
    remote: str | None = None,
) -> tuple[Statement, ...]:
    """The statements of a proxy method (an async twin's, if ``awaits``), laid out at two
    indents; ``remote``: the method's name on the server, if the twin renames it."""
    args = "".join(f", {a}" for a in call_args)
    name = quoted(remote or method.name)
    wait = "await " if awaits else ""
    call = f"{wait}self._call({name}{args})"
    if method.is_property:
        call = f"{wait}self._get({name})"
    elif method.is_exit:
        call = f"{wait}self._call_exit({name}{args})"
    # An async twin's _call answers ITSELF with the twin itself.
    fluent = (ReturnKind.FLUENT, ReturnKind.OPTIONAL_FLUENT)
    if method.return_kind in fluent and not awaits:
        call = (
            f"self._get_fluent({name})"
            if method.is_property
            else (f"self._call_fluent({name}{args})")
        )
    if method.oneway:
        return (Statement(f"{wait}self._send({name}{args})", 2),)
    if method.return_kind is ReturnKind.SELF:
        return (Statement(f"return {wait}self._call_self({name}{args})", 2),)
    if returns == "None":
        return (Statement(call, 2),)
    if method.return_kind is ReturnKind.VALUE and _never_returns(method.returns):
        # A function that never returns may not ``return``: the server raised, or this
        # line tells that it did not.
        message = quoted(f"{method.name}() is declared never to return, but returned")
        return (
            Statement(call, 2),
            Statement(f"raise AssertionError({message})", 2),
        )
    if method.return_kind is ReturnKind.VALUE and _passes_unchanged(method.returns):
        return (Statement(f"return {call}", 2),)
    cast = f"{writer.imports.alias('typing', runtime=True)}.cast"
    return (Statement(f"return {cast}({quoted(returns)}, {call})", 2),)


def _inherited(interface: Interface, method: Method) -> bool:
    """Whether the proxy class inherits ``method`` from the proxy of a Protocol it extends."""
    if interface.declares(method.name):
        return False
    return any(
        method.name in interface_of(origin).exposed
        for base in interface.bases
        if (origin := protocol_of(base)) is not None
    )


def _property_decorator(writer: TypeWriter, shadowed: frozenset[str]) -> str:
    """``@property``, unless a method named ``property`` hides the builtin in the class."""
    if "property" not in shadowed:
        return "@property"
    return f"@{writer.imports.alias('builtins', runtime=True)}.property"


def _overloaded(
    interface: Interface,
    method: Method,
    writer: TypeWriter,
    shadowed: frozenset[str],
    bare: bool,
) -> list[MethodContext]:
    """Each ``@overload`` as declared, then one implementation forwarding the call as made.

    ``bare``: decorated ``@overload`` (imported from typing), which jedi recognises,
    rather than ``@_typing.overload``, which it does not.
    """
    where = f"{interface.name}.{method.name}"
    if bare and writer.imports.overload():
        overload = "@overload"
    else:
        overload = f"@{writer.imports.alias('typing', runtime=True)}.overload"
    contexts = [
        MethodContext(
            _def_header(method.name, params, returns, dots=True), decorator=overload
        )
        for params, returns in overload_variants(where, method, writer, shadowed)
    ]
    call = (
        "_call_fluent"
        if method.return_kind in (ReturnKind.FLUENT, ReturnKind.OPTIONAL_FLUENT)
        else "_call"
    )
    forward = f"return self.{call}({quoted(method.name)}, *args, **kwargs)"
    implementation = MethodContext(
        _def_header(
            method.name,
            ["*args: object", "**kwargs: object"],
            writer.spell(object, shadowed=shadowed),
            dots=False,
        ),
        docstring(method.doc, 8),
        (Statement(forward, 2),),
        module_only=True,
    )
    return [*contexts, implementation]


def overload_variants(
    where: str, method: Method, writer: TypeWriter, shadowed: frozenset[str]
) -> Iterator[tuple[list[str], str]]:
    """Each ``@overload`` of ``method``: its parameters after ``self``, and what it returns."""
    for variant in method.overloads:
        params, _ = _signature(where, variant.params, writer, shadowed)
        with _located(where):
            yield params, writer.returned(variant.returns, method.return_kind, shadowed)


@contextlib.contextmanager
def _located(where: str) -> Iterator[None]:
    """Prefix an InterfaceError raised inside with the Protocol and method it concerns."""
    try:
        yield
    except InterfaceError as exc:
        raise InterfaceError(f"{where}: {exc}") from None


def _signature(
    where: str,
    params: Sequence[Param],
    writer: TypeWriter,
    shadowed: frozenset[str],
    aliases: Mapping[str, tuple[str, str]] | None = None,
) -> tuple[list[str], list[str]]:
    """(the parameters after ``self``, the arguments forwarding them); a parameter the
    Protocol annotated with an alias (``aliases``) is spelled by its name."""
    parts: list[str] = []
    args: list[str] = []
    kinds = [p.kind for p in params]
    for i, p in enumerate(params):
        if (
            p.kind is ParamKind.KEYWORD_ONLY
            and ParamKind.VAR_POSITIONAL not in kinds
            and (i == 0 or params[i - 1].kind is not ParamKind.KEYWORD_ONLY)
        ):
            parts.append("*")
        with _located(where):
            if aliases and p.name in aliases:  # as the Protocol wrote it
                annotation = writer.named(*aliases[p.name])
            else:
                annotation = writer.spell(p.annotation, shadowed=shadowed)
        text = f"{p.name}: {annotation}"
        if p.has_default:
            text += f" = {writer.default(p.default)}"
        if p.kind is ParamKind.VAR_POSITIONAL:
            parts.append("*" + text)
            args.append(f"*{p.name}")
        elif p.kind is ParamKind.VAR_KEYWORD:
            parts.append("**" + text)
            args.append(f"**{p.name}")
        elif p.kind is ParamKind.KEYWORD_ONLY:
            parts.append(text)
            args.append(f"{p.name}={p.name}")
        else:
            parts.append(text)
            args.append(p.name)
        if p.kind is ParamKind.POSITIONAL_ONLY and (
            i + 1 == len(params) or params[i + 1].kind is not ParamKind.POSITIONAL_ONLY
        ):
            parts.append("/")
    return parts, args
