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
from typedmgr_codegen.render import (
    MethodContext,
    TypeWriter,
    _docstring,
    _located,
    _manager_ref,
    _quoted,
    _signature,
)

__all__ = ["AsyncManagerContext", "AsyncProxyContext", "async_contexts", "async_names"]


@dataclass(frozen=True)
class AsyncProxyContext:
    name: str
    bases: str
    fingerprint: str
    protocol: str
    doc: str | None
    exposed: str
    method_to_typeid: str
    methods: list[MethodContext]
    sync_methods: list[MethodContext]
    """Plain ``def``s: ``__aiter__``."""


@dataclass(frozen=True)
class AsyncManagerContext:
    name: str
    doc: str | None
    methods: list[MethodContext]


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
    sync_methods: list[MethodContext] = []
    for method in interface.methods:
        where = f"{interface.name}.{method.name}"
        if method.name == "__iter__":
            args = typing.get_args(method.returns)
            item = writer.spell(args[0], shadowed=shadowed) if args else "object"
            iterator = (
                f"{writer.imports.alias('collections.abc')}.AsyncIterator[{item}]"
            )
            sync_methods.append(
                MethodContext(
                    "__aiter__",
                    "",
                    iterator,
                    None,
                    f"return {cast}({_quoted(iterator)}, self._aiter())",
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
        signature, call_args = _signature(where, method.params, writer, shadowed)
        with _located(where):
            returns = _returns(method, writer, aio, shadowed)
        quoted = _quoted(method.name if renamed is None else _original(renamed))
        if method.is_property:
            call = f"await self._get({quoted})"
        elif method.is_exit:
            call = f"await self._call_exit({quoted}{call_args})"
        else:
            call = f"await self._call({quoted}{call_args})"
        if method.oneway:
            body = f"await self._send({quoted}{call_args})"
        elif method.return_kind is ReturnKind.SELF:
            body = f"return await self._call_self({quoted}{call_args})"
        elif returns == "None":
            body = call
        else:
            body = f"return {cast}({_quoted(returns)}, {call})"
        methods.append(
            MethodContext(
                method.name, signature, returns, _docstring(method.doc, 8), body
            )
        )
    exposed = ", ".join(_quoted(n) for n in interface.exposed)
    typeids = interface.method_to_typeid
    mapping = ", ".join(f"{_quoted(k)}: {_quoted(typeids[k])}" for k in sorted(typeids))
    bases = f"{aio}.AsyncTypedProxy"
    if interface.type_params:
        params = ", ".join(writer.spell(t) for t in interface.type_params)
        bases += f", {writer.imports.alias('typing', runtime=True)}.Generic[{params}]"
    return AsyncProxyContext(
        name=name,
        bases=bases,
        fingerprint=_quoted(interface.fingerprint),
        protocol=f"{module}.{interface.protocol.__qualname__}",
        doc=_docstring(interface.doc, 4),
        exposed=f"({exposed},)" if len(interface.exposed) == 1 else f"({exposed})",
        method_to_typeid="{" + mapping + "}",
        methods=methods,
        sync_methods=sync_methods,
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
    overload = f"@{writer.imports.alias('typing', runtime=True)}.overload"
    contexts = []
    for variant in method.overloads:
        signature, _ = _signature(where, variant.params, writer, shadowed)
        with _located(where):
            returns = writer.spell(variant.returns, shadowed=shadowed)
        contexts.append(
            MethodContext(method.name, signature, returns, None, "...", overload)
        )
    implementation = MethodContext(
        method.name,
        ", *args: object, **kwargs: object",
        writer.spell(object, shadowed=shadowed),
        _docstring(method.doc, 8),
        f"return await self._call({_quoted(remote)}, *args, **kwargs)",
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
        signature, call_args = _signature(where, params, writer, shadowed)
        protocol = protocol_of(registered)
        assert protocol is not None
        proxy = names[protocol]
        returns = writer.proxy_type(registered, shadowed)
        doc = f"Create a remote ``{protocol.__qualname__}`` and return its async proxy."
        body = f"await self._create({_quoted(typeid)}, {proxy}{call_args})"
        if returns != proxy:
            body = f"{writer.imports.alias('typing', runtime=True)}.cast({_quoted(returns)}, {body})"
        methods.append(
            MethodContext(
                typeid, signature, returns, _docstring(doc, 8), f"return {body}"
            )
        )
    return AsyncManagerContext(
        name=f"Async{manager.__name__}",
        doc=_docstring(
            f"Async client of ``{_manager_ref(manager)}``: "
            "``async with`` it to connect to its server.",
            4,
        ),
        methods=methods,
    )
