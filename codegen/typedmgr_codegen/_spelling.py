"""Spelling: evaluated annotations and values -> the source text the generated code uses.

Every name a spelling needs is recorded in ``Imports`` as it is spelled, so the import block
is exactly what the body uses.
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
from collections.abc import Iterator, Mapping

from typedmgr._forms import is_empty_tuple, newtype_supertype
from typedmgr._model import InterfaceError, Method, ReturnKind, protocol_of
from typedmgr_codegen._imports import Imports

__all__ = ["TypeWriter", "docstring", "public_module", "quoted"]

_SPECIAL_FORMS = {
    typing.Any: "Any",
    typing.NoReturn: "NoReturn",
    typing_extensions.Never: "Never",
    typing_extensions.LiteralString: "LiteralString",
}


class TypeWriter:
    """Spells evaluated annotations as source text, collecting the imports they need."""

    def __init__(
        self, imports: Imports, proxies: dict[type, str], *, stub: bool = False
    ) -> None:
        self.imports = imports
        self.proxies = proxies
        self.stub = stub
        self.type_vars: dict[str, typing.TypeVar] = {}
        self.aliases: Mapping[int, tuple[object, tuple[str, str]]] = {}
        """Objects to spell by the name of a type alias (``_aliases.inner_aliases``)."""

    @contextlib.contextmanager
    def naming(
        self, aliases: Mapping[int, tuple[object, tuple[str, str]]]
    ) -> Iterator[None]:
        """Spell the objects of ``aliases`` by their aliases' names, inside the block."""
        previous, self.aliases = self.aliases, aliases
        try:
            yield
        finally:
            self.aliases = previous

    def spell(self, tp: object, *, shadowed: frozenset[str] = frozenset()) -> str:
        """Source text for annotation ``tp``; builtins in ``shadowed`` go via ``builtins``."""
        if tp is None or tp is type(None):
            return "None"
        if tp is Ellipsis:
            return "..."
        known = self.aliases.get(id(tp))
        if known is not None and known[0] is tp:  # the Protocol named an alias here
            return self.named(*known[1])
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
        if is_empty_tuple(tp):
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
        if newtype_supertype(tp) is not None:  # a NewType, by its own name
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
        return self.named(public_module(cls), cls.__qualname__)

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
                public_module(owner), owner.__qualname__, runtime=runtime
            )
            return f"{spelled}.{value.name}"
        if isinstance(value, str):
            return quoted(value)
        if isinstance(value, bytes):
            return (
                "b" + quoted(value.decode("latin-1"))
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
            options = [quoted(name)]
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
        return spelled if self.stub else quoted(spelled)

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


def public_module(cls: type) -> str:
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


def docstring(text: str | None, indent: int) -> str | None:
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


def quoted(text: str) -> str:
    body = repr(text)
    if body.startswith("'") and '"' not in text:
        return '"' + body[1:-1].replace("\\'", "'") + '"'
    return body
