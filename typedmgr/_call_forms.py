"""The call forms a proxy method is generated as, each a variant of ``TypedProxy._call``:
a ``-> Self`` call, a fluent one, ``__exit__``, attribute reads, and a generator's calls.

Split from ``_proxy``: ``TypedProxy`` and ``TypedGenerator`` inherit them (generated code
calls them by name, so their names are part of the runtime API).
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Generic, Self, TypeVar, overload

from typedmgr._channel import GETATTR
from typedmgr._client_errors import sendable_exception

__all__ = ["CallForms", "GeneratorCalls", "IteratorCalls"]

_Y_co = TypeVar("_Y_co", covariant=True)
_S_contra = TypeVar("_S_contra", contravariant=True)


class CallForms:
    """The call forms of a typed proxy, all through its ``_call``."""

    __slots__ = ()

    if TYPE_CHECKING:  # TypedProxy._call

        def _call(
            self, methodname: str, /, *args: object, **kwds: object
        ) -> object: ...

    def _call_self(self, methodname: str, /, *args: object, **kwds: object) -> Self:
        """Call a method that returns its own referent (``__enter__``): this proxy is the result.

        The server replies ``None`` for it (``Returns.caller_proxy``): no new reference.
        """
        self._call(methodname, *args, **kwds)
        return self

    def _call_fluent(self, methodname: str, /, *args: object, **kwds: object) -> object:
        """Call a ``-> Self`` method: this proxy if the server returned its referent, else
        a new proxy of this class (``None`` stays ``None`` for ``-> Self | None``)."""
        result = self._call(methodname, *args, **kwds)
        cls = type(self)
        if (
            isinstance(result, CallForms)  # a typed proxy
            and type(result) is not cls
            and issubclass(cls, type(result))
        ):
            result.__class__ = cls  # the typeid's class; ours subclasses it
        return result

    def _call_exit(self, methodname: str, /, *args: object, **kwds: object) -> object:
        """Call ``__exit__``: ``(exc_type, exc, tb)`` go as :func:`sendable_exception` says."""
        if len(args) >= 3:
            args = (*sendable_exception(args[0], args[1]), *args[3:])
        return self._call(methodname, *args, **kwds)

    def _get(self, name: str) -> object:
        """Read the attribute or property ``name`` of the referent."""
        return self._call(GETATTR, name)

    def _get_fluent(self, name: str) -> object:
        """Read a ``-> Self`` property: as :meth:`_call_fluent` returns."""
        return self._call_fluent(GETATTR, name)


class IteratorCalls(CallForms, Generic[_Y_co]):
    """A remote iterator's ``next()``: one call each."""

    __slots__ = ()

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> _Y_co:
        return self._call("__next__")  # type: ignore[return-value]


class GeneratorCalls(IteratorCalls[_Y_co], Generic[_Y_co, _S_contra]):
    """A remote generator's ``next()``, ``send()``, ``throw()`` and ``close()``, each one
    call; a thrown exception travels as ``__exit__``'s do, its traceback stays here."""

    __slots__ = ()

    def send(self, value: _S_contra, /) -> _Y_co:
        return self._call("send", value)  # type: ignore[return-value]

    @overload
    def throw(
        self,
        typ: type[BaseException],
        val: BaseException | object = None,
        tb: TracebackType | None = None,
        /,
    ) -> _Y_co: ...

    @overload
    def throw(
        self, typ: BaseException, val: None = None, tb: TracebackType | None = None, /
    ) -> _Y_co: ...

    def throw(
        self,
        typ: type[BaseException] | BaseException,
        val: object = None,
        tb: TracebackType | None = None,
        /,
    ) -> _Y_co:
        if isinstance(typ, BaseException):
            exc = typ
        elif isinstance(val, BaseException):
            exc = val
        else:
            exc = typ() if val is None else typ(val)
        _, sent, _ = sendable_exception(type(exc), exc)
        return self._call("throw", sent)  # type: ignore[return-value]

    def close(self) -> None:
        self._call("close")
