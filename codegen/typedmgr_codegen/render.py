"""Render: interface models -> template context -> source text.

Every decision about the generated code is made here, as ready-made strings; the templates only
lay them out. Imports are collected while the body is rendered: the names annotations use
are imported under their own names (``from shop.models import Receipt``), as the Protocols
wrote them, unless one would clash; everything else (typedmgr, the Protocols' modules for
``_protocol_``, a clashing name's module) under a leading-underscore alias
(``import shop.api as _shop_api``) that no user name can collide with.
"""

from __future__ import annotations

import ast
import builtins
import collections.abc
import contextlib
import enum
import functools
import importlib
import importlib.util
import inspect
import sys
import types
import typing
import typing_extensions
from collections.abc import Iterable, Iterator, Mapping, Sequence
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
from typedmgr_codegen.layout import render_def, render_statement

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
    """What the generated code imports: modules under collision-free private aliases
    (``import shop.api as _shop_api``, for the machinery), and the names annotations use
    under their own names (``from shop.models import Receipt``), as the Protocol wrote
    them, so that IDEs show ``Receipt``. A name that would clash falls back to its module's
    alias (``_shop_models.Receipt``)."""

    runtime: set[str] = field(default_factory=set)
    typing_only: set[str] = field(default_factory=set)
    stub: set[str] = field(default_factory=set)
    reserved: frozenset[str] = frozenset()
    """Names the generated code binds otherwise (parameters), which no alias may take."""
    names: dict[str, str] = field(default_factory=dict)
    blocked: frozenset[str] = frozenset()
    """Names no imported name may take: the generated classes, their members (which
    shadow module names inside a class body), parameters and builtins."""
    imported: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Each name imported under its own name -> (module, name)."""
    named_runtime: set[tuple[str, str]] = field(default_factory=set)
    named_typing: set[tuple[str, str]] = field(default_factory=set)
    named_stub: set[tuple[str, str]] = field(default_factory=set)

    def alias(self, module: str, *, runtime: bool = False, in_stub: bool = True) -> str:
        """The alias of ``module``, recorded as needed at run time or only for typing."""
        (self.runtime if runtime else self.typing_only).add(module)
        if in_stub:
            self.stub.add(module)
        name = self.names.get(module)
        if name is None:
            # ``_io`` -> ``_io``, never ``__io``: a double underscore is mangled in a class.
            name = "_" + module.replace(".", "_").lstrip("_")
            while (
                name in self.reserved
                or name in self.names.values()
                or name in self.imported
            ):
                name += "_"  # ``a.b`` and ``a_b``, or a parameter named like the alias
            self.names[module] = name
        return name

    def name(
        self, module: str, name: str, *, runtime: bool = False, in_stub: bool = True
    ) -> str | None:
        """``name`` imported from ``module`` under its own name, or None where it would
        clash (with a generated or builtin name, or another object's name)."""
        key = (module, name)
        if self.imported.get(name, key) != key or (
            name not in self.imported
            and (
                name in self.blocked
                or name in self.reserved
                or name in self.names.values()
                or name.startswith("__")
            )
        ):
            return None
        self.imported[name] = key
        (self.named_runtime if runtime else self.named_typing).add(key)
        if in_stub:
            self.named_stub.add(key)
        return name

    def overload(self) -> bool:
        """``from typing import overload``, the one spelling jedi takes for an overload,
        unless another ``overload`` is imported; a class whose members shadow the name
        decorates through ``typing`` instead (the caller checks). Whether it is."""
        key = ("typing", "overload")
        if (
            self.imported.get("overload", key) != key
            or "overload" in self.names.values()
        ):
            return False
        self.imported["overload"] = key
        self.named_runtime.add(key)
        self.named_stub.add(key)
        return True

    def lines(self, *, stub: bool) -> tuple[list[str], list[str]]:
        """(imports needed at run time, imports needed only by type checkers), isort-ed."""
        if stub:
            return self._block(self.stub, self.named_stub), []
        return (
            self._block(self.runtime, self.named_runtime),
            self._block(
                self.typing_only - self.runtime, self.named_typing - self.named_runtime
            ),
        )

    def _block(self, modules: set[str], named: set[tuple[str, str]]) -> list[str]:
        """Standard library first, then the rest, a blank line between: isort's sections;
        in each, ``import`` statements before ``from`` ones, as ruff's isort orders them.

        ``typing_extensions``, typing's backport, sorts with the standard library (ruff's
        ``extra-standard-library``, as this repository configures it).
        """
        sections: list[list[str]] = []
        for in_stdlib in (True, False):
            section = [
                f"import {m} as {self.names[m]}"
                for m in sorted(modules)
                if _is_stdlib(m) is in_stdlib
            ]
            froms: dict[str, list[str]] = {}
            for module, name in named:
                if _is_stdlib(module) is in_stdlib:
                    froms.setdefault(module, []).append(name)
            section += [
                f"from {module} import {', '.join(sorted(froms[module], key=_isort_key))}"
                for module in sorted(froms)
            ]
            if section:
                sections.append(section)
        return [line for i, s in enumerate(sections) for line in ([""] * (i > 0) + s)]


def _is_stdlib(module: str) -> bool:
    return (
        module.partition(".")[0] in sys.stdlib_module_names
        or module == "typing_extensions"
    )


def _isort_key(name: str) -> tuple[int, str, str]:
    """isort's ``order-by-type``: CONSTANTS, then Classes, then the rest."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower(), name


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
                return self.named("typing", name)
        if tp is typing_extensions.Self:  # typing_extensions' is typing's on 3.11+
            return self.named("typing", "Self")
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Union or isinstance(tp, types.UnionType):
            return " | ".join(self.spell(a, shadowed=shadowed) for a in args)
        if origin is typing.Literal:
            values = ", ".join(self.literal(a, runtime=False) for a in args)
            return f"{self.named('typing', 'Literal')}[{values}]"
        if origin is typing_extensions.Annotated or origin is typing.Annotated:
            return self.spell(args[0], shadowed=shadowed)
        if origin is tuple and args in ((), ((),)) and tp is not _BARE_TUPLE:
            return f"{self.spell(tuple, shadowed=shadowed)}[()]"  # the empty tuple
        if origin is not None and not args:  # a bare ``typing.List``
            return self.spell(origin, shadowed=shadowed)
        if self.stub and origin is collections.abc.Generator:
            # ``Generator[int, None, None]`` is ``Generator[int]`` in a stub (ruff UP043).
            while len(args) > 1 and args[-1] in (None, type(None)):
                args = args[:-1]
        if origin is not None:
            inner = ", ".join(self.spell(a, shadowed=shadowed) for a in args)
            return f"{self.spell(origin, shadowed=shadowed)}[{inner}]"
        if isinstance(tp, typing.TypeVar):
            return self._type_var(tp)
        if isinstance(tp, type):
            return self._class(tp, shadowed)
        if callable(tp) and hasattr(tp, "__supertype__"):  # typing.NewType
            return self.named(tp.__module__, tp.__qualname__)  # type: ignore[attr-defined]
        raise InterfaceError(f"cannot spell the annotation {tp!r}")

    def named(self, module: str, qualname: str, *, runtime: bool = False) -> str:
        """``qualname`` of ``module`` under its own name, else through the module's alias."""
        head, dot, rest = qualname.partition(".")
        local = self.imports.name(module, head, runtime=runtime)
        if local is not None:
            return f"{local}{dot}{rest}"
        return f"{self.imports.alias(module, runtime=runtime)}.{qualname}"

    def _class(self, cls: type, shadowed: frozenset[str]) -> str:
        if (
            cls.__module__ == "builtins"
            and getattr(builtins, cls.__name__, None) is not cls
        ):
            # ``TracebackType`` says builtins.traceback: name it as ``types`` does.
            name = next((n for n, v in sorted(vars(types).items()) if v is cls), None)
            if name is None:
                raise InterfaceError(f"cannot spell the annotation {cls!r}")
            return self.named("types", name)
        if cls.__module__ == "builtins":
            if cls.__name__ in shadowed:
                return f"{self.imports.alias('builtins')}.{cls.__name__}"
            return cls.__name__
        if cls.__module__ == "collections.abc" or (
            cls.__module__ == "_collections_abc"
            and hasattr(collections.abc, cls.__name__)
        ):
            return self.named("collections.abc", cls.__name__)
        return self.named(_public_module(cls), cls.__qualname__)

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
            spelled = self.named(
                _public_module(owner), owner.__qualname__, runtime=runtime
            )
            return f"{spelled}.{value.name}"
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
        return self.returned(method.returns, method.return_kind, shadowed)

    def returned(
        self, returns: object, kind: ReturnKind, shadowed: frozenset[str]
    ) -> str:
        """What a proxy method gives for a Protocol's ``returns`` that travels as ``kind``:
        the proxy class where the Protocol names a Protocol, else the annotation itself
        (an iterator proxy is an ``Iterator``, and a ``Generator`` where one is declared)."""
        if kind in (ReturnKind.VALUE, ReturnKind.ITERATOR):
            return self.spell(returns, shadowed=shadowed)
        if kind in (ReturnKind.FLUENT, ReturnKind.OPTIONAL_FLUENT):
            return self.spell(returns, shadowed=shadowed)  # ``Self`` of the proxy class
        if protocol_of(returns) is not None:
            return self.proxy_type(returns, shadowed)
        remote = next(a for a in typing.get_args(returns) if protocol_of(a))
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
    lines = [(pad + line).rstrip() for line in body.splitlines()]
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
    header: str
    """The ``def`` line(s), laid out and indented; in a stub, or for an overload, with
    its ``: ...`` body."""
    doc: str | None = None
    body: str | None = None
    """The statements, laid out and indented (none for a stub or an overload)."""
    decorator: str | None = None
    module_only: bool = False
    """An overloaded method's implementation: in the .py, never in the stub."""


@dataclass(frozen=True)
class ProxyContext:
    header: str
    doc: str | None
    attributes: list[str]
    methods: list[MethodContext]


@dataclass(frozen=True)
class ManagerContext:
    name: str
    source: str
    doc: str | None
    methods: list[MethodContext]


def collect_interfaces(managers: Sequence[type[TypedManager]]) -> list[Interface]:
    """Every Protocol the managers register, and every Protocol those return, in a stable order."""
    # The model decides what is reachable, for the generator as for register().
    from typedmgr._model.walk import reachable

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
    sources = ", ".join(_manager_ref(m) for m in managers)
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
        imports.alias("typedmgr", runtime=True)
        proxy_contexts = [
            _proxy_context(i, proxies[i.protocol], writer, bare_overload)
            for i in interfaces
        ]
        manager_contexts = [_manager_context(m, proxies, writer) for m in managers]
        type_vars = [render_statement(d, 0) for d in writer.type_var_declarations()]
        runtime, typing_only = imports.lines(stub=stub)
        all_names = sorted([*proxies.values(), *(m.__name__ for m in managers)])
        template = _TEMPLATES.get_template("proxy.pyi.j2" if stub else "proxy.py.j2")
        text = template.render(
            header=header,
            runtime_imports=runtime,
            typing_imports=typing_only,
            typing_alias=imports.alias("typing", runtime=True),
            all_names=render_statement(
                f"__all__ = [{', '.join(_quoted(n) for n in all_names)}]", 0
            ),
            type_vars=type_vars,
            proxies=proxy_contexts,
            managers=manager_contexts,
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
            *(name for i in interfaces for name in i.exposed),
            *(typeid for m in managers for typeid in m._protocols_),
            *vars(builtins),
            "annotations",  # bound by ``from __future__ import annotations``
        }
    )


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


