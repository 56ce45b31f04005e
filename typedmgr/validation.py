"""Argument validation: check a call's arguments against its Protocol's annotations.

``validator_for(interface)`` builds, once, a :class:`Validator` for every method of an
:class:`~typedmgr.model.Interface`. A server that validates runs ``validator.check(name,
args, kwds)`` before calling the implementation: the arguments are bound to the method's
parameters as Python binds them (positional-only, keyword-only, ``*args``, ``**kwargs``,
defaults), and each value is checked against its annotation. A call that does not fit raises
``TypeError``, worded like Python's own for a wrong arity, and for a wrong type naming the
Protocol, the method, the parameter, what it expects and what it got::

    Counter.increment(): parameter 'by' expects int, got str ('2')

Each annotation is compiled to a small check function when the validator is built, so a call
costs a loop over its arguments and an ``isinstance`` per value (or per element of a
container). What is checked:

* ``int``, ``str``, ``bytes``, ``bool``, enums, dataclasses, user classes: ``isinstance``;
  ``float`` also takes ``int`` and ``complex`` takes both (PEP 484), ``int`` takes ``bool``;
* ``None``, ``Optional``/``Union``/``X | Y``, ``Literal`` (by type and value), ``NewType``
  (its supertype), ``TypeVar`` (its bound or constraints), ``Annotated`` (its type);
* ``list``/``set``/``frozenset``/``dict``/``tuple`` (fixed or ``...``) and the
  ``collections.abc`` ones (``Sequence``, ``Mapping``, ``Iterable``...): the container's type,
  and the elements of a built-in container (never of a stream, which checking would consume);
* ``TypedDict``: a dict with every required key, no unknown key, each value of its type;
* a Protocol: a proxy or object that has the Protocol's members (structural, as Protocols
  are); arguments naming objects of this server arrive as proxies;
* ``Callable``: ``callable()``; ``type[X]``: a subclass of ``X``.

``object``, ``Any``, unbound type variables and forms not listed accept anything: a
validator never refuses a call the Protocol allows.
"""

from __future__ import annotations

import collections
import collections.abc
import reprlib
import types
import typing
import typing_extensions
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from typedmgr.model import (
    Interface,
    Method,
    Param,
    ParamKind,
    _describe,
    interface_of,
    is_protocol,
    protocol_of,
)

__all__ = ["MethodValidator", "Validator", "validator_for"]


class _Mismatch:
    """Where a value failed its check: ``value`` at ``path`` ("" for the value itself)."""

    __slots__ = ("path", "problem", "value")

    def __init__(self, value: object, path: str = "", problem: str = "") -> None:
        self.value = value
        self.path = path
        self.problem = problem

    def inside(self, step: str) -> _Mismatch:
        self.path = step + self.path
        return self


#: A compiled annotation: ``None`` if the value fits, else where it does not.
_Check = Callable[[object], "_Mismatch | None"]

_LONGEST = 60
_repr = reprlib.Repr()
_repr.maxstring = 40
_repr.maxother = 40
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxdict = 4


def _received(value: object) -> str:
    """``str ('2')``: the type of a value and its (shortened) repr."""
    try:
        text = _repr.repr(value)
    except Exception:
        text = "<unprintable>"
    if len(text) > _LONGEST:
        text = text[: _LONGEST - 3] + "..."
    return f"{type(value).__qualname__} ({text})"


# Built-in containers whose elements are checked; other iterables (generators, files,
# proxies of remote containers) would be consumed, or called, by looking inside.
_CONCRETE = (list, tuple, set, frozenset, dict, collections.deque)
_PROMOTIONS: dict[type, tuple[type, ...]] = {
    float: (float, int),
    complex: (complex, float, int),
}


class _IsInstance:
    """The check of a plain class (or classes): validators run ``isinstance`` inline."""

    __slots__ = ("classes",)

    def __init__(self, classes: type | tuple[type, ...]) -> None:
        self.classes = classes

    def __call__(self, value: object) -> _Mismatch | None:
        return None if isinstance(value, self.classes) else _Mismatch(value)


def _isinstance_check(classes: type | tuple[type, ...]) -> _Check:
    return _IsInstance(classes)


def _accept(value: object) -> _Mismatch | None:
    return None


def _never(value: object) -> _Mismatch | None:
    return _Mismatch(value)


