"""Does an implementation serve its Protocol? ``register()`` asks before serving it.

``check_implementation`` holds a class (or a factory's declared class) against an
:class:`Interface`: every method present, accepting every call the Protocol's signature
allows, and with annotations that agree with the Protocol's (``type_problem``).

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
import typing
import typing_extensions
from collections.abc import Callable, Sequence

from typedmgr._forms import is_protocol, is_typed_dict, is_union, newtype_supertype
from typedmgr._model.interface import Interface
from typedmgr._model.types import InterfaceError, Param, ParamKind

__all__ = ["check_implementation", "is_subtype", "type_problem"]


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


_PROMOTIONS = {int: (float, complex), float: (complex,)}


def is_subtype(sub: object, sup: object) -> bool | None:
    """``True`` if ``sub`` is assignable to ``sup``, ``False`` if surely not, else ``None``."""
    sub, sup = _plain(sub), _plain(sup)
    if sub is sup or sup is object or sup is typing.Any or sub is typing.Any:
        return True
    if _unknowable(sub) or _unknowable(sup):
        return None
    if is_union(sub):
        return _all(is_subtype(member, sup) for member in typing.get_args(sub))
    if is_union(sup):
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
    if is_protocol(sup_class) or is_protocol(sub_class):
        return None  # structural, or a proxy standing for a remote object: not judged
    if is_typed_dict(sub_class) or is_typed_dict(sup_class):
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
    supertype = newtype_supertype(tp)
    if supertype is not None:
        return _plain(supertype)
    return tp


def _unknowable(tp: object) -> bool:
    return (
        isinstance(tp, (typing.TypeVar, str, typing.ForwardRef))
        or tp is typing_extensions.Self
        or tp in (typing.NoReturn, typing_extensions.Never)
        or typing.get_origin(tp) in (typing.Callable, Callable)
        or typing.get_origin(tp) is type
    )


def _class_of(tp: object) -> type | None:
    origin = typing.get_origin(tp)
    if isinstance(origin, type):
        return origin
    return tp if isinstance(tp, type) else None


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
