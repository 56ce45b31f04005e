"""Out-of-band buffers on real socket pairs and pipes: what goes apart, how it is framed,
and that the receiver reads each buffer once, into memory of its own."""

from __future__ import annotations

import array
import dataclasses
import pickle
import socket
import threading
import tracemalloc
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, Pipe
from typing import cast

import pytest

from typedmgr import RefusedType, _buffers, _receipt
from typedmgr._allowlist import AllowList
from typedmgr._encoding import (
    LARGE_PAYLOAD,
    check_view,
    dumps,
    frame,
    framed_uncopied,
)
from typedmgr._frames import Buffer, Wire

BIG = _buffers.OUT_OF_BAND
MiB = 1024 * 1024


def socket_pair() -> tuple[Connection, Connection]:
    near, far = socket.socketpair()
    return Connection(near.detach()), Connection(far.detach())


def sent(
    parts: Sequence[Buffer],
    pair: Callable[[], tuple[Connection, Connection]] = socket_pair,
) -> list[_receipt.Message]:
    """The messages a wire agreeing to buffers reads, as a thread writes ``parts``."""
    reader, writer = pair()

    def write() -> None:
        with writer:
            Wire(writer, buffers=True).write(parts)

    thread = threading.Thread(target=write)
    thread.start()
    wire = Wire(reader, buffers=True)
    messages = []
    try:
        while True:
            messages.append(wire.read())
    except EOFError:
        return messages
    finally:
        thread.join()
        reader.close()


def test_only_large_top_level_payloads_go_apart() -> None:
    """bytes, bytearray and memoryview from the threshold up, as arguments or results."""
    assert _buffers.apart(bytes(BIG)) and _buffers.apart(bytearray(BIG))
    assert _buffers.apart(memoryview(bytes(BIG)))
    assert not _buffers.apart(bytes(BIG - 1)) and not _buffers.apart("x" * BIG)
    assert (
        _buffers.request_apart((1, "m", (bytes(BIG - 1), [bytes(BIG)]), {}, ())) is None
    )
    assert _buffers.reply_apart(("#RETURN", bytes(BIG - 1))) is None
    many = tuple(bytes(BIG) for _ in range(_receipt.MAX_BUFFERS + 1))  # in band: all
    assert _buffers.request_apart((1, "m", many, {}, ())) is None
    assert _buffers.request_apart((1, "m", many[1:], {}, ())) is not None


def test_each_buffer_is_a_part_of_its_own_memory() -> None:
    """The parts are the header and pickle, the pad, then each payload's own memory."""
    data, array_, view = (
        bytearray(BIG),
        bytearray(BIG + 1),
        memoryview(bytearray(BIG + 2)),
    )
    parts = _buffers.request_apart((1, "m", (data, 7), {"a": array_, "v": view}, ()))
    assert parts is not None
    data[:1], array_[:1], view[:1] = b"d", b"a", b"v"  # seen in the parts: not copies
    assert [b"d", b"a", b"v"] == [bytes(part[:1]) for part in parts[3:]]
    assert [BIG, BIG + 1, BIG + 2] == [len(part) for part in parts[3:]]


def test_buffers_arrive_with_their_types_between_other_messages() -> None:
    """Before and after in-band messages; bytes, bytearray, writable and read-only views."""
    payload = bytes(range(256)) * (4 * MiB // 256)
    request = (
        "id",
        "m",
        (payload, 1, bytearray(payload[:BIG])),
        {"v": memoryview(bytearray(b"w" * BIG)), "r": memoryview(payload), "s": b"s"},
        (),
    )
    parts = _buffers.request_apart(request)
    assert parts is not None
    messages = list(sent([frame("before"), *parts, frame("after")]))
    loaded = [_receipt.load(pickle.loads, message) for message in messages]
    assert ["before", request, "after"] == loaded
    args, kwds = loaded[1][2], loaded[1][3]
    assert [bytes, int, bytearray] == [type(a) for a in args]
    assert (False, True) == (kwds["v"].readonly, kwds["r"].readonly)
    assert isinstance(messages[1], _receipt.OutOfBand)


def test_buffers_come_through_pipes_too() -> None:
    """Where the descriptor is no socket, buffers are read in as many reads as it takes."""
    reply = ("#RETURN", bytes(range(256)) * 1024)
    parts = _buffers.reply_apart(reply)
    assert parts is not None
    [message] = sent(parts, lambda: Pipe(duplex=False))
    assert reply == _receipt.load(pickle.loads, message)


def traced_peak(action: Callable[[], object]) -> int:
    """The most memory Python held at once while ``action`` ran, beyond what it held before."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        action()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_buffer_is_read_once_into_its_own_memory() -> None:
    """Reading and loading a 32 MiB bytes takes 32 MiB: the bytes is made by the read. In
    band, the message is read into the wire's buffer, then copied out of it."""
    reply = ("#RETURN", bytes(32 * MiB))
    parts = _buffers.reply_apart(reply)
    assert parts is not None

    def receive(parts: Sequence[Buffer]) -> None:
        [message] = sent(parts)
        assert reply == _receipt.load(pickle.loads, message)

    assert traced_peak(lambda: receive(parts)) < 33 * MiB
    assert traced_peak(lambda: receive(framed_uncopied(reply))) > 63 * MiB


def test_beyond_what_may_be_allocated_ahead_a_buffer_grows_as_it_arrives() -> None:
    """While the process's allowance for buffers still to arrive is taken, a buffer is
    read all the same, in memory that grows with what has come."""
    reply = ("#RETURN", bytearray(range(256)) * 4096)
    parts = _buffers.reply_apart(reply)
    assert parts is not None
    assert _receipt._ahead.take(_receipt.AHEAD)
    try:
        [message] = sent(parts)
    finally:
        _receipt._ahead.give(_receipt.AHEAD)
    assert reply == _receipt.load(pickle.loads, message)


def test_a_wire_that_did_not_agree_refuses_buffers() -> None:
    """An out-of-band header where none was agreed to is an error, never read as a length."""
    parts = _buffers.reply_apart(("#RETURN", bytes(BIG)))
    assert parts is not None
    reader, writer = socket_pair()
    Wire(writer).write(parts[:1])
    with pytest.raises(ValueError, match="did not agree"):
        Wire(reader).read()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", "announcing 0 buffers"),
        (b"\x00\x00", "announcing 0 buffers"),
        (b"\x01\x01", "announcing 257 buffers"),
        (b"\x00\x02y\x00\x00\x00\x00\x00\x00\x00\x01", "truncated"),
        (b"\x00\x01z\x00\x00\x00\x00\x00\x00\x00\x01", "unknown kind b'z'"),
        (b"\x00\x01y\x00\x00\x00\x00\x00\x00\x04\x00", "a 1035-byte message exceeds"),
    ],
)
def test_malformed_announcements_are_refused(body: bytes, error: str) -> None:
    """Counts out of range, truncated headers, unknown kinds and sizes past the limit: refused before anything is allocated."""
    with pytest.raises(ValueError, match=error):
        _receipt.announced(body, 1024)


