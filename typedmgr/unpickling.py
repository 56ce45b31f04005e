"""Restricted unpickling: a peer's message may only name the types the Protocols name.

The stdlib server unpickles whatever an authenticated peer sends, and a pickle can name any
importable callable (``os.system``): remote code execution for anyone who has the authkey.
A typedmgr server whose registrations are all Protocols loads requests through an allow-list
instead: a few harmless builtins, typedmgr's own tokens, and the value types the registered
Protocols mention in their signatures (and the types those contain). Anything else is refused
before it is imported, and the sender gets an error naming it and how to allow it.
"""

from __future__ import annotations

import builtins
import dataclasses
import enum
import io
import pickle
import pickletools
import sys
import typing
from collections.abc import Iterable

from typedmgr.model import (
    GENERATOR_TYPEID,
    Interface,
    interface_of,
    is_protocol,
    iterator_typeid,
)

__all__ = [
    "BUILTIN_EXCEPTIONS",
    "AllowList",
    "RefusedType",
    "check_memo",
    "expect_replies",
    "load_reply",
    "loads_replacing",
    "value_types",
]

# Builtins a pickle may construct by name. Containers, numbers and strings have opcodes of
# their own; constructing them by name (``list(range(10**12))``) is how a message asks for
# unbounded memory or time, so they are not here.
_SAFE = frozenset(("builtins", name) for name in ("complex", "range", "slice"))
# Tokens and proxies a client may pass as arguments (never AutoProxy: it exec()s names).
_TYPEDMGR = frozenset(
    {
        ("multiprocessing.managers", "Token"),
        ("multiprocessing.managers", "RebuildProxy"),
        ("typedmgr.proxy", "ProxyFactory"),
        ("typedmgr.proxy", "TypedIterator"),
        ("typedmgr.proxy", "TypedGenerator"),
        ("typedmgr.proxy", "ClientException"),  # what a failed `with` block sends
    }
)
# What a ``with`` block that raised sends to ``__exit__``, when the Protocol declares one.
BUILTIN_EXCEPTIONS = frozenset(
    cls
    for cls in vars(builtins).values()
    if isinstance(cls, type) and issubclass(cls, BaseException)
)


class RefusedType(pickle.UnpicklingError):
    """A message named a type outside the allow-list."""


class AllowList:
    """The globals a restricted load may resolve: ``(module, qualified name)`` pairs.

    ``replaced``: globals loaded as something else (``{(module, name): replacement}``); the
    server loads ``multiprocessing.managers.RebuildProxy`` as a function of its own, to count
    the proxies of its objects that requests bring in (``TypedServer._rebuild_proxy``).
    ``exceptions``: also exception classes of modules this process has imported already
    (a client receiving the exception a remote method raised); nothing is ever imported.
    ``tokens=False`` leaves out typedmgr's tokens and proxies, whose load has effects.
    """

    def __init__(
        self,
        types: Iterable[type],
        *,
        replaced: dict[tuple[str, str], object] | None = None,
        exceptions: bool = False,
        tokens: bool = True,
        refusal: str = "",
    ) -> None:
        self.allowed = set(_SAFE | _TYPEDMGR) if tokens else set(_SAFE)
        self.allowed.update((t.__module__, t.__qualname__) for t in types)
        self.replaced = dict(replaced or {})
        self.exceptions = exceptions
        self.refusal = refusal or _SERVER_REFUSAL
        # The globals admitted so far, resolved: a load looks each one up again.
        self.resolved: dict[tuple[str, str], object] = {}
        # A subclass per allow-list: no Python-level __init__ on every load.
        self._unpickler = type("_Restricted", (_Restricted,), {"allow": self})

    def loads(self, data: bytes | bytearray) -> object:
        """Unpickle ``data``, refusing any global not in the allow-list."""
        if _is_plain(data):
            return pickle.loads(data)
        check_memo(data)
        if not _names_a_global(data):
            # No opcode that looks a name up: nothing but builtin values can come out,
            # and the C loader is several times faster than a restricted one.
            return pickle.loads(data)
        return self._unpickler(io.BytesIO(data)).load()

    def admits(self, module: str, name: str) -> bool:
        if (module, name) in self.allowed:
            return True
        if not self.exceptions or module not in sys.modules:
            return False
        found: object = sys.modules[module]
        for part in name.split("."):
            found = getattr(found, part, None)
        return isinstance(found, type) and issubclass(found, BaseException)


def loads_replacing(
    replaced: dict[tuple[str, str], object],
) -> typing.Callable[[bytes | bytearray], object]:
    """A full ``pickle.loads`` (any global), but for the ``replaced`` globals."""
    unpickler = type("_Replacing", (_Replacing,), {"replaced": replaced})

    def loads(data: bytes | bytearray) -> object:
        if _is_plain(data):
            return pickle.loads(data)
        check_memo(data)
        if not _names_a_global(data):
            return pickle.loads(data)
        return unpickler(io.BytesIO(data)).load()

    return loads


