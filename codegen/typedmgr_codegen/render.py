"""Render: interface models -> template context -> source text.

Every decision about the generated code is made here, as ready-made strings; the templates only
lay them out. Imports are collected while the body is rendered, each aliased with a leading
underscore (``import shop.api as _shop_api``) so no user name can collide with them.
"""

from __future__ import annotations

import builtins
import collections.abc
import contextlib
import enum
import importlib
import sys
import types
import typing
import typing_extensions
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from typedmgr import TypedManager
from typedmgr.model import (
    Interface,
    InterfaceError,
    Method,
    Param,
    ParamKind,
    ReturnKind,
    interface_of,
    protocol_of,
    signature_of,
)
from typedmgr_codegen import __version__
from typedmgr_codegen.format import format_source

__all__ = ["GeneratedModule", "collect_interfaces", "render_module"]

# Spelled in two pieces so tools do not take this file itself for generated code.
GENERATED_MARK = "@" + "generated"

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("typedmgr_codegen", "templates"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,
)

_BARE_TUPLE: object = typing.Tuple  # noqa: UP006 - unlike tuple[()], a bare Tuple has no args
_BUILTIN_GENERICS = {list, dict, tuple, set, frozenset, type}
_SPECIAL_FORMS = {
    typing.Any: "Any",
    typing.NoReturn: "NoReturn",
    typing_extensions.Never: "Never",
    typing_extensions.LiteralString: "LiteralString",
}


@dataclass(frozen=True)
class GeneratedModule:
    """The two files generated for one module: the proxy module and its stub."""

    source: str
    stub: str


@dataclass
class Imports:
    """Modules the generated code refers to, each under a collision-free alias."""

    runtime: set[str] = field(default_factory=set)
    typing_only: set[str] = field(default_factory=set)
    stub: set[str] = field(default_factory=set)
    reserved: frozenset[str] = frozenset()
    """Names the generated code binds otherwise (parameters), which no alias may take."""
    names: dict[str, str] = field(default_factory=dict)

    def alias(self, module: str, *, runtime: bool = False, in_stub: bool = True) -> str:
        """The alias of ``module``, recorded as needed at run time or only for typing."""
        (self.runtime if runtime else self.typing_only).add(module)
        if in_stub:
            self.stub.add(module)
        name = self.names.get(module)
        if name is None:
            # ``_io`` -> ``_io``, never ``__io``: a double underscore is mangled in a class.
            name = "_" + module.replace(".", "_").lstrip("_")
            while name in self.reserved or name in self.names.values():
                name += "_"  # ``a.b`` and ``a_b``, or a parameter named like the alias
            self.names[module] = name
        return name

    def lines(self, *, stub: bool) -> tuple[list[str], list[str]]:
        """(imports needed at run time, imports needed only by type checkers), isort-ed."""
        if stub:
            return self._block(self.stub), []
        return self._block(self.runtime), self._block(self.typing_only - self.runtime)

    def _block(self, modules: set[str]) -> list[str]:
        """Standard library first, then the rest, a blank line between: isort's sections.

        ``typing_extensions``, typing's backport, sorts with the standard library (ruff's
        ``extra-standard-library``, as this repository configures it).
        """
        stdlib = sorted(
            m
            for m in modules
            if m.partition(".")[0] in sys.stdlib_module_names
            or m == "typing_extensions"
        )
        others = sorted(modules.difference(stdlib))
        lines = [f"import {m} as {self.names[m]}" for m in stdlib]
        if stdlib and others:
            lines.append("")
        return lines + [f"import {m} as {self.names[m]}" for m in others]


