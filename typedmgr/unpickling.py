"""Restricted unpickling: a peer's message may only name the types the Protocols name.

The stdlib server unpickles whatever an authenticated peer sends, and a pickle can name any
importable callable (``os.system``): remote code execution for anyone who has the authkey.
A typedmgr server whose registrations are all Protocols loads requests through an allow-list
instead: a few harmless builtins, typedmgr's own tokens, and the value types the registered
Protocols mention in their signatures (and the types those contain). Anything else is refused
before it is imported, and the sender gets an error naming it and how to allow it.

A restricted load also bounds what a message can do while it loads (see SECURITY.md):

* admitted classes may be constructed, but ``BUILD`` (``__setstate__``, ``__dict__`` and slot
  updates) applies only to instances constructed fresh in this message, never to a class,
  an enum member or another shared object; some globals are admitted as values only (the
  classes of ``type[X]`` parameters, the functions of ``Callable`` parameters), never called;
* proxies are rebuilt inert: loading never opens a connection or answers a challenge
  (``rebuild_inert``); a client takes its references after the whole reply has been read;
* the objects a message builds are charged against a budget proportional to its size, and
  a dict or set whose keys collide on purpose (quadratic insertion) is refused.
"""

from __future__ import annotations

import builtins
import collections.abc
import dataclasses
import datetime
import enum
import inspect
import io
import pickle
import pickletools
import sys
import threading
import typing
from collections.abc import Iterable

from typedmgr import _stdlib
from typedmgr.model import (
    GENERATOR_TYPEID,
    Interface,
    interface_of,
    is_protocol,
    iterator_typeid,
)

__all__ = [
    "BUILTIN_EXCEPTIONS",
    "LOAD_AMPLIFICATION",
    "AllowList",
    "ProxyRecipe",
    "RefusedType",
    "adopt_rebuilt",
    "check_memo",
    "expect_replies",
    "load_reply",
    "loads_replacing",
    "value_objects",
    "value_types",
]

# Builtins a pickle may construct by name. Containers, numbers and strings have opcodes of
# their own; constructing them by name (``list(range(10**12))``) is how a message asks for
# unbounded memory or time, so they are not here.
_SAFE = frozenset(("builtins", name) for name in ("complex", "range", "slice"))
_REBUILD_PROXY = ("multiprocessing.managers", "RebuildProxy")
_PROXY_FACTORY = ("typedmgr.proxy", "ProxyFactory")
_TYPED_ITERATOR = ("typedmgr.proxy", "TypedIterator")
_TYPED_GENERATOR = ("typedmgr.proxy", "TypedGenerator")
_BYTEARRAY = ("builtins", "bytearray")
# Tokens and proxies a client may pass as arguments (never AutoProxy: it exec()s names).
# RebuildProxy, ProxyFactory and TypedIterator are never loaded as themselves: a restricted
# load replaces them with stand-ins that cannot connect anywhere (see ``rebuild_inert``).
_TYPEDMGR = frozenset(
    {
        ("multiprocessing.managers", "Token"),
        _REBUILD_PROXY,
        _PROXY_FACTORY,
        _TYPED_ITERATOR,
        _TYPED_GENERATOR,
        ("typedmgr.proxy", "ClientException"),  # what a failed `with` block sends
    }
)
# What a ``with`` block that raised sends to ``__exit__``, when the Protocol declares one.
BUILTIN_EXCEPTIONS = frozenset(
    cls
    for cls in vars(builtins).values()
    if isinstance(cls, type) and issubclass(cls, BaseException)
)

#: A restricted load may allocate about this many bytes per byte of message, plus
#: ``_BUDGET_BASE``: what the objects a message builds are charged (``_WEIGHT``).
LOAD_AMPLIFICATION = 32
_BUDGET_BASE = 4 * 1024 * 1024
#: Messages up to this size (without globals) are loaded by the C loader unexamined: the
#: worst they can build is 232 bytes a byte (empty sets), under ``_BUDGET_BASE``.
_C_UNCHECKED = 16 * 1024
#: Distinct keys of one dict or set a message may give the same hash (CPython inserts
#: colliding keys in quadratic time, holding the GIL: every other thread waits).
MAX_COLLISIONS = 32


class RefusedType(pickle.UnpicklingError):
    """A message named a type outside the allow-list, or used one in a way it may not."""


