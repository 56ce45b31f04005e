"""Argument validation: check a call's arguments against its Protocol's annotations.

``validator_for(interface)`` builds, once, a :class:`Validator` for every method of an
:class:`~typedmgr._model.Interface`. A server that validates runs ``validator.check(name,
args, kwds)`` before calling the implementation: the arguments are bound to the method's
parameters as Python binds them (positional-only, keyword-only, ``*args``, ``**kwargs``,
defaults), and each value is checked against its annotation. A call that does not fit raises
``TypeError``, worded like Python's own for a wrong arity, and for a wrong type naming the
Protocol, the method, the parameter, what it expects and what it got::

    Counter.increment(): parameter 'by' expects int, got str ('2')

Each annotation is compiled to a check function once, when the validator is built
(``typedmgr._checks`` tells which forms are checked and how); ``object``, ``Any``, unbound
type variables and forms not known there accept anything: a validator never refuses a call
the Protocol allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from typedmgr._checks import (
    Check,
    IsInstance,
    Mismatch,
    accept,
    compile_check,
    received,
)
from typedmgr._forms import newtype_supertype
from typedmgr._model import Interface, Method, Param, ParamKind, annotation_text

__all__ = ["MethodValidator", "Validator", "validator_for"]


@dataclass(frozen=True)
class _Slot:
    """A parameter as the binding loop uses it."""

    param: Param
    index: int
    """Position among the positional parameters; -1 for the others."""
    classes: type | tuple[type, ...] | None
    """What ``isinstance`` takes, for plain classes (``object`` if anything goes)."""
    check: Check
    """The check of anything else (and of plain classes, for messages)."""


def _slot(param: Param, index: int) -> _Slot:
    check = _param_check(param)
    if check is None:
        return _Slot(param, index, object, accept)
    classes = check.classes if isinstance(check, IsInstance) else None
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
        mismatch = slot.check(value) or Mismatch(value)
        expected = _expected(param.annotation)
        message = (
            f"{self._where}(): parameter {where} expects {expected}, "
            f"got {received(value)}"
        )
        if mismatch.problem:
            label = f"{param.name}{mismatch.path}" if mismatch.path else "it"
            message += f": {label} {mismatch.problem}"
        elif mismatch.path:
            message += f": {param.name}{mismatch.path} is {received(mismatch.value)}"
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
    if newtype_supertype(annotation) is not None:
        return str(getattr(annotation, "__name__", annotation))
    return annotation_text(annotation)


def _param_check(param: Param) -> Check | None:
    """The check of a parameter, which also accepts its declared default.

    Generated proxies send declared defaults: ``x: int = None`` (an implicit Optional) must
    not turn every call that leaves ``x`` out into an error.
    """
    check = compile_check(param.annotation)
    if check is None or not param.has_default or check(param.default) is None:
        return check
    default = param.default
    inner = check

    def or_default(value: object) -> Mismatch | None:
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
