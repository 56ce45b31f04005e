"""The one interface model: what a Protocol means to typedmgr.

``interface_of(P)`` turns a ``typing.Protocol`` class into an :class:`Interface`: its methods,
their full parameter lists with evaluated annotations, and how each result travels back
(a copied value, a remote object of another Protocol, or such an object or ``None``).
``register()`` at runtime and the generator at build time both read this model; no other code
decides what a Protocol means.
"""

from __future__ import annotations

import ast
import collections.abc
import enum
import functools
import hashlib
import importlib
import inspect
import sys
import textwrap
import types
import typing
import typing_extensions
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from typedmgr import _stdlib
from typedmgr.conformance import type_problem

__all__ = [
    "DUNDERS",
    "GENERATOR_TYPEID",
    "ITERATOR_TYPEID",
    "NO_DEFAULT",
    "Interface",
    "InterfaceError",
    "Method",
    "Param",
    "ParamKind",
    "ReturnKind",
    "check_implementation",
    "inspect_signature",
    "interface_of",
    "is_protocol",
    "iterator_typeid",
    "method_signature_lines",
    "oneway",
    "protocol_for_ref",
    "protocol_of",
    "ref_of",
    "signature_of",
]


class InterfaceError(TypeError):
    """A Protocol, or an implementation of it, that typedmgr cannot serve or proxy."""


class _NoDefault(enum.Enum):
    """Marks a parameter without a default (``None`` is a real default)."""

    NO_DEFAULT = "NO_DEFAULT"


NO_DEFAULT = _NoDefault.NO_DEFAULT


class ParamKind(enum.Enum):
    """The five kinds of Python parameter, in the order a signature lists them."""

    POSITIONAL_ONLY = "positional-only"
    POSITIONAL_OR_KEYWORD = "positional-or-keyword"
    VAR_POSITIONAL = "*args"
    KEYWORD_ONLY = "keyword-only"
    VAR_KEYWORD = "**kwargs"


_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: ParamKind.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: ParamKind.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.VAR_POSITIONAL: ParamKind.VAR_POSITIONAL,
    inspect.Parameter.KEYWORD_ONLY: ParamKind.KEYWORD_ONLY,
    inspect.Parameter.VAR_KEYWORD: ParamKind.VAR_KEYWORD,
}
_INSPECT_KINDS = {kind: inspect_kind for inspect_kind, kind in _KINDS.items()}


def inspect_signature(
    params: tuple[Param, ...],
    *,
    returns: object = inspect.Signature.empty,
    with_self: bool = False,
) -> inspect.Signature:
    """The ``inspect.Signature`` of a parameter list, for runtime-built methods."""
    parameters = [
        inspect.Parameter(
            p.name,
            _INSPECT_KINDS[p.kind],
            default=p.default if p.has_default else inspect.Parameter.empty,
            annotation=p.annotation,
        )
        for p in params
    ]
    if with_self:
        parameters.insert(
            0, inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
        )
    return inspect.Signature(parameters, return_annotation=returns)


class ReturnKind(enum.Enum):
    """How a method's result reaches the caller."""

    VALUE = "value"
    """Pickled and copied to the caller."""
    REMOTE = "remote"
    """Stays on the server; the caller gets a proxy of ``Method.remote``."""
    OPTIONAL_REMOTE = "optional-remote"
    """Like ``REMOTE``, but ``None`` comes back as ``None``."""
    ITERATOR = "iterator"
    """An iterator that stays on the server; the caller iterates a proxy of it."""
    SELF = "self"
    """``__enter__`` returning ``Self`` or its own Protocol: the caller keeps its proxy, and
    the server sends nothing back (no new reference, no copy of the referent)."""
    FLUENT = "fluent"
    """``-> Self`` (any other method): the caller's own proxy when the server returns the
    referent itself, else a new proxy of the same Protocol (``Method.remote``)."""
    OPTIONAL_FLUENT = "optional-fluent"
    """``-> Self | None``: like ``FLUENT``, but ``None`` comes back as ``None``."""


#: The typeid under which servers wrap the iterators methods return.
ITERATOR_TYPEID = "typedmgr:iterator"
#: The typeid under which servers wrap what methods declared ``-> Generator[...]`` return:
#: an iterator proxy that also forwards ``send()``, ``throw()`` and ``close()``.
GENERATOR_TYPEID = "typedmgr:generator"


