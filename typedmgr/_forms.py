"""The one place that answers what an evaluated annotation is, whatever its spelling.

The model, conformance, compatibility, validation, restricted loading and the generator each
read annotations; when one of them asks "is this a TypedDict?" or "is this ``tuple[()]``?",
it asks here, so every reader agrees on the same forms (``typing`` and ``typing_extensions``
spellings alike) and a new Python's change of spelling is handled once.
"""

from __future__ import annotations

import types
import typing
import typing_extensions

__all__ = [
    "is_empty_tuple",
    "is_protocol",
    "is_typed_dict",
    "is_union",
    "newtype_supertype",
    "protocol_of",
]

# Unlike ``tuple[()]``, a bare ``typing.Tuple`` means any tuple, though both have no args.
_BARE_TUPLE: object = typing.Tuple  # noqa: UP006


def is_typed_dict(tp: object) -> bool:
    """A TypedDict class: ``typing``'s, ``typing_extensions``' or another library's.

    ``typing_extensions.is_typeddict`` knows the first two; other implementations
    (``mypy_extensions.TypedDict``) are dict classes with a boolean ``__total__``, the
    flag every TypedDict sets.
    """
    if typing_extensions.is_typeddict(tp):
        return True
    return (
        isinstance(tp, type)
        and issubclass(tp, dict)
        and isinstance(getattr(tp, "__total__", None), bool)
    )


def newtype_supertype(tp: object) -> object | None:
    """The supertype of a ``typing.NewType`` (``UserId = NewType("UserId", int)``), else None.

    A NewType is checked, described and compared as its supertype; only its name is its own.
    """
    supertype: object = getattr(tp, "__supertype__", None)
    return supertype if supertype is not None and callable(tp) else None


def is_empty_tuple(tp: object) -> bool:
    """``tuple[()]`` or ``Tuple[()]``: the tuple with no items (not a bare ``Tuple``)."""
    return (
        typing.get_origin(tp) is tuple
        and typing.get_args(tp) in ((), ((),))  # ((),) was Python 3.10's spelling
        and tp is not _BARE_TUPLE
    )


def is_union(tp: object) -> bool:
    """``X | Y``, ``Union[X, Y]`` or ``Optional[X]``."""
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def is_protocol(obj: object) -> bool:
    """True for a class defined with ``typing.Protocol`` (not for Protocol itself)."""
    return isinstance(obj, type) and typing_extensions.is_protocol(obj)


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