def _proxy_context(
    interface: Interface, name: str, writer: TypeWriter, bare_overload: bool
) -> ProxyContext:
    shadowed = frozenset(interface.exposed)
    module = writer.imports.alias(interface.module, runtime=True, in_stub=False)
    typing_alias = writer.imports.alias("typing", runtime=True)
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
        aliases = _aliases(interface, method)
        params, call_args = _signature(where, method.params, writer, shadowed, aliases)
        with _located(where):
            returns = writer.returns(method, shadowed)
            if "return" in aliases and method.return_kind is ReturnKind.VALUE:
                returns = writer.named(*aliases["return"])
        methods.append(
            MethodContext(
                _def_header(method.name, params, returns, writer.stub),
                _docstring(method.doc, 8),
                _body(method, returns, call_args, writer),
                _property_decorator(writer, shadowed) if method.is_property else None,
            )
        )
    exposed = ", ".join(_quoted(n) for n in interface.exposed)
    typeids = interface.method_to_typeid
    mapping = ", ".join(f"{_quoted(k)}: {_quoted(typeids[k])}" for k in sorted(typeids))
    # The proxies of the Protocols it extends, with their type arguments: a proxy of
    # ``Blob(Readable, Protocol)`` is a ``ReadableProxy``, to checkers and isinstance.
    extended = [writer.proxy_type(base, shadowed) for base in interface.bases]
    bases = ", ".join(extended) or "_typedmgr.TypedProxy"
    if interface.type_params:
        type_params = ", ".join(writer.spell(t) for t in interface.type_params)
        bases += f", {typing_alias}.Generic[{type_params}]"
    exposed_value = f"({exposed},)" if len(interface.exposed) == 1 else f"({exposed})"
    attributes = [
        f"_protocol_: {typing_alias}.ClassVar[type] = "
        f"{module}.{interface.protocol.__qualname__}",
        f"_exposed_: {typing_alias}.ClassVar[tuple[str, ...]] = {exposed_value}",
        f"_method_to_typeid_: {typing_alias}.ClassVar[dict[str, str]] = {{{mapping}}}",
        f"_fingerprint_ = {_quoted(interface.fingerprint)}",
    ]
    return ProxyContext(
        header=render_statement(f"class {name}({bases}):", 0),
        doc=_docstring(interface.doc, 4),
        attributes=[render_statement(a, 1) for a in attributes],
        methods=methods,
    )