class TypeWriter:
    """Spells evaluated annotations as source text, collecting the imports they need."""

    def __init__(
        self, imports: Imports, proxies: dict[type, str], *, stub: bool = False
    ) -> None:
        self.imports = imports
        self.proxies = proxies
        self.stub = stub
        self.type_vars: dict[str, typing.TypeVar] = {}

    def spell(self, tp: object, *, shadowed: frozenset[str] = frozenset()) -> str:
        """Source text for annotation ``tp``; builtins in ``shadowed`` go via ``builtins``."""
        if tp is None or tp is type(None):
            return "None"
        if tp is Ellipsis:
            return "..."
        if isinstance(tp, list):
            return "[" + ", ".join(self.spell(a, shadowed=shadowed) for a in tp) + "]"
        for form, name in _SPECIAL_FORMS.items():
            if tp is form:
                return f"{self.imports.alias('typing')}.{name}"
        if (
            tp is typing_extensions.Self
        ):  # typing's only from 3.11 on: spelled alike everywhere
            return f"{self.imports.alias('typing_extensions')}.Self"
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Union or isinstance(tp, types.UnionType):
            return " | ".join(self.spell(a, shadowed=shadowed) for a in args)
        if origin is typing.Literal:
            values = ", ".join(self.literal(a, runtime=False) for a in args)
            return f"{self.imports.alias('typing')}.Literal[{values}]"
        if origin is typing_extensions.Annotated or origin is typing.Annotated:
            return self.spell(args[0], shadowed=shadowed)
        if origin is tuple and args in ((), ((),)) and tp is not _BARE_TUPLE:
            return f"{self.spell(tuple, shadowed=shadowed)}[()]"  # the empty tuple
        if origin is not None and not args:  # a bare ``typing.List``
            return self.spell(origin, shadowed=shadowed)
        if origin is not None:
            inner = ", ".join(self.spell(a, shadowed=shadowed) for a in args)
            return f"{self.spell(origin, shadowed=shadowed)}[{inner}]"
        if isinstance(tp, typing.TypeVar):
            return self._type_var(tp)
        if isinstance(tp, type):
            return self._class(tp, shadowed)
        if callable(tp) and hasattr(tp, "__supertype__"):  # typing.NewType
            return f"{self.imports.alias(tp.__module__)}.{tp.__qualname__}"  # type: ignore[attr-defined]
        raise InterfaceError(f"cannot spell the annotation {tp!r}")

    def _class(self, cls: type, shadowed: frozenset[str]) -> str:
        if (
            cls.__module__ == "builtins"
            and getattr(builtins, cls.__name__, None) is not cls
        ):
            # ``TracebackType`` says builtins.traceback: name it as ``types`` does.
            name = next((n for n, v in sorted(vars(types).items()) if v is cls), None)
            if name is None:
                raise InterfaceError(f"cannot spell the annotation {cls!r}")
            return f"{self.imports.alias('types')}.{name}"
        if cls.__module__ == "builtins":
            if cls.__name__ in shadowed:
                return f"{self.imports.alias('builtins')}.{cls.__name__}"
            return cls.__name__
        if cls.__module__ == "collections.abc" or (
            cls.__module__ == "_collections_abc"
            and hasattr(collections.abc, cls.__name__)
        ):
            return f"{self.imports.alias('collections.abc')}.{cls.__name__}"
        return f"{self.imports.alias(_public_module(cls))}.{cls.__qualname__}"

    def default(self, value: object) -> str:
        """A parameter default; in a stub only simple literals are spelled, else ``...``."""
        if self.stub and isinstance(value, (enum.Enum, frozenset)):
            return "..."
        return self.literal(value)

    def literal(self, value: object, *, runtime: bool = True) -> str:
        """Source text of a default or ``Literal`` value, as ruff would quote it.

        ``runtime=False``: inside an annotation, so an enum's module is imported for typing only.
        """
        if isinstance(value, enum.Enum):
            owner = type(value)
            module = self.imports.alias(_public_module(owner), runtime=runtime)
            return f"{module}.{owner.__qualname__}.{value.name}"
        if isinstance(value, str):
            return _quoted(value)
        if isinstance(value, bytes):
            return (
                "b" + _quoted(value.decode("latin-1"))
                if value.isascii()
                else repr(value)
            )
        if isinstance(value, tuple):
            items = [self.literal(v, runtime=runtime) for v in value]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        if isinstance(value, frozenset):
            items = sorted(self.literal(v, runtime=runtime) for v in value)
            return f"frozenset({{{', '.join(items)}}})" if items else "frozenset()"
        return repr(value)

    def _type_var(self, tv: typing.TypeVar) -> str:
        """A type variable's module-private name (``T`` -> ``_T``), declared once.

        Type variables alike in name, bound, constraints and variance share it: each PEP 695
        class (``class Box[T]``, ``class Crate[T]``) has a ``T`` of its own.
        """
        name = tv.__name__ if tv.__name__.startswith("_") else f"_{tv.__name__}"
        known = self.type_vars.setdefault(name, tv)
        if known is not tv and _type_var_definition(known) != _type_var_definition(tv):
            raise InterfaceError(
                f"two different type variables are both named {tv.__name__}; rename one"
            )
        return name

    def type_var_declarations(self) -> list[str]:
        """``T = TypeVar("T", ...)`` for each type variable the module uses, sorted."""
        lines = []
        for name, tv in sorted(self.type_vars.items()):
            options = [_quoted(name)]
            options += [self._forward(c) for c in tv.__constraints__]
            if tv.__bound__ is not None:
                options.append(f"bound={self._forward(tv.__bound__)}")
            # A type variable whose variance is inferred (PEP 695's, or ``infer_variance=True``)
            # is declared invariant: mypy accepts ``infer_variance`` on no TypeVar() call,
            # and a proxy class is nominal, so invariance is sound (if less permissive).
            if tv.__covariant__:
                options.append("covariant=True")
            if tv.__contravariant__:
                options.append("contravariant=True")
            lines.append(
                f"{name} = {self.imports.alias('typing', runtime=True)}.TypeVar({', '.join(options)})"
            )
        return lines

    def _forward(self, tp: object) -> str:
        """A type as a TypeVar option: quoted in a module, where its import may be typing-only."""
        spelled = self.spell(tp)
        return spelled if self.stub else _quoted(spelled)

    def proxy_type(self, annotation: object, shadowed: frozenset[str]) -> str:
        """The proxy class standing for a Protocol annotation, with its type arguments."""
        protocol = protocol_of(annotation)
        assert protocol is not None
        name = self.proxies[protocol]
        args = typing.get_args(annotation) if annotation is not protocol else ()
        if not args:
            return name
        return f"{name}[{', '.join(self.spell(a, shadowed=shadowed) for a in args)}]"

    def returns(self, method: Method, shadowed: frozenset[str]) -> str:
        if method.return_kind is ReturnKind.SELF:  # the proxy returns itself
            return self.spell(typing_extensions.Self)
        if (
            method.return_kind is ReturnKind.ITERATOR
            and typing.get_origin(method.returns) is collections.abc.Generator
        ):
            # The caller gets an iterator proxy: no send() or throw() to promise.
            item = typing.get_args(method.returns)[0]
            return self.spell(collections.abc.Iterator[item], shadowed=shadowed)  # type: ignore[valid-type]
        if method.return_kind in (ReturnKind.VALUE, ReturnKind.ITERATOR):
            return self.spell(method.returns, shadowed=shadowed)
        if method.return_kind is ReturnKind.REMOTE:
            return self.proxy_type(method.returns, shadowed)
        remote = next(a for a in typing.get_args(method.returns) if protocol_of(a))
        return f"{self.proxy_type(remote, shadowed)} | None"