# What every opcode that resolves a global by name needs: GLOBAL and INST read the module and
# the name as newline-terminated lines, STACK_GLOBAL is 0x93, EXT1/2/4 are 0x82-0x84. Every
# other way of building an object needs a callable one of these put on the stack. A byte that
# only looks like one (inside a string, say) merely takes the slower, checked path.
_STACK_GLOBAL, _NEWLINE, _EXT1, _EXT2, _EXT4 = 0x93, 0x0A, 0x82, 0x83, 0x84


def _is_plain(data: bytes | bytearray) -> bool:
    """No byte that may name a global or store to a memo index: the C loader may have it."""
    return not (
        _STACK_GLOBAL in data
        or _NEWLINE in data
        or _PUT in data
        or _LONG_BINPUT in data
        or _EXT1 in data
        or _EXT2 in data
        or _EXT4 in data
    )


def _names_a_global(data: bytes | bytearray) -> bool:
    """Whether ``data`` may resolve a global.

    ``int in bytes`` is one memchr (14 ns on a short message, 100 KB in microseconds);
    ``bytes in bytes`` costs 100 ns before it starts searching.
    """
    return (
        _STACK_GLOBAL in data
        or _NEWLINE in data
        or _EXT1 in data
        or _EXT2 in data
        or _EXT4 in data
    )


#: The largest memo index a message may store to. The C loader grows its memo to twice the
#: index at once and clears every slot: ``r`` and four bytes asked a server for 12 GB here.
MAX_MEMO_INDEX = 1 << 20

_PUT, _LONG_BINPUT = ord("p"), ord("r")
# How to step over each opcode, by opcode byte: the bytes it takes with its argument (> 0),
# or how to find them: _SHORT, a one-byte length then that many bytes (strings, the commonest
# opcode with an argument); _COUNTED, a longer length prefix (its size in _WIDTH); _LINES,
# newline-terminated lines (how many in _WIDTH); _STORE, LONG_BINPUT; _END for STOP and for
# bytes that are no opcode (the loader stops or refuses there).
_SHORT, _COUNTED, _LINES, _STORE, _END = -1, -2, -3, -4, -5


def _opcode_steps() -> tuple[list[int], list[int]]:
    step, width = [_END] * 256, [0] * 256
    for op in pickletools.opcodes:
        code = ord(op.code)
        n = op.arg.n if op.arg is not None else 0
        if n >= 0:
            step[code] = 1 + n
        elif n == pickletools.UP_TO_NEWLINE:
            step[code] = _LINES
            width[code] = 2 if op.name in ("GLOBAL", "INST") else 1
        elif n == pickletools.TAKEN_FROM_ARGUMENT1:
            step[code] = _SHORT
        else:
            step[code] = _COUNTED
            width[code] = 8 if n == pickletools.TAKEN_FROM_ARGUMENT8U else 4
    step[_LONG_BINPUT] = _STORE
    step[ord(".")] = _END
    return step, width


_STEP, _WIDTH = _opcode_steps()


# Prefixes already walked and found safe, each up to the last byte the walk read. Messages
# of one shape repeat (a call's header, object id and method name; a returned proxy's type,
# up to its id), and so do their prefixes: one set lookup instead of a walk.
_walked: set[bytes] = set()
_WALKED_MAX = 4096
_WALKED_PREFIX_MAX = 512


def check_memo(data: bytes | bytearray) -> None:
    """Refuse a pickle that stores to a memo index above ``MAX_MEMO_INDEX``.

    Only PUT and LONG_BINPUT can (BINPUT's index is one byte), and the picklers of Python
    3.10+ write neither (protocol 4 memoizes with MEMOIZE): most messages are passed without
    looking at their opcodes, and the others are walked opcode by opcode up to the last byte
    that could be one of them, unless the same prefix was walked before.
    """
    end = max(data.rfind(_LONG_BINPUT), data.rfind(_PUT)) + 1
    if not end:
        return
    if end > _WALKED_PREFIX_MAX:
        _walk(data, end)
        return
    # The walk reads past ``end`` only the last LONG_BINPUT's index, or the line of a PUT
    # or other line opcode begun before ``end``: up to the first newline after it.
    stop = data.find(b"\n", end) + 1
    if stop < end + 4:
        stop = end + 4
    prefix = bytes(data[:stop])
    if prefix in _walked:
        return
    _walk(data, end)
    if len(_walked) >= _WALKED_MAX:
        _walked.clear()
    _walked.add(prefix)


def _walk(data: bytes | bytearray, end: int) -> None:
    """Step over the opcodes that begin before ``end``, checking every memo store."""
    step, width = _STEP, _WIDTH
    i = 0
    while i < end:
        size = step[data[i]]
        if size > 0:
            i += size
        elif size == _SHORT:
            i += 2 + data[i + 1]
        elif size == _STORE:
            _check_index(int.from_bytes(data[i + 1 : i + 5], "little"))
            i += 5
        elif size == _COUNTED:
            w = width[data[i]]
            i += 1 + w + int.from_bytes(data[i + 1 : i + 1 + w], "little")
        elif size == _LINES:
            op = data[i]
            i += 1
            for _ in range(width[op]):
                line_end = data.find(b"\n", i)
                if line_end < 0:
                    return  # truncated: the loader refuses it
                if op == _PUT:
                    _check_put(data[i:line_end])
                i = line_end + 1
        else:
            return