def _compile(tp: object) -> _Check | None:
    """The check of an annotation; ``None`` if it accepts anything."""
    if tp is object or tp is typing.Any or tp is typing_extensions.Any:
        return None
    if tp is None or tp is type(None):
        return _isinstance_check(type(None))
    if tp in (typing.NoReturn, typing_extensions.Never):
        return _never
    if tp is typing_extensions.LiteralString:
        return _isinstance_check(str)
    supertype = getattr(tp, "__supertype__", None)  # NewType
    if supertype is not None:
        return _compile(supertype)
    if isinstance(tp, typing.TypeVar):
        if tp.__bound__ is not None:
            return _compile(tp.__bound__)
        if tp.__constraints__:
            return _union(tp.__constraints__)
        return None
    if isinstance(tp, typing_extensions.TypeAliasType):  # `type X = ...` (PEP 695)
        return _compile(tp.__value__)
    remote = protocol_of(tp)
    if remote is not None:
        return _protocol_check(remote)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated or origin in _WRAPPERS:
        return _compile(args[0])
    if origin in (typing.Union, types.UnionType):
        return _union(args)
    if origin in (typing.Literal, typing_extensions.Literal):
        return _literal(args)
    if origin is type:
        return _subclass_check(args[0] if args else object)
    if origin is collections.abc.Callable or tp is collections.abc.Callable:
        return _callable_check
    if isinstance(tp, type) and origin is None:  # on 3.10, list[int] passes for a type
        if _is_typed_dict(tp):
            return _typed_dict(tp)
        return _isinstance_check(_PROMOTIONS.get(tp, tp))
    if isinstance(origin, type):
        return _generic(origin, args)
    return None  # a form this module does not know: accept, never refuse a valid call


_WRAPPERS = frozenset(
    {
        typing_extensions.Required,
        typing_extensions.NotRequired,
        typing_extensions.ReadOnly,
    }
)


def _union(members: tuple[object, ...]) -> _Check | None:
    classes: list[type] = []
    others: list[_Check] = []
    for member in members:
        if member is None or member is type(None):
            classes.append(type(None))
            continue
        if (
            isinstance(member, type)
            and typing.get_origin(member) is None
            and not is_protocol(member)
            and not _is_typed_dict(member)
        ):
            classes.extend(_PROMOTIONS.get(member, (member,)))
            continue
        member_check = _compile(member)
        if member_check is None:
            return None  # `Any | X` accepts anything
        others.append(member_check)
    simple = tuple(classes)
    if not others:
        return _isinstance_check(simple)

    def check(value: object) -> _Mismatch | None:
        if simple and isinstance(value, simple):
            return None
        for other in others:
            if other(value) is None:
                return None
        return _Mismatch(value)

    return check


def _literal(values: tuple[object, ...]) -> _Check:
    # By type and value: Literal[1] refuses True (1 == True) and Literal[True] refuses 1.
    allowed = frozenset((type(v), v) for v in values)

    def check(value: object) -> _Mismatch | None:
        try:
            return None if (type(value), value) in allowed else _Mismatch(value)
        except TypeError:  # unhashable: no literal is
            return _Mismatch(value)

    return check


def _subclass_check(bound: object) -> _Check:
    if isinstance(bound, type):
        cls = bound

        def check(value: object) -> _Mismatch | None:
            ok = isinstance(value, type) and issubclass(value, cls)
            return None if ok else _Mismatch(value)

        return check
    return _isinstance_check(type)


def _callable_check(value: object) -> _Mismatch | None:
    return None if callable(value) else _Mismatch(value)


def _generic(origin: type, args: tuple[object, ...]) -> _Check:
    """``list[int]``, ``dict[str, X]``, ``tuple[int, ...]``, ``Sequence[X]``, ``Box[int]``."""
    if origin is tuple:
        return _tuple(args)
    if len(args) == 2 and issubclass(origin, collections.abc.Mapping):
        return _mapping(origin, *args)
    if len(args) == 1 and issubclass(origin, collections.abc.Iterable):
        return _iterable(origin, args[0])
    return _isinstance_check(origin)  # a user generic: its type arguments are not kept