def _type_var_definition(tv: typing.TypeVar) -> tuple[object, ...]:
    return (
        tv.__name__,
        tv.__bound__,
        tv.__constraints__,
        tv.__covariant__,
        tv.__contravariant__,
        getattr(tv, "__infer_variance__", False),
    )


def _public_module(cls: type) -> str:
    """The module to import ``cls`` from: its public home when ``__module__`` is private.

    ``pathlib.Path`` says ``pathlib._local`` on 3.13 and ``io.BytesIO`` says ``_io``; type
    checkers know them as ``pathlib.Path`` and ``io.BytesIO``, on every Python.
    """
    module = cls.__module__
    parts = module.split(".")
    private = [i for i, part in enumerate(parts) if part.startswith("_")]
    if not private:
        return module
    candidates = [".".join(parts[: private[0]])] if private[0] else []
    if private[0] == 0 and parts[0].lstrip("_") in sys.stdlib_module_names:
        candidates.append(".".join([parts[0].lstrip("_"), *parts[1:]]))
    for candidate in candidates:
        try:
            found: object = importlib.import_module(candidate)
        except ImportError:
            continue
        for name in cls.__qualname__.split("."):
            found = getattr(found, name, None)
        if found is cls:
            return candidate
    return module


def _docstring(text: str | None, indent: int) -> str | None:
    """A docstring literal whose continuation lines sit at ``indent`` spaces."""
    if not text:
        return None
    body = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if body.endswith('"'):
        body += " "
    pad = " " * indent
    lines = [pad + line if line else "" for line in body.splitlines()]
    if len(lines) == 1:
        return f'"""{body}"""'
    return '"""' + "\n".join(lines).lstrip() + "\n" + pad + '"""'


def _quoted(text: str) -> str:
    body = repr(text)
    if body.startswith("'") and '"' not in text:
        return '"' + body[1:-1].replace("\\'", "'") + '"'
    return body


