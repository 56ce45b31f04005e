"""Coroutines of ``async def`` methods, run on one event loop per server process.

A referent whose method is ``async def`` returns a coroutine when the server calls it. The
server runs every such coroutine on one event loop, in a thread of its own, started when the
first one arrives: not a loop per call, so coroutines that await (a sleep, a socket) overlap.

Where the call came from decides who waits for the result:

* a connection served one request at a time (a sync proxy, a stdlib client) waits in its
  thread, as for any slow method; the loop, and so the object's other methods, stay free;
* a multiplexed connection (``typedmgr._server.mux``) does not hold a thread while the
  coroutine runs: :func:`resolve` raises :class:`Deferred` there, and the reply is sent when
  the coroutine finishes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["Deferred", "deferring", "loop", "resolve"]


class Deferred(BaseException):
    """Raised through the server's call path by :func:`resolve` on a multiplexed
    connection: the reply to this request is ``finish(result)``, once ``future`` is done.

    A ``BaseException``, so that the server's ``except Exception`` clauses let it pass.
    """

    def __init__(
        self,
        future: concurrent.futures.Future[Any],
        finish: Callable[[object], tuple[str, object]],
    ) -> None:
        super().__init__()
        self.future = future
        self.finish = finish


_state = threading.local()
_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def _forget_loop() -> None:
    """In a forked child: the parent's loop thread did not come along."""
    global _loop, _lock
    _loop, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_loop)


def loop() -> asyncio.AbstractEventLoop:
    """This process's loop for served coroutines, started on first use (a daemon thread)."""
    global _loop
    running = _loop
    if running is not None:
        return running
    with _lock:
        if _loop is None:
            new = asyncio.new_event_loop()
            thread = threading.Thread(
                target=new.run_forever, name="typedmgr coroutines", daemon=True
            )
            thread.start()
            _loop = new
        return _loop


class deferring:
    """Within it, this thread's calls of ``async def`` methods raise :class:`Deferred`."""

    def __enter__(self) -> None:
        _state.deferring = True

    def __exit__(self, *exc: object) -> None:
        _state.deferring = False


def resolve(
    coroutine: Coroutine[Any, Any, object],
    finish: Callable[[object], tuple[str, object]],
) -> object:
    """The result of a coroutine a method returned, run on the process's loop.

    Blocks this thread until it is done, unless the thread serves a multiplexed connection
    (``deferring``): then raises :class:`Deferred`, whose ``finish`` makes the reply.
    """
    future = asyncio.run_coroutine_threadsafe(coroutine, loop())
    if getattr(_state, "deferring", False):
        raise Deferred(future, finish)
    return future.result()
