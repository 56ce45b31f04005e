"""Proxies that adopted a server-made reference, by address: a forked child takes its own.

Split from ``_proxy`` (``TypedProxy._new_adopting`` adds, ``TypedProxy.__del__`` removes).
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

from typedmgr import _stdlib

__all__ = ["RetakeAfterFork", "retake_after_fork"]


class RetakeAfterFork:
    """The proxies a forked child takes its references to again.

    Adopted proxies by server address: a forked child takes a reference of its own to
    each (``BaseProxy._after_fork``), as the stdlib's after-fork entry per proxy makes it do.

    That entry is a ``WeakValueDictionary`` item, a cost per proxy (docs/performance.md);
    this is a plain dict of weak references, emptied by ``TypedProxy.__del__``. An address's
    hook is registered after its connection-local's, which forgets the parent's connection.
    """

    def __init__(self) -> None:
        self._proxies: dict[Any, dict[int, weakref.ref[Any]]] = {}

    def add(self, address: Any, proxy: Any) -> None:
        """Track ``proxy`` (weakly): a forked child takes a reference of its own for it."""
        proxies = self._proxies.get(address)
        if proxies is None:
            proxies = self._track(address)
        proxies[id(proxy)] = weakref.ref(proxy)

    def discard(self, address: Any, proxy: Any) -> None:
        """Stop tracking ``proxy``: it was collected, its reference released."""
        proxies = self._proxies.get(address)
        if proxies is not None:
            proxies.pop(id(proxy), None)

    def _track(self, address: Any) -> dict[int, weakref.ref[Any]]:
        new: dict[int, weakref.ref[Any]] = {}
        proxies = self._proxies.setdefault(address, new)  # atomic: one hook per address
        if proxies is new:
            local, _ = _stdlib.address_local(address)
            _stdlib.register_after_fork(
                local, functools.partial(self._after_fork, address)
            )
        return proxies

    def _after_fork(self, address: Any, _local: object) -> None:
        for ref in list(self._proxies.get(address, {}).values()):
            proxy = ref()
            if proxy is not None:
                proxy._after_fork()


#: The proxies whose references a forked child takes again.
retake_after_fork = RetakeAfterFork()