@dataclass(frozen=True)
class MethodContext:
    name: str
    signature: str
    returns: str
    doc: str | None
    body: str
    decorator: str | None = None
    module_only: bool = False
    """An overloaded method's implementation: in the .py, never in the stub."""


@dataclass(frozen=True)
class ProxyContext:
    name: str
    bases: str
    fingerprint: str
    protocol: str
    doc: str | None
    exposed: str
    method_to_typeid: str
    methods: list[MethodContext]


@dataclass(frozen=True)
class ManagerContext:
    name: str
    source: str
    doc: str | None
    methods: list[MethodContext]


def collect_interfaces(managers: Sequence[type[TypedManager]]) -> list[Interface]:
    """Every Protocol the managers register, and every Protocol those return, in a stable order."""
    found: dict[type, Interface] = {}

    def visit(protocol: type) -> None:
        if protocol in found:
            return
        found[protocol] = interface = interface_of(protocol)
        for method in interface.methods:
            if method.remote is not None:
                visit(method.remote)

    for manager in managers:
        for registered, _, _ in manager._protocols_.values():
            protocol = protocol_of(registered)
            assert protocol is not None
            visit(protocol)
    return sorted(found.values(), key=lambda i: (i.module, i.protocol.__qualname__))


def render_module(managers: Sequence[type[TypedManager]]) -> GeneratedModule:
    """Render the proxy module and stub for ``managers`` (one generated module for all)."""
    from typedmgr_codegen import render_async  # it builds on this module

    interfaces = collect_interfaces(managers)
    proxies = _proxy_names(interfaces)
    sources = ", ".join(_manager_ref(m) for m in managers)
    header = f"# {GENERATED_MARK} by typedmgr-codegen {__version__} from {sources} - do not edit"
    rendered: dict[bool, str] = {}
    reserved = _parameter_names(interfaces, managers)
    for stub in (False, True):
        imports = Imports(reserved=reserved)
        writer = TypeWriter(imports, proxies, stub=stub)
        imports.alias("typedmgr", runtime=True)
        proxy_contexts = [
            _proxy_context(i, proxies[i.protocol], writer) for i in interfaces
        ]
        manager_contexts = [_manager_context(m, proxies, writer) for m in managers]
        async_proxies, async_managers = render_async.async_contexts(
            interfaces, managers, writer, proxies
        )
        type_vars = writer.type_var_declarations()
        runtime, typing_only = imports.lines(stub=stub)
        template = _TEMPLATES.get_template("proxy.pyi.j2" if stub else "proxy.py.j2")
        text = template.render(
            header=header,
            runtime_imports=runtime,
            typing_imports=typing_only,
            typing_alias=imports.alias("typing", runtime=True),
            type_vars=type_vars,
            proxies=proxy_contexts,
            managers=manager_contexts,
            async_proxies=async_proxies,
            async_managers=async_managers,
            aio_alias=imports.alias("typedmgr.aio", runtime=True),
            all_names=sorted(
                [
                    *proxies.values(),
                    *(m.__name__ for m in managers),
                    *(p.name for p in async_proxies),
                    *(m.name for m in async_managers),
                ]
            ),
        )
        rendered[stub] = format_source(text, stub=stub)
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


def _manager_ref(manager: type) -> str:
    return f"{manager.__module__}:{manager.__qualname__}"


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