@dataclass(frozen=True)
class Param:
    """One parameter; ``annotation`` is the evaluated annotation (``object`` if absent)."""

    name: str
    kind: ParamKind
    annotation: object
    default: object = NO_DEFAULT

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(frozen=True)
class Method:
    """One exposed method of a Protocol, ``self`` left out of ``params``."""

    name: str
    params: tuple[Param, ...]
    returns: object
    return_kind: ReturnKind
    remote: type | None
    doc: str | None
    oneway: bool = False
    """Marked ``@oneway``: the caller sends and goes on; the server logs failures."""
    is_property: bool = False
    """A read-only property or an attribute declaration: read from the server on access."""
    overloads: tuple[Overload, ...] = ()
    """The ``@overload`` signatures, if any; the proxy forwards calls as made."""
    is_exit: bool = False
    """``__exit__``: the proxy sends the exception in a form the server can load (a
    traceback never travels) and returns the server's answer, so ``True`` suppresses."""


@dataclass(frozen=True)
class Overload:
    """One ``@overload`` signature of a method."""

    params: tuple[Param, ...]
    returns: object


@dataclass(frozen=True)
class Interface:
    """A Protocol as typedmgr serves and proxies it."""

    protocol: type
    methods: tuple[Method, ...]
    doc: str | None

    @property
    def name(self) -> str:
        return self.protocol.__name__

    @property
    def module(self) -> str:
        return self.protocol.__module__

    @property
    def ref(self) -> str:
        return ref_of(self.protocol)

    @property
    def type_params(self) -> tuple[object, ...]:
        """The Protocol's type variables (``class Box(Protocol[T])``, PEP 695 alike)."""
        params: tuple[object, ...] = getattr(self.protocol, "__parameters__", ())
        return params

    @property
    def bases(self) -> tuple[object, ...]:
        """The Protocols this one extends, as written (``Source[int]``), in order.

        Protocols of the standard library (``typing.SupportsInt``...) are left out: their
        members are not exposed, so their proxies would be empty.
        """
        written: tuple[object, ...] = vars(self.protocol).get(
            "__orig_bases__", self.protocol.__bases__
        )
        return tuple(
            base
            for base in written
            if (origin := protocol_of(base)) is not None
            and origin.__module__ not in _STDLIB_PROTOCOL_MODULES
        )

    def declares(self, name: str) -> bool:
        """Whether the Protocol itself declares member ``name`` (not only a base)."""
        return name in vars(self.protocol) or name in _stdlib.class_annotation_names(
            self.protocol
        )

    @property
    def exposed(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.methods)

    @property
    def method_to_typeid(self) -> dict[str, str]:
        """Methods returning remote objects, each mapped to its Protocol's reference typeid
        (which may return ``None``, or the referent itself: ``_registration.returns_of``)."""
        typeids = {
            m.name: ref_of(m.remote) for m in self.methods if m.remote is not None
        }
        typeids.update(
            (m.name, iterator_typeid(m))
            for m in self.methods
            if m.return_kind is ReturnKind.ITERATOR
        )
        return typeids

    def method(self, name: str) -> Method:
        for m in self.methods:
            if m.name == name:
                return m
        raise KeyError(name)

    @property
    def signature_lines(self) -> tuple[str, ...]:
        """One readable line per signature: what a client and a server must agree on."""
        return tuple(line for m in self.methods for line in _signature_lines(m))

    @property
    def fingerprint(self) -> str:
        """A short digest of ``signature_lines``, carried by generated proxies."""
        text = "\n".join((self.ref, *self.signature_lines))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


_STDLIB_PROTOCOL_MODULES = frozenset(
    {"typing", "typing_extensions", "collections.abc", "_collections_abc", "builtins"}
)


def iterator_typeid(method: Method) -> str:
    """The typeid an iterator-returning method's result is wrapped under."""
    returns = method.overloads[0].returns if method.overloads else method.returns
    if _is_generator(returns):
        return GENERATOR_TYPEID
    return ITERATOR_TYPEID


def _is_generator(returns: object) -> bool:
    return (
        typing.get_origin(returns) is collections.abc.Generator
        or returns is collections.abc.Generator
    )


def method_signature_lines(method: Method) -> tuple[str, ...]:
    """A method's lines of ``Interface.signature_lines`` (one per overload)."""
    return tuple(_signature_lines(method))


def _signature_lines(method: Method) -> list[str]:
    kind = "property " if method.is_property else "oneway " if method.oneway else ""
    signatures = [(o.params, o.returns) for o in method.overloads] or [
        (method.params, method.returns)
    ]
    return [
        f"{kind}{method.name}({_params_text(params)}) -> {_describe(returns)}"
        for params, returns in signatures
    ]


