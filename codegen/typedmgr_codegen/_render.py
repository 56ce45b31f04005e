"""Render: interface models -> template contexts -> source text.

The contexts (``_contexts``) hold every decision as code items, spelled by ``_spelling``; the
templates only lay them out; every item a template prints passes through ``_laid_out``, the
one place the generator's layout (``layout``, not a formatter: see there why) breaks lines.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import jinja2

from typedmgr import RUNTIME_API, TypedManager
from typedmgr._model import (
    Interface,
    InterfaceError,
    protocol_of,
    signature_of,
)
from typedmgr._model.walk import reachable
from typedmgr_codegen import __version__
from typedmgr_codegen._async_contexts import async_contexts, async_names
from typedmgr_codegen._contexts import manager_ref, proxy_context
from typedmgr_codegen._imports import Imports
from typedmgr_codegen._layout import Def, Statement, lay_out
from typedmgr_codegen._managers import manager_context
from typedmgr_codegen._spelling import TypeWriter, quoted

__all__ = ["GENERATED_MARK", "GeneratedModule", "collect_interfaces", "render_module"]

# Spelled in two pieces so tools do not take this file itself for generated code.
GENERATED_MARK = "@" + "generated"


def _laid_out(value: object) -> object:
    """Each ``{{ ... }}`` of the templates: a code item laid out, anything else as it is."""
    if isinstance(value, (Statement, Def)):
        return lay_out(value)
    return value


_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("typedmgr_codegen", "templates"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,
    finalize=_laid_out,
)


@dataclass(frozen=True)
class GeneratedModule:
    """The two files generated for one module: the proxy module and its stub."""

    source: str
    stub: str


def collect_interfaces(managers: Sequence[type[TypedManager]]) -> list[Interface]:
    """Every Protocol the managers register, and every Protocol those return, in a stable order."""
    # The model decides what is reachable, for the generator as for register().
    roots: list[type] = []
    for manager in managers:
        for registered, _, _ in manager._protocols_.values():
            protocol = protocol_of(registered)
            assert protocol is not None
            roots.append(protocol)
    return list(reachable(*roots))


def render_module(managers: Sequence[type[TypedManager]]) -> GeneratedModule:
    """Render the proxy module and stub for ``managers`` (one generated module for all).

    The text is laid out by ``layout``, not by a formatter: see there why.
    """
    interfaces = collect_interfaces(managers)
    proxies = _proxy_names(interfaces)
    sources = ", ".join(manager_ref(m) for m in managers)
    header = f"# {GENERATED_MARK} by typedmgr-codegen {__version__} from {sources} - do not edit"
    rendered: dict[bool, str] = {}
    reserved = _parameter_names(interfaces, managers)
    # jedi takes a method for overloaded only under a decorator spelled ``overload``; a
    # manager named so would hide it: then ``@_typing.overload``, as in a class with a
    # method of that name.
    bare_overload = "overload" not in {m.__name__ for m in managers}
    for stub in (False, True):
        imports = Imports(
            reserved=reserved, blocked=_blocked_names(interfaces, managers, proxies)
        )
        writer = TypeWriter(imports, proxies, stub=stub)
        typedmgr = imports.alias("typedmgr", runtime=True)
        proxy_contexts = [
            proxy_context(i, proxies[i.protocol], writer, bare_overload)
            for i in interfaces
        ]
        manager_contexts = [manager_context(m, proxies, writer) for m in managers]
        async_proxies, async_managers = async_contexts(
            interfaces, managers, writer, proxies
        )
        type_vars = [Statement(d, 0) for d in writer.type_var_declarations()]
        runtime, typing_only = imports.lines(stub=stub)
        all_names = sorted(
            [
                *proxies.values(),
                *(m.__name__ for m in managers),
                *async_names(proxies).values(),
                *(f"Async{m.__name__}" for m in managers),
            ]
        )
        template = _TEMPLATES.get_template("proxy.pyi.j2" if stub else "proxy.py.j2")
        text = template.render(
            header=header,
            runtime_imports=runtime,
            typing_imports=typing_only,
            typing_alias=imports.alias("typing", runtime=True),
            all_names=Statement(
                f"__all__ = [{', '.join(quoted(n) for n in all_names)}]", 0
            ),
            runtime_api=Statement(
                f"{typedmgr}.require_runtime_api({RUNTIME_API}, __name__)", 0
            ),
            type_vars=type_vars,
            proxies=proxy_contexts,
            managers=manager_contexts,
            async_proxies=async_proxies,
            async_managers=async_managers,
        )
        rendered[stub] = text
    return GeneratedModule(rendered[False], rendered[True])


def _parameter_names(
    interfaces: Iterable[Interface], managers: Sequence[type[TypedManager]]
) -> frozenset[str]:
    """Every parameter name of the generated methods: a body must still see its aliases."""
    names = {
        p.name
        for i in interfaces
        for m in i.methods
        for params in (m.params, *(o.params for o in m.overloads))
        for p in params
    }
    for manager in managers:
        for typeid, (_, factory, create) in manager._protocols_.items():
            if create and factory is not None:
                where = f"{manager.__qualname__}.{typeid}"
                names.update(p.name for p in signature_of(where, factory))
    return frozenset(names)


def _blocked_names(
    interfaces: Iterable[Interface],
    managers: Sequence[type[TypedManager]],
    proxies: dict[type, str],
) -> frozenset[str]:
    """Names an imported name may not take: what the module defines, what class bodies
    define (a method hides a module name in its class's annotations), and builtins."""
    return frozenset(
        {
            *proxies.values(),
            *(m.__name__ for m in managers),
            *async_names(proxies).values(),
            *(f"Async{m.__name__}" for m in managers),
            *(name for i in interfaces for name in i.exposed),
            *(typeid for m in managers for typeid in m._protocols_),
            *vars(builtins),
            "annotations",  # bound by ``from __future__ import annotations``
        }
    )


def _proxy_names(interfaces: Iterable[Interface]) -> dict[type, str]:
    names: dict[type, str] = {}
    taken: dict[str, Interface] = {}
    for interface in interfaces:
        name = f"{interface.name}Proxy"
        if name in taken:
            raise InterfaceError(
                f"{interface.module}.{interface.name} and {taken[name].module}."
                f"{interface.name} would both generate {name}; rename one Protocol"
            )
        taken[name] = interface
        names[interface.protocol] = name
    return names
