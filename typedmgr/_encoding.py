"""How a client's messages are pickled and framed, large payloads written uncopied.

Split from ``_channel``, which re-exports these names; the server encodes its replies with
them too. A ``memoryview``, which pickle refuses, travels as its bytes and is rebuilt as a
view of them (``reduce_view``); large ones between typedmgr peers go out of band instead
(``_buffers``).
"""

from __future__ import annotations

import copyreg
import io
import pickle
from collections.abc import Iterable, Sequence
from multiprocessing import reduction
from typing import Any

from typedmgr import _frames

__all__ = [
    "LARGE_PAYLOAD",
    "PROTOCOL",
    "carries_large",
    "check_view",
    "dumps",
    "frame",
    "framed_uncopied",
    "large_arguments",
    "reduce_view",
]


#: The pickle protocol of typedmgr's messages. Protocol 5 (Python 3.8+; the default from
#: 3.14) has an opcode for a bytearray's bytes; protocol 4 rebuilds it by calling
#: ``builtins.bytearray``, which a restricted loader refuses (called with a size, it would
#: allocate that much).
PROTOCOL = 5

#: A bytes, bytearray or memoryview at least this large, as an argument of a call (a bytes
#: also as a result), is not copied into the message's pickle: it is written from its own
#: memory beside the rest of the message (one ``writev``), the bytes on the wire being
#: those of the in-band pickle, which the receiver reads as any other message. From
#: ``_buffers.OUT_OF_BAND`` on, between typedmgr peers, arguments and results go out of
#: band instead, and the receiver reads them into their own memory (docs/performance.md).
LARGE_PAYLOAD = 64 * 1024


def carries_large(values: Iterable[object]) -> bool:
    """Whether one of ``values`` is a bytes or bytearray of ``LARGE_PAYLOAD`` or more, or a
    memoryview (which only typedmgr's picklers know how to send)."""
    return any(
        (isinstance(v, (bytes, bytearray)) and len(v) >= LARGE_PAYLOAD)
        or type(v) is memoryview
        for v in values
    )


def check_view(view: memoryview) -> None:
    """Refuse a memoryview that does not travel as itself: one that is not a flat run of
    bytes (format ``B``, one dimension, contiguous) would arrive as another."""
    if view.format == "B" and view.ndim == 1 and view.c_contiguous:
        return
    fix = (
        "send view.cast('B')"
        if view.c_contiguous
        else "send memoryview(view.tobytes()), a contiguous copy"
    )
    raise ValueError(
        f"cannot send a memoryview of format {view.format!r}, shape {view.shape}"
        f"{'' if view.c_contiguous else ', not contiguous'}: a memoryview travels as its "
        f"bytes and arrives as a one-dimensional view of format 'B'; {fix}"
    )


def reduce_view(
    view: memoryview,
) -> tuple[type[memoryview], tuple[pickle.PickleBuffer]]:
    """A memoryview as pickle can send it: ``memoryview(its bytes)`` (a bytearray for a
    writable one), rebuilt by the receiver as a view of them, read-only if it was."""
    check_view(view)
    return memoryview, (pickle.PickleBuffer(view),)


_WITH_VIEWS: dict[Any, Any] = {**copyreg.dispatch_table, memoryview: reduce_view}


class ViewPickler(pickle.Pickler):
    """The plain pickler, which also sends memoryviews (``reduce_view``)."""

    dispatch_table = _WITH_VIEWS


class _Parts:
    """A pickler's file that keeps what it is given: the C pickler writes a payload of
    64 KiB or more straight to its file, as the object itself (no copy)."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[_frames.Buffer] = []

    def write(self, data: _frames.Buffer | pickle.PickleBuffer) -> int:
        if isinstance(data, pickle.PickleBuffer):  # a memoryview's bytes
            data = data.raw()
        self.parts.append(data)
        return _size(data)


def large_arguments(request: tuple[object, ...]) -> bool:
    """Whether a request ``(ident, method, args, kwds, releases)`` passes a large payload
    (or a memoryview)."""
    args, kwds = request[2], request[3]
    return (isinstance(args, tuple) and carries_large(args)) or (
        isinstance(kwds, dict) and carries_large(kwds.values())
    )


def framed_uncopied(message: object) -> Sequence[_frames.Buffer]:
    """``message`` pickled and framed as parts to write, its large payloads uncopied."""
    out = _Parts()
    try:
        ViewPickler(out, PROTOCOL).dump(message)
    except Exception:
        return _frames.framed(dumps(message))
    return [_frames.header(sum(map(_size, out.parts))), *out.parts]


def _size(part: _frames.Buffer) -> int:
    return part.nbytes if isinstance(part, memoryview) else len(part)


def dumps(message: object) -> bytes:
    """Pickle a message as ``Connection.send`` would, without its per-message pickler.

    ``ForkingPickler.dumps`` builds a new pickler and copies its dispatch table for every
    message (several times ``pickle.dumps``'s cost, docs/performance.md). What plain pickle
    refuses and the stdlib's reducers handle (dict views, sockets) falls back to it, as do
    memoryviews (``reduce_view``).
    """
    try:
        return pickle.dumps(message, PROTOCOL)
    except Exception:
        file = io.BytesIO()
        pickler = reduction.ForkingPickler(file, PROTOCOL)
        pickler.dispatch_table[memoryview] = reduce_view
        pickler.dump(message)
        return file.getvalue()


def frame(message: object) -> bytes:
    """One message, pickled and framed as ``Connection.send`` would."""
    return _frames.frame(dumps(message))