def _params_text(params: tuple[Param, ...]) -> str:
    parts: list[str] = []
    for i, p in enumerate(params):
        if p.kind is ParamKind.KEYWORD_ONLY and (
            i == 0
            or params[i - 1].kind
            not in (ParamKind.KEYWORD_ONLY, ParamKind.VAR_POSITIONAL)
        ):
            parts.append("*")
        star = {ParamKind.VAR_POSITIONAL: "*", ParamKind.VAR_KEYWORD: "**"}.get(
            p.kind, ""
        )
        text = f"{star}{p.name}: {_describe(p.annotation)}"
        if p.has_default:
            text += f" = {p.default!r}"
        parts.append(text)
        if p.kind is ParamKind.POSITIONAL_ONLY and (
            i + 1 == len(params) or params[i + 1].kind is not ParamKind.POSITIONAL_ONLY
        ):
            parts.append("/")
    return ", ".join(parts)


def protocol_of(annotation: object) -> type | None:
    """The Protocol class an annotation names: ``P`` or a parametrized ``P[int]``."""
    if is_protocol(annotation):
        assert isinstance(annotation, type)
        return annotation
    origin = typing.get_origin(annotation)
    if is_protocol(origin):
        assert isinstance(origin, type)
        return origin
    return None


def is_protocol(obj: object) -> bool:
    """True for a class defined with ``typing.Protocol`` (not for Protocol itself)."""
    return isinstance(obj, type) and typing_extensions.is_protocol(obj)


def ref_of(protocol: type) -> str:
    """The typeid under which the server wraps results of type ``protocol``.

    It names the Protocol (``"shop.api:Counter"``), so any process holding the Protocols can
    turn a returned token into the right proxy class without a manager registry (gh-99595).
    """
    return f"{protocol.__module__}:{protocol.__qualname__}"


# Reference typeids found to name a Protocol: every returned proxy looks its class up.
_protocols_of_refs: dict[str, type] = {}


def protocol_for_ref(ref: str) -> type | None:
    """The Protocol a reference typeid names, or ``None`` if it names none."""
    known = _protocols_of_refs.get(ref)
    if known is not None:
        return known
    module_name, sep, qualname = ref.partition(":")
    if not sep:
        return None
    module = sys.modules.get(module_name)
    if module is None:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return None
    obj: object = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if not (isinstance(obj, type) and is_protocol(obj)):
        return None
    _protocols_of_refs[ref] = obj
    return obj


# The special methods a Protocol may declare; the proxy forwards exactly those it declares.
DUNDERS = frozenset(
    {
        "__len__",
        "__getitem__",
        "__setitem__",
        "__delitem__",
        "__contains__",
        "__iter__",
        "__bool__",
        "__enter__",
        "__exit__",
    }
)

# Members a Protocol class always has; never part of an interface.
_IGNORED = frozenset(
    {
        "__init__",
        "__init_subclass__",
        "__subclasshook__",
        "__class_getitem__",
        "__protocol_attrs__",
        "__non_callable_proto_members__",
    }
)


@functools.cache
def interface_of(protocol: type) -> Interface:
    """Extract the interface of a Protocol class, or raise :class:`InterfaceError`."""
    if not is_protocol(protocol):
        raise InterfaceError(f"{protocol!r} is not a typing.Protocol class")
    name = protocol.__qualname__
    namespace = _annotation_namespace(protocol)
    methods: list[Method] = []
    # ``size: int = 0`` and ``kind: ClassVar[str] = "x"`` are declarations with a value:
    # attributes (or class variables), which _declared_attributes reads, not members.
    declared = {
        attr
        for base in protocol.__mro__
        if base is protocol or is_protocol(base)
        for attr in _stdlib.class_annotation_names(base)
    }
    for attr in _own_members(protocol):
        if attr in _IGNORED or (attr.startswith("_") and attr not in DUNDERS):
            continue
        value = inspect.getattr_static(protocol, attr)
        if attr in declared and not inspect.isfunction(value):
            continue
        where = f"{name}.{attr}"
        if isinstance(value, (staticmethod, classmethod)):
            which = "static" if isinstance(value, staticmethod) else "class"
            raise InterfaceError(
                f"{where}: {which} methods cannot be proxied - a proxy calls methods of "
                "one remote object; declare it as an instance method (the "
                f"implementation may keep it a {which} method)"
            )
        if isinstance(value, property):
            methods.append(_property(where, value, namespace, protocol))
        elif inspect.isfunction(value):
            variants = _overload_variants(_declaring_class(protocol, attr), attr)
            if variants:
                methods.append(
                    _overloaded(where, attr, value, variants, namespace, protocol)
                )
            else:
                methods.append(_method(where, value, namespace, owner=protocol))
        else:
            raise InterfaceError(
                f"{where}: only methods and properties can be proxied, "
                f"not {type(value).__name__} members"
            )
    for attr, hint in _declared_attributes(protocol, namespace).items():
        where = f"{name}.{attr}"
        fluent = _fluent_kind(hint)
        remote: type | None
        if fluent is not None:
            kind, remote = fluent, protocol
        elif _mentions_self(hint):
            raise InterfaceError(
                f"{where}: declared {_describe(hint)}; `Self` can only be declared as "
                "`Self` or `Self | None`"
            )
        else:
            kind, remote = _return_kind(where, hint)
        methods.append(Method(attr, (), hint, kind, remote, None, is_property=True))
    own_doc = vars(protocol).get("__doc__")
    doc = inspect.cleandoc(own_doc) if isinstance(own_doc, str) else None
    return Interface(protocol, tuple(methods), doc)