def _tuple(args: tuple[object, ...]) -> _Check:
    if len(args) == 2 and args[1] is Ellipsis:
        return _iterable(tuple, args[0])
    if args in ((), ((),)):  # tuple[()] (3.10 spells its args ((),))
        return lambda value: (
            None if isinstance(value, tuple) and not value else _Mismatch(value)
        )
    checks = [_compile(a) or _accept for a in args]
    size = len(checks)

    def check(value: object) -> _Mismatch | None:
        if not isinstance(value, tuple) or len(value) != size:
            return _Mismatch(value)
        for index, (item_check, item) in enumerate(zip(checks, value, strict=True)):
            mismatch = item_check(item)
            if mismatch is not None:
                return mismatch.inside(f"[{index}]")
        return None

    return check


def _iterable(origin: type, item: object) -> _Check:
    item_check = _compile(item)
    if item_check is None:
        return _isinstance_check(origin)

    classes = item_check.classes if isinstance(item_check, _IsInstance) else None

    def check(value: object) -> _Mismatch | None:
        if not isinstance(value, origin):
            return _Mismatch(value)
        if isinstance(value, _CONCRETE):
            if classes is not None and all(isinstance(e, classes) for e in value):
                return None
            for index, element in enumerate(value):
                mismatch = item_check(element)
                if mismatch is not None:
                    ordered = isinstance(value, collections.abc.Sequence)
                    return mismatch.inside(f"[{index}]" if ordered else " element")
        return None

    return check


def _mapping(origin: type, key: object, val: object) -> _Check:
    key_check = _compile(key) or _accept
    value_check = _compile(val) or _accept

    def check(value: object) -> _Mismatch | None:
        if not isinstance(value, origin):
            return _Mismatch(value)
        if isinstance(value, dict):
            for k, v in value.items():
                mismatch = key_check(k)
                if mismatch is not None:
                    return mismatch.inside(f" key {_repr.repr(k)}")
                mismatch = value_check(v)
                if mismatch is not None:
                    return mismatch.inside(f"[{_repr.repr(k)}]")
        return None

    return check


def _typed_dict(cls: type) -> _Check:
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:
        return _isinstance_check(
            dict
        )  # an unresolvable field type: check the dict only
    fields = {name: _compile(hint) or _accept for name, hint in hints.items()}
    # __required_keys__ misses `NotRequired` in string annotations (PEP 563): read the hints.
    required = set(getattr(cls, "__required_keys__", fields))
    for name, hint in hints.items():
        marker = typing.get_origin(hint)
        if marker is typing.Annotated:
            marker = typing.get_origin(typing.get_args(hint)[0])
        if marker is typing_extensions.Required:
            required.add(name)
        elif marker is typing_extensions.NotRequired:
            required.discard(name)

    def check(value: object) -> _Mismatch | None:
        if not isinstance(value, dict):
            return _Mismatch(value)
        for name in required:
            if name not in value:
                return _Mismatch(value, problem=f"is missing key {name!r}")
        for name, item in value.items():
            field = fields.get(name)
            if field is None:
                return _Mismatch(value, problem=f"has unknown key {_repr.repr(name)}")
            mismatch = field(item)
            if mismatch is not None:
                return mismatch.inside(f"[{name!r}]")
        return None

    return check


def _is_typed_dict(cls: type) -> bool:
    return typing_extensions.is_typeddict(cls)


def _protocol_check(protocol: type) -> _Check:
    """A proxy of, or an object with the members of, ``protocol`` (structurally)."""
    interface = interface_of(protocol)
    methods = tuple(m.name for m in interface.methods if not m.is_property)
    attributes = tuple(m.name for m in interface.methods if m.is_property)
    verdicts: dict[type, bool] = {}

    def check(value: object) -> _Mismatch | None:
        cls = type(value)
        verdict = verdicts.get(cls)
        if verdict is None:
            served: object = getattr(cls, "_protocol_", None)
            verdict = (isinstance(served, type) and protocol in served.__mro__) or all(
                callable(getattr(cls, name, None)) for name in methods
            )
            verdicts[cls] = verdict
        if verdict and attributes and getattr(cls, "_protocol_", None) is None:
            # An instance attribute is on the object, not on its class.
            present = getattr(value, "__dict__", {})
            verdict = all(hasattr(cls, a) or a in present for a in attributes)
        return None if verdict else _Mismatch(value)

    return check


