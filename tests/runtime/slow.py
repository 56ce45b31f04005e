"""A Protocol whose methods take as long as they are told (deadlines are tested on it),
and one that returns what cannot be pickled."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Protocol

from typedmgr import TypedManager


class Sleeper(Protocol):
    def nap(self, seconds: float, result: str) -> str: ...
    def child(self, seconds: float) -> Sleeper: ...
    def count(self, seconds: float, n: int) -> Iterator[int]: ...
    def lock(self) -> object: ...


class SleeperImpl:
    def __init__(self, seconds: float = 0.0) -> None:
        time.sleep(seconds)

    def nap(self, seconds: float, result: str) -> str:
        time.sleep(seconds)
        return result

    def child(self, seconds: float) -> SleeperImpl:
        time.sleep(seconds)
        return SleeperImpl()

    def count(self, seconds: float, n: int) -> Iterator[int]:
        for i in range(n):
            time.sleep(seconds)
            yield i

    def lock(self) -> object:
        return threading.Lock()


class SlowManager(TypedManager):
    """Creating a Sleeper takes ``seconds``."""


SlowManager.register(Sleeper, SleeperImpl)