def _declaring_class(protocol: type, attr: str) -> type:
    """The class of ``protocol``'s MRO whose body defines ``attr``."""
    return next((c for c in protocol.__mro__ if attr in vars(c)), protocol)


def _own_members(protocol: type) -> list[str]:
    """Names the Protocol and the Protocols it extends define, bases first, in source order."""
    names: dict[str, None] = {}
    for base in reversed(protocol.__mro__):
        if base in (
            object,
            typing.Protocol,
            typing_extensions.Protocol,
            typing.Generic,
        ):
            continue
        if base is protocol or is_protocol(base):
            names.update(dict.fromkeys(vars(base)))
    return list(names)


def _declared_attributes(
    protocol: type, namespace: Mapping[str, object]
) -> dict[str, object]:
    """Public attributes the Protocol declares (``size: int``), ClassVars left out."""
    declared = [
        attr
        for base in reversed(protocol.__mro__)
        if base is protocol or is_protocol(base)
        for attr in _stdlib.class_annotation_names(base)
        if not attr.startswith("_")
    ]
    if not declared:
        return {}
    where = f"{protocol.__qualname__}.{declared[0]}"
    hints = _hints(where, protocol, namespace)
    return {
        attr: hints[attr]
        for attr in dict.fromkeys(declared)
        if typing.get_origin(hints[attr]) is not typing.ClassVar
        and hints[attr] is not typing.ClassVar
    }


def _property(
    where: str, prop: property, namespace: Mapping[str, object], owner: type
) -> Method:
    if prop.fset is not None or prop.fdel is not None:
        raise InterfaceError(f"{where}: only read-only properties can be proxied")
    if prop.fget is None:
        raise InterfaceError(f"{where}: a property without a getter")
    method = _method(where, prop.fget, namespace, owner=owner)
    return Method(
        method.name,
        (),
        method.returns,
        method.return_kind,
        method.remote,
        method.doc,
        is_property=True,
    )


def _method(
    where: str,
    func: Callable[..., object],
    namespace: Mapping[str, object],
    *,
    owner: type | None = None,
) -> Method:
    if inspect.iscoroutinefunction(func):
        raise InterfaceError(f"{where}: async methods cannot be proxied yet")
    hints = _hints(where, func, namespace)
    for key, hint in hints.items():
        if _mentions(hint, memoryview):
            what = "returns" if key == "return" else f"parameter {key!r} is"
            raise InterfaceError(
                f"{where}: {what} {_describe(hint)}; a memoryview cannot be pickled, "
                "so it cannot be sent yet - declare bytes or bytearray"
            )
    params = _params(where, func, hints, require_annotations=True)[1:]
    name = func.__name__
    returns = hints.get("return")
    enters = name == "__enter__" and owner is not None and _is_own_type(returns, owner)
    fluent = _fluent_kind(returns) if owner is not None and not enters else None
    if any(_mentions_self(hints.get(p.name)) for p in params):
        raise InterfaceError(
            f"{where}: `Self` cannot be proxied as a parameter - name the Protocol "
            "instead (a method may return `Self` or `Self | None`)"
        )
    if _mentions_self(returns) and not enters and fluent is None:
        raise InterfaceError(
            f"{where}: returns {_describe(returns)}; `Self` can only be returned as "
            "`Self` or `Self | None` - not inside a container or an iterator"
        )
    if "return" not in hints:
        raise InterfaceError(f"{where}: the return annotation is missing")
    if enters:
        kind, remote = ReturnKind.SELF, None
    elif fluent is not None:
        kind, remote = fluent, owner
    else:
        kind, remote = _return_kind(where, returns)
    oneway = getattr(func, ONEWAY_ATTR, False) is True
    if oneway and returns not in (None, type(None)):
        raise InterfaceError(f"{where}: a @oneway method must return None")
    if name in ("__enter__", "__exit__"):
        _check_context_method(where, name, params, oneway)
    return Method(
        name,
        params,
        returns,
        kind,
        remote,
        inspect.getdoc(func),
        oneway,
        is_exit=name == "__exit__",
    )


