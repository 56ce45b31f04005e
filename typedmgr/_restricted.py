"""The restricted unpickler and its budgets: the pure-Python loader that checks each call
and state update a message makes, and charges what it builds against a budget.

Which globals a message may name is the allow-list's to say (``_allowlist``); this loader
asks it through ``Resolver`` for every global, and refuses to call what it admits as a value
only.
"""

from __future__ import annotations

import enum
import io
import pickle
import sys
import typing
from collections.abc import Iterable

from typedmgr._opcodes import WEIGHT, check_memo, is_plain, names_a_global

__all__ = [
    "BUDGET_BASE",
    "C_UNCHECKED",
    "LOAD_AMPLIFICATION",
    "MAX_COLLISIONS",
    "Guarded",
    "LoadBudgetExceeded",
    "RefusedType",
    "Resolver",
    "loads_replacing",
]

#: A restricted load may allocate about this many bytes per byte of message, plus
#: ``BUDGET_BASE``: what the objects a message builds are charged (``_opcodes.WEIGHT``).
LOAD_AMPLIFICATION = 32
BUDGET_BASE = 4 * 1024 * 1024
#: Messages up to this size (without globals) are loaded by the C loader unexamined: the
#: worst they can build is 232 bytes a byte (empty sets), under ``BUDGET_BASE``.
C_UNCHECKED = 16 * 1024
#: Distinct keys of one dict or set a message may give the same hash (CPython inserts
#: colliding keys in quadratic time, holding the GIL: every other thread waits).
MAX_COLLISIONS = 32


class RefusedType(pickle.UnpicklingError):
    """A message named a type outside the allow-list, or used one in a way it may not."""

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show


class LoadBudgetExceeded(pickle.UnpicklingError):
    """A message would build more than its budget of objects, or colliding keys."""


class Resolver(typing.Protocol):
    """What the loader asks of an allow-list (``AllowList``): the globals resolved so far,
    which of them may be called, and how to resolve another."""

    resolved: dict[tuple[str, str], object]
    callable_ids: set[int]

    def resolve(
        self, module: str, name: str, find: typing.Callable[..., object]
    ) -> object: ...


def _describe(obj: object) -> str:
    if isinstance(obj, type):
        return f"the class {obj.__module__}.{obj.__qualname__}"
    if isinstance(obj, enum.Enum):
        return f"the enum member {obj!r}"
    return f"a shared {type(obj).__qualname__} object"


#: ``sys.getrefcount`` of an object just constructed, held by one local variable only.
_FRESH = 2

_Python: typing.Any = pickle._Unpickler


class Guarded(_Python):  # type: ignore[misc]
    """The pure-Python unpickler, with each opcode that calls or mutates checked:

    * only the globals the allow-list admits as constructible are called (REDUCE, NEWOBJ,
      OBJ, INST), the others are values only;
    * BUILD sets the state of instances constructed fresh in this message only;
    * every opcode is charged against the budget, and keys of dicts and sets are checked
      for deliberate hash collisions.
    """

    allow: Resolver
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
        weight = WEIGHT
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


class _Replacing(pickle.Unpickler):
    replaced: dict[tuple[str, str], object]

    def find_class(self, module: str, name: str) -> typing.Any:
        found = self.replaced.get((module, name))
        if found is not None:
            return found
        return super().find_class(module, name)


def loads_replacing(
    replaced: dict[tuple[str, str], object],
) -> typing.Callable[[bytes | bytearray], object]:
    """A full ``pickle.loads`` (any global), but for the ``replaced`` globals."""
    unpickler = type("_Replacing", (_Replacing,), {"replaced": replaced})

    def loads(data: bytes | bytearray) -> object:
        if is_plain(data):
            return pickle.loads(data)
        check_memo(data)
        if not names_a_global(data):
            return pickle.loads(data)
        return unpickler(io.BytesIO(data)).load()

    return loads
