"""The interface model's former home: re-exports ``typedmgr._model`` for existing imports.

The model lives in the package ``typedmgr._model`` (types, extraction, descriptions,
reference typeids, conformance, the walk); import from there in new code. ``RemoteMethods``
stays here until the registration record replaces it.
"""

from __future__ import annotations

from collections.abc import Mapping

from typedmgr import _model
from typedmgr._model import *  # noqa: F403 - the model's API, as before the split
from typedmgr._model.types import *  # noqa: F403 - mypy follows one star import, not two

__all__ = ["RemoteMethods"]
__all__ += _model.__all__


class RemoteMethods(dict[str, str]):
    """A ``method_to_typeid`` that also knows which methods may return ``None``.

    Registered as is, it reaches the server inside the registry, where a ``None`` result of an
    ``optional`` method is returned as ``None`` instead of being wrapped in a proxy, and
    ``validate`` (``None``: as the manager says) tells whether the server checks arguments.
    """

    def __init__(
        self,
        typeids: Mapping[str, str],
        optional: frozenset[str] = frozenset(),
        itself: frozenset[str] = frozenset(),
        *,
        validate: bool | None = None,
        fluent: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(typeids)
        self.optional = optional
        #: Methods whose result is the referent itself (``__enter__``): the server replies
        #: ``None``, and the proxy returns itself.
        self.itself = itself
        self.validate = validate
        #: Methods declared ``-> Self``: when the result is the referent itself, a typedmgr
        #: caller is told so (``channel.ITSELF``) and keeps its proxy; another object is
        #: wrapped under the typeid the method maps to.
        self.fluent = fluent