class LoadBudgetExceeded(pickle.UnpicklingError):
    """A message would build more than its budget of objects, or colliding keys."""


class ProxyRecipe:
    """What a restricted load makes of ``ProxyFactory(P)`` (or of ``TypedIterator`` and
    ``TypedGenerator``): the proxy class to rebuild a proxy with, which cannot itself be
    called to build one."""

    __slots__ = ("generator", "protocol")

    def __init__(self, protocol: object = None, *, generator: bool = False) -> None:
        self.protocol = protocol
        self.generator = generator

    def proxy_class(self) -> type:
        """The class whose proxies this recipe stands for."""
        from typedmgr import proxy

        if self.protocol is None:
            return proxy.TypedGenerator if self.generator else proxy.TypedIterator
        if not (isinstance(self.protocol, type) and is_protocol(self.protocol)):
            raise RefusedType(f"refused a proxy of {self.protocol!r}: not a Protocol")
        return proxy.proxy_class_for(self.protocol)


_ITERATOR_RECIPE = ProxyRecipe()
_GENERATOR_RECIPE = ProxyRecipe(generator=True)


def _safe_bytearray(*args: object) -> bytearray:
    """``bytearray`` as pickles build it (from bytes, or latin-1 text), never ``bytearray(n)``."""
    if len(args) == 1 and isinstance(args[0], bytes):
        return bytearray(args[0])
    if len(args) == 2 and isinstance(args[0], str) and args[1] == "latin-1":
        return bytearray(args[0], "latin-1")
    if not args:
        return bytearray()
    raise RefusedType("refused bytearray(...) other than of bytes: not a pickled value")


def rebuild_inert(
    func: object, token: object, serializer: object, kwds: object
) -> object:
    """``RebuildProxy`` for a restricted load: a proxy that holds no reference yet and has
    connected nowhere. It talks to its server only when used, with the key a
    ``TypedManager`` of this process has for that address (never the process's own key).

    A client's reply loader notes the proxies it rebuilds: :func:`adopt_rebuilt` takes
    their references, on the connection the reply came by, once the reply is read.
    """
    from multiprocessing import managers

    if not isinstance(token, managers.Token):
        raise RefusedType(f"refused to rebuild a proxy from {type(token).__name__}")
    if isinstance(func, ProxyRecipe):
        cls = func.proxy_class()
    else:
        raise RefusedType(f"refused to rebuild a proxy with {func!r}")
    exposed = kwds.get("exposed") if isinstance(kwds, dict) else None
    proxy = cls(token, "pickle", exposed=exposed, incref=False)
    if getattr(_rebuilt, "loading_reply", False):
        _rebuilt.proxies.append(proxy)
    return proxy


# Proxies a reply loaded on this thread, whose references are to be taken (adopt_rebuilt).
_rebuilt = threading.local()


def adopt_rebuilt(address: object, authkey: bytes) -> None:
    """Take a reference for each proxy of ``address`` the replies just loaded carried (the
    server keeps the object alive for them meanwhile); proxies of other servers stay inert.

    Called once the replies are read: the references are taken on this thread's
    connection to ``address``, which is idle then.
    """
    pending: list[typing.Any] | None = getattr(_rebuilt, "proxies", None)
    if not pending:
        return
    _rebuilt.proxies = []
    from multiprocessing import util

    for proxy in pending:
        if proxy._token.address != address:
            continue
        try:
            if getattr(proxy, "_authkey", None) is None:
                proxy._authkey = _stdlib.authentication_string(authkey)
            proxy._incref()
        except Exception as e:  # the object is gone: the proxy stays inert
            util.info(
                "a returned proxy of %r could not take a reference: %r", address, e
            )


