"""Template contexts of the managers: each registration's creation method, as a sync
manager and its async twin spell it (``creations``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from typedmgr import TypedManager
from typedmgr._model import Param, ParamKind, protocol_of, signature_of
from typedmgr_codegen._contexts import (
    MethodContext,
    _def_header,
    _signature,
    manager_ref,
)
from typedmgr_codegen._layout import Statement
from typedmgr_codegen._spelling import TypeWriter, docstring, quoted

__all__ = ["Creation", "ManagerContext", "creations", "manager_context"]


@dataclass(frozen=True)
class ManagerContext:
    name: str
    source: str
    doc: str | None
    methods: list[MethodContext]


@dataclass(frozen=True)
class Creation:
    """A manager's creation method, as a sync or an async client spells it."""

    typeid: str
    protocol: type
    factory: object
    params: list[str]
    call_args: list[str]
    proxy: str
    """The proxy class the method makes (unparametrized)."""
    returns: str


def creations(
    manager: type[TypedManager], proxies: dict[type, str], writer: TypeWriter
) -> Iterator[Creation]:
    """The creation methods of ``manager``'s registrations, by typeid."""
    registered_with = {t: r for t, r in manager._protocols_.items() if r[2]}
    shadowed = frozenset(registered_with)
    for typeid in sorted(registered_with):
        registered, factory, _ = registered_with[typeid]
        where = f"{manager.__qualname__}.{typeid}"
        if factory is None:
            params: tuple[Param, ...] = (
                Param("obj", ParamKind.POSITIONAL_ONLY, object),
            )
        else:
            params = signature_of(where, factory)
        signature, call_args = _signature(where, params, writer, shadowed)
        protocol = protocol_of(registered)
        assert protocol is not None
        yield Creation(
            typeid,
            protocol,
            factory,
            signature,
            call_args,
            proxies[protocol],
            writer.proxy_type(registered, shadowed),
        )


def manager_context(
    manager: type[TypedManager], proxies: dict[type, str], writer: TypeWriter
) -> ManagerContext:
    methods = []
    for creation in creations(manager, proxies, writer):
        factory = creation.factory
        made_by = (
            f" with ``{factory.__module__}.{factory.__qualname__}``"  # type: ignore[attr-defined]
            if factory
            else ""
        )
        doc = (
            f"Create a remote ``{creation.protocol.__qualname__}``{made_by} and return "
            "its proxy."
        )
        args = "".join(f", {a}" for a in creation.call_args)
        body = f"self._create_proxy({quoted(creation.typeid)}, {creation.proxy}{args})"
        if creation.returns != creation.proxy:
            # A parametrized generic proxy: the class object is unparametrized.
            body = f"{writer.imports.alias('typing', runtime=True)}.cast({quoted(creation.returns)}, {body})"
        methods.append(
            MethodContext(
                _def_header(
                    creation.typeid, creation.params, creation.returns, dots=False
                ),
                docstring(doc, 8),
                (Statement(f"return {body}", 2),),
            )
        )
    return ManagerContext(
        name=manager.__name__,
        source=quoted(manager_ref(manager)),
        doc=docstring(
            f"Typed client of ``{manager_ref(manager)}``: connect() to its server, or start() one.",
            4,
        ),
        methods=methods,
    )