def _proxy_context(interface: Interface, name: str, writer: TypeWriter) -> ProxyContext:
    shadowed = frozenset(interface.exposed)
    module = writer.imports.alias(interface.module, runtime=True, in_stub=False)
    protocol = f"{module}.{interface.protocol.__qualname__}"
    methods = []
    for method in interface.methods:
        if method.overloads:
            methods += _overloaded(interface, method, writer, shadowed)
            continue
        where = f"{interface.name}.{method.name}"
        signature, call_args = _signature(where, method.params, writer, shadowed)
        with _located(where):
            returns = writer.returns(method, shadowed)
        call = f"self._call({_quoted(method.name)}{call_args})"
        if method.is_property:
            call = f"self._get({_quoted(method.name)})"
        elif method.is_exit:
            call = f"self._call_exit({_quoted(method.name)}{call_args})"
        if method.oneway:
            body = f"self._send({_quoted(method.name)}{call_args})"
        elif method.return_kind is ReturnKind.SELF:
            body = f"return self._call_self({_quoted(method.name)}{call_args})"
        elif returns == "None":
            body = call
        else:
            cast = f"{writer.imports.alias('typing', runtime=True)}.cast"
            body = f"return {cast}({_quoted(returns)}, {call})"
        methods.append(
            MethodContext(
                method.name,
                signature,
                returns,
                _docstring(method.doc, 8),
                body,
                _property_decorator(writer, shadowed) if method.is_property else None,
            )
        )
    exposed = ", ".join(_quoted(n) for n in interface.exposed)
    typeids = interface.method_to_typeid
    mapping = ", ".join(f"{_quoted(k)}: {_quoted(typeids[k])}" for k in sorted(typeids))
    bases = "_typedmgr.TypedProxy"
    if interface.type_params:
        params = ", ".join(writer.spell(t) for t in interface.type_params)
        bases += f", {writer.imports.alias('typing', runtime=True)}.Generic[{params}]"
    return ProxyContext(
        name=name,
        bases=bases,
        fingerprint=_quoted(interface.fingerprint),
        protocol=protocol,
        doc=_docstring(interface.doc, 4),
        exposed=f"({exposed},)" if len(interface.exposed) == 1 else f"({exposed})",
        method_to_typeid="{" + mapping + "}",
        methods=methods,
    )


def _property_decorator(writer: TypeWriter, shadowed: frozenset[str]) -> str:
    """``@property``, unless a method named ``property`` hides the builtin in the class."""
    if "property" not in shadowed:
        return "@property"
    return f"@{writer.imports.alias('builtins', runtime=True)}.property"


def _overloaded(
    interface: Interface, method: Method, writer: TypeWriter, shadowed: frozenset[str]
) -> list[MethodContext]:
    """Each ``@overload`` as declared, then one implementation forwarding the call as made."""
    where = f"{interface.name}.{method.name}"
    overload = f"@{writer.imports.alias('typing', runtime=True)}.overload"
    contexts = []
    for variant in method.overloads:
        signature, _ = _signature(where, variant.params, writer, shadowed)
        with _located(where):
            returns = writer.spell(variant.returns, shadowed=shadowed)
        contexts.append(
            MethodContext(method.name, signature, returns, None, "...", overload)
        )
    forward = f"return self._call({_quoted(method.name)}, *args, **kwargs)"
    implementation = MethodContext(
        method.name,
        ", *args: object, **kwargs: object",
        writer.spell(object, shadowed=shadowed),
        _docstring(method.doc, 8),
        forward,
        module_only=True,
    )
    return [*contexts, implementation]


def _manager_context(
    manager: type[TypedManager], proxies: dict[type, str], writer: TypeWriter
) -> ManagerContext:
    creations = {t: r for t, r in manager._protocols_.items() if r[2]}
    shadowed = frozenset(creations)
    methods = []
    for typeid in sorted(creations):
        registered, factory, _ = creations[typeid]
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
        proxy = proxies[protocol]
        returns = writer.proxy_type(registered, shadowed)
        made_by = (
            f" with ``{factory.__module__}.{factory.__qualname__}``" if factory else ""
        )
        doc = f"Create a remote ``{protocol.__qualname__}``{made_by} and return its proxy."
        body = f"self._create_proxy({_quoted(typeid)}, {proxy}{call_args})"
        if (
            returns != proxy
        ):  # a parametrized generic proxy: the class object is unparametrized
            body = f"{writer.imports.alias('typing', runtime=True)}.cast({_quoted(returns)}, {body})"
        methods.append(
            MethodContext(
                typeid, signature, returns, _docstring(doc, 8), f"return {body}"
            )
        )
    return ManagerContext(
        name=manager.__name__,
        source=_quoted(_manager_ref(manager)),
        doc=_docstring(
            f"Typed client of ``{_manager_ref(manager)}``: connect() to its server, or start() one.",
            4,
        ),
        methods=methods,
    )


@contextlib.contextmanager
def _located(where: str) -> Iterator[None]:
    """Prefix an InterfaceError raised inside with the Protocol and method it concerns."""
    try:
        yield
    except InterfaceError as exc:
        raise InterfaceError(f"{where}: {exc}") from None


def _signature(
    where: str, params: Sequence[Param], writer: TypeWriter, shadowed: frozenset[str]
) -> tuple[str, str]:
    """(the parameter list after ``self``, the arguments forwarding them, each led by ``, ``)."""
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
    return "".join(f", {x}" for x in parts), "".join(f", {x}" for x in args)


def template_dir() -> Path:
    return Path(__file__).with_name("templates")
