"""A pickle's opcodes, walked without loading it: whether it may name a global, the memo
check, and whether what it builds fits a load budget (so the C loader may have it).

Each walk steps over a string or bytes payload whole: its cost grows with the number of
opcodes, not with the size of the message.
"""

from __future__ import annotations

import pickle
import pickletools

__all__ = [
    "MAX_MEMO_INDEX",
    "WEIGHT",
    "check_memo",
    "is_plain",
    "names_a_global",
    "scan",
]

# What every opcode that resolves a global by name needs: GLOBAL and INST read the module and
# the name as newline-terminated lines, STACK_GLOBAL is 0x93, EXT1/2/4 are 0x82-0x84. Every
# other way of building an object needs a callable one of these put on the stack. A byte that
# only looks like one (inside a string, say) merely takes the slower, checked path.
_STACK_GLOBAL, _NEWLINE, _EXT1, _EXT2, _EXT4 = 0x93, 0x0A, 0x82, 0x83, 0x84


def is_plain(data: bytes | bytearray) -> bool:
    """No byte that may name a global or store to a memo index: the C loader may have it."""
    return not (
        _STACK_GLOBAL in data
        or _NEWLINE in data
        or _PUT in data
        or _LONG_BINPUT in data
        or _EXT1 in data
        or _EXT2 in data
        or _EXT4 in data
    )


def names_a_global(data: bytes | bytearray) -> bool:
    """Whether ``data`` may resolve a global.

    Each test is ``int in bytes``, one memchr, even over a large message; ``bytes in bytes``
    has a fixed cost before it starts searching (docs/performance.md).
    """
    return (
        _STACK_GLOBAL in data
        or _NEWLINE in data
        or _EXT1 in data
        or _EXT2 in data
        or _EXT4 in data
    )


#: The largest memo index a message may store to. The C loader grows its memo to twice the
#: index at once and clears every slot: ``r`` and four bytes can ask a server for gigabytes.
MAX_MEMO_INDEX = 1 << 20

_PUT, _LONG_BINPUT = ord("p"), ord("r")
# How to step over each opcode, by opcode byte: the bytes it takes with its argument (> 0),
# or how to find them: _SHORT, a one-byte length then that many bytes (strings, the commonest
# opcode with an argument); _COUNTED, a longer length prefix (its size in _WIDTH); _LINES,
# newline-terminated lines (how many in _WIDTH); _STORE, LONG_BINPUT; _END for STOP and for
# bytes that are no opcode (the loader stops or refuses there).
_SHORT, _COUNTED, _LINES, _STORE, _END = -1, -2, -3, -4, -5


def _opcode_steps() -> tuple[list[int], list[int]]:
    step, width = [_END] * 256, [0] * 256
    for op in pickletools.opcodes:
        code = ord(op.code)
        n = op.arg.n if op.arg is not None else 0
        if n >= 0:
            step[code] = 1 + n
        elif n == pickletools.UP_TO_NEWLINE:
            step[code] = _LINES
            width[code] = 2 if op.name in ("GLOBAL", "INST") else 1
        elif n == pickletools.TAKEN_FROM_ARGUMENT1:
            step[code] = _SHORT
        else:
            step[code] = _COUNTED
            width[code] = 8 if n == pickletools.TAKEN_FROM_ARGUMENT8U else 4
    step[_LONG_BINPUT] = _STORE
    step[ord(".")] = _END
    return step, width


_STEP, _WIDTH = _opcode_steps()


# Prefixes already walked and found safe, each up to the last byte the walk read. Messages
# of one shape repeat (a call's header, object id and method name; a returned proxy's type,
# up to its id), and so do their prefixes: one set lookup instead of a walk.
_walked: set[bytes] = set()
_WALKED_MAX = 4096
_WALKED_PREFIX_MAX = 512


def check_memo(data: bytes | bytearray) -> None:
    """Refuse a pickle that stores to a memo index above ``MAX_MEMO_INDEX``.

    Only PUT and LONG_BINPUT can (BINPUT's index is one byte), and the picklers of Python
    3.10+ write neither (protocol 4 memoizes with MEMOIZE): most messages are passed without
    looking at their opcodes, and the others are walked opcode by opcode up to the last byte
    that could be one of them, unless the same prefix was walked before.
    """
    end = max(data.rfind(_LONG_BINPUT), data.rfind(_PUT)) + 1
    if not end:
        return
    if end > _WALKED_PREFIX_MAX:
        _walk(data, end)
        return
    # The walk reads past ``end`` only the last LONG_BINPUT's index, or the line of a PUT
    # or other line opcode begun before ``end``: up to the first newline after it.
    stop = data.find(b"\n", end) + 1
    if stop < end + 4:
        stop = end + 4
    prefix = bytes(data[:stop])
    if prefix in _walked:
        return
    _walk(data, end)
    if len(_walked) >= _WALKED_MAX:
        _walked.clear()
    _walked.add(prefix)


