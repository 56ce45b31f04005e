"""Do an implementation's annotations agree with its Protocol's? ``register()`` asks.

The rules are a type checker's for overriding a method, within reason, on evaluated
annotations: a parameter of the implementation must accept every type the Protocol's
does (contravariance), and its result must be a type the Protocol's result allows
(covariance). Only what can be decided from the annotations at run time is decided:

- classes by ``issubclass``, with the numeric promotions ``int`` -> ``float`` -> ``complex``;
- ``None``, unions (``X | Y``, ``Optional``), ``Literal`` values, ``Annotated`` (stripped);
- generic aliases (``list[int]``) by their classes, and their arguments only where two are
  unrelated either way (``list[int]`` against ``list[str]``): variance is not judged.

``Any``, ``object`` (as the wider side), type variables, Protocols (structural), callables,
``Self`` and whatever else is undecided count as agreeing: the check never refuses what a
type checker would accept, and catches the plain mistakes (``key: int`` for ``key: str``).
An implementation without annotations, or whose annotations cannot be evaluated, is not
checked at all.
"""

from __future__ import annotations

import inspect
import types
import typing
import typing_extensions
from collections.abc import Callable, Sequence

__all__ = ["is_subtype", "type_problem"]

_PROMOTIONS = {int: (float, complex), float: (complex,)}


def is_subtype(sub: object, sup: object) -> bool | None:
    """``True`` if ``sub`` is assignable to ``sup``, ``False`` if surely not, else ``None``."""
    sub, sup = _plain(sub), _plain(sup)
    if sub is sup or sup is object or sup is typing.Any or sub is typing.Any:
        return True
    if _unknowable(sub) or _unknowable(sup):
        return None
    if _is_union(sub):
        return _all(is_subtype(member, sup) for member in typing.get_args(sub))
    if _is_union(sup):
        return _any(is_subtype(sub, member) for member in typing.get_args(sup))
    if typing.get_origin(sub) is typing.Literal:
        if typing.get_origin(sup) is typing.Literal:
            return set(typing.get_args(sub)) <= set(typing.get_args(sup))
        return _all(is_subtype(type(v), sup) for v in typing.get_args(sub))
    if typing.get_origin(sup) is typing.Literal:
        return False if isinstance(sub, type) and sub is not bool else None
    sub_class, sup_class = _class_of(sub), _class_of(sup)
    if sub_class is None or sup_class is None:
        return None
    if _is_protocol(sup_class) or _is_protocol(sub_class):
        return None  # structural, or a proxy standing for a remote object: not judged
    if typing_extensions.is_typeddict(sub_class) or typing_extensions.is_typeddict(
        sup_class
    ):
        return None  # structural too
    try:
        related = issubclass(sub_class, sup_class)
    except TypeError:  # a class refusing subclass checks
        return None
    if not (related or sup_class in _PROMOTIONS.get(sub_class, ())):
        return False
    sub_args, sup_args = typing.get_args(sub), typing.get_args(sup)
    if sub_class is sup_class and len(sub_args) == len(sup_args):
        for a, b in zip(sub_args, sup_args, strict=True):
            if is_subtype(a, b) is False and is_subtype(b, a) is False:
                return False
    return True


def type_problem(
    params: Sequence[tuple[str, object, bool]],
    returns: object | None,
    impl: Callable[..., object],
) -> str | None:
    """What ``impl``'s annotations contradict, or ``None``.

    ``params``: the Protocol's (name, annotation, keyword-only) in order, ``self`` left
    out; ``returns``: the Protocol's result, or ``None`` not to compare results.
    """
    try:
        hints = typing.get_type_hints(impl, include_extras=False)
        signature = inspect.signature(impl)
    except Exception:
        return None  # unresolvable annotations: a type checker's business, not ours
    impl_params = list(signature.parameters.values())
    if inspect.isfunction(impl) and impl_params:
        impl_params = impl_params[1:]  # self
    positional = [
        p for p in impl_params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    by_name = {p.name: p for p in impl_params if p.kind is not p.POSITIONAL_ONLY}
    for index, (name, annotation, keyword_only) in enumerate(params):
        if keyword_only:
            match = by_name.get(name)
        else:
            match = positional[index] if index < len(positional) else None
        if match is None or match.name not in hints:
            continue
        if is_subtype(annotation, hints[match.name]) is False:
            return (
                f"parameter {match.name!r} takes {_spell(hints[match.name])}, "
                f"the Protocol passes {_spell(annotation)}"
            )
    if (
        returns is not None
        and "return" in hints
        and is_subtype(hints["return"], returns) is False
    ):
        return f"returns {_spell(hints['return'])}, the Protocol promises {_spell(returns)}"
    return None


def _plain(tp: object) -> object:
    if tp is None:
        return type(None)
    if typing.get_origin(tp) in (typing.Annotated, typing_extensions.Annotated):
        return _plain(typing.get_args(tp)[0])
    if callable(tp) and hasattr(tp, "__supertype__"):  # typing.NewType
        return _plain(tp.__supertype__)
    return tp


def _unknowable(tp: object) -> bool:
    return (
        isinstance(tp, (typing.TypeVar, str, typing.ForwardRef))
        or tp is typing_extensions.Self
        or tp in (typing.NoReturn, typing_extensions.Never)
        or typing.get_origin(tp) in (typing.Callable, Callable)
        or typing.get_origin(tp) is type
    )


def _is_union(tp: object) -> bool:
    return typing.get_origin(tp) is typing.Union or isinstance(tp, types.UnionType)


def _class_of(tp: object) -> type | None:
    origin = typing.get_origin(tp)
    if isinstance(origin, type):
        return origin
    return tp if isinstance(tp, type) else None


def _is_protocol(cls: type) -> bool:
    return bool(getattr(cls, "_is_protocol", False))


def _all(results: typing.Iterable[bool | None]) -> bool | None:
    seen = list(results)
    if False in seen:
        return False
    return True if all(seen) else None


def _any(results: typing.Iterable[bool | None]) -> bool | None:
    seen = list(results)
    if True in seen:
        return True
    return False if all(r is False for r in seen) else None


def _spell(tp: object) -> str:
    if tp is type(None):
        return "None"
    if isinstance(tp, type) and not typing.get_args(tp):
        return (
            tp.__qualname__
            if tp.__module__ == "builtins"
            else f"{tp.__module__}.{tp.__qualname__}"
        )
    return repr(tp).replace("typing.", "")
