"""The members of a proxy class built at runtime (``proxy.proxy_class_for`` with no
generated class imported): each binds its arguments as the generated one does, so both
send the same wire message.

Split from ``proxy``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typedmgr.model import Method, ReturnKind, inspect_signature

__all__ = ["runtime_method", "runtime_property"]


def runtime_property(method: Method) -> property:
    """A proxy property reading ``method``'s attribute, as the generated one does."""
    name = method.name

    fluent = method.return_kind in (ReturnKind.FLUENT, ReturnKind.OPTIONAL_FLUENT)

    def get(self: Any) -> object:
        return self._get_fluent(name) if fluent else self._get(name)

    return property(get, doc=method.doc)


def runtime_method(method: Method) -> Callable[..., object]:
    """A proxy method that binds arguments like the generated one: same wire message."""
    signature = inspect_signature(method.params, returns=method.returns)
    name = method.name
    oneway = method.oneway
    overloaded = bool(method.overloads)

    itself = method.return_kind is ReturnKind.SELF
    fluent = method.return_kind in (ReturnKind.FLUENT, ReturnKind.OPTIONAL_FLUENT)
    exits = method.is_exit

    def call(self: Any, /, *args: object, **kwds: object) -> object:
        if overloaded:  # which overload applies is the server's business
            if fluent:
                return self._call_fluent(name, *args, **kwds)
            return self._call(name, *args, **kwds)
        bound = signature.bind(*args, **kwds)
        bound.apply_defaults()
        if oneway:
            self._send(name, *bound.args, **bound.kwargs)
            return None
        if itself:
            return self._call_self(name, *bound.args, **bound.kwargs)
        if fluent:
            return self._call_fluent(name, *bound.args, **bound.kwargs)
        if exits:
            return self._call_exit(name, *bound.args, **bound.kwargs)
        return self._call(name, *bound.args, **bound.kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = method.doc
    call.__signature__ = inspect_signature(  # type: ignore[attr-defined]
        method.params, returns=method.returns, with_self=True
    )
    return call
