"""Large bytes and bytearray payloads: written from their own memory, read back intact."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Protocol, cast

import pytest

from typedmgr import TypedManager, _channel, _frames
from typedmgr._proxy import ProxyFactory


class Echo(Protocol):
    def echo(self, data: bytes) -> bytes: ...
    def echo_array(self, data: bytearray, *, times: int = 1) -> bytearray: ...
    def size(self, data: bytes, more: bytes = b"") -> int: ...


class EchoImpl:
    def echo(self, data: bytes) -> bytes:
        return data

    def echo_array(self, data: bytearray, *, times: int = 1) -> bytearray:
        return data * times

    def size(self, data: bytes, more: bytes = b"") -> int:
        return len(data) + len(more)


class PayloadManager(TypedManager):
    pass


PayloadManager.register(Echo, EchoImpl)

LARGE = _channel.LARGE_PAYLOAD


def test_a_large_payload_is_a_part_of_its_own_not_a_copy() -> None:
    """The pickle's parts hold the payload object itself; joined, they are the message."""
    big = bytes(range(256)) * (LARGE // 256 + 1)
    array = bytearray(big)
    message = ("#RETURN", (big, array, "small"))
    parts = _channel.framed_uncopied(message)
    assert any(part is big for part in parts)
    assert any(part is array for part in parts)
    header, body = parts[0], b"".join(parts[1:])
    assert _frames.header(len(body)) == header
    assert message == pickle.loads(body)
    assert _channel.carries_large([big]) and _channel.carries_large([array])
    assert not _channel.carries_large([big[: LARGE - 1], "x" * LARGE, memoryview(big)])


@pytest.fixture(scope="module")
def echo() -> Iterator[Echo]:
    """A remote Echo on a server process of its own (a runtime-built proxy)."""
    with PayloadManager(address=("127.0.0.1", 0), authkey=b"payloads") as m:
        yield cast(Echo, m._create_proxy("Echo", ProxyFactory(Echo)))


@pytest.mark.process
@pytest.mark.parametrize("size", [LARGE - 1, LARGE, 3 * 1024 * 1024 + 7])
def test_large_payloads_round_trip_with_their_types(echo: Echo, size: int) -> None:
    """bytes stay bytes and bytearray stays bytearray, below and above the threshold, as
    positional and keyword arguments and as results."""
    data = bytes(i % 251 for i in range(size))
    back = echo.echo(data)
    assert type(back) is bytes and back == data
    array = echo.echo_array(bytearray(data), times=2)
    assert type(array) is bytearray and array == data * 2
    assert 2 * size == echo.size(data, more=data)
    assert size == echo.size(data=data)
