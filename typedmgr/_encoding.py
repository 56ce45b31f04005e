"""How a client's messages are pickled and framed, large payloads written uncopied.

Split from ``_channel``, which re-exports these names; the server encodes its replies with
them too.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Sequence
from multiprocessing import reduction

from typedmgr import _frames

__all__ = [
    "LARGE_PAYLOAD",
    "PROTOCOL",
    "carries_large",
    "dumps",
    "frame",
    "framed_uncopied",
    "large_arguments",
]


#: The pickle protocol of typedmgr's messages. Protocol 5 (Python 3.8+; the default from
#: 3.14) has an opcode for a bytearray's bytes; protocol 4 rebuilds it by calling
#: ``builtins.bytearray``, which a restricted loader refuses (called with a size, it would
#: allocate that much).
PROTOCOL = 5

#: A bytes or bytearray at least this large, as an argument of a call or as its result, is
#: written from its own memory beside the rest of the message (one ``writev``), not copied
#: into the message's pickle (docs/performance.md). The bytes on the wire
#: are those of the in-band pickle, so the receiver reads it as any other message.
LARGE_PAYLOAD = 64 * 1024


def carries_large(values: Iterable[object]) -> bool:
    """Whether one of ``values`` is a bytes or bytearray of ``LARGE_PAYLOAD`` or more."""
    return any(
        isinstance(v, (bytes, bytearray)) and len(v) >= LARGE_PAYLOAD for v in values
    )


class _Parts:
    """A pickler's file that keeps what it is given: the C pickler writes a payload of
    64 KiB or more straight to its file, as the object itself (no copy)."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[_frames.Buffer] = []

    def write(self, data: _frames.Buffer) -> int:
        self.parts.append(data)
        return len(data)


def large_arguments(request: tuple[object, ...]) -> bool:
    """Whether a request ``(ident, method, args, kwds, releases)`` passes a large payload."""
    args, kwds = request[2], request[3]
    return (isinstance(args, tuple) and carries_large(args)) or (
        isinstance(kwds, dict) and carries_large(kwds.values())
    )


def framed_uncopied(message: object) -> Sequence[_frames.Buffer]:
    """``message`` pickled and framed as parts to write, its large payloads uncopied."""
    out = _Parts()
    try:
        pickle.Pickler(out, PROTOCOL).dump(message)
    except Exception:
        return _frames.framed(dumps(message))
    return [_frames.header(sum(map(len, out.parts))), *out.parts]


def dumps(message: object) -> bytes:
    """Pickle a message as ``Connection.send`` would, without its per-message pickler.

    ``ForkingPickler.dumps`` builds a new pickler and copies its dispatch table for every
    message (several times ``pickle.dumps``'s cost, docs/performance.md). What plain pickle
    refuses and the stdlib's reducers handle (dict views, sockets) falls back to it.
    """
    try:
        return pickle.dumps(message, PROTOCOL)
    except Exception:
        return bytes(reduction.ForkingPickler.dumps(message))


def frame(message: object) -> bytes:
    """One message, pickled and framed as ``Connection.send`` would."""
    return _frames.frame(dumps(message))