class AllowList:
    """The globals a restricted load may resolve: ``(module, qualified name)`` pairs.

    ``types`` may be constructed by a message; ``values`` (classes, functions) may only be
    passed as values, never called while loading.
    ``replaced``: globals loaded as something else (``{(module, name): replacement}``); the
    server loads ``multiprocessing.managers.RebuildProxy`` as a function of its own, to count
    the proxies of its objects that requests bring in (``TypedServer._rebuild_proxy``).
    ``exceptions``: also exception classes of modules this process has imported already
    (a client receiving the exception a remote method raised); nothing is ever imported.
    ``tokens=False`` leaves out typedmgr's tokens and proxies, whose load has effects.
    ``amplification``: the load budget, in bytes built per byte of message.
    """

    def __init__(
        self,
        types: Iterable[type],
        *,
        values: Iterable[object] = (),
        replaced: dict[tuple[str, str], object] | None = None,
        exceptions: bool = False,
        tokens: bool = True,
        refusal: str = "",
        amplification: int = LOAD_AMPLIFICATION,
    ) -> None:
        self.allowed = set(_SAFE | _TYPEDMGR) if tokens else set(_SAFE)
        self.allowed.update(_name_of(t) for t in types)
        self.values = {_name_of(v) for v in values} - self.allowed
        self.replaced: dict[tuple[str, str], object] = {
            _PROXY_FACTORY: ProxyRecipe,
            _TYPED_ITERATOR: _ITERATOR_RECIPE,
            _TYPED_GENERATOR: _GENERATOR_RECIPE,
            _REBUILD_PROXY: rebuild_inert,
            _BYTEARRAY: _safe_bytearray,
        }
        self.replaced.update(replaced or {})
        self.exceptions = exceptions
        self.refusal = refusal or _SERVER_REFUSAL
        self.amplification = amplification
        # The globals admitted so far, resolved: a load looks each one up again.
        self.resolved: dict[tuple[str, str], object] = {}
        # The ids of resolved globals a message may call (they stay alive in ``resolved``).
        self.callable_ids: set[int] = set()
        # A subclass per allow-list: no Python-level __init__ on every load.
        self._unpickler = type("_Restricted", (_Guarded,), {"allow": self})

    def loads(self, data: bytes | bytearray) -> object:
        """Unpickle ``data``, refusing any global not in the allow-list."""
        if _is_plain(data) and len(data) <= _C_UNCHECKED:
            return pickle.loads(data)
        check_memo(data)
        budget = _BUDGET_BASE + self.amplification * len(data)
        if not _names_a_global(data) and (
            len(data) <= _C_UNCHECKED or _scan(data, budget)
        ):
            # No opcode that looks a name up: nothing but builtin values can come out,
            # within the budget, and the C loader is much faster.
            return pickle.loads(data)
        file = io.BytesIO(data)
        unpickler = self._unpickler(file)
        unpickler._file = file
        unpickler.budget = budget
        return unpickler.load()

    def admits(self, module: str, name: str) -> bool:
        if (module, name) in self.allowed or (module, name) in self.values:
            return True
        return self._exception(module, name) is not None

    def _exception(self, module: str, name: str) -> type | None:
        if not self.exceptions or module not in sys.modules:
            return None
        found: object = sys.modules[module]
        for part in name.split("."):
            found = getattr(found, part, None)
        if isinstance(found, type) and issubclass(found, BaseException):
            return found
        return None

    def resolve(
        self, module: str, name: str, find: typing.Callable[..., object]
    ) -> object:
        """The object a message's ``module.name`` stands for, noting whether it may call it."""
        key = (module, name)
        if not self.admits(module, name):
            raise RefusedType(f"refused to load {module}.{name}: {self.refusal}")
        found = self.replaced.get(key)
        if found is None:
            found = find(module, name)
        if key not in self.values and callable(found):
            self.callable_ids.add(id(found))
        self.resolved[key] = found
        return found


def _describe(obj: object) -> str:
    if isinstance(obj, type):
        return f"the class {obj.__module__}.{obj.__qualname__}"
    if isinstance(obj, enum.Enum):
        return f"the enum member {obj!r}"
    return f"a shared {type(obj).__qualname__} object"


def _name_of(obj: object) -> tuple[str, str]:
    return (getattr(obj, "__module__", ""), getattr(obj, "__qualname__", ""))


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


# What each opcode is charged against a restricted load's budget: about the bytes the object
# it makes takes (an empty set 216 + 16, a dict 64 + 16, an instance and its __dict__...);
# 16 (a reference, a small object) for every other. Strings and bytes take memory in
# proportion to the bytes of the message that carry them.
_WEIGHT = [16] * 256
for _ops, _weight in (
    (b"\x8f\x91", 232),  # EMPTY_SET, FROZENSET
    (b"}d", 96),  # EMPTY_DICT, DICT
    (b"]l\x85\x86\x87t", 88),  # EMPTY_LIST, LIST, TUPLE1-3, TUPLE
    (b"R\x81\x92oi", 256),  # REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST
    (b"b", 128),  # BUILD
):
    for _op in _ops:
        _WEIGHT[_op] = _weight
