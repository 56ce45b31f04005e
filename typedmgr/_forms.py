"""Annotation forms, recognised one way for the model, validation, loading and codegen.

Placeholder with the agreed API: the model's split brings the real module.
"""

from __future__ import annotations

import typing
import typing_extensions

__all__ = ["is_empty_tuple", "is_typed_dict", "newtype_supertype"]


def is_typed_dict(tp: object) -> bool:
    """A TypedDict class, of ``typing`` or of ``typing_extensions`` (two metaclasses)."""
    return typing_extensions.is_typeddict(tp)


def newtype_supertype(tp: object) -> object | None:
    """The supertype of a ``typing.NewType``, else None (a NewType is a callable that
    carries ``__supertype__``, on every supported Python)."""
    supertype: object | None = getattr(tp, "__supertype__", None)
    return supertype if callable(tp) else None


def is_empty_tuple(tp: object) -> bool:
    """``tuple[()]`` or ``Tuple[()]`` (3.10 spells their args ``((),)``, later Pythons
    ``()``), never the bare ``Tuple``, whose args are ``()`` too."""
    return (
        tp is not typing.Tuple  # noqa: UP006 - the bare form is what is excluded
        and typing.get_origin(tp) is tuple
        and typing.get_args(tp) in ((), ((),))
    )
