"""Encoding the server's replies: framed, large results uncopied (or out of band), what
cannot be pickled replaced by the reply saying why, and the server-held proxies a reply
carries noted in the reference books.
"""

from __future__ import annotations

import io
import logging
import pickle
import traceback
import weakref
from collections.abc import Sequence
from typing import Any

from typedmgr import _buffers
from typedmgr._encoding import LARGE_PAYLOAD, PROTOCOL, dumps, framed_uncopied
from typedmgr._frames import Buffer, framed
from typedmgr._server.books import Books
from typedmgr._wire import BATCH

__all__ = ["dumps_reply", "encode", "sendable", "unserializable"]

_log = logging.getLogger("typedmgr.server")

_BUFFER_TYPES = frozenset((bytes, bytearray, memoryview))


def encode(
    msg: tuple[str, object], books: Books, *, apart: bool = False
) -> Sequence[Buffer]:
    """A reply, framed; a reply that cannot be pickled becomes ``#UNSERIALIZABLE``
    (raises only if that cannot be pickled either).

    A batch's replies go as one ``#RETURN``, each that cannot be pickled replaced.
    A large bytes, bytearray or memoryview result goes out of band if ``apart`` (an
    ``_buffers.Apart``: write it before the next request runs, which could change it);
    else a large bytes result is written from its own memory, uncopied (a bytearray or
    memoryview is copied: the reply may wait for the requests that arrived with it).
    """
    result = msg[1]
    if msg[0] == "#RETURN" and type(result) in _BUFFER_TYPES:
        try:
            parts = _buffers.reply_apart(msg) if apart else None
            if parts is not None:
                return parts
        except ValueError as e:  # a memoryview that cannot travel as itself
            return framed(dumps(unserializable(msg, e)))
        if type(result) is bytes and len(result) >= LARGE_PAYLOAD:
            return framed_uncopied(msg)
    if msg[0] == BATCH:
        replies: Any = msg[1]
        msg = ("#RETURN", replies)
        try:
            return framed(dumps_reply(msg, books))
        except Exception:
            msg = ("#RETURN", [sendable(reply) for reply in replies])
    try:
        return framed(dumps_reply(msg, books))
    except Exception as e:
        return framed(dumps(unserializable(msg, e)))


def dumps_reply(msg: tuple[str, object], books: Books) -> bytes:
    """``dumps``; server-held proxies in the reply get an in-flight reference each."""
    local_proxies = books.local_proxies
    if not local_proxies:
        return dumps(msg)
    pickler = _ReplyPickler(local_proxies)
    try:
        data = pickler.dumps(msg)
    except Exception:
        return dumps(msg)  # what plain pickle refuses (the stdlib reducers' types)
    if pickler.sent:
        books.sent(pickler.sent)
    return data


def sendable(msg: tuple[str, object]) -> tuple[str, object]:
    """``msg`` if it pickles, else the ``#UNSERIALIZABLE`` reply saying why."""
    try:
        dumps(msg)
    except Exception as e:
        return unserializable(msg, e)
    return msg


def unserializable(msg: tuple[str, object], error: Exception) -> tuple[str, str]:
    """The ``#UNSERIALIZABLE`` reply to ``msg``: its first line names the value's type
    (``typedmgr._errors`` reads it), the traceback follows."""
    cls = type(msg[1])
    _log.warning(
        "cannot pickle a %s.%s reply: %s", cls.__module__, cls.__qualname__, error
    )
    return (
        "#UNSERIALIZABLE",
        f"cannot pickle the result, a {cls.__module__}.{cls.__qualname__}: {error}\n"
        + traceback.format_exc(),
    )


class _ReplyPickler(pickle.Pickler):
    """Pickles a reply as ``dumps`` does, noting the server-held proxies in it."""

    def __init__(self, local_proxies: dict[int, tuple[weakref.ref[Any], str]]) -> None:
        self._file = io.BytesIO()
        super().__init__(self._file, PROTOCOL)
        self._local_proxies = local_proxies
        self.sent: list[str] = []

    def dumps(self, msg: object) -> bytes:
        self.dump(msg)
        return self._file.getvalue()

    def reducer_override(self, obj: Any) -> Any:
        entry = self._local_proxies.get(id(obj))
        if entry is not None and entry[0]() is obj:
            self.sent.append(entry[1])
        return NotImplemented