@dataclass(frozen=True)
class _Slot:
    """A parameter as the binding loop uses it."""

    param: Param
    index: int
    """Position among the positional parameters; -1 for the others."""
    classes: type | tuple[type, ...] | None
    """What ``isinstance`` takes, for plain classes (``object`` if anything goes)."""
    check: _Check
    """The check of anything else (and of plain classes, for messages)."""


def _slot(param: Param, index: int) -> _Slot:
    check = _param_check(param)
    if check is None:
        return _Slot(param, index, object, _accept)
    classes = check.classes if isinstance(check, _IsInstance) else None
    return _Slot(param, index, classes, check)


class MethodValidator:
    """Binds a call to one signature of a method and checks each argument's type."""

    __slots__ = (
        "_by_name",
        "_keyword_only_required",
        "_positional",
        "_positional_only",
        "_required_positional",
        "_star",
        "_star_star",
        "_where",
    )

    def __init__(self, where: str, params: tuple[Param, ...]) -> None:
        self._where = where
        positional = [
            p
            for p in params
            if p.kind in (ParamKind.POSITIONAL_ONLY, ParamKind.POSITIONAL_OR_KEYWORD)
        ]
        slots = [
            _slot(p, positional.index(p) if p in positional else -1) for p in params
        ]
        self._positional = tuple(s for s in slots if s.index >= 0)
        self._required_positional = sum(
            1 for s in self._positional if not s.param.has_default
        )
        self._positional_only = frozenset(
            s.param.name
            for s in self._positional
            if s.param.kind is ParamKind.POSITIONAL_ONLY
        )
        self._by_name = {
            s.param.name: s
            for s in slots
            if s.param.kind in (ParamKind.POSITIONAL_OR_KEYWORD, ParamKind.KEYWORD_ONLY)
        }
        self._keyword_only_required = tuple(
            s.param.name
            for s in slots
            if s.param.kind is ParamKind.KEYWORD_ONLY and not s.param.has_default
        )
        self._star = next(
            (s for s in slots if s.param.kind is ParamKind.VAR_POSITIONAL), None
        )
        self._star_star = next(
            (s for s in slots if s.param.kind is ParamKind.VAR_KEYWORD), None
        )

    def check(self, args: tuple[object, ...], kwds: Mapping[str, object]) -> None:
        """Raise ``TypeError`` unless ``(args, kwds)`` is a call this signature accepts."""
        given = len(args)
        for slot, value in zip(self._positional, args, strict=False):
            if slot.classes is not None:
                if not isinstance(value, slot.classes):
                    raise self._wrong(repr(slot.param.name), slot, value)
            elif slot.check(value) is not None:
                raise self._wrong(repr(slot.param.name), slot, value)
        if given > len(self._positional):
            star = self._star
            if star is None:
                raise self._too_many(given)
            for index in range(len(self._positional), given):
                if star.check(args[index]) is not None:
                    where = f"*{star.param.name} (argument {index + 1})"
                    raise self._wrong(where, star, args[index])
        for name, value in kwds.items():
            named = self._by_name.get(name)
            if named is not None:
                if 0 <= named.index < given:
                    raise TypeError(
                        f"{self._where}() got multiple values for argument {name!r}"
                    )
                if named.classes is not None:
                    if not isinstance(value, named.classes):
                        raise self._wrong(repr(name), named, value)
                elif named.check(value) is not None:
                    raise self._wrong(repr(name), named, value)
                continue
            star_star = self._star_star
            if star_star is None:
                raise self._unexpected(kwds)
            if star_star.check(value) is not None:
                where = f"**{star_star.param.name} (keyword {name!r})"
                raise self._wrong(where, star_star, value)
        if given < self._required_positional:
            missing = [
                s.param.name
                for s in self._positional[given : self._required_positional]
                if s.param.name not in kwds or s.param.name in self._positional_only
            ]
            if missing:
                raise self._missing(missing, "positional")
        if self._keyword_only_required:
            missing = [n for n in self._keyword_only_required if n not in kwds]
            if missing:
                raise self._missing(missing, "keyword-only")

    def _wrong(self, where: str, slot: _Slot, value: object) -> TypeError:
        """The error for an argument that failed its check (checked again, for where)."""
        param = slot.param
        mismatch = slot.check(value) or _Mismatch(value)
        expected = _expected(param.annotation)
        message = (
            f"{self._where}(): parameter {where} expects {expected}, "
            f"got {_received(value)}"
        )
        if mismatch.problem:
            label = f"{param.name}{mismatch.path}" if mismatch.path else "it"
            message += f": {label} {mismatch.problem}"
        elif mismatch.path:
            message += f": {param.name}{mismatch.path} is {_received(mismatch.value)}"
        return TypeError(message)

    def _too_many(self, given: int) -> TypeError:
        most = len(self._positional)
        least = self._required_positional
        takes = f"from {least} to {most}" if least != most else str(most)
        plural = "" if most == 1 and least == most else "s"
        were = "was" if given == 1 else "were"
        return TypeError(
            f"{self._where}() takes {takes} positional argument{plural} "
            f"but {given} {were} given"
        )

    def _unexpected(self, kwds: Mapping[str, object]) -> TypeError:
        names = [n for n in kwds if n not in self._by_name]
        positional_only = [n for n in names if n in self._positional_only]
        if positional_only:
            return TypeError(
                f"{self._where}() got some positional-only arguments passed as "
                f"keyword arguments: {', '.join(repr(n) for n in positional_only)}"
            )
        return TypeError(
            f"{self._where}() got an unexpected keyword argument {names[0]!r}"
        )

    def _missing(self, names: list[str], kind: str) -> TypeError:
        quoted = [repr(n) for n in names]
        listed = (
            quoted[0]
            if len(quoted) == 1
            else f"{', '.join(quoted[:-1])} and {quoted[-1]}"
        )
        plural = "s" if len(names) > 1 else ""
        return TypeError(
            f"{self._where}() missing {len(names)} required {kind} "
            f"argument{plural}: {listed}"
        )


