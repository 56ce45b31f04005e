"""The load counter's server side: the implementation and the manager that serves it."""

from __future__ import annotations

import threading

from tests.process.load_api import LoadCounter
from typedmgr import TypedManager


class LoadCounterImpl:
    def __init__(self, start: int = 0) -> None:
        self._value = start
        self._lock = threading.Lock()

    def increment(self, by: int = 1) -> int:
        with self._lock:
            self._value += by
            return self._value

    def bump(self, by: int = 1) -> None:
        with self._lock:
            self._value += by

    def value(self) -> int:
        return self._value


class LoadManager(TypedManager):
    """Serves load counters; no generated module exists for their Protocol."""


LoadManager.register(LoadCounter, LoadCounterImpl)
