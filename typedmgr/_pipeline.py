"""Pipelines: many calls sent as one request, their replies read back in one.

    with typedmgr.Pipeline() as p:
        replies = [p.call(counter.increment, by=i) for i in range(100)]
    total = sum(r.value() for r in replies)     # each Reply[int]

A stdlib proxy waits for every reply before the next call goes out: one round trip, and on
the server one message read, loaded, dispatched and answered, per call. A pipeline captures
the calls its ``call()`` makes through typed proxies and, when the block ends (or a reply is
asked for), sends each server its calls as one ``BATCH`` request; the server runs them in
order and answers with one message holding every reply. Arguments are pickled then, when
the pipeline is sent, not when ``call()`` queues them.

A batch the server cannot run as a whole (an argument of a type it refuses to load, or a
server without batches) runs nowhere; its calls are then sent again one message each, so
each gets its own outcome.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Self, TypeAlias, TypeVar, cast
from typing_extensions import ParamSpec

from typedmgr import _channel

if TYPE_CHECKING:
    from typedmgr._endpoint import Endpoint

__all__ = ["Pipeline", "Reply"]

_T = TypeVar("_T")
_P = ParamSpec("_P")
_log = logging.getLogger("typedmgr.pipeline")

#: The pipeline whose ``call()`` is running in this context, if any.
capturing: contextvars.ContextVar[Pipeline | None] = contextvars.ContextVar(
    "typedmgr_pipeline", default=None
)

# Calls sent as one batch, at most, and the size of a batch (pickled) worth splitting in two:
# a batch is read whole before it runs, and a server refuses requests over its limit.
BATCH_CALLS = 1000
_BATCH_BYTES = 8 * 1024 * 1024
# Seconds a server is expected to take per call of a batch (what the client waits awake for).
_SECONDS_PER_CALL = 5e-6
# Requests written before their replies are read, when sent one message each: small enough
# that large replies cannot fill both socket buffers while the client is still writing.
_CHUNK_BYTES = 64 * 1024

#: The method, arguments and keywords of a call, to name in errors.
_Call: TypeAlias = tuple[str, tuple[object, ...], Mapping[str, object]]
#: What a reply's ``(kind, result)`` stands for, for the proxy that queued the call
#: (``TypedProxy._reply``): the value, or the exception raised.
Resolver: TypeAlias = Callable[[str, object, "_Call | None"], object]
#: A queued call: where it goes, its request, its reply, and how to read the reply the
#: server sends (``None``: a one-way call, which gets none).
_Queued = tuple["Endpoint", tuple[object, ...], "Reply[object]", Resolver | None]


class Reply(Generic[_T]):
    """The result of a pipelined call, available once its pipeline has been sent."""

    __slots__ = ("_error", "_pipeline", "_ready", "_value")

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._ready = False
        self._value: object = None
        self._error: BaseException | None = None

    def value(self) -> _T:
        """The call's result; raises what the call raised (sends the pipeline if needed)."""
        if not self._ready:
            self._pipeline.send()
            if not self._ready:
                raise RuntimeError(
                    "the pipeline was interrupted before this call's reply"
                )
        if self._error is not None:
            raise self._error
        # The method ``call()`` queued returns ``_T``: its reply's value is one.
        return cast("_T", self._value)

    def _resolve(
        self, value: object = None, error: BaseException | None = None
    ) -> None:
        self._value, self._error, self._ready = value, error, True


