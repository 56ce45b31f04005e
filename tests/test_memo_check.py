"""The memo-index check that keeps a 20-byte pickle from asking for gigabytes."""

from __future__ import annotations

import pickle
import struct

import pytest

from typedmgr._allowlist import AllowList
from typedmgr._opcodes import MAX_MEMO_INDEX, check_memo

FAR = MAX_MEMO_INDEX + 1


def long_binput(index: int) -> bytes:
    return b"r" + struct.pack("<I", index)


@pytest.mark.parametrize(
    "bomb",
    [
        b"\x80\x04N" + long_binput(FAR) + b".",
        b"\x80\x04N" + b"p%d\n" % FAR + b".",
        # After strings full of the opcode bytes, so that the walk has to step over them.
        b"\x80\x04\x8c\x08rprprprp\x94" + long_binput(FAR) + b"0N.",
        b"\x80\x04\x8c\x03pr\n\x94" + b"p%d\n" % FAR + b"0N.",
        # PUT's index as int() reads it: blanks, a sign, underscores.
        b"\x80\x04N" + b"p %d\n" % FAR + b".",
        b"\x80\x04N" + b"p+%d\n" % FAR + b".",
        b"\x80\x04N" + b"p%d \n" % FAR + b".",
        b"\x80\x04N" + b"p\t%d\n" % FAR + b".",
        b"\x80\x04N" + b"p" + f"{FAR:_}".encode() + b"\n.",
    ],
)
def test_far_memo_stores_are_refused_unread(bomb: bytes) -> None:
    """A memo store far past the limit, in any spelling, is refused before anything is
    loaded."""
    with pytest.raises(pickle.UnpicklingError, match="exceeds"):
        check_memo(bomb)
    with pytest.raises(pickle.UnpicklingError, match="exceeds"):
        AllowList([]).loads(bomb)


@pytest.mark.parametrize("spelling", [b" %d", b"+%d", b"%d ", b"\t%d", b"%d_0"])
def test_every_spelling_of_a_put_index_the_loader_takes_is_checked(
    spelling: bytes,
) -> None:
    """``int()`` spellings of PUT's index: the C loader stores at them, so they
    count."""
    index = MAX_MEMO_INDEX // 100
    assert pickle.loads(b"\x80\x04Np" + spelling % index + b"\n.") is None
    with pytest.raises(pickle.UnpicklingError, match="exceeds"):
        check_memo(b"\x80\x04Np" + spelling % FAR + b"\n.")


@pytest.mark.parametrize(
    "value",
    [
        ("7f00ab", "increment", (1,), {}),
        ("report", b"r\x00\x00\x00\x7f" * 3, "p99999999\n"),
        list(range(300)),  # BINPUT and LONG_BINPUT-free memo use by the C pickler
    ],
)
def test_ordinary_pickles_load(value: object) -> None:
    """Ordinary pickles, of every protocol, pass the memo check and load."""
    for protocol in range(3, pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps(value, protocol)
        check_memo(data)
        assert value == AllowList([]).loads(data)


def test_the_largest_allowed_memo_index_loads() -> None:
    """A memo index at the limit itself loads."""
    index = struct.pack("<I", MAX_MEMO_INDEX)
    data = b"\x80\x04K\x07r" + index + b"j" + index + b"\x86."
    assert (7, 7) == AllowList([]).loads(data)


def test_a_walked_prefix_does_not_pass_a_bomb_that_shares_it() -> None:
    """A message is passed unwalked only if every byte the walk would read was seen."""
    head = b"\x80\x04\x8c\x06create\x94"
    safe = head + long_binput(7) + b"0N."
    for _ in range(2):  # walked, then remembered
        check_memo(safe)
    with pytest.raises(pickle.UnpicklingError, match="exceeds"):
        check_memo(head + long_binput(FAR) + b"0N.")
    with pytest.raises(pickle.UnpicklingError, match="exceeds"):
        check_memo(safe[:-1] + long_binput(FAR) + b"0.")
    put_head = b"\x80\x04\x8c\x02pr\x94p"
    for _ in range(2):
        check_memo(put_head + b"7\n0N.")
    with pytest.raises(pickle.UnpicklingError, match="exceeds"):
        check_memo(put_head + b"%d\n0N." % FAR)
