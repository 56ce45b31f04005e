"""Out-of-band buffers: large ``bytes``, ``bytearray`` and ``memoryview`` arguments and
results sent beside their message's pickle, never copied into it (pickle protocol 5's
``PickleBuffer``), and read by the receiver into memory of their own (``_receipt``).

Only between typedmgr peers that both said so on a long-lived connection: the client's
``accept_connection`` name ends with ``TAG`` (``declare``), and the server answers
``ACCEPTED`` where the stdlib answers ``None``. A stdlib client never declares it, so never
gets such a message; a typedmgr server that does not know the tag answers ``None``, and its
clients then send everything in band. The server replies out of band only to five-item
requests (a typedmgr client's): a stdlib proxy in the client's process that shares the
connection sends four-item ones, and reads what the stdlib sends.

An out-of-band message on the wire::

    !i -2             a length the stdlib never writes (it writes -1 before a long one)
    !I n              the size of what follows, up to the pad
    !H count          1 to MAX_BUFFERS buffers
    count x !cQ       each buffer's kind (b"y" bytes, b"a" bytearray, b"v" memoryview), size
    the pickle        protocol 5: a NEXT_BUFFER opcode where each buffer goes, in order
    PAD bytes         dropped: a reader's read-ahead past the pickle ends inside them, so
                      each buffer is read from the socket straight into its own memory
    the buffers       their bytes, back to back

What reads it is ``_receipt``.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from typedmgr._encoding import PROTOCOL, ViewPickler, check_view
from typedmgr._frames import Buffer
from typedmgr._receipt import COUNT, HEAD, KIND_OF, MARK, MAX_BUFFERS, PAD, SPEC

__all__ = [
    "ACCEPTED",
    "OUT_OF_BAND",
    "TAG",
    "Apart",
    "apart",
    "declare",
    "declared",
    "reply_apart",
    "request_apart",
]

#: What a client's ``accept_connection`` name ends with when it takes and sends
#: out-of-band messages on that connection.
TAG = " [typedmgr buffers 1]"
#: The server's answer to a name with ``TAG``: it takes and sends them too.
ACCEPTED = "typedmgr buffers 1"
#: A bytes, bytearray or memoryview of this many bytes or more, as an argument (top
#: level) or as a result, goes out of band. Below, reading the pad and making the buffers
#: cost about what they save: from 64 KiB (``LARGE_PAYLOAD``) a payload is written
#: uncopied in band instead (docs/performance.md).
OUT_OF_BAND = 256 * 1024

_PAD = bytes(PAD)


def declare(name: str) -> str:
    """``name``, declaring that its connection takes and sends out-of-band messages."""
    return name + TAG


def declared(name: object) -> bool:
    """Whether an ``accept_connection`` name declares out-of-band messages."""
    return isinstance(name, str) and name.endswith(TAG)


def apart(value: object) -> bool:
    """Whether ``value`` goes out of band: a bytes, bytearray or memoryview (not a
    subclass, which pickles as itself) of ``OUT_OF_BAND`` bytes or more."""
    if type(value) is bytes or type(value) is bytearray:
        return len(value) >= OUT_OF_BAND
    return type(value) is memoryview and value.nbytes >= OUT_OF_BAND


class Apart(list[Buffer]):
    """The parts of an out-of-band message, to write in order."""


class _Pickled:
    """The buffers a message leaves out of band, chosen before pickling: each is wrapped
    in a ``PickleBuffer`` whose kind is noted here; any other ``PickleBuffer`` (a small
    memoryview's, ``reduce_view``) stays in band."""

    def __init__(self) -> None:
        self.kinds: dict[int, bytes] = {}
        self.specs: list[bytes] = []
        self.buffers: list[memoryview] = []

    def wrap(self, value: Any) -> Any:
        if not apart(value):
            return value
        if type(value) is memoryview:
            check_view(value)
        wrapped = pickle.PickleBuffer(value)
        self.kinds[id(wrapped)] = KIND_OF[type(value)]
        return wrapped

    def __call__(self, buffer: pickle.PickleBuffer) -> bool:
        """The pickler's ``buffer_callback``: false sends ``buffer`` out of band."""
        kind = self.kinds.get(id(buffer))
        if kind is None:
            return True
        raw = buffer.raw()
        self.specs.append(SPEC.pack(kind, raw.nbytes))
        self.buffers.append(raw)
        return False

    def framed(self, message: object) -> Apart | None:
        """``message`` (its values wrapped) framed, or ``None`` if nothing went apart."""
        if not self.kinds:
            return None
        file = io.BytesIO()
        try:
            ViewPickler(file, PROTOCOL, buffer_callback=self).dump(message)
        except Exception:
            return None  # in band, where the error (if it is one) is the stdlib's
        count = len(self.buffers)
        if count > MAX_BUFFERS:
            return None
        pickled = file.getbuffer()
        head = HEAD.pack(MARK, COUNT.size + SPEC.size * count + pickled.nbytes)
        specs = head + COUNT.pack(count) + b"".join(self.specs)
        return Apart([specs, pickled, _PAD, *self.buffers])


def request_apart(request: tuple[Any, ...]) -> Apart | None:
    """A request ``(ident, method, args, kwds, releases)`` framed with its large arguments
    out of band; ``None`` if it has none, or more than ``MAX_BUFFERS`` (``ValueError``
    for a memoryview that cannot travel as itself)."""
    pickled = _Pickled()
    ident, method, args, kwds, *rest = request
    args = tuple(pickled.wrap(value) for value in args)
    kwds = {key: pickled.wrap(value) for key, value in kwds.items()}
    return pickled.framed((ident, method, args, kwds, *rest))


def reply_apart(reply: tuple[str, object]) -> Apart | None:
    """A ``("#RETURN", result)`` reply framed with its result out of band, if large."""
    pickled = _Pickled()
    return pickled.framed((reply[0], pickled.wrap(reply[1])))
