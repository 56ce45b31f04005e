"""Template contexts of the async twins: for each Protocol an ``Async<Name>Proxy``, for
each manager an ``Async<Manager>``, beside the sync classes in the same generated module.

The twin of a method is an ``async def`` with the Protocol's parameters. What it returns,
once awaited: a value as the sync proxy returns it; another Protocol's async twin where the
sync proxy gives a proxy; ``typedmgr.AsyncTypedIterator[T]`` (``async for``) where it gives
an iterator; the proxy itself for ``__enter__ -> Self`` and ``-> Self``. Properties and
attributes become methods (``await proxy.size()``): an attribute access cannot await. A
Protocol with ``__enter__`` and ``__exit__`` gets them as ``__aenter__``/``__aexit__``
(``async with``), and the special methods Python calls without awaiting (``len``, ``in``...)
are named methods (``typedmgr._aio.proxy.SPECIAL_NAMES``).
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from collections.abc import Sequence
from dataclasses import dataclass

from typedmgr import TypedManager
from typedmgr._aio.proxy import SPECIAL_NAMES
from typedmgr._model import Interface, Method, ReturnKind
from typedmgr_codegen._aliases import alias_names, inner_aliases
from typedmgr_codegen._contexts import (
    MethodContext,
    ProxyContext,
    _body,
    _inherited,
    _located,
    _signature,
    class_attributes,
    overload_variants,
)
from typedmgr_codegen._layout import Def, Statement
from typedmgr_codegen._managers import creations
from typedmgr_codegen._spelling import TypeWriter, docstring, quoted

__all__ = ["AsyncManagerContext", "async_contexts", "async_names"]


@dataclass(frozen=True)
class AsyncManagerContext:
    name: str
    header: Statement
    doc: str | None
    methods: list[MethodContext]


def _header(
    name: str, params: list[str], returns: str, dots: bool, *, awaits: bool = True
) -> Def:
    """A twin method's ``async def`` (or ``def``) line at one indent, ``self`` first."""
    keyword = "async def" if awaits else "def"
    return Def(
        f"{keyword} {name}", ("self", *params), returns, 1, ": ..." if dots else ":"
    )


def async_names(proxies: dict[type, str]) -> dict[type, str]:
    """The async twin's name of each proxy class: ``CartProxy`` -> ``AsyncCartProxy``."""
    return {protocol: f"Async{name}" for protocol, name in proxies.items()}


def async_contexts(
    interfaces: Sequence[Interface],
    managers: Sequence[type[TypedManager]],
    writer: TypeWriter,
    proxies: dict[type, str],
) -> tuple[list[ProxyContext], list[AsyncManagerContext]]:
    """The template contexts of the async twins; imports and type variables are recorded
    in ``writer``'s (shared with the sync classes)."""
    names = async_names(proxies)
    twin = copy.copy(writer)  # the same imports and type variables, other proxy names
    twin.proxies = names
    return (
        [_proxy(i, names[i.protocol], twin) for i in interfaces],
        [_manager(m, names, twin) for m in managers],
    )


def _returns(method: Method, writer: TypeWriter, shadowed: frozenset[str]) -> str:
    if method.return_kind is ReturnKind.ITERATOR:
        args = typing.get_args(method.returns)
        item = writer.spell(args[0], shadowed=shadowed) if args else "object"
        return f"{writer.imports.alias('typedmgr', runtime=True)}.AsyncTypedIterator[{item}]"
    return writer.returns(method, shadowed)