def _expected(annotation: object) -> str:
    """An annotation as its author wrote it (``UserId``, not ``module.UserId``)."""
    if getattr(annotation, "__supertype__", None) is not None:
        return str(getattr(annotation, "__name__", annotation))
    return _describe(annotation)


def _param_check(param: Param) -> _Check | None:
    """The check of a parameter, which also accepts its declared default.

    Generated proxies send declared defaults: ``x: int = None`` (an implicit Optional) must
    not turn every call that leaves ``x`` out into an error.
    """
    check = _compile(param.annotation)
    if check is None or not param.has_default or check(param.default) is None:
        return check
    default = param.default
    inner = check

    def or_default(value: object) -> _Mismatch | None:
        if value is default or (type(value) is type(default) and value == default):
            return None
        return inner(value)

    return or_default


class _Overloaded:
    """A method with ``@overload``s: a call must fit one of them."""

    __slots__ = ("_variants", "_where")

    def __init__(self, where: str, variants: list[MethodValidator]) -> None:
        self._where = where
        self._variants = variants

    def check(self, args: tuple[object, ...], kwds: Mapping[str, object]) -> None:
        errors: list[str] = []
        for variant in self._variants:
            try:
                variant.check(args, kwds)
            except TypeError as error:
                errors.append(str(error))
            else:
                return
        raise TypeError(
            f"{self._where}(): no overload matches the arguments:\n  "
            + "\n  ".join(errors)
        )


class Validator:
    """Checks calls of a Protocol's methods; build with :func:`validator_for`."""

    __slots__ = ("interface", "methods")

    def __init__(self, interface: Interface) -> None:
        self.interface = interface
        self.methods: dict[str, MethodValidator | _Overloaded] = {
            m.name: _method_validator(interface.name, m)
            for m in interface.methods
            if not m.is_property
        }

    def check(
        self, method: str, args: tuple[object, ...], kwds: Mapping[str, object]
    ) -> None:
        """Raise ``TypeError`` unless ``method(*args, **kwds)`` fits the Protocol.

        A name the Protocol does not declare (a stdlib ``exposed`` extra) is not checked.
        """
        validator = self.methods.get(method)
        if validator is not None:
            validator.check(args, kwds)


def _method_validator(protocol: str, method: Method) -> MethodValidator | _Overloaded:
    where = f"{protocol}.{method.name}"
    if method.overloads:
        return _Overloaded(
            where, [MethodValidator(where, o.params) for o in method.overloads]
        )
    return MethodValidator(where, method.params)


def validator_for(interface: Interface) -> Validator:
    """Compile the checks of every method of ``interface`` (once; reuse the result)."""
    return Validator(interface)