def _def_header(
    name: str, params: list[str], returns: str, stub: bool, *, dots: bool = False
) -> str:
    """A method's ``def`` line(s) at one indent, ``self`` first."""
    suffix = ": ..." if stub or dots else ":"
    return render_def(f"def {name}", ["self", *params], returns, 1, suffix)


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
    method: Method, returns: str, call_args: list[str], writer: TypeWriter
) -> str:
    """The statements of a proxy method, laid out at two indents."""
    args = "".join(f", {a}" for a in call_args)
    name = _quoted(method.name)
    call = f"self._call({name}{args})"
    if method.is_property:
        call = f"self._get({name})"
    elif method.is_exit:
        call = f"self._call_exit({name}{args})"
    if method.return_kind in (ReturnKind.FLUENT, ReturnKind.OPTIONAL_FLUENT):
        call = (
            f"self._get_fluent({name})"
            if method.is_property
            else (f"self._call_fluent({name}{args})")
        )
    if method.oneway:
        return render_statement(f"self._send({name}{args})", 2)
    if method.return_kind is ReturnKind.SELF:
        return render_statement(f"return self._call_self({name}{args})", 2)
    if returns == "None":
        return render_statement(call, 2)
    if method.return_kind is ReturnKind.VALUE and _never_returns(method.returns):
        # A function that never returns may not ``return``: the server raised, or this
        # line tells that it did not.
        message = _quoted(f"{method.name}() is declared never to return, but returned")
        return "\n".join(
            [
                render_statement(call, 2),
                render_statement(f"raise AssertionError({message})", 2),
            ]
        )
    if method.return_kind is ReturnKind.VALUE and _passes_unchanged(method.returns):
        return render_statement(f"return {call}", 2)
    cast = f"{writer.imports.alias('typing', runtime=True)}.cast"
    return render_statement(f"return {cast}({_quoted(returns)}, {call})", 2)