def _proxy(interface: Interface, name: str, writer: TypeWriter) -> ProxyContext:
    shadowed = frozenset(interface.exposed)
    methods: list[MethodContext] = []
    for method in interface.methods:
        if _inherited(interface, method):
            continue  # the twin of the Protocol it extends has it, with this signature
        where = f"{interface.name}.{method.name}"
        if method.name == "__iter__":
            methods.append(_aiter(method, writer, shadowed))
            continue
        # The Protocol's aliases, named as the sync proxy names them.
        aliases = alias_names(interface, method)
        inner = inner_aliases(interface, method)
        renamed = SPECIAL_NAMES.get(method.name)
        if renamed is not None:
            if renamed in interface.exposed:
                continue  # the Protocol's own method of that name wins
            method = dataclasses.replace(method, name=renamed)
        remote = method.name if renamed is None else _original(renamed)
        if method.overloads:
            methods += _overloaded(where, method, remote, writer, shadowed)
            continue
        with writer.naming(inner):
            parameters, forwarded = _signature(
                where, method.params, writer, shadowed, aliases
            )
            with _located(where):
                returns = _returns(method, writer, shadowed)
        if "return" in aliases and method.return_kind is ReturnKind.VALUE:
            returns = writer.named(*aliases["return"])
        doc = docstring(method.doc, 8)
        methods.append(
            MethodContext(
                _header(method.name, parameters, returns, writer.stub and not doc),
                doc,
                _body(method, returns, forwarded, writer, awaits=True, remote=remote),
            )
        )
    typedmgr = writer.imports.alias("typedmgr", runtime=True)
    header, attributes = class_attributes(
        interface, name, writer, shadowed, f"{typedmgr}.AsyncTypedProxy", twin=True
    )
    return ProxyContext(
        header=header,
        doc=docstring(interface.doc, 4),
        attributes=attributes,
        methods=methods,
    )


def _aiter(
    method: Method, writer: TypeWriter, shadowed: frozenset[str]
) -> MethodContext:
    """``__iter__`` as ``__aiter__`` (not awaited: ``async for`` calls it plainly)."""
    args = typing.get_args(method.returns)
    item = writer.spell(args[0], shadowed=shadowed) if args else "object"
    iterator = f"{writer.imports.alias('collections.abc')}.AsyncIterator[{item}]"
    cast = f"{writer.imports.alias('typing', runtime=True)}.cast"
    return MethodContext(
        _header("__aiter__", [], iterator, writer.stub, awaits=False),
        body=(Statement(f"return {cast}({quoted(iterator)}, self._aiter())", 2),),
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
    contexts = [
        MethodContext(_header(method.name, params, returns, True), decorator=overload)
        for params, returns in overload_variants(where, method, writer, shadowed)
    ]
    forward = f"return await self._call({quoted(remote)}, *args, **kwargs)"
    implementation = MethodContext(
        _header(
            method.name,
            ["*args: object", "**kwargs: object"],
            writer.spell(object, shadowed=shadowed),
            False,
        ),
        docstring(method.doc, 8),
        (Statement(forward, 2),),
        module_only=True,
    )
    return [*contexts, implementation]


def _manager(
    manager: type[TypedManager], names: dict[type, str], writer: TypeWriter
) -> AsyncManagerContext:
    methods = []
    for creation in creations(manager, names, writer):
        doc = (
            f"Create a remote ``{creation.protocol.__qualname__}`` and return its "
            "async proxy."
        )
        args = "".join(f", {a}" for a in creation.call_args)
        body = f"await self._create({quoted(creation.typeid)}, {creation.proxy}{args})"
        if creation.returns != creation.proxy:
            cast = f"{writer.imports.alias('typing', runtime=True)}.cast"
            body = f"{cast}({quoted(creation.returns)}, {body})"
        methods.append(
            MethodContext(
                _header(creation.typeid, creation.params, creation.returns, False),
                docstring(doc, 8),
                (Statement(f"return {body}", 2),),
            )
        )
    name = f"Async{manager.__name__}"
    typedmgr = writer.imports.alias("typedmgr", runtime=True)
    ref = f"{manager.__module__}:{manager.__qualname__}"
    return AsyncManagerContext(
        name=name,
        header=Statement(f"class {name}({typedmgr}.AsyncTypedManager):", 0),
        doc=docstring(
            f"Async client of ``{ref}``: ``async with`` it to connect to its server.", 4
        ),
        methods=methods,
    )