# Opcodes of the numbers whose hashes a sender can make collide (ints beyond 32 bits,
# floats), and of the dicts and sets they would be keys of.
_NUMBERS = frozenset((0x8A, 0x8B, ord("L"), ord("I"), ord("F"), ord("G")))
_HASHED = frozenset((ord("}"), ord("d"), 0x8F, 0x90, 0x91, ord("u"), ord("s")))


def _scan(data: bytes | bytearray, budget: int) -> bool:
    """Whether the C loader may load ``data``: what its opcodes build is within ``budget``,
    and no dict or set in it may be keyed by numbers (whose hashes a sender can make
    collide). Walks the opcodes: a large string or bytes payload is one step."""
    step, width, weight = _STEP, _WIDTH, _WEIGHT
    numbers = hashed = False
    end = len(data)
    i = 0
    while i < end:
        op = data[i]
        budget -= weight[op]
        if budget < 0:
            return False
        if op in _NUMBERS:
            numbers = True
        elif op in _HASHED:
            hashed = True
        size = step[op]
        if size > 0:
            i += size
        elif size == _SHORT:
            i += 2 + data[i + 1]
        elif size == _STORE:
            i += 5
        elif size == _COUNTED:
            w = width[op]
            i += 1 + w + int.from_bytes(data[i + 1 : i + 1 + w], "little")
        elif size == _LINES:
            i += 1
            for _ in range(width[op]):
                line_end = data.find(b"\n", i)
                if line_end < 0:
                    return True  # truncated: the loader refuses it
                i = line_end + 1
        else:
            break
    return not (numbers and hashed)


#: ``sys.getrefcount`` of an object just constructed, held by one local variable only.
_FRESH = 2

_Python: typing.Any = pickle._Unpickler


