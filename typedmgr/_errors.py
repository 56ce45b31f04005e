"""Errors that name the problem and its fix, at the caller.

A server that refuses to load an argument, or cannot pickle a result, answers the stdlib's
way: a ``#TRACEBACK`` / ``#UNSERIALIZABLE`` reply holding a server-side traceback (about 15
lines of typedmgr and pickle internals), which ``multiprocessing`` raises as a bare
``RemoteError``. The caller knows what it called and with what, so it can say more: this
module turns those replies into exceptions naming the method, the parameter and the type,
and how to allow it. The server's text stays on the exception as ``server_traceback``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ObjectGone",
    "RefusedArgument",
    "UnpicklableResult",
    "explain",
]

_REFUSED = re.compile(r"RefusedType: refused to load ([\w.]+):")
_UNPICKLABLE = re.compile(r"^cannot pickle the result, a ([\w.<>]+): (.*)$", re.M)


class RefusedArgument(TypeError):
    """The server refused to load an argument: its type is not one it may load."""

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show

    server_traceback: str = ""


class UnpicklableResult(TypeError):
    """The server could not pickle what a method returned."""

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show

    server_traceback: str = ""


class ObjectGone(LookupError):
    """The server holds no object of this proxy (released, or the server restarted)."""

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show

    server_traceback: str = ""


def explain(
    kind: str,
    result: object,
    *,
    address: object,
    typeid: object,
    ident: object,
    protocol: type | None,
    call: tuple[str, tuple[Any, ...], Mapping[str, Any]] | None,
) -> BaseException | None:
    """The error a failed reply stands for, if it is one typedmgr can explain better."""
    if not isinstance(result, str) or kind not in ("#TRACEBACK", "#UNSERIALIZABLE"):
        return None
    method = call[0] if call else "?"
    where = f"creating {typeid}" if method == "__init__" else f"{typeid}.{method}()"
    error: RefusedArgument | UnpicklableResult | ObjectGone | None = None
    refused = _REFUSED.search(result)
    unpicklable = _UNPICKLABLE.search(result)
    if refused is not None and call is not None:
        type_name = refused.group(1)
        parameter = _parameter_of(type_name, protocol, call)
        short = type_name.rpartition(".")[2]
        error = RefusedArgument(
            f"{where}: the manager server at {address!r} refused "
            f"{parameter} of type {type_name}: it loads only the types its Protocols "
            f"name. Name {short} in the Protocol's annotations, or, if it is a value "
            "type (never a function: an allowed type's constructor is callable by "
            f"peers), allow it: class MyManager(TypedManager, allow=({short},))"
        )
    elif unpicklable is not None:
        error = UnpicklableResult(
            f"{where} returned a {unpicklable.group(1)}, which the manager server at "
            f"{address!r} cannot pickle ({unpicklable.group(2)}); return a picklable "
            "value, or declare a Protocol as the return type to get a proxy of it"
        )
    elif result.rstrip().endswith(f"KeyError: {ident!r}"):
        error = ObjectGone(
            f"{where}: the manager server at {address!r} holds no {typeid} object "
            f"{ident}: it was released, or the server restarted since the proxy was "
            "made; make the object again"
        )
    if error is not None:
        error.server_traceback = result
    return error


def _parameter_of(
    type_name: str,
    protocol: type | None,
    call: tuple[str, tuple[Any, ...], Mapping[str, Any]],
) -> str:
    """Which argument of ``call`` holds a value of the type named ``type_name``."""
    method, args, kwds = call
    names: list[str] = []
    if protocol is not None:
        from typedmgr._model import interface_of

        for m in interface_of(protocol).methods:
            if m.name == method:
                names = [p.name for p in m.params]
    candidates = [
        *(
            (f"parameter {names[i]!r}" if i < len(names) else f"argument {i + 1}", v)
            for i, v in enumerate(args)
        ),
        *((f"parameter {name!r}", v) for name, v in kwds.items()),
    ]
    for name, value in candidates:
        if _holds(value, type_name, 4):
            return name
    return "an argument"


def _holds(value: object, type_name: str, depth: int) -> bool:
    cls = type(value)
    if f"{cls.__module__}.{cls.__qualname__}" == type_name:
        return True
    if depth <= 0:
        return False
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds(v, type_name, depth - 1) for v in value)
    if isinstance(value, dict):
        return any(
            _holds(k, type_name, depth - 1) or _holds(v, type_name, depth - 1)
            for k, v in value.items()
        )
    fields = getattr(value, "__dict__", None)
    if isinstance(fields, dict):  # a dataclass, say
        return any(_holds(v, type_name, depth - 1) for v in fields.values())
    return False
