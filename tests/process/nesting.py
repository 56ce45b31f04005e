"""Proxies passed into managed objects (gh-103136): Protocols, implementations, managers.

A ``Probe`` reports, from inside the server process, what its server holds: objects it
counts, referents stashed in ``id_to_local_proxy_obj`` (where the stdlib leaks them), and
``Item`` implementations still alive. The same implementations are served by a
``TypedManager`` and, as the baseline, by a stdlib ``BaseManager`` and ``SyncManager``.
"""

from __future__ import annotations

import threading
import weakref
from multiprocessing import process
from multiprocessing.managers import BaseManager, SyncManager
from typing import Any, Protocol

from tests.wiring import CountingServer, Doorman, DoormanImpl
from typedmgr import TypedManager


class Item(Protocol):
    def value(self) -> int: ...


class Holder(Protocol):
    def keep(self, item: Item) -> int:
        """Keep ``item``; return its value, read through the proxy from the server."""
        ...

    def peek(self, item: Item) -> int:
        """Read ``item`` without keeping it."""
        ...

    def held(self) -> int: ...

    def clear(self) -> None: ...


class Probe(Protocol):
    def counts(self) -> tuple[int, int, int]:
        """(objects with a reference count, id_to_local_proxy_obj entries, live items)."""
        ...


_LIVE_ITEMS: weakref.WeakSet[ItemImpl] = weakref.WeakSet()


class ItemImpl:
    def __init__(self, value: int = 0) -> None:
        self._value = value
        _LIVE_ITEMS.add(self)

    def value(self) -> int:
        return self._value


class HolderImpl:
    def __init__(self) -> None:
        self._items: list[Any] = []
        self._lock = threading.Lock()

    def keep(self, item: Any) -> int:
        with self._lock:
            self._items.append(item)
        return int(item.value())

    def peek(self, item: Any) -> int:
        return int(item.value())

    def held(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class ProbeImpl:
    def counts(self) -> tuple[int, int, int]:
        current: Any = process.current_process()
        server = current._manager_server
        return (
            len(server.id_to_refcount),
            len(server.id_to_local_proxy_obj),
            len(_LIVE_ITEMS),
        )


class TypedNesting(TypedManager):
    """Protocol registrations only: the server loads requests through its allow-list."""


TypedNesting.register(Item, ItemImpl)
TypedNesting.register(Holder, HolderImpl)
TypedNesting.register(Probe, ProbeImpl)


class StdlibNesting(BaseManager):
    """The same objects on the stdlib server, registered by name (AutoProxy)."""


for _typeid, _callable in (("Item", ItemImpl), ("Holder", HolderImpl)):
    StdlibNesting.register(_typeid, _callable)
StdlibNesting.register("Probe", ProbeImpl)


class TypedSync(TypedManager, SyncManager):
    """SyncManager's registrations (list, dict, Queue...) served by a TypedServer."""


TypedSync.register("Probe", ProbeImpl)


class CountedSync(TypedSync):
    """TypedSync on a server that counts the connections it accepts."""

    _Server = CountingServer


CountedSync.register(Doorman, DoormanImpl)


class StdlibSync(SyncManager):
    """The stdlib SyncManager, the baseline."""


StdlibSync.register("Probe", ProbeImpl)


class SyncClient(SyncManager):
    """A plain stdlib client of a TypedSync server."""


SyncClient.register("Probe")


def hold_then_wait(manager_class: type[BaseManager], address: Any, ready: Any) -> None:
    """Child process: pass proxies into managed objects, report, and wait to be killed."""
    m: Any = manager_class(address=address, authkey=process.current_process().authkey)
    m.connect()
    if issubclass(manager_class, TypedNesting):
        holder = m.Holder()
        kept = [holder.keep(m.Item(i)) for i in range(3)]
        ready.send((holder.held(), kept))
    else:
        outer = m.list([m.dict(a=1)])
        outer.append(m.dict(b=2))
        queue = m.Queue()
        queue.put(m.list([m.dict(c=3)]))
        ready.send((len(outer), queue.qsize()))
    threading.Event().wait(60)  # the proxies above stay referenced until the kill