class _Guarded(_Python):  # type: ignore[misc]
    """The pure-Python unpickler, with each opcode that calls or mutates checked:

    * only the globals the allow-list admits as constructible are called (REDUCE, NEWOBJ,
      OBJ, INST), the others are values only;
    * BUILD sets the state of instances constructed fresh in this message only;
    * every opcode is charged against the budget, and keys of dicts and sets are checked
      for deliberate hash collisions.
    """

    allow: AllowList
    budget: int
    dispatch: typing.ClassVar[dict[int, typing.Any]] = dict(_Python.dispatch)

    def load(self) -> typing.Any:
        # The whole message is in memory: read it directly, frames are mere hints.
        self.read = self._file_read
        self.readline = self._file_readline
        self.readinto = self._file.readinto
        self.metastack: list[typing.Any] = []
        self.stack: list[typing.Any] = []
        self.append = self.stack.append
        self.proto = 0
        self._fresh: dict[int, object] = {}
        self._hashes: dict[int, dict[int, int]] = {}
        read = self.read
        dispatch = self.dispatch
        weight = _WEIGHT
        left = self.budget
        try:
            while True:
                key = read(1)
                if not key:
                    raise EOFError
                op = key[0]
                left -= weight[op]
                if left < 0:
                    raise LoadBudgetExceeded(
                        "refused a message that builds more objects than its size "
                        f"allows (about {LOAD_AMPLIFICATION} bytes a byte): send large "
                        "data as bytes or str, or in several calls"
                    )
                dispatch[op](self)
        except pickle._Stop as stop:  # type: ignore[attr-defined]
            return stop.value
        finally:
            self._fresh.clear()
            self._hashes.clear()

    def find_class(self, module: str, name: str) -> typing.Any:
        found = self.allow.resolved.get((module, name))
        if found is None:
            found = self.allow.resolve(module, name, super().find_class)
        return found

    def _callable(self, func: object) -> None:
        if id(func) not in self.allow.callable_ids:
            raise RefusedType(
                f"refused to call {getattr(func, '__qualname__', type(func).__name__)}"
                " while loading: it is admitted as a value only"
            )

    def _note(self, cls: object, obj: object, references: int) -> None:
        """``obj``, just made by ``cls``: fresh (its state may be set) if nothing else
        refers to it, and it is neither a class nor an enum member."""
        if references > _FRESH or isinstance(obj, (type, enum.Enum)):
            return  # something else holds it: a shared object, a singleton
        if isinstance(cls, type) and isinstance(obj, cls):
            self._fresh[id(obj)] = obj

    def load_reduce(self) -> None:
        stack = self.stack
        args = stack.pop()
        func = stack[-1]
        self._callable(func)
        obj = func(*args)
        references = sys.getrefcount(obj)  # the local variable, and the argument
        self._note(func, obj, references)
        stack[-1] = obj

    def load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        self._callable(cls)
        obj = cls.__new__(cls, *args)
        references = sys.getrefcount(obj)  # the local variable, and the argument
        self._note(cls, obj, references)
        self.append(obj)

    def load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self._callable(cls)
        obj = cls.__new__(cls, *args, **kwargs)
        references = sys.getrefcount(obj)  # the local variable, and the argument
        self._note(cls, obj, references)
        self.append(obj)

    def _instantiate(self, klass: typing.Any, args: list[typing.Any]) -> None:
        self._callable(klass)
        if args or not isinstance(klass, type) or hasattr(klass, "__getinitargs__"):
            obj = klass(*args)
        else:
            obj = typing.cast(typing.Any, klass).__new__(klass)
        references = sys.getrefcount(obj)  # the local variable, and the argument
        self._note(klass, obj, references)
        self.append(obj)

    def load_build(self) -> None:
        inst = self.stack[-2]
        if self._fresh.get(id(inst)) is not inst:
            raise RefusedType(
                f"refused to set the state of {_describe(inst)}: a message may set "
                "the state only of objects it has just constructed"
            )
        super().load_build()

    def _keys(self, container: object, keys: Iterable[object]) -> None:
        """Refuse keys of one dict or set that collide on purpose."""
        counts = None if container is None else self._hashes.get(id(container))
        for key in keys:
            if type(key) in (str, bytes):  # randomised hashes
                continue
            try:
                h = hash(key)
            except TypeError:
                continue  # the insertion raises it
            if counts is None:
                counts = {}
                if container is not None:
                    self._hashes[id(container)] = counts
            n = counts[h] = counts.get(h, 0) + 1
            if n > MAX_COLLISIONS:
                raise LoadBudgetExceeded(
                    f"refused a dict or set with more than {MAX_COLLISIONS} keys of "
                    "one hash: inserting them takes quadratic time"
                )

    def load_setitem(self) -> None:
        stack = self.stack
        self._keys(stack[-3], (stack[-2],))
        super().load_setitem()

    def _marked(self) -> object:
        """The object below the last mark (the dict or set SETITEMS/ADDITEMS fill)."""
        below = self.metastack[-1] if self.metastack else None
        return below[-1] if below else None

    def load_setitems(self) -> None:
        self._keys(self._marked(), self.stack[0::2])
        super().load_setitems()

    def load_additems(self) -> None:
        self._keys(self._marked(), self.stack)
        super().load_additems()

    def load_frozenset(self) -> None:
        self._keys(None, self.stack)
        super().load_frozenset()

    def load_dict(self) -> None:
        self._keys(None, self.stack[0::2])
        super().load_dict()

    def load_frame(self) -> None:
        self.read(8)

    # A class's dispatch table holds functions: point it at these.
    dispatch[pickle.FRAME[0]] = load_frame
    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build
    dispatch[pickle.SETITEM[0]] = load_setitem
    dispatch[pickle.SETITEMS[0]] = load_setitems
    dispatch[pickle.ADDITEMS[0]] = load_additems
    dispatch[pickle.FROZENSET[0]] = load_frozenset
    dispatch[pickle.DICT[0]] = load_dict


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
    """Unpickle a server's reply, restricted as a server restricts requests.

    The proxies it carries are rebuilt inert; the caller adopts them once every reply of
    its exchange is read (:func:`adopt_rebuilt`).
    """
    global _reply_allow
    allow = _reply_allow
    if allow is None:
        interfaces = [interface_of(protocol) for protocol in list(_reply_protocols)]
        allow = _reply_allow = AllowList(
            [*value_types(interfaces), *_reply_types],
            values=value_objects(interfaces),
            exceptions=True,
            refusal=_CLIENT_REFUSAL,
        )
    if getattr(_rebuilt, "proxies", None) is None:
        _rebuilt.proxies = []
    _rebuilt.loading_reply = True
    try:
        return allow.loads(data)
    finally:
        _rebuilt.loading_reply = False


