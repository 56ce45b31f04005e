"""Render the async twins: for each Protocol an ``Async<Name>Proxy``, for each manager an
``Async<Manager>``, beside the sync classes in the same generated module.

The twin of a method is an ``async def`` with the Protocol's parameters. What it returns,
once awaited: a value as the sync proxy returns it; another Protocol's async twin where the
sync proxy gives a proxy; ``typedmgr.aio.AsyncTypedIterator[T]`` (``async for``) where it
gives an iterator; the proxy itself for ``__enter__ -> Self``. Properties and attributes
become methods (``await proxy.size()``): an attribute access cannot await. A Protocol with
``__enter__`` and ``__exit__`` gets them as ``__aenter__``/``__aexit__`` (``async with``),
and the special methods Python calls without awaiting (``len``, ``in``...) are named
methods (``typedmgr.aio.SPECIAL_NAMES``).
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from collections.abc import Sequence
from dataclasses import dataclass

from typedmgr import TypedManager
from typedmgr.aio import SPECIAL_NAMES
from typedmgr.model import (
    Interface,
    Method,
    Param,
    ParamKind,
    ReturnKind,
    protocol_of,
    signature_of,
)
from typedmgr_codegen.layout import render_def, render_statement
from typedmgr_codegen.render import (
    MethodContext,
    TypeWriter,
    _body,
    _docstring,
    _inherited,
    _located,
    _manager_ref,
    _quoted,
    _signature,
)

__all__ = ["AsyncManagerContext", "AsyncProxyContext", "async_contexts", "async_names"]


@dataclass(frozen=True)
class AsyncProxyContext:
    name: str
    header: str
    doc: str | None
    attributes: list[str]
    methods: list[MethodContext]
    """``async def``s, and plain ``def``s where Python calls without awaiting
    (``__aiter__``)."""


@dataclass(frozen=True)
class AsyncManagerContext:
    name: str
    header: str
    doc: str | None
    methods: list[MethodContext]


def _header(
    name: str,
    params: list[str],
    returns: str,
    stub: bool,
    *,
    dots: bool = False,
    awaits: bool = True,
) -> str:
    """A twin method's ``async def`` (or ``def``) line(s) at one indent, ``self`` first."""
    keyword = "async def" if awaits else "def"
    suffix = ": ..." if stub or dots else ":"
    return render_def(f"{keyword} {name}", ["self", *params], returns, 1, suffix)


def _arguments(args: list[str]) -> str:
    return "".join(f", {a}" for a in args)


def async_names(proxies: dict[type, str]) -> dict[type, str]:
    """The async twin's name of each proxy class: ``CartProxy`` -> ``AsyncCartProxy``."""
    return {protocol: f"Async{name}" for protocol, name in proxies.items()}


def async_contexts(
    interfaces: Sequence[Interface],
    managers: Sequence[type[TypedManager]],
    writer: TypeWriter,
    proxies: dict[type, str],
) -> tuple[list[AsyncProxyContext], list[AsyncManagerContext]]:
    """The template contexts of the async twins; imports and type variables are recorded
    in ``writer``'s (shared with the sync classes)."""
    names = async_names(proxies)
    twin = copy.copy(writer)  # the same imports and type variables, other proxy names
    twin.proxies = names
    aio = twin.imports.alias("typedmgr.aio", runtime=True)
    return (
        [_proxy(i, names[i.protocol], twin, aio) for i in interfaces],
        [_manager(m, names, twin, aio) for m in managers],
    )


def _returns(
    method: Method, writer: TypeWriter, aio: str, shadowed: frozenset[str]
) -> str:
    if method.return_kind is ReturnKind.ITERATOR:
        args = typing.get_args(method.returns)
        item = writer.spell(args[0], shadowed=shadowed) if args else "object"
        return f"{aio}.AsyncTypedIterator[{item}]"
    return writer.returns(method, shadowed)


