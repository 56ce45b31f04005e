"""Annotations compiled to check functions: the type half of argument validation.

``compile_check(annotation)`` returns, once per annotation, a small function that says
whether a value fits (``None``) or where it does not (a :class:`Mismatch`), so a validated
call costs a loop over its arguments and an ``isinstance`` per value (or per element of a
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
check never refuses a value the annotation allows.
"""

from __future__ import annotations

import collections
import collections.abc
import reprlib
import typing
import typing_extensions
from collections.abc import Callable

from typedmgr._forms import (
    is_empty_tuple,
    is_protocol,
    is_typed_dict,
    is_union,
    newtype_supertype,
    protocol_of,
)
from typedmgr._model import interface_of

__all__ = [
    "Check",
    "IsInstance",
    "Mismatch",
    "accept",
    "compile_check",
    "received",
]


class Mismatch:
    """Where a value failed its check: ``value`` at ``path`` ("" for the value itself)."""

    __slots__ = ("path", "problem", "value")

    def __init__(self, value: object, path: str = "", problem: str = "") -> None:
        self.value = value
        self.path = path
        self.problem = problem

    def inside(self, step: str) -> Mismatch:
        self.path = step + self.path
        return self


#: A compiled annotation: ``None`` if the value fits, else where it does not.
Check = Callable[[object], "Mismatch | None"]

_LONGEST = 60
_repr = reprlib.Repr()
_repr.maxstring = 40
_repr.maxother = 40
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxdict = 4


def received(value: object) -> str:
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


class IsInstance:
    """The check of a plain class (or classes): validators run ``isinstance`` inline."""

    __slots__ = ("classes",)

    def __init__(self, classes: type | tuple[type, ...]) -> None:
        self.classes = classes

    def __call__(self, value: object) -> Mismatch | None:
        return None if isinstance(value, self.classes) else Mismatch(value)


def _isinstance_check(classes: type | tuple[type, ...]) -> Check:
    return IsInstance(classes)


def accept(value: object) -> Mismatch | None:
    return None


def _never(value: object) -> Mismatch | None:
    return Mismatch(value)


def compile_check(tp: object) -> Check | None:
    """The check of an annotation; ``None`` if it accepts anything."""
    if tp is object or tp is typing.Any or tp is typing_extensions.Any:
        return None
    if tp is None or tp is type(None):
        return _isinstance_check(type(None))
    if tp in (typing.NoReturn, typing_extensions.Never):
        return _never
    if tp is typing_extensions.LiteralString:
        return _isinstance_check(str)
    supertype = newtype_supertype(tp)
    if supertype is not None:
        return compile_check(supertype)
    if isinstance(tp, typing.TypeVar):
        if tp.__bound__ is not None:
            return compile_check(tp.__bound__)
        if tp.__constraints__:
            return _union(tp.__constraints__)
        return None
    if isinstance(tp, typing_extensions.TypeAliasType):  # `type X = ...` (PEP 695)
        return compile_check(tp.__value__)
    remote = protocol_of(tp)
    if remote is not None:
        return _protocol_check(remote)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated or origin in _WRAPPERS:
        return compile_check(args[0])
    if is_union(tp):
        return _union(args)
    if origin in (typing.Literal, typing_extensions.Literal):
        return _literal(args)
    if origin is type:
        return _subclass_check(args[0] if args else object)
    if origin is collections.abc.Callable or tp is collections.abc.Callable:
        return _callable_check
    if isinstance(tp, type) and origin is None:  # on 3.10, list[int] passes for a type
        if is_typed_dict(tp):
            return _typed_dict(tp)
        return _isinstance_check(_PROMOTIONS.get(tp, tp))
    if isinstance(origin, type):
        return _generic(tp, origin, args)
    return None  # a form this module does not know: accept, never refuse a valid call


_WRAPPERS = frozenset(
    {
        typing_extensions.Required,
        typing_extensions.NotRequired,
        typing_extensions.ReadOnly,
    }
)


