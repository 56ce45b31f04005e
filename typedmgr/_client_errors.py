"""The exceptions a client raises or sends for remote calls, and what ``__exit__`` can send.

``typedmgr`` exports them, and each is named ``typedmgr.X`` (its ``__module__``): the name
it pickles as and prints as in tracebacks, whichever private module defines it.
"""

from __future__ import annotations

import pickle
from multiprocessing import managers

from typedmgr._admitted import BUILTIN_EXCEPTIONS
from typedmgr._allowlist import AllowList
from typedmgr._wire import TRACEBACK_ATTR

__all__ = [
    "ClientException",
    "RemoteTraceback",
    "StaleProxyError",
    "remote_error",
    "sendable_exception",
]


class RemoteTraceback(Exception):
    """The server-side traceback of a remote exception, chained as its ``__cause__``."""

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f"\n\n{self.tb}"


class ClientException(Exception):
    """Stands in, for a server's ``__exit__``, for an exception a client could not send.

    A ``with proxy:`` block that raised sends the exception's type and value to the
    referent's ``__exit__`` (the traceback cannot cross processes) when the server can load
    them: a builtin exception whose arguments and attributes are plain values. Any other
    exception arrives as a ``ClientException`` naming its type and message; the client's
    own ``with`` statement still raises the original.
    """

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(type_name, message)
        self.type_name = type_name
        self.message = message

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}" if self.message else self.type_name

    def __reduce__(self) -> tuple[type[ClientException], tuple[str, str]]:
        return ClientException, (self.type_name, self.message)


#: What a server's ``__exit__`` can always load: builtin exceptions, and the stand-in.
# A trial load with it has no effects: it builds no proxy (which would take a reference).
_EXIT_VALUES = AllowList([*BUILTIN_EXCEPTIONS, ClientException], tokens=False)


def sendable_exception(exc_type: object, exc: object) -> tuple[object, object, None]:
    """``__exit__``'s arguments as a server can load them: tb dropped, stand-in if need be."""
    if exc_type is None and exc is None:
        return None, None, None
    try:
        _EXIT_VALUES.loads(pickle.dumps((exc_type, exc)))
    except Exception:
        pass
    else:
        return exc_type, exc, None
    name = getattr(exc_type, "__qualname__", None) or type(exc).__qualname__
    module = getattr(exc_type, "__module__", None)
    if isinstance(module, str) and module != "builtins":
        name = f"{module}.{name}"
    try:
        message = "" if exc is None else str(exc)
    except Exception:
        message = f"<unprintable {name}>"
    stand_in = ClientException(name, message)
    return ClientException, stand_in, None


class StaleProxyError(TypeError):
    """A method generated from another version of its Protocol than the server serves,
    called though the server cannot serve it as called (see docs/schema-evolution.md)."""

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show


def remote_error(kind: str, result: object) -> BaseException:
    """The exception a non-result reply stands for, with the server traceback chained."""
    if kind == "#ERROR" and isinstance(result, BaseException):
        tb = getattr(result, TRACEBACK_ATTR, None)
        if isinstance(tb, str):
            result.__cause__ = RemoteTraceback(tb)
        return result
    if kind == "#TRACEBACK":
        return managers.RemoteError(result)
    if kind == "#UNSERIALIZABLE":
        return managers.RemoteError(f"Unserializable message: {result}")
    return ValueError(f"Unrecognized message type {kind!r}")
