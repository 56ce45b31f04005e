"""Class 8: whatever a Protocol's annotations admit loads, both ways; nothing else does.

``bytearray``, ``type[int]``, ``Callable`` arguments and timezone-aware datetimes were
refused although the docs (docs/guide.md) list these forms. They load now, each no further
than its annotation reaches: a ``type[int]`` argument is the class, never a call of it; a
``Callable`` argument is a module-level function of the Protocol's own module, never run
while loading; a ``bytearray`` is built from bytes, never ``bytearray(10**12)``.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.security import targets
from tests.security.attack import (
    Target,
    call,
    exchange,
    limited_server,
    op_global,
    session_less,
)
from tests.security.targets import Guarded
from typedmgr._errors import RefusedArgument

pytestmark = pytest.mark.process


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    """The forms server, under an address-space limit."""
    with limited_server("tests.security.targets:Guarded") as served:
        yield served


@pytest.fixture
def forms(target: Target) -> Any:
    m = Guarded(address=target.address, authkey=target.authkey)
    m.connect()
    return m.Forms()  # type: ignore[attr-defined]


def test_bytearray_travels_both_ways(forms: Any) -> None:
    """A ``bytearray`` argument and result."""
    assert bytearray(b"abc!") == forms.echo_bytes(bytearray(b"abc"))


def test_a_type_argument_is_the_class(forms: Any) -> None:
    """``type[int]`` admits the class ``int``."""
    assert "int" == forms.name_of(int)


def test_a_callable_argument_is_a_function_of_the_protocols_module(forms: Any) -> None:
    """``Callable[[int], int]``: ``targets.double`` loads and the server calls it."""
    assert 42 == forms.apply(targets.double, 21)


def test_aware_datetimes_travel_both_ways(forms: Any) -> None:
    """``datetime`` with a ``timezone``: the tzinfo loads with it, both ways."""
    tz = datetime.timezone(datetime.timedelta(hours=2), "CEST")
    when = datetime.datetime(2026, 12, 4, 10, 30, tzinfo=tz)
    later = forms.later(when, 3)
    assert when + datetime.timedelta(hours=3) == later
    assert tz == later.tzinfo


def test_a_type_argument_is_not_callable_while_loading(
    target: Target, forms: Any
) -> None:
    """``int("9" * 4000)`` by REDUCE: ``int`` is admitted as a value, never called."""
    args = op_global("builtins", "int") + b"\x8c\x019\x85R\x85"
    kind, text = exchange(session_less(target), call(forms._id, "name_of", args))
    assert "#TRACEBACK" == kind
    assert "refused to call" in text


def test_only_the_protocols_own_functions_are_admitted(forms: Any) -> None:
    """``os.system`` (or a function of another module) is no ``Callable`` argument."""
    with pytest.raises(RefusedArgument, match=r"argument of type posix\.system"):
        forms.apply(os.system, 1)
    with pytest.raises(RefusedArgument, match=r"type tests\.security\.attack\.rss"):
        from tests.security.attack import rss

        forms.apply(rss, 1)


def test_a_bytearray_cannot_be_a_memory_bomb(target: Target, forms: Any) -> None:
    """``bytearray(10**12)`` by REDUCE is refused unbuilt."""
    args = op_global("builtins", "bytearray") + b"\x8a\x05\x00\x10\xa5\xd4\xe8\x85R\x85"
    kind, text = exchange(session_less(target), call(forms._id, "echo_bytes", args))
    assert "#TRACEBACK" == kind
    assert "refused bytearray" in text
