"""Every private name of ``multiprocessing`` that typedmgr touches, in one place.

The stdlib's manager machinery is not a public API, and it changes within a release line:
gh-71936 (3.12.8, 3.13.1, 3.14) replaced ``BaseProxy._idset`` with per-proxy serials, and
3.14 made class annotations lazy (PEP 649). typedmgr reaches those internals only through
the small functions and tables here, each branched on what the running interpreter has,
so the next change in CPython fails ``tests/test_stdlib_compat.py``, which checks every
name below, instead of a hundred tests elsewhere.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from multiprocessing import connection, managers, process, util
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = [
    "BASE_MANAGER_NAMES",
    "BASE_PROXY_NAMES",
    "MODULE_NAMES",
    "REBUILD_PROXY",
    "SERIALS",
    "SERVER_NAMES",
    "address_local",
    "address_type",
    "authentication_string",
    "auto_proxy",
    "class_annotation_names",
    "convert_to_error",
    "dispatch",
    "finalize_manager",
    "hold_reference",
    "is_stdlib_creation_method",
    "new_proxy_identity",
    "public_methods",
    "rebuild_proxy",
    "register_after_fork",
    "release_reference",
]

#: Proxies carry a serial (``_serial``, shared set ``_all_serials``) rather than adding
#: their ident to ``_idset``: 3.12.8+, 3.13.1+ and 3.14+ (gh-71936).
SERIALS: bool = hasattr(managers.BaseProxy, "_next_serial")

#: Private module-level names typedmgr uses, by module.
MODULE_NAMES: dict[str, tuple[str, ...]] = {
    "multiprocessing.managers": (
        "dispatch",
        "convert_to_error",
        "public_methods",
        "RebuildProxy",
        "AutoProxy",
        "ProcessLocalSet",
        "State",
    ),
    "multiprocessing.util": (
        "ForkAwareLocal",
        "register_after_fork",
        "Finalize",
        "info",
    ),
    "multiprocessing.process": ("AuthenticationString",),
    "multiprocessing.connection": ("address_type",),
}

#: What typedmgr reads or overrides on ``BaseProxy`` (the class, or an instance).
BASE_PROXY_NAMES: tuple[str, ...] = (
    "_address_to_local",
    "_mutex",
    "_tls",
    "_token",
    "_id",
    "_manager",
    "_serializer",
    "_Client",
    "_owned_by_manager",
    "_authkey",
    "_incref",
    "_after_fork",
    "_connect",
    "_callmethod",
    *(("_next_serial", "_serial", "_all_serials") if SERIALS else ("_idset",)),
)

#: What typedmgr reads or overrides on ``BaseManager`` (the class, or an instance).
BASE_MANAGER_NAMES: tuple[str, ...] = (
    "_registry",
    "_Server",
    "_Client",
    "_address",
    "_authkey",
    "_serializer",
    "_state",
    "_ctx",
    "_create",
    "_run_server",
    "_number_of_objects",
    "_debug_info",
    "_finalize_manager",
)

#: What ``TypedServer`` reads or overrides on ``Server`` (the class, or an instance).
SERVER_NAMES: tuple[str, ...] = (
    "public",
    "registry",
    "address",
    "authkey",
    "id_to_obj",
    "id_to_refcount",
    "id_to_local_proxy_obj",
    "mutex",
    "stop_event",
    "fallback_mapping",
    "accept_connection",
    "serve_client",
    "handle_request",
    "_handle_request",
    "create",
    "incref",
    "decref",
    "number_of_objects",
    "debug_info",
)

#: The global a pickled stdlib proxy names to be rebuilt.
REBUILD_PROXY = ("multiprocessing.managers", "RebuildProxy")


def dispatch(
    conn: Connection, name: str, args: tuple[object, ...] = (), kwds: Any = None
) -> Any:
    """Call a server-level function over a fresh connection, as the stdlib does."""
    return managers.dispatch(conn, None, name, args, kwds or {})  # type: ignore[attr-defined]


def finalize_manager(*args: Any) -> None:
    """The stdlib's end of a server this process started (``BaseManager._finalize_manager``:
    ask it to stop, wait, terminate it if need be)."""
    managers.BaseManager._finalize_manager(*args)  # type: ignore[attr-defined]


def address_type(address: object) -> str:
    """The family ``multiprocessing.connection.Client`` connects to ``address`` with."""
    family: str = connection.address_type(address)  # type: ignore[attr-defined]
    return family


def listen_again(server: Any, address: Any, family: str) -> None:
    """Make ``server`` (a ``Server``) listen at ``address`` of ``family`` instead: its
    ``__init__`` makes a listener of the family the address's type implies (IPv4)."""
    server.listener.close()
    server.listener = connection.Listener(address=address, family=family, backlog=128)
    server.address = server.listener.address


