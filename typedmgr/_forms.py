"""Annotation forms, normalised in one place for the model, validation and the generator.

Placeholder with the agreed API (is_typed_dict, newtype_supertype, is_empty_tuple) so the
generator can switch to it now; the model's work replaces this file at the merge.
"""

from __future__ import annotations

import typing
import typing_extensions

__all__ = ["is_empty_tuple", "is_typed_dict", "newtype_supertype"]

_BARE_TUPLE: object = typing.Tuple  # noqa: UP006 - unlike tuple[()], a bare Tuple has no args


def is_typed_dict(tp: object) -> bool:
    """Whether ``tp`` is a TypedDict class, of ``typing`` or of ``typing_extensions``."""
    return typing_extensions.is_typeddict(tp)


def newtype_supertype(tp: object) -> object | None:
    """The supertype of a ``typing.NewType`` (which is a callable, not a class), else None."""
    if not callable(tp):
        return None
    supertype: object | None = getattr(tp, "__supertype__", None)
    return supertype


def is_empty_tuple(tp: object) -> bool:
    """Whether ``tp`` is ``tuple[()]`` (or ``Tuple[()]``): some Pythons give its args as
    ``((),)``, others as ``()``, which a bare ``Tuple`` has too."""
    return (
        typing.get_origin(tp) is tuple
        and typing.get_args(tp) in ((), ((),))
        and tp is not _BARE_TUPLE
    )