def _inherited(interface: Interface, method: Method) -> bool:
    """Whether the proxy class inherits ``method`` from the proxy of a Protocol it extends."""
    if interface.declares(method.name):
        return False
    return any(
        method.name in interface_of(origin).exposed
        for base in interface.bases
        if (origin := protocol_of(base)) is not None
    )


def _aliases(interface: Interface, method: Method) -> dict[str, tuple[str, str]]:
    """Parameters (and ``"return"``) the Protocol annotated with a type alias of a module
    (``Encoding = Literal["utf-8", "latin-1"]``, then ``encoding: Encoding``): each ->
    (the module defining the alias, its name there), so the proxy spells it so too.

    Only an annotation that is the alias alone, of a value travelling as is (no Protocol
    or ``Self`` in it, which the proxy spells otherwise), and only for a method with one
    signature.
    """
    if method.overloads:
        return {}
    member = inspect.getattr_static(interface.protocol, method.name, None)
    if isinstance(member, property):
        member = member.fget
    if not inspect.isfunction(member):
        return {}
    module = sys.modules.get(member.__module__)
    evaluated = {p.name: p.annotation for p in method.params}
    evaluated["return"] = method.returns
    found: dict[str, tuple[str, str]] = {}
    for key, raw in member.__annotations__.items():
        if module is None or key not in evaluated or _travels_otherwise(evaluated[key]):
            continue
        alias = _alias_of(raw, module, evaluated[key])
        if alias is not None:
            found[key] = alias
    return found


