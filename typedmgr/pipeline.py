"""Pipelines: many calls sent in one write, their replies read back in order.

    with typedmgr.Pipeline() as p:
        replies = [p.call(counter.increment, by=i) for i in range(100)]
    total = sum(r.value() for r in replies)     # each Reply[int]

A stdlib proxy waits for every reply before the next call goes out; over a network that is
one round trip per call. A pipeline captures the calls its ``call()`` makes through typed
proxies, sends them together when the block ends (or a reply is asked for), and the server,
which serves a connection in order, answers them in order.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from typing_extensions import ParamSpec, Self

from typedmgr import channel

if TYPE_CHECKING:
    from typedmgr.proxy import TypedProxy

__all__ = ["Pipeline", "Reply"]

_T = TypeVar("_T")
_P = ParamSpec("_P")

#: The pipeline whose ``call()`` is running in this context, if any.
capturing: contextvars.ContextVar[Pipeline | None] = contextvars.ContextVar(
    "typedmgr_pipeline", default=None
)

# Requests written before their replies are read: small enough that a batch of large
# replies cannot fill both socket buffers while the client is still writing.
_CHUNK_BYTES = 64 * 1024


class Reply(Generic[_T]):
    """The result of a pipelined call, available once its pipeline has been sent."""

    __slots__ = ("_error", "_pipeline", "_ready", "_value")

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._ready = False
        self._value: Any = None
        self._error: BaseException | None = None

    def value(self) -> _T:
        """The call's result; raises what the call raised (sends the pipeline if needed)."""
        if not self._ready:
            self._pipeline.send()
        if self._error is not None:
            raise self._error
        result: _T = self._value
        return result

    def _resolve(
        self, value: object = None, error: BaseException | None = None
    ) -> None:
        self._value, self._error, self._ready = value, error, True


class Pipeline:
    """Collects calls made with :meth:`call` and sends them together."""

    def __init__(self) -> None:
        self._queued: list[tuple[TypedProxy, bytes, Reply[Any], bool]] = []

    def call(
        self, method: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> Reply[_T]:
        """Queue ``method(*args, **kwargs)``, a method of a typed proxy; return its reply."""
        queued = len(self._queued)
        token = capturing.set(self)
        try:
            method(*args, **kwargs)
        finally:
            capturing.reset(token)
        if len(self._queued) != queued + 1:
            raise TypeError(f"{method!r} is not a method of a typedmgr proxy")
        return self._queued[-1][2]

    def enqueue(
        self, proxy: TypedProxy, request: tuple[object, ...], *, expects_reply: bool
    ) -> Reply[Any]:
        """Called by the proxy instead of sending: hold ``request`` until the pipeline goes."""
        reply: Reply[Any] = Reply(self)
        if not expects_reply:
            reply._resolve(None)
        self._queued.append((proxy, channel.frame(request), reply, expects_reply))
        return reply

    def send(self) -> None:
        """Send every queued call, then read every reply, in order, chunk by chunk."""
        queued, self._queued = self._queued, []
        while queued:
            address = queued[0][0]._token.address
            size, count = 0, 0
            for proxy, frame, _, _ in queued:
                if proxy._token.address != address:
                    break
                count += 1
                size += len(frame)
                if size >= _CHUNK_BYTES:
                    break
            self._exchange(queued[:count])
            queued = queued[count:]

    @staticmethod
    def _exchange(batch: list[tuple[TypedProxy, bytes, Reply[Any], bool]]) -> None:
        first = batch[0][0]
        waiting = [(proxy, reply) for proxy, _, reply, expects in batch if expects]
        outcomes = channel.exchange_many(
            first._tls,
            first._token.address,
            first._authkey,
            first._Client,
            [frame for _, frame, _, _ in batch],
            len(waiting),
        )
        for (proxy, reply), outcome in zip(waiting, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                reply._resolve(error=outcome)
                continue
            try:
                reply._resolve(proxy._reply(*outcome))
            except Exception as error:
                reply._resolve(error=error)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.send()