def _fluent_kind(returns: object) -> ReturnKind | None:
    """``FLUENT`` for ``-> Self``, ``OPTIONAL_FLUENT`` for ``-> Self | None``, else None."""
    if returns is typing_extensions.Self:
        return ReturnKind.FLUENT
    if _is_union(returns):
        args = typing.get_args(returns)
        if len(args) == 2 and typing_extensions.Self in args and type(None) in args:
            return ReturnKind.OPTIONAL_FLUENT
    return None


def _is_own_type(returns: object, protocol: type) -> bool:
    """``Self``, or the Protocol (or a Protocol it extends), bare or parametrized."""
    if returns is typing_extensions.Self:
        return True
    returned = protocol_of(returns)
    return returned is not None and returned in protocol.__mro__


def _check_context_method(
    where: str, name: str, params: tuple[Param, ...], oneway: bool
) -> None:
    """``with`` calls ``__enter__()`` and ``__exit__(exc_type, exc, tb)``: they must accept that."""
    if oneway:
        raise InterfaceError(f"{where}: {name} cannot be @oneway")
    positional = [
        p
        for p in params
        if p.kind in (ParamKind.POSITIONAL_ONLY, ParamKind.POSITIONAL_OR_KEYWORD)
    ]
    takes = 0 if name == "__enter__" else 3
    var_args = any(p.kind is ParamKind.VAR_POSITIONAL for p in params)
    required = [
        p
        for p in params
        if not p.has_default
        and p.kind not in (ParamKind.VAR_POSITIONAL, ParamKind.VAR_KEYWORD)
    ]
    if (
        (len(positional) < takes and not var_args)
        or len(required) > takes
        or any(p not in positional[:takes] for p in required)
    ):
        called = "()" if takes == 0 else "(exc_type, exc, tb)"
        raise InterfaceError(
            f"{where}: a with statement calls {name}{called}; the signature must accept it"
        )


def _overload_variants(protocol: type, attr: str) -> list[Callable[..., object]]:
    """The ``@overload`` variants of ``protocol.attr``, in source order.

    Looked up by name, because a Protocol may give overloads without an implementation,
    leaving only typing's placeholder in the class. On Python 3.10 only
    ``typing_extensions.overload`` records them.
    """
    named = types.SimpleNamespace(
        __module__=protocol.__module__, __qualname__=f"{protocol.__qualname__}.{attr}"
    )
    return list(typing_extensions.get_overloads(named))  # type: ignore[arg-type]


# How each return kind of an overload travels, when every overload agrees on it.
_OVERLOAD_TRAVEL = {
    ReturnKind.VALUE: "value",
    ReturnKind.REMOTE: "remote",
    ReturnKind.OPTIONAL_REMOTE: "remote",
    ReturnKind.FLUENT: "self",
    ReturnKind.OPTIONAL_FLUENT: "self",
    ReturnKind.ITERATOR: "iterator",
}


def _overloaded(
    where: str,
    name: str,
    func: Callable[..., object],
    variants: list[Callable[..., object]],
    namespace: Mapping[str, object],
    owner: type,
) -> Method:
    """An overloaded method: every overload keeps its return; the server, which cannot tell
    which overload a call matched, wraps the result as all of them agree to."""
    methods = [_method(where, variant, namespace, owner=owner) for variant in variants]
    if any(m.oneway for m in methods):
        raise InterfaceError(f"{where}: overloads cannot be @oneway")
    travels = {_OVERLOAD_TRAVEL.get(m.return_kind, "value") for m in methods}
    remotes = {m.remote for m in methods}
    generators = {_is_generator(m.returns) for m in methods}
    if len(travels) > 1 or len(remotes) > 1 or len(generators) > 1:
        returns = " and ".join(dict.fromkeys(_describe(m.returns) for m in methods))
        raise InterfaceError(
            f"{where}: overloads return {returns}; the server cannot tell which overload "
            "a call matched, so either every overload returns a value, or every one "
            "returns the same remote object (`P` or `P | None` of one Protocol, or "
            "`Self` or `Self | None`), or an iterator of the same kind"
        )
    kinds = {m.return_kind for m in methods}
    kind = methods[0].return_kind
    if ReturnKind.OPTIONAL_REMOTE in kinds:
        kind = ReturnKind.OPTIONAL_REMOTE
    elif ReturnKind.OPTIONAL_FLUENT in kinds:
        kind = ReturnKind.OPTIONAL_FLUENT
    overloads = tuple(Overload(m.params, m.returns) for m in methods)
    # Without an implementation in the Protocol, ``func`` is typing's placeholder.
    own = func if func.__name__ == name else None
    doc = (own and inspect.getdoc(own)) or inspect.getdoc(variants[0])
    return Method(
        name,
        (),
        object,
        kind,
        methods[0].remote,
        doc,
        overloads=overloads,
    )