def _walk(data: bytes | bytearray, end: int) -> None:
    """Step over the opcodes that begin before ``end``, checking every memo store."""
    step, width = _STEP, _WIDTH
    i = 0
    while i < end:
        size = step[data[i]]
        if size > 0:
            i += size
        elif size == _SHORT:
            i += 2 + data[i + 1]
        elif size == _STORE:
            _check_index(int.from_bytes(data[i + 1 : i + 5], "little"))
            i += 5
        elif size == _COUNTED:
            w = width[data[i]]
            i += 1 + w + int.from_bytes(data[i + 1 : i + 1 + w], "little")
        elif size == _LINES:
            op = data[i]
            i += 1
            for _ in range(width[op]):
                line_end = data.find(b"\n", i)
                if line_end < 0:
                    return  # truncated: the loader refuses it
                if op == _PUT:
                    _check_put(data[i:line_end])
                i = line_end + 1
        else:
            return


def _check_put(argument: bytes | bytearray) -> None:
    """PUT's index, read as the C loader reads it: ``int()`` takes blanks, a sign and
    underscores (``p 1_000_000_000``), not only digits."""
    try:
        index = int(argument)
    except ValueError:
        return  # the loader refuses it too
    _check_index(index)


def _check_index(index: int) -> None:
    if index > MAX_MEMO_INDEX:
        raise pickle.UnpicklingError(
            f"memo index {index} exceeds {MAX_MEMO_INDEX}: refused unread"
        )


# What each opcode is charged against a restricted load's budget: about the bytes the object
# it makes takes (an empty set 216 + 16, a dict 64 + 16, an instance and its __dict__...);
# 16 (a reference, a small object) for every other. Strings and bytes take memory in
# proportion to the bytes of the message that carry them.
WEIGHT = [16] * 256
for _ops, _weight in (
    (b"\x8f\x91", 232),  # EMPTY_SET, FROZENSET
    (b"}d", 96),  # EMPTY_DICT, DICT
    (b"]l\x85\x86\x87t", 88),  # EMPTY_LIST, LIST, TUPLE1-3, TUPLE
    (b"R\x81\x92oi", 256),  # REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST
    (b"b", 128),  # BUILD
):
    for _op in _ops:
        WEIGHT[_op] = _weight
# Opcodes of the numbers whose hashes a sender can make collide (ints beyond 32 bits,
# floats), and of the dicts and sets they would be keys of.
_NUMBERS = frozenset((0x8A, 0x8B, ord("L"), ord("I"), ord("F"), ord("G")))
_HASHED = frozenset((ord("}"), ord("d"), 0x8F, 0x90, 0x91, ord("u"), ord("s")))


def scan(data: bytes | bytearray, budget: int) -> bool:
    """Whether the C loader may load ``data``: what its opcodes build is within ``budget``,
    and no dict or set in it may be keyed by numbers (whose hashes a sender can make
    collide). Walks the opcodes: a large string or bytes payload is one step."""
    step, width, weight = _STEP, _WIDTH, WEIGHT
    numbers = hashed = False
    end = len(data)
    i = 0
    while i < end:
        op = data[i]
        budget -= weight[op]
        if budget < 0:
            return False
        if op in _NUMBERS:
            numbers = True
        elif op in _HASHED:
            hashed = True
        size = step[op]
        if size > 0:
            i += size
        elif size == _SHORT:
            i += 2 + data[i + 1]
        elif size == _STORE:
            i += 5
        elif size == _COUNTED:
            w = width[op]
            i += 1 + w + int.from_bytes(data[i + 1 : i + 1 + w], "little")
        elif size == _LINES:
            i += 1
            for _ in range(width[op]):
                line_end = data.find(b"\n", i)
                if line_end < 0:
                    return True  # truncated: the loader refuses it
                i = line_end + 1
        else:
            break
    return not (numbers and hashed)