class Pipeline:
    """Collects calls made with :meth:`call` and sends them together."""

    def __init__(self) -> None:
        self._queued: list[_Queued] = []

    def call(
        self, method: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> Reply[_T]:
        """Queue ``method(*args, **kwargs)``, a method of a typed proxy; return its reply."""
        queue = self._queued
        queued = len(queue)
        token = capturing.set(self)
        try:
            method(*args, **kwargs)
        finally:
            capturing.reset(token)
        if len(queue) != queued + 1:
            raise TypeError(f"{method!r} is not a method of a typedmgr proxy")
        # The reply of ``method``, whose result is a ``_T``.
        return cast("Reply[_T]", queue[-1][2])

    def enqueue(
        self,
        endpoint: Endpoint,
        request: tuple[object, ...],
        resolve: Resolver | None,
    ) -> Reply[object]:
        """Called by a proxy instead of sending: hold ``request`` to ``endpoint`` until the
        pipeline goes; ``resolve`` reads its reply (``None``: a one-way call)."""
        reply: Reply[object] = Reply(self)
        if resolve is None:
            reply._resolve(None)
        self._queued.append((endpoint, request, reply, resolve))
        return reply

    def send(self) -> None:
        """Send every queued call, a batch per run of calls to one server, in order."""
        queued, self._queued = self._queued, []
        start = 0
        while start < len(queued):
            address = queued[start][0].address
            end = start + 1
            while (
                end < len(queued)
                and end - start < BATCH_CALLS
                and queued[end][0].address == address
            ):
                end += 1
            _send_batch(queued[start:end])
            start = end

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.send()


def _send_batch(batch: list[_Queued]) -> None:
    """Run ``batch``, calls to one server, as one request; resolve the replies in order."""
    endpoint = batch[0][0]
    try:
        request = _channel.dumps(
            (None, _channel.BATCH, tuple(request for _, request, _, _ in batch), {})
        )
    except Exception:  # an argument that does not pickle: find it, send the others
        _send_each(batch)
        return
    if len(request) > _BATCH_BYTES and len(batch) > 1:
        half = len(batch) // 2
        _send_batch(batch[:half])
        _send_batch(batch[half:])
        return
    waiting = [(resolve, reply) for _, _, reply, resolve in batch if resolve]
    try:
        kind, result = endpoint.exchange(request, len(batch) * _SECONDS_PER_CALL)
    except BaseException as error:  # a lost server, a refused reply, an interruption
        for _, reply in waiting:
            reply._resolve(error=error)
        if isinstance(error, Exception):
            return
        raise
    if kind != "#RETURN":
        _send_each(batch)  # nothing ran: each call on its own, for its own outcome
        return
    if not isinstance(result, list) or len(result) != len(waiting):
        garbled = ValueError(f"a batch of {len(waiting)} calls got back {result!r}")
        for _, reply in waiting:
            reply._resolve(error=garbled)
        return
    calls = [call for _, call, _, resolve in batch if resolve]
    for (resolve, reply), outcome, call in zip(waiting, result, calls, strict=True):
        if outcome.__class__ is tuple and outcome[0] == "#RETURN":
            reply._resolve(outcome[1])  # most replies: a value, nothing to rebuild
        else:
            _resolve(resolve, reply, outcome, call)


def _send_each(batch: list[_Queued]) -> None:
    """Send ``batch`` one message per call, chunk by chunk, each written before its replies
    are read."""
    while batch:
        size, count = 0, 0
        framed: list[bytes] = []
        sendable: list[_Queued] = []
        for queued in batch:
            count += 1
            try:
                framed.append(_channel.frame(queued[1]))
            except Exception as error:  # never sent: its reply raises why
                queued[2]._resolve(error=error)
                if not queued[3]:
                    _log.warning("one-way call not sent", exc_info=True)
                continue
            sendable.append(queued)
            size += len(framed[-1])
            if size >= _CHUNK_BYTES:
                break
        chunk, batch = sendable, batch[count:]
        if not chunk:
            continue
        waiting = [
            (resolve, call, reply) for _, call, reply, resolve in chunk if resolve
        ]
        outcomes = chunk[0][0].exchange_many(framed, len(waiting))
        for (resolve, call, reply), outcome in zip(waiting, outcomes, strict=True):
            _resolve(resolve, reply, outcome, call)


def _resolve(
    resolve: Resolver,
    reply: Reply[object],
    outcome: object,
    request: tuple[object, ...] | None = None,
) -> None:
    """Give ``reply`` what ``outcome``, a ``(kind, result)`` reply or an error, stands for.

    ``request``: the call's, to name it in errors.
    """
    if isinstance(outcome, BaseException):
        reply._resolve(error=outcome)
        return
    call: _Call | None = None
    if request is not None and isinstance(request[1], str):
        args = cast("tuple[object, ...]", request[2])
        call = (request[1], args, cast("Mapping[str, object]", request[3]))
    kind, result = cast("tuple[str, object]", outcome)
    try:
        reply._resolve(resolve(kind, result, call))
    except Exception as error:
        reply._resolve(error=error)