def _union(members: tuple[object, ...]) -> Check | None:
    classes: list[type] = []
    others: list[Check] = []
    for member in members:
        if member is None or member is type(None):
            classes.append(type(None))
            continue
        if (
            isinstance(member, type)
            and typing.get_origin(member) is None
            and not is_protocol(member)
            and not is_typed_dict(member)
        ):
            classes.extend(_PROMOTIONS.get(member, (member,)))
            continue
        member_check = compile_check(member)
        if member_check is None:
            return None  # `Any | X` accepts anything
        others.append(member_check)
    simple = tuple(classes)
    if not others:
        return _isinstance_check(simple)

    def check(value: object) -> Mismatch | None:
        if simple and isinstance(value, simple):
            return None
        for other in others:
            if other(value) is None:
                return None
        return Mismatch(value)

    return check


def _literal(values: tuple[object, ...]) -> Check:
    # By type and value: Literal[1] refuses True (1 == True) and Literal[True] refuses 1.
    allowed = frozenset((type(v), v) for v in values)

    def check(value: object) -> Mismatch | None:
        try:
            return None if (type(value), value) in allowed else Mismatch(value)
        except TypeError:  # unhashable: no literal is
            return Mismatch(value)

    return check


def _subclass_check(bound: object) -> Check:
    if isinstance(bound, type):
        cls = bound

        def check(value: object) -> Mismatch | None:
            ok = isinstance(value, type) and issubclass(value, cls)
            return None if ok else Mismatch(value)

        return check
    return _isinstance_check(type)


def _callable_check(value: object) -> Mismatch | None:
    return None if callable(value) else Mismatch(value)


def _generic(tp: object, origin: type, args: tuple[object, ...]) -> Check:
    """``list[int]``, ``dict[str, X]``, ``tuple[int, ...]``, ``Sequence[X]``, ``Box[int]``."""
    if origin is tuple:
        return _tuple(tp, args)
    if len(args) == 2 and issubclass(origin, collections.abc.Mapping):
        return _mapping(origin, *args)
    if len(args) == 1 and issubclass(origin, collections.abc.Iterable):
        return _iterable(origin, args[0])
    return _isinstance_check(origin)  # a user generic: its type arguments are not kept


def _tuple(tp: object, args: tuple[object, ...]) -> Check:
    if len(args) == 2 and args[1] is Ellipsis:
        return _iterable(tuple, args[0])
    if is_empty_tuple(tp):
        return lambda value: (
            None if isinstance(value, tuple) and not value else Mismatch(value)
        )
    checks = [compile_check(a) or accept for a in args]
    size = len(checks)

    def check(value: object) -> Mismatch | None:
        if not isinstance(value, tuple) or len(value) != size:
            return Mismatch(value)
        for index, (item_check, item) in enumerate(zip(checks, value, strict=True)):
            mismatch = item_check(item)
            if mismatch is not None:
                return mismatch.inside(f"[{index}]")
        return None

    return check


def _iterable(origin: type, item: object) -> Check:
    item_check = compile_check(item)
    if item_check is None:
        return _isinstance_check(origin)

    classes = item_check.classes if isinstance(item_check, IsInstance) else None

    def check(value: object) -> Mismatch | None:
        if not isinstance(value, origin):
            return Mismatch(value)
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


def _mapping(origin: type, key: object, val: object) -> Check:
    key_check = compile_check(key) or accept
    value_check = compile_check(val) or accept

    def check(value: object) -> Mismatch | None:
        if not isinstance(value, origin):
            return Mismatch(value)
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


def _typed_dict(cls: type) -> Check:
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:
        return _isinstance_check(
            dict
        )  # an unresolvable field type: check the dict only
    fields = {name: compile_check(hint) or accept for name, hint in hints.items()}
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

    def check(value: object) -> Mismatch | None:
        if not isinstance(value, dict):
            return Mismatch(value)
        for name in required:
            if name not in value:
                return Mismatch(value, problem=f"is missing key {name!r}")
        for name, item in value.items():
            field = fields.get(name)
            if field is None:
                return Mismatch(value, problem=f"has unknown key {_repr.repr(name)}")
            mismatch = field(item)
            if mismatch is not None:
                return mismatch.inside(f"[{name!r}]")
        return None

    return check


def _protocol_check(protocol: type) -> Check:
    """A proxy of, or an object with the members of, ``protocol`` (structurally)."""
    interface = interface_of(protocol)
    methods = tuple(m.name for m in interface.methods if not m.is_property)
    attributes = tuple(m.name for m in interface.methods if m.is_property)
    verdicts: dict[type, bool] = {}

    def check(value: object) -> Mismatch | None:
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
        return None if verdict else Mismatch(value)

    return check
