"""Large bytes, bytearray and memoryview payloads between processes: out of band between
typedmgr peers (over TCP, unix sockets and TLS), in band to stdlib clients, each arriving
as the type it was sent as."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Iterator
from multiprocessing.managers import BaseProxy, Token
from pathlib import Path
from typing import Any, Protocol, cast

import pytest

from tests.runtime.certs import Authority
from typedmgr import (
    AsyncTypedManager,
    Pipeline,
    TypedManager,
    _buffers,
    _channel,
    _frames,
)
from typedmgr._errors import UnpicklableResult
from typedmgr._proxy import ProxyFactory

pytestmark = pytest.mark.process

LARGE = _channel.LARGE_PAYLOAD
FORK = multiprocessing.get_context("fork")
AUTHKEY = b"payloads"


class Echo(Protocol):
    def echo(self, data: bytes) -> bytes: ...
    def echo_array(self, data: bytearray, *, times: int = 1) -> bytearray: ...
    def size(self, data: bytes, more: bytes = b"") -> int: ...
    def view(self, data: memoryview) -> memoryview: ...
    def described(self, data: memoryview | None = None) -> tuple[str, bool, int]: ...
    def views(self, data: list[memoryview]) -> list[memoryview]: ...
    def strided(self, size: int) -> memoryview: ...
    def made(self, text: str) -> memoryview: ...


class EchoImpl:
    def echo(self, data: bytes) -> bytes:
        return data

    def echo_array(self, data: bytearray, *, times: int = 1) -> bytearray:
        return data * times

    def size(self, data: bytes, more: bytes = b"") -> int:
        return len(data) + len(more)

    def view(self, data: memoryview) -> memoryview:
        return data

    def described(self, data: memoryview | None = None) -> tuple[str, bool, int]:
        if data is None:
            return ("None", True, 0)
        return (type(data).__name__, data.readonly, data.nbytes)

    def views(self, data: list[memoryview]) -> list[memoryview]:
        return data[::-1]

    def strided(self, size: int) -> memoryview:
        return memoryview(bytes(2 * size))[::2]

    def made(self, text: str) -> memoryview:
        return memoryview(bytearray(text.encode()))


class PayloadManager(TypedManager, validate=True, legacy_md5=True):
    """Validating; taking stdlib clients of Python 3.11 (HMAC-MD5) too."""


PayloadManager.register(Echo, EchoImpl)


def echo_of(manager: TypedManager) -> Echo:
    """A remote Echo (a runtime-built proxy)."""
    return cast(Echo, manager._create_proxy("Echo", ProxyFactory(Echo)))


@pytest.fixture(scope="module", params=["tcp", "unix"])
def echo(request: pytest.FixtureRequest) -> Iterator[Echo]:
    """A remote Echo on a server process of its own, over TCP or a unix socket."""
    address = ("127.0.0.1", 0) if request.param == "tcp" else None
    with PayloadManager(address=address, authkey=AUTHKEY) as m:
        yield echo_of(m)


def agreed(proxy: object) -> bool:
    """Whether this thread's connection to the proxy's server takes buffers both ways."""
    endpoint = proxy._endpoint  # type: ignore[attr-defined]
    endpoint.connection()
    wire: _frames.Wire = endpoint.local.wire
    return wire.buffers


SIZES = [LARGE - 1, LARGE, _buffers.OUT_OF_BAND, 3 * 1024 * 1024 + 7]


@pytest.mark.parametrize("size", SIZES)
def test_payloads_round_trip_with_their_types(echo: Echo, size: int) -> None:
    """bytes stay bytes and bytearray stays bytearray, below and above the threshold, as
    positional and keyword arguments and as results."""
    assert agreed(echo)
    data = bytes(i % 251 for i in range(size))
    back = echo.echo(data)
    assert type(back) is bytes and back == data
    array = echo.echo_array(bytearray(data), times=2)
    assert type(array) is bytearray and array == data * 2
    assert 2 * size == echo.size(data, more=data)
    assert size == echo.size(data=data)


@pytest.mark.parametrize("size", SIZES)
def test_a_memoryview_arrives_as_a_view_of_its_own_bytes(echo: Echo, size: int) -> None:
    """A writable view stays writable, a read-only one read-only: one-dimensional views
    of format 'B' over a buffer the receiver owns, both ways."""
    data = bytearray(i % 253 for i in range(size))
    back = echo.view(memoryview(data))
    assert type(back) is memoryview
    assert back == data
    assert (False, "B", 1) == (back.readonly, back.format, back.ndim)
    back[:1] = b"!"  # the receiver's own: the sender's is untouched
    assert data[:1] != b"!"
    frozen = echo.view(memoryview(bytes(data)))
    assert frozen.readonly and frozen == data
    assert ("memoryview", True, size) == echo.described(memoryview(bytes(data)))
    assert ("memoryview", False, size) == echo.described(data=memoryview(data))
    assert ("None", True, 0) == echo.described()


def test_memoryviews_inside_containers_travel_in_band(echo: Echo) -> None:
    """Views nested in a list go in band, rebuilt as views, read-only if they were."""
    views = [memoryview(b"a" * LARGE), memoryview(bytearray(b"b"))]
    back = echo.views(views)
    assert [b"b", b"a" * LARGE] == [bytes(v) for v in back]
    assert [False, True] == [v.readonly for v in back]


def test_a_memoryview_that_does_not_travel_as_itself_is_refused(echo: Echo) -> None:
    """An argument: refused before it is sent (the connection serves on); a result: the
    caller's UnpicklableResult, naming the fix."""
    with pytest.raises(ValueError, match=r"send view.cast\('B'\)"):
        echo.view(memoryview(bytes(4 * LARGE)).cast("I"))
    assert 3 == echo.size(b"abc")
    with pytest.raises(UnpicklableResult, match=r"not contiguous.*a contiguous copy"):
        echo.strided(2 * LARGE)
    with pytest.raises(UnpicklableResult, match="not contiguous"):
        echo.strided(10)


