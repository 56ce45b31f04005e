"""``AsyncPipeline``: calls of async proxies queued and sent as one batch request per
connection, each answered by an :class:`AsyncReply`."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from typing_extensions import ParamSpec

from typedmgr._aio.proxy import (
    AsyncTypedProxy,
    capturing,
    check_fingerprint,
    holder,
)
from typedmgr._client_errors import remote_error
from typedmgr._wire import BATCH, PROXIED

__all__ = ["AsyncPipeline", "AsyncReply"]

_T = TypeVar("_T")
_P = ParamSpec("_P")
_Queued = tuple[AsyncTypedProxy, tuple[object, ...], "AsyncReply[Any]", bool]


class AsyncReply(Generic[_T]):
    """The result of a call of an :class:`AsyncPipeline`, once the pipeline was sent."""

    __slots__ = ("_error", "_ready", "_value")

    def __init__(self) -> None:
        self._ready = False
        self._value: Any = None
        self._error: BaseException | None = None

    def value(self) -> _T:
        """The call's result; raises what the call raised."""
        if not self._ready:
            raise RuntimeError(
                "the pipeline of this reply has not been sent: read it after the "
                "`async with AsyncPipeline()` block, or after `await pipeline.send()`"
            )
        if self._error is not None:
            raise self._error
        result: _T = self._value
        return result

    def _resolve(
        self, value: object = None, error: BaseException | None = None
    ) -> None:
        self._value, self._error, self._ready = value, error, True


class AsyncPipeline:
    """Calls of async proxies sent as one batch request per connection, answered by one
    message: fewer tasks and messages than ``asyncio.gather`` of the same calls.

    ``async with AsyncPipeline() as p: replies = [p.call(c.increment, by=n) ...]``; the
    calls go when the block ends (or at ``await p.send()``), run on the server in order.
    """

    def __init__(self) -> None:
        self._queued: list[_Queued] = []

    def call(
        self,
        method: Callable[_P, Coroutine[object, None, _T]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> AsyncReply[_T]:
        """Queue ``method(*args, **kwargs)``, a method of an async proxy (not awaited)."""
        queued = len(self._queued)
        token = capturing.set(self)
        try:
            coroutine = method(*args, **kwargs)
            try:
                coroutine.send(None)
            except StopIteration:
                pass
            else:  # it awaited something: not a queued proxy call
                coroutine.close()
        finally:
            capturing.reset(token)
        if len(self._queued) != queued + 1:
            raise TypeError(
                f"{method!r} is not a method of an async typedmgr proxy: a pipeline "
                "queues only those"
            )
        return self._queued[-1][2]

    def _enqueue(
        self, proxy: AsyncTypedProxy, request: tuple[object, ...], replies: bool
    ) -> AsyncReply[Any]:
        reply: AsyncReply[Any] = AsyncReply()
        if not replies:
            reply._resolve(None)
        self._queued.append((proxy, request, reply, replies))
        return reply

    async def send(self) -> None:
        """Send the queued calls: one batch per run of calls on one connection."""
        queued, self._queued = self._queued, []
        while queued:
            connection = queued[0][0]._connection
            run = 0
            while run < len(queued) and queued[run][0]._connection is connection:
                run += 1
            calls, queued = queued[:run], queued[run:]
            batch = tuple(request for _, request, _, _ in calls)
            kind, results = await connection.request((None, BATCH, batch, {}, ()))
            waiting = [reply for _, _, reply, replies in calls if replies]
            if kind != "#RETURN":
                error = remote_error(kind, results)
                for reply in waiting:
                    reply._resolve(error=error)
                continue
            # Every remote object is held by its proxy before anything is awaited.
            made: list[tuple[AsyncReply[Any], object, BaseException | None]] = []
            for reply, (each_kind, each) in zip(waiting, results, strict=True):
                if each_kind == "#RETURN":
                    made.append((reply, each, None))
                elif each_kind == PROXIED:
                    try:
                        made.append((reply, holder(connection, each[0], each[2]), None))
                    except Exception as e:
                        made.append((reply, None, e))
                else:
                    made.append((reply, None, remote_error(each_kind, each)))
            for reply, value, failure in made:
                if isinstance(value, AsyncTypedProxy):
                    try:
                        await check_fingerprint(connection, type(value), value._typeid)
                    except Exception as e:
                        reply._resolve(error=e)
                        continue
                reply._resolve(value, failure)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.send()