def convert_to_error(kind: str, result: object) -> BaseException:
    """The stdlib's exception for a failed server-level reply."""
    error: BaseException = managers.convert_to_error(kind, result)  # type: ignore[attr-defined]
    return error


def public_methods(obj: object) -> list[str]:
    """The names the stdlib exposes for an object registered with ``exposed=None``."""
    names: list[str] = managers.public_methods(obj)  # type: ignore[attr-defined]
    return names


def rebuild_proxy(func: object, token: object, serializer: str, kwds: Any) -> object:
    """The stdlib's ``RebuildProxy``."""
    return managers.RebuildProxy(func, token, serializer, kwds)  # type: ignore[attr-defined]


def auto_proxy() -> Callable[..., Any]:
    """The stdlib's ``AutoProxy`` (the proxytype of a registration without one)."""
    factory: Callable[..., Any] = managers.AutoProxy  # type: ignore[attr-defined]
    return factory


def authentication_string(key: bytes) -> bytes:
    """``key`` as the stdlib keeps authkeys (a bytes subclass that refuses to be pickled)."""
    cls: type[bytes] = process.AuthenticationString  # type: ignore[attr-defined]
    return key if type(key) is cls else cls(key)


def register_after_fork(obj: object, func: Callable[[Any], object]) -> None:
    """Call ``func(obj)`` in a forked child, as the stdlib does for its proxies."""
    util.register_after_fork(obj, func)


def address_local(address: Any) -> tuple[Any, Any]:
    """The stdlib's per-address (thread-local connection, held-references set) pair.

    Shared by every proxy of that address in this process, typedmgr's and the stdlib's:
    the stdlib closes a thread's connection when the set empties. Created if missing.
    """
    table: dict[Any, tuple[Any, Any]] = managers.BaseProxy._address_to_local
    found = table.get(address)  # entries are only ever added: no lock to find one
    if found is not None:
        return found
    with managers.BaseProxy._mutex:
        found = table.get(address)
        if found is None:
            found = table[address] = (
                util.ForkAwareLocal(),
                managers.ProcessLocalSet(),  # type: ignore[attr-defined]
            )
        return found


def new_proxy_identity(proxy: managers.BaseProxy, address: Any) -> None:
    """Set what ``BaseProxy.__init__`` sets to place a proxy among its address's proxies:
    the thread-local connection, the held-references set and, on serial releases, its own
    serial (never reused)."""
    local, held = address_local(address)
    state = vars(proxy)
    state["_tls"] = local
    if SERIALS:
        with managers.BaseProxy._mutex:
            serial = managers.BaseProxy._next_serial  # type: ignore[attr-defined]
            managers.BaseProxy._next_serial = serial + 1  # type: ignore[attr-defined]
        state["_serial"] = serial
        state["_all_serials"] = held
    else:
        state["_idset"] = held


def hold_reference(proxy: managers.BaseProxy) -> tuple[set[Any], object]:
    """Record, as the stdlib's ``_incref`` does, that this process holds ``proxy``'s
    reference (so the stdlib keeps the thread's connection open); what to release it by."""
    state = vars(proxy)
    if SERIALS:
        held: set[Any] = state["_all_serials"]
        key: object = state["_serial"]
    else:
        held, key = state["_idset"], state["_id"]
    held.add(key)
    return held, key


def release_reference(held: set[Any], key: object) -> None:
    """Undo :func:`hold_reference`."""
    held.discard(key)


def is_stdlib_creation_method(method: object) -> bool:
    """Whether ``method`` is a creation method ``BaseManager.register`` made."""
    return getattr(method, "__qualname__", None) == "BaseManager.register.<locals>.temp"


if sys.version_info >= (3, 14):
    import annotationlib

    def class_annotation_names(cls: type) -> list[str]:
        """The names a class body annotates itself (not its bases), unevaluated.

        From 3.14 a class body without ``from __future__ import annotations`` keeps no
        ``__annotations__`` in its ``__dict__`` (PEP 649): ask for them, as forward
        references, so names imported only under ``TYPE_CHECKING`` need not resolve.
        """
        return list(
            annotationlib.get_annotations(cls, format=annotationlib.Format.FORWARDREF)
        )

else:

    def class_annotation_names(cls: type) -> list[str]:
        """The names a class body annotates itself (not its bases), unevaluated."""
        return list(inspect.get_annotations(cls))