def _proxy(
    interface: Interface, name: str, writer: TypeWriter, aio: str
) -> AsyncProxyContext:
    shadowed = frozenset(interface.exposed)
    module = writer.imports.alias(interface.module, runtime=True, in_stub=False)
    cast = f"{writer.imports.alias('typing', runtime=True)}.cast"
    methods: list[MethodContext] = []
    for method in interface.methods:
        if _inherited(interface, method):
            continue  # the twin of the Protocol it extends has it, with this signature
        where = f"{interface.name}.{method.name}"
        if method.name == "__iter__":
            args = typing.get_args(method.returns)
            item = writer.spell(args[0], shadowed=shadowed) if args else "object"
            iterator = (
                f"{writer.imports.alias('collections.abc')}.AsyncIterator[{item}]"
            )
            methods.append(
                MethodContext(
                    _header("__aiter__", [], iterator, writer.stub, awaits=False),
                    body=render_statement(
                        f"return {cast}({_quoted(iterator)}, self._aiter())", 2
                    ),
                )
            )
            continue
        renamed = SPECIAL_NAMES.get(method.name)
        if renamed is not None:
            if renamed in interface.exposed:
                continue  # the Protocol's own method of that name wins
            method = dataclasses.replace(method, name=renamed)
        if method.overloads:
            remote = method.name if renamed is None else _original(renamed)
            methods += _overloaded(where, method, remote, writer, shadowed)
            continue
        parameters, forwarded = _signature(where, method.params, writer, shadowed)
        with _located(where):
            returns = _returns(method, writer, aio, shadowed)
        remote = method.name if renamed is None else _original(renamed)
        methods.append(
            MethodContext(
                _header(method.name, parameters, returns, writer.stub),
                _docstring(method.doc, 8),
                _body(method, returns, forwarded, writer, awaits=True, remote=remote),
            )
        )
    exposed = ", ".join(_quoted(n) for n in interface.exposed)
    typeids = interface.method_to_typeid
    mapping = ", ".join(f"{_quoted(k)}: {_quoted(typeids[k])}" for k in sorted(typeids))
    # The twins of the Protocols it extends, with their type arguments, as for the sync
    # proxies: an ``AsyncBlobProxy`` is an ``AsyncReadableProxy``.
    extended = [writer.proxy_type(base, shadowed) for base in interface.bases]
    bases = ", ".join(extended) or f"{aio}.AsyncTypedProxy"
    typing_alias = writer.imports.alias("typing", runtime=True)
    if interface.type_params:
        params_text = ", ".join(writer.spell(t) for t in interface.type_params)
        bases += f", {typing_alias}.Generic[{params_text}]"
    exposed_value = f"({exposed},)" if len(interface.exposed) == 1 else f"({exposed})"
    attributes = [
        f"_protocol_: {typing_alias}.ClassVar[type] = "
        f"{module}.{interface.protocol.__qualname__}",
        f"_exposed_: {typing_alias}.ClassVar[tuple[str, ...]] = {exposed_value}",
        f"_method_to_typeid_: {typing_alias}.ClassVar[dict[str, str]] = {{{mapping}}}",
        f"_fingerprint_ = {_quoted(interface.fingerprint)}",
    ]
    return AsyncProxyContext(
        name=name,
        header=render_statement(f"class {name}({bases}):", 0),
        doc=_docstring(interface.doc, 4),
        attributes=[render_statement(a, 1) for a in attributes],
        methods=methods,
    )


def _original(renamed: str) -> str:
    return next(k for k, v in SPECIAL_NAMES.items() if v == renamed)


def _overloaded(
    where: str,
    method: Method,
    remote: str,
    writer: TypeWriter,
    shadowed: frozenset[str],
) -> list[MethodContext]:
    # Bare where no member shadows it, as in the sync proxies (jedi needs the bare name).
    if "overload" not in shadowed and writer.imports.overload():
        overload = "@overload"
    else:
        overload = f"@{writer.imports.alias('typing', runtime=True)}.overload"
    contexts = []
    for variant in method.overloads:
        params, _ = _signature(where, variant.params, writer, shadowed)
        with _located(where):
            returns = writer.returned(variant.returns, method.return_kind, shadowed)
        header = _header(method.name, params, returns, writer.stub, dots=True)
        contexts.append(MethodContext(header, decorator=overload))
    implementation = MethodContext(
        _header(
            method.name,
            ["*args: object", "**kwargs: object"],
            writer.spell(object, shadowed=shadowed),
            writer.stub,
        ),
        _docstring(method.doc, 8),
        render_statement(
            f"return await self._call({_quoted(remote)}, *args, **kwargs)", 2
        ),
        module_only=True,
    )
    return [*contexts, implementation]


def _manager(
    manager: type[TypedManager], names: dict[type, str], writer: TypeWriter, aio: str
) -> AsyncManagerContext:
    creations = {t: r for t, r in manager._protocols_.items() if r[2]}
    shadowed = frozenset(creations)
    methods = []
    for typeid in sorted(creations):
        registered, factory, _ = creations[typeid]
        where = f"{manager.__qualname__}.{typeid}"
        params: tuple[Param, ...] = (
            (Param("obj", ParamKind.POSITIONAL_ONLY, object),)
            if factory is None
            else signature_of(where, factory)
        )
        params_text, args = _signature(where, params, writer, shadowed)
        protocol = protocol_of(registered)
        assert protocol is not None
        proxy = names[protocol]
        returns = writer.proxy_type(registered, shadowed)
        doc = f"Create a remote ``{protocol.__qualname__}`` and return its async proxy."
        body = f"await self._create({_quoted(typeid)}, {proxy}{_arguments(args)})"
        if returns != proxy:
            body = f"{writer.imports.alias('typing', runtime=True)}.cast({_quoted(returns)}, {body})"
        methods.append(
            MethodContext(
                _header(typeid, params_text, returns, writer.stub),
                _docstring(doc, 8),
                render_statement(f"return {body}", 2),
            )
        )
    name = f"Async{manager.__name__}"
    return AsyncManagerContext(
        name=name,
        header=render_statement(f"class {name}({aio}.AsyncTypedManager):", 0),
        doc=_docstring(
            f"Async client of ``{_manager_ref(manager)}``: "
            "``async with`` it to connect to its server.",
            4,
        ),
        methods=methods,
    )
