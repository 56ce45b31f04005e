"""What the tests that watch a manager's connections share."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from multiprocessing.managers import BaseManager
from typing import Any


@contextlib.contextmanager
def connections_opened(manager: BaseManager) -> Iterator[list[Any]]:
    """The connections ``manager`` opens while the block runs (the arguments of each)."""
    opened: list[Any] = []
    connect = manager._Client  # type: ignore[attr-defined]

    def counting(*args: Any, **kwds: Any) -> Any:
        opened.append(args)
        return connect(*args, **kwds)

    manager._Client = counting  # type: ignore[attr-defined]
    try:
        yield opened
    finally:
        manager._Client = connect  # type: ignore[attr-defined]