ONEWAY_ATTR = "__typedmgr_oneway__"

_P = typing_extensions.ParamSpec("_P")


def oneway(method: Callable[_P, None], /) -> Callable[_P, None]:
    """Mark a Protocol method as one-way: proxies send the call and return ``None`` at once.

    The server runs it in order with the caller's other calls and logs an exception it
    raises (logger ``typedmgr.server``); nothing is sent back.
    """
    setattr(method, ONEWAY_ATTR, True)
    return method


def signature_of(where: str, func: Callable[..., object]) -> tuple[Param, ...]:
    """The parameters of a constructor or factory; unannotated ones are typed ``object``."""
    target: Callable[..., object] = func
    if isinstance(func, type):
        init = vars(func).get("__init__") or next(
            (vars(b)["__init__"] for b in func.__mro__ if "__init__" in vars(b)),
            _no_args,
        )
        target = _no_args if init is object.__init__ else init
        hints = _hints(where, target, _module_namespace(func))
        return _params(where, target, hints, require_annotations=False)[1:]
    hints = _hints(where, target, _module_namespace(target))
    return _params(where, target, hints, require_annotations=False)


def _no_args(self: object) -> None:
    """Stands in for ``object.__init__``, whose signature inspect cannot read."""


def _params(
    where: str,
    func: Callable[..., object],
    hints: Mapping[str, object],
    *,
    require_annotations: bool,
) -> tuple[Param, ...]:
    params: list[Param] = []
    for index, p in enumerate(
        inspect.signature(func, follow_wrapped=False).parameters.values()
    ):
        if p.name in hints:
            annotation = hints[p.name]
        elif index == 0 and p.name in ("self", "cls"):
            annotation = object
        elif require_annotations:
            raise InterfaceError(f"{where}: parameter {p.name!r} has no annotation")
        else:
            annotation = object
        default = NO_DEFAULT if p.default is inspect.Parameter.empty else p.default
        if default is not NO_DEFAULT and not _is_literal(default):
            raise InterfaceError(
                f"{where}: parameter {p.name!r} defaults to {default!r}; proxies send the "
                "declared default, so it must be a literal (None, bool, number, str, bytes, "
                "enum member, or a tuple of these)"
            )
        params.append(Param(p.name, _KINDS[p.kind], annotation, default))
    return tuple(params)


def _is_literal(value: object) -> bool:
    if value is None or isinstance(value, (bool, int, str, bytes, enum.Enum)):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if type(value) in (tuple, frozenset):
        return all(_is_literal(v) for v in value)  # type: ignore[attr-defined]
    return False


def _return_kind(where: str, returns: object) -> tuple[ReturnKind, type | None]:
    remote = protocol_of(returns)
    if remote is not None:
        return ReturnKind.REMOTE, remote
    args = typing.get_args(returns)
    if _is_union(returns):
        remotes = [protocol_of(a) for a in args if protocol_of(a) is not None]
        others = [a for a in args if protocol_of(a) is None]
        if remotes and (len(remotes) > 1 or others != [type(None)]):
            raise InterfaceError(
                f"{where}: returns {_describe(returns)}; a remote object can only be "
                "returned as `P` or `P | None`"
            )
        if remotes:
            return ReturnKind.OPTIONAL_REMOTE, remotes[0]
    origin = typing.get_origin(returns)
    if origin in _ASYNC_ITERATOR_ORIGINS:
        raise InterfaceError(
            f"{where}: returns {_describe(returns)}; async iterators cannot be proxied yet"
        )
    if origin in _ITERATOR_ORIGINS or returns in _ITERATOR_ORIGINS:
        if _mentions_protocol(returns):
            raise InterfaceError(
                f"{where}: returns {_describe(returns)}; iterators of remote objects "
                "cannot be proxied - iterate over values, or return `P` per call"
            )
        return ReturnKind.ITERATOR, None
    if _mentions_protocol(returns):
        raise InterfaceError(
            f"{where}: returns {_describe(returns)}; remote objects inside containers "
            "cannot be proxied - return `P` or `P | None`, or expose a method per item"
        )
    return ReturnKind.VALUE, None