def test_buffers_the_pickle_does_not_take_are_refused() -> None:
    """Each buffer sent must be taken by the pickle, once: more or fewer is an error."""
    two = pickle.dumps(
        (pickle.PickleBuffer(b"a"), pickle.PickleBuffer(b"b")),
        5,
        buffer_callback=lambda _: False,
    )
    with pytest.raises(pickle.UnpicklingError, match="more out-of-band buffers than"):
        _receipt.load(pickle.loads, _receipt.OutOfBand(two, [b"a"]))
    with pytest.raises(
        pickle.UnpicklingError, match="sent 3 out-of-band buffers where"
    ):
        _receipt.load(pickle.loads, _receipt.OutOfBand(two, [b"a", b"b", b"c"]))
    loads = AllowList([]).loads
    assert (b"a", b"b") == _receipt.load(loads, _receipt.OutOfBand(two, [b"a", b"b"]))


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_the_checked_loader_takes_buffers_too() -> None:
    """A message naming a global goes through the checked loader, buffers and all."""
    sent_ = (Point(1, 2), pickle.PickleBuffer(bytearray(b"data")))
    pickled = pickle.dumps(sent_, 5, buffer_callback=lambda _: False)
    message = _receipt.OutOfBand(pickled, [bytearray(b"data")])
    assert (Point(1, 2), bytearray(b"data")) == _receipt.load(
        AllowList([Point]).loads, message
    )
    with pytest.raises(RefusedType, match="Point"):
        _receipt.load(AllowList([]).loads, message)


def test_an_in_band_pickle_naming_a_buffer_is_refused() -> None:
    """No buffers came with it: a NEXT_BUFFER opcode has nothing to take."""
    one = pickle.dumps(pickle.PickleBuffer(b"a"), 5, buffer_callback=lambda _: False)
    with pytest.raises(pickle.UnpicklingError):
        _receipt.load(AllowList([]).loads, one)


@pytest.mark.parametrize(
    ("view", "fix"),
    [
        (memoryview(array.array("i", [1, 2, 3])), r"send view.cast\('B'\)"),
        (memoryview(bytes(12)).cast("B", (3, 4)), r"send view.cast\('B'\)"),
        (memoryview(bytes(12))[::2], "not contiguous: .*a contiguous copy"),
    ],
)
def test_a_memoryview_that_is_not_flat_bytes_is_refused_with_the_fix(
    view: memoryview, fix: str
) -> None:
    """It would arrive as a flat view of bytes, another thing than was sent."""
    with pytest.raises(ValueError, match=fix):
        check_view(view)
    with pytest.raises(ValueError, match=fix):
        dumps(("#RETURN", [view]))
    big = memoryview(bytes(BIG * 4))[::2]
    with pytest.raises(ValueError, match="not contiguous"):
        _buffers.request_apart((1, "m", (big,), {}, ()))


def test_small_and_nested_memoryviews_travel_in_band_as_views() -> None:
    """Rebuilt from their bytes (as when the peers did not agree to buffers): read-only if
    they were, through the allow-list too."""
    sent_ = ("#RETURN", [memoryview(b"ro"), memoryview(bytearray(b"rw"))])
    loads = AllowList([memoryview]).loads
    _, views = cast("tuple[str, list[memoryview]]", loads(dumps(sent_)))
    assert [b"ro", b"rw"] == [bytes(v) for v in views]
    assert [True, False] == [v.readonly for v in views]
    data = bytearray(LARGE_PAYLOAD)  # a large one, in band: written from its own memory
    parts = framed_uncopied(("#RETURN", memoryview(data)))
    data[:4] = b"seen"
    assert any(bytes(part[:4]) == b"seen" for part in parts)


def test_the_allow_list_builds_views_of_bytes_only() -> None:
    """``memoryview`` by name: of the bytes or bytearray a message made, nothing else."""
    loads = AllowList([memoryview]).loads
    of_text = b"\x80\x05\x8c\x08builtins\x8c\x0amemoryview\x93\x8c\x01x\x85R."
    with pytest.raises(RefusedType, match="memoryview"):
        loads(of_text)


def test_only_a_declared_name_gets_buffers() -> None:
    """Only a connection name ending with the tag declares buffers."""
    name = _buffers.declare("MainProcess [typedmgr session 0123456789abcdef]")
    assert _buffers.declared(name)
    assert not _buffers.declared("MainProcess")
    assert not _buffers.declared(None)