def _check_put(argument: bytes | bytearray) -> None:
    """PUT's index, read as the C loader reads it: ``int()`` takes blanks, a sign and
    underscores (``p 1_000_000_000``), not only digits."""
    try:
        index = int(argument)
    except ValueError:
        return  # the loader refuses it too
    _check_index(index)


def _check_index(index: int) -> None:
    if index > MAX_MEMO_INDEX:
        raise pickle.UnpicklingError(
            f"memo index {index} exceeds {MAX_MEMO_INDEX}: refused unread"
        )


_SERVER_REFUSAL = (
    "the server accepts only the types its Protocols name; if this type is a value the "
    "server may load, allow it with `class MyManager(TypedManager, allow=(TheType,))`"
)


class _Replacing(pickle.Unpickler):
    replaced: dict[tuple[str, str], object]

    def find_class(self, module: str, name: str) -> typing.Any:
        found = self.replaced.get((module, name))
        if found is not None:
            return found
        return super().find_class(module, name)


class _Restricted(pickle.Unpickler):
    allow: AllowList

    def find_class(self, module: str, name: str) -> typing.Any:
        resolved = self.allow.resolved
        found = resolved.get((module, name))
        if found is None:
            found = resolved[module, name] = self._resolve(module, name)
        return found

    def _resolve(self, module: str, name: str) -> object:
        allow = self.allow
        if not allow.admits(module, name):
            raise RefusedType(f"refused to load {module}.{name}: {allow.refusal}")
        found = allow.replaced.get((module, name))
        if found is not None:
            return found
        resolved: object = super().find_class(module, name)
        return resolved


_CLIENT_REFUSAL = (
    "a reply may name only the types the Protocols of this process name, and exception "
    "classes it has imported; allow a type with `class MyManager(TypedManager, "
    'allow=(TheType,))`, or trust a server\'s pickles with `unpickling="full"`'
)

# Replies: what the Protocols with a proxy class in this process name (rebuilt on change).
_reply_protocols: set[type] = set()
_reply_types: set[type] = set()
_reply_allow: AllowList | None = None


def expect_replies(protocols: Iterable[type] = (), types: Iterable[type] = ()) -> None:
    """Let replies carry the value types of ``protocols``, and ``types``."""
    global _reply_allow
    _reply_protocols.update(protocols)
    _reply_types.update(types)
    _reply_allow = None


def load_reply(data: bytes | bytearray) -> object:
    """Unpickle a server's reply, restricted as a server restricts requests."""
    global _reply_allow
    allow = _reply_allow
    if allow is None:
        interfaces = [interface_of(protocol) for protocol in list(_reply_protocols)]
        allow = _reply_allow = AllowList(
            [*value_types(interfaces), *_reply_types],
            exceptions=True,
            refusal=_CLIENT_REFUSAL,
        )
    return allow.loads(data)


def value_types(interfaces: Iterable[Interface]) -> set[type]:
    """The Protocols themselves, and every class their signatures mention, transitively."""
    found: set[type] = set()
    for interface in interfaces:
        found.add(interface.protocol)
        for method in interface.methods:
            if method.is_exit or iterator_typeid(method) == GENERATOR_TYPEID:
                found.update(BUILTIN_EXCEPTIONS)  # __exit__'s, a generator's throw()
            for annotation in (method.returns, *(p.annotation for p in method.params)):
                _collect(annotation, found)
            for overload in method.overloads:
                for annotation in (
                    overload.returns,
                    *(p.annotation for p in overload.params),
                ):
                    _collect(annotation, found)
            for param in method.params:
                if isinstance(param.default, enum.Enum):
                    found.add(type(param.default))
    return found


def _collect(annotation: object, found: set[type]) -> None:
    supertype = getattr(annotation, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        _collect(supertype, found)
        return
    for arg in typing.get_args(annotation):
        if isinstance(arg, enum.Enum):  # Literal[Color.RED]
            found.add(type(arg))
        else:
            _collect(arg, found)
    if (
        not isinstance(annotation, type)
        or annotation in found
        or is_protocol(annotation)
        or annotation.__module__ == "builtins"  # built by opcodes, never by name
    ):
        return
    found.add(annotation)
    if (
        dataclasses.is_dataclass(annotation)
        or _is_typed_dict(annotation)
        or _is_named_tuple(annotation)
    ):
        try:
            hints = typing.get_type_hints(annotation)
        except Exception:
            return  # an unresolvable field type: its values will be refused, by name
        for hint in hints.values():
            _collect(hint, found)


def _is_typed_dict(cls: type) -> bool:
    return isinstance(getattr(cls, "__total__", None), bool)


def _is_named_tuple(cls: type) -> bool:
    return issubclass(cls, tuple) and hasattr(cls, "_fields")