_ITERATOR_ORIGINS = frozenset(
    {collections.abc.Iterator, collections.abc.Generator, collections.abc.Iterable}
)
_ASYNC_ITERATOR_ORIGINS = frozenset(
    {collections.abc.AsyncIterator, collections.abc.AsyncGenerator}
)


def _is_union(tp: object) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _mentions(tp: object, cls: type) -> bool:
    return tp is cls or any(_mentions(a, cls) for a in typing.get_args(tp))


def _mentions_protocol(tp: object) -> bool:
    return protocol_of(tp) is not None or any(
        _mentions_protocol(a) for a in typing.get_args(tp)
    )


_BARE_TUPLE: object = typing.Tuple  # noqa: UP006 - unlike tuple[()], it has no args


def _mentions_self(tp: object) -> bool:
    return tp is typing_extensions.Self or any(
        _mentions_self(a) for a in typing.get_args(tp)
    )


def _describe(tp: object) -> str:
    """An annotation as its author would write it, for error messages."""
    if tp is typing_extensions.Self:  # typing_extensions' on 3.10, typing's later
        return "Self"
    if isinstance(tp, typing.TypeVar):  # as 3.12 spells them, on every Python
        variance = (
            ""
            if getattr(tp, "__infer_variance__", False)
            else "+"
            if tp.__covariant__
            else "-"
            if tp.__contravariant__
            else "~"
        )
        return f"{variance}{tp.__name__}"
    if isinstance(tp, list):  # Callable's parameter list
        return "[" + ", ".join(_describe(a) for a in tp) + "]"
    if tp is Ellipsis:
        return "..."
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if _is_union(tp):
        return " | ".join(_describe(a) for a in args)
    if origin is tuple and args in ((), ((),)) and tp is not _BARE_TUPLE:
        return "tuple[()]"  # 3.10 gives its args as ((),), later Pythons as ()
    if origin is not None and args:
        return f"{_describe(origin)}[{', '.join(_describe(a) for a in args)}]"
    if tp is type(None):
        return "None"
    if isinstance(tp, type):
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


def _hints(
    where: str, func: Callable[..., object], namespace: Mapping[str, object]
) -> dict[str, object]:
    try:
        hints = typing.get_type_hints(
            func, globalns=dict(namespace), include_extras=True
        )
    except NameError as exc:
        raise InterfaceError(f"{where}: cannot resolve an annotation: {exc}") from None
    except Exception as exc:  # a bad annotation is the user's to fix: say where it is
        raise InterfaceError(f"{where}: invalid annotation: {exc}") from None
    for name, hint in hints.items():
        if inspect.isfunction(hint) or isinstance(hint, property):
            getter = hint.fget if isinstance(hint, property) else hint
            member = str(getattr(getter, "__qualname__", "a property"))
            raise InterfaceError(
                f"{where}: the annotation of {name!r} is {member}, a member of the "
                "class, not a type (a member's name shadows a builtin in the class's "
                "annotations; from Python 3.14 whatever their order): spell it "
                f"builtins.{member.rpartition('.')[2]}, or name the type otherwise"
            )
    return hints


def _annotation_namespace(protocol: type) -> dict[str, object]:
    """The Protocol's module globals, plus names imported only under ``TYPE_CHECKING``.

    A PEP 695 class's type parameters (``class Box[T](Protocol)``) are in no module's
    globals: a string annotation naming them (``from __future__ import annotations``)
    resolves through the class's ``__type_params__``, which shadow globals as in the class.
    """
    namespace = _module_namespace(protocol)
    for base in reversed(protocol.__mro__):
        if is_protocol(base) and base is not protocol:
            namespace = {**_module_namespace(base), **namespace}
    for base in reversed(protocol.__mro__):
        if base is protocol or is_protocol(base):
            type_params: tuple[object, ...] = vars(base).get("__type_params__", ())
            namespace.update((getattr(p, "__name__", ""), p) for p in type_params)
    return namespace


def _module_namespace(obj: object) -> dict[str, object]:
    module = sys.modules.get(getattr(obj, "__module__", ""))
    if module is None:
        return {}
    return {**_type_checking_names(module), **vars(module)}


