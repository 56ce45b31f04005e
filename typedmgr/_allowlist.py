"""The allow-list: the globals a restricted load may resolve, and how it loads a message.

A few harmless builtins, typedmgr's own tokens and proxies (rebuilt inert, ``_inert``) and
the value types a process's Protocols name (``_admitted``). A message that can name no
global is left to the C loader when what it builds fits its budget (``_opcodes``); any
other goes through the checked loader (``_restricted``).
"""

from __future__ import annotations

import io
import pickle
import sys
import typing
from collections.abc import Iterable

from typedmgr._inert import (
    GENERATOR_RECIPE,
    ITERATOR_RECIPE,
    ProxyRecipe,
    rebuild_inert,
)
from typedmgr._opcodes import check_memo, is_plain, names_a_global, scan
from typedmgr._restricted import (
    BUDGET_BASE,
    C_UNCHECKED,
    LOAD_AMPLIFICATION,
    Guarded,
    RefusedType,
)

__all__ = ["AllowList"]

# Builtins a pickle may construct by name. Containers, numbers and strings have opcodes of
# their own; constructing them by name (``list(range(10**12))``) is how a message asks for
# unbounded memory or time, so they are not here.
_SAFE = frozenset(("builtins", name) for name in ("complex", "range", "slice"))
_REBUILD_PROXY = ("multiprocessing.managers", "RebuildProxy")
_PROXY_FACTORY = ("typedmgr", "ProxyFactory")
_TYPED_ITERATOR = ("typedmgr", "TypedIterator")
_TYPED_GENERATOR = ("typedmgr", "TypedGenerator")
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
        ("typedmgr", "ClientException"),  # what a failed `with` block sends
    }
)


def _safe_bytearray(*args: object) -> bytearray:
    """``bytearray`` as pickles build it (from bytes, or latin-1 text), never ``bytearray(n)``."""
    if len(args) == 1 and isinstance(args[0], bytes):
        return bytearray(args[0])
    if len(args) == 2 and isinstance(args[0], str) and args[1] == "latin-1":
        return bytearray(args[0], "latin-1")
    if not args:
        return bytearray()
    raise RefusedType("refused bytearray(...) other than of bytes: not a pickled value")


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
            _TYPED_ITERATOR: ITERATOR_RECIPE,
            _TYPED_GENERATOR: GENERATOR_RECIPE,
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
        self._unpickler = type("_Restricted", (Guarded,), {"allow": self})

    def loads(self, data: bytes | bytearray) -> object:
        """Unpickle ``data``, refusing any global not in the allow-list."""
        if is_plain(data) and len(data) <= C_UNCHECKED:
            return pickle.loads(data)
        check_memo(data)
        budget = BUDGET_BASE + self.amplification * len(data)
        if not names_a_global(data) and (
            len(data) <= C_UNCHECKED or scan(data, budget)
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


def _name_of(obj: object) -> tuple[str, str]:
    return (getattr(obj, "__module__", ""), getattr(obj, "__qualname__", ""))


_SERVER_REFUSAL = (
    "the server accepts only the types its Protocols name; if this type is a value the "
    "server may load, allow it with `class MyManager(TypedManager, allow=(TheType,))`"
)