def value_types(interfaces: Iterable[Interface]) -> set[type]:
    """Every class the Protocols' signatures mention as a value, transitively: what a
    message may construct."""
    found: set[type] = set()
    for interface in interfaces:
        for annotation, _ in _annotations(interface):
            _collect(annotation, found, set())
        for method in interface.methods:
            if method.is_exit or iterator_typeid(method) == GENERATOR_TYPEID:
                found.update(BUILTIN_EXCEPTIONS)  # __exit__'s, a generator's throw()
            for param in method.params:
                if isinstance(param.default, enum.Enum):
                    found.add(type(param.default))
    return found


def value_objects(interfaces: Iterable[Interface]) -> set[object]:
    """What a message may pass but never call: the Protocols themselves (proxies name
    them), the classes of ``type[X]`` parameters and, for ``Callable`` parameters, the
    module-level functions of the Protocol's own module."""
    found: set[object] = set()
    for interface in interfaces:
        found.add(interface.protocol)
        values: set[object] = set()
        for annotation, home in _annotations(interface):
            _collect(annotation, set(), values, home)
        found |= values
    return found


def _annotations(interface: Interface) -> Iterable[tuple[object, str]]:
    home = interface.protocol.__module__
    for method in interface.methods:
        for annotation in (method.returns, *(p.annotation for p in method.params)):
            yield annotation, home
        for overload in method.overloads:
            for annotation in (
                overload.returns,
                *(p.annotation for p in overload.params),
            ):
                yield annotation, home


_CALLABLES = (collections.abc.Callable, typing.Callable)


def _collect(
    annotation: object, found: set[type], values: set[object], home: str = ""
) -> None:
    """Add to ``found`` the classes ``annotation`` admits as constructed values, and to
    ``values`` what it admits as values only."""
    supertype = getattr(annotation, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        _collect(supertype, found, values, home)
        return
    origin = typing.get_origin(annotation)
    if origin is type:  # type[X]: the class X itself, never an instance
        for arg in typing.get_args(annotation):
            _class_values(arg, values)
        return
    if origin in _CALLABLES or annotation in _CALLABLES:
        values.update(_module_functions(home))
    for arg in typing.get_args(annotation):
        if isinstance(arg, enum.Enum):  # Literal[Color.RED]
            found.add(type(arg))
        elif not isinstance(arg, list):  # Callable[[args], result]
            _collect(arg, found, values, home)
        else:
            for item in arg:
                _collect(item, found, values, home)
    if annotation is bytearray:
        found.add(bytearray)  # loaded through _safe_bytearray
        return
    if (
        not isinstance(annotation, type)
        or annotation in found
        or is_protocol(annotation)
        or annotation.__module__ == "builtins"  # built by opcodes, never by name
    ):
        return
    found.add(annotation)
    if issubclass(annotation, (datetime.datetime, datetime.time)):
        found.update((datetime.timezone, datetime.timedelta))  # aware values
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
            _collect(hint, found, values, annotation.__module__)


def _class_values(arg: object, values: set[object]) -> None:
    """The classes ``type[arg]`` admits: ``arg`` itself, or each of a union."""
    if typing.get_origin(arg) in (
        typing.Union,
        getattr(__import__("types"), "UnionType", None),
    ):
        for member in typing.get_args(arg):
            _class_values(member, values)
    elif isinstance(arg, type) and arg is not object:
        values.add(arg)


def _module_functions(home: str) -> list[object]:
    """The functions defined at the top level of module ``home`` (already imported)."""
    module = sys.modules.get(home)
    if module is None:
        return []
    return [
        f
        for f in vars(module).values()
        if inspect.isfunction(f)
        and f.__module__ == home
        and f.__qualname__ == f.__name__
    ]


def _is_typed_dict(cls: type) -> bool:
    return isinstance(getattr(cls, "__total__", None), bool)


def _is_named_tuple(cls: type) -> bool:
    return issubclass(cls, tuple) and hasattr(cls, "_fields")