def _travels_otherwise(tp: object) -> bool:
    """Whether the proxy spells ``tp`` other than as written (a Protocol, ``Self``)."""
    return (
        protocol_of(tp) is not None
        or tp is typing_extensions.Self
        or any(_travels_otherwise(a) for a in typing.get_args(tp))
    )


def _alias_of(
    raw: object, module: types.ModuleType, evaluated: object
) -> tuple[str, str] | None:
    """(home module, name) of the module-level alias ``raw`` names, if it is one."""
    namespace = vars(module)
    if isinstance(raw, str):
        name = raw.strip()
        if not name.isidentifier() or name not in namespace:
            return None
        value = namespace[name]
    else:  # evaluated at definition: the one public name bound to this very object
        names = [n for n, v in namespace.items() if v is raw and not n.startswith("_")]
        if len(names) != 1:
            return None
        name, value = names[0], raw
    is_class = isinstance(value, type) and typing.get_origin(value) is None
    if (
        is_class  # (``list[bytes]`` passes for a type on Python 3.10)
        or isinstance(value, (typing.TypeVar, types.ModuleType))
        or hasattr(value, "__supertype__")  # a NewType is spelled by its own name
        or value != evaluated
    ):
        return None
    return _alias_home(module.__name__, name)


@functools.cache
def _alias_home(module_name: str, name: str, depth: int = 0) -> tuple[str, str] | None:
    """Where ``name`` of ``module_name`` is assigned, following ``from x import name``."""
    module = sys.modules.get(module_name)
    if module is None or depth > 3:
        return None
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return None
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return module_name, name
        if isinstance(node, ast.ImportFrom):
            for imported in node.names:
                if (imported.asname or imported.name) != name:
                    continue
                source = node.module or ""
                if node.level:
                    source = importlib.util.resolve_name(
                        "." * node.level + source, module.__package__
                    )
                return _alias_home(source, imported.name, depth + 1)
    return None


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
    contexts = []
    for variant in method.overloads:
        params, _ = _signature(where, variant.params, writer, shadowed)
        with _located(where):
            returns = writer.returned(variant.returns, method.return_kind, shadowed)
        header = _def_header(method.name, params, returns, writer.stub, dots=True)
        contexts.append(MethodContext(header, decorator=overload))
    call = (
        "_call_fluent"
        if method.return_kind in (ReturnKind.FLUENT, ReturnKind.OPTIONAL_FLUENT)
        else "_call"
    )
    forward = f"return self.{call}({_quoted(method.name)}, *args, **kwargs)"
    implementation = MethodContext(
        _def_header(
            method.name,
            ["*args: object", "**kwargs: object"],
            writer.spell(object, shadowed=shadowed),
            writer.stub,
        ),
        _docstring(method.doc, 8),
        render_statement(forward, 2),
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
        args = "".join(f", {a}" for a in call_args)
        body = f"self._create_proxy({_quoted(typeid)}, {proxy}{args})"
        if returns != proxy:
            # A parametrized generic proxy: the class object is unparametrized.
            body = f"{writer.imports.alias('typing', runtime=True)}.cast({_quoted(returns)}, {body})"
        methods.append(
            MethodContext(
                _def_header(typeid, signature, returns, writer.stub),
                _docstring(doc, 8),
                render_statement(f"return {body}", 2),
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


def template_dir() -> Path:
    return Path(__file__).with_name("templates")