def test_validation_tells_a_memoryview_from_bytes(echo: Echo) -> None:
    """A server that validates refuses bytes where the Protocol says memoryview."""
    with pytest.raises(TypeError, match="memoryview"):
        echo.view(b"bytes, not a view")  # type: ignore[arg-type]


def test_pipelined_payloads_travel_in_band(echo: Echo) -> None:
    """A pipeline's batch carries its payloads in band, memoryviews included."""
    with Pipeline() as p:
        view = p.call(echo.view, memoryview(bytearray(2 * LARGE)))
        data = p.call(echo.echo, bytes(2 * LARGE))
    assert bytes(2 * LARGE) == view.value() == data.value()


class EchoBaseProxy(BaseProxy):
    _exposed_ = ("echo", "echo_array", "made")

    def call(self, method: str, data: object) -> Any:
        return self._callmethod(method, (data,))


def test_a_stdlib_client_gets_payloads_in_band(echo: Echo) -> None:
    """An unmodified stdlib client (hand-written BaseProxy) gets every result as the
    stdlib sends it: it never declared out-of-band messages."""
    address = echo._token.address  # type: ignore[attr-defined]
    ident = echo._id  # type: ignore[attr-defined]
    proxy = EchoBaseProxy(Token("Echo", address, ident), "pickle", authkey=AUTHKEY)
    data = bytes(range(256)) * (3 * LARGE // 256)
    assert data == proxy.call("echo", data)
    assert bytearray(data) == proxy.call("echo_array", bytearray(data))
    back = proxy.call("made", "x" * 3 * LARGE)
    assert type(back) is memoryview and not back.readonly and b"x" * 3 * LARGE == back


@pytest.fixture(scope="module")
def over_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Echo]:
    ca = Authority(Path(tmp_path_factory.mktemp("tls")), "payloads")
    identity = ca.issue("server", server=True)
    with PayloadManager(
        address=("127.0.0.1", 0),
        authkey=AUTHKEY,
        ctx=FORK,
        ssl_context=ca.client_context(),
        server_ssl_context=ca.server_context(identity),
    ) as m:
        yield echo_of(m)


@pytest.mark.parametrize("size", SIZES)
def test_payloads_travel_out_of_band_over_tls(over_tls: Echo, size: int) -> None:
    """Over TLS the peers agree to buffers too, read through the TLS layer into their own memory."""
    assert agreed(over_tls)
    data = bytes(i % 249 for i in range(size))
    assert data == over_tls.echo(data)
    assert bytearray(data) == over_tls.echo_array(bytearray(data))
    back = over_tls.view(memoryview(data))
    assert type(back) is memoryview
    assert back.readonly and back == data


def test_async_twins_carry_buffers_in_band(echo: Echo) -> None:
    """The multiplexed connection sends buffers in band: bytes, bytearray and memoryview
    arrive with their types and contents, large ones too."""
    address = echo._token.address  # type: ignore[attr-defined]
    big = bytes(range(256)) * (_buffers.OUT_OF_BAND // 256 + 1)

    async def main() -> tuple[object, ...]:
        async with AsyncTypedManager.of(PayloadManager)(address, AUTHKEY) as m:
            twin: Any = await m.Echo()  # type: ignore[attr-defined]
            return (
                await twin.echo(big),
                await twin.echo_array(bytearray(big), times=2),
                await twin.view(memoryview(big)),
                await twin.described(memoryview(bytearray(b"abc"))),
            )

    data, array, view, described = asyncio.run(main())
    assert data == big and type(data) is bytes
    assert array == bytearray(big) * 2 and type(array) is bytearray
    assert isinstance(view, memoryview) and view.tobytes() == big
    assert ("memoryview", False, 3) == described