@functools.cache
def _type_checking_names(module: types.ModuleType) -> dict[str, object]:
    """Run the imports a module guards with ``if TYPE_CHECKING:``, so annotations resolve."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return {}
    names: dict[str, object] = {}
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            imports: list[ast.stmt] = [
                s for s in node.body if isinstance(s, (ast.Import, ast.ImportFrom))
            ]
            code = compile(
                ast.Module(body=imports, type_ignores=[]), module.__name__, "exec"
            )
            scope: dict[str, object] = {
                "__name__": module.__name__,
                "__package__": module.__package__,
            }
            exec(code, scope)
            names.update({k: v for k, v in scope.items() if not k.startswith("__")})
    return names


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def check_implementation(interface: Interface, impl: Callable[..., object]) -> None:
    """Raise :class:`InterfaceError` unless ``impl`` (a class or factory) serves ``interface``.

    Every method must exist and accept every call the Protocol's signature allows: proxies
    send positional parameters by position and keyword-only ones by name, defaults included.
    """
    cls = impl if isinstance(impl, type) else _declared_return_class(impl)
    if cls is None:
        return  # a factory without a class return annotation: nothing to check against
    for method in interface.methods:
        where = f"{cls.__qualname__}.{method.name} (for {interface.name}.{method.name})"
        attr = inspect.getattr_static(cls, method.name, None)
        if method.is_property:
            # An instance attribute set in __init__ is invisible here: only a method clashes.
            if inspect.isfunction(attr):
                raise InterfaceError(
                    f"{where}: is a method, the Protocol reads an attribute"
                )
            continue
        if attr is None:
            raise InterfaceError(
                f"{cls.__qualname__} does not implement {interface.name}: "
                f"method {method.name!r} is missing"
            )
        static = isinstance(attr, staticmethod)  # called without the object
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if not callable(attr):
            raise InterfaceError(f"{where}: is not a method")
        impl_params = _impl_params(attr, bound=not static)
        for params in [o.params for o in method.overloads] or [method.params]:
            problem = _signature_problem(params, impl_params)
            if problem:
                raise InterfaceError(f"{where}: {problem}")
            problem = type_problem(
                [
                    (p.name, p.annotation, p.kind is ParamKind.KEYWORD_ONLY)
                    for p in params
                    if p.kind not in (ParamKind.VAR_POSITIONAL, ParamKind.VAR_KEYWORD)
                ],
                None if method.overloads else method.returns,
                attr,
            )
            if problem:
                raise InterfaceError(
                    f"{where}: {problem}"
                    + _both_signatures(interface.protocol, method.name, attr)
                )


def _both_signatures(protocol: type, name: str, impl: Callable[..., object]) -> str:
    """``; implementation (...), Protocol (...)``, as far as both can be read."""
    try:
        mine = inspect.signature(impl, eval_str=True)
        theirs = inspect.signature(getattr(protocol, name), eval_str=True)
    except Exception:  # annotations that do not evaluate: the names alone
        return ""
    return f"; implementation {name}{mine}, Protocol {name}{theirs}"


def _declared_return_class(factory: Callable[..., object]) -> type | None:
    try:
        returns = typing.get_type_hints(factory).get("return")
    except Exception:
        return None
    return returns if isinstance(returns, type) and not is_protocol(returns) else None


def _impl_params(
    func: Callable[..., object], *, bound: bool = True
) -> list[inspect.Parameter]:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return [
            inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
            inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
        ]
    return params[1:] if bound and inspect.isfunction(func) else params


def _signature_problem(
    params: tuple[Param, ...], impl: list[inspect.Parameter]
) -> str | None:
    positional = [
        p
        for p in impl
        if p.kind
        in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    by_name = {
        p.name: p
        for p in impl
        if p.kind
        in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    var_args = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in impl)
    var_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in impl)
    sent_positional = [
        p
        for p in params
        if p.kind in (ParamKind.POSITIONAL_ONLY, ParamKind.POSITIONAL_OR_KEYWORD)
    ]
    if len(sent_positional) > len(positional) and not var_args:
        return (
            f"takes {len(positional)} positional parameter(s), the Protocol passes "
            f"{len(sent_positional)}"
        )
    covered = {p.name for p in positional[: len(sent_positional)]}
    for p in params:
        if p.kind is ParamKind.VAR_POSITIONAL and not var_args:
            return f"the Protocol accepts *{p.name}, the implementation has no *args"
        if p.kind is ParamKind.VAR_KEYWORD and not var_kwargs:
            return (
                f"the Protocol accepts **{p.name}, the implementation has no **kwargs"
            )
        if p.kind is ParamKind.KEYWORD_ONLY:
            if p.name not in by_name and not var_kwargs:
                return f"keyword parameter {p.name!r} is missing"
            covered.add(p.name)
    for ip in impl:
        required = ip.default is inspect.Parameter.empty and ip.kind not in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        )
        if required and ip.name not in covered:
            return f"requires parameter {ip.name!r}, which the Protocol does not pass"
    return None
