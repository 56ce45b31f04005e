"""``AsyncTypedManager``: a client of a running typedmgr server, for asyncio code."""

from __future__ import annotations

import contextlib
import ssl
import typing
import weakref
from collections.abc import Callable
from multiprocessing import process
from types import TracebackType
from typing import Self, TypeVar

from typedmgr import _leases, _peers
from typedmgr._aio.connection import Address, AsyncConnection
from typedmgr._aio.proxy import (
    AsyncTypedProxy,
    async_proxy_class_for,
    check_fingerprint,
)
from typedmgr._client_errors import remote_error
from typedmgr._wire import PROXIED

__all__ = ["AsyncTypedManager"]

_A = TypeVar("_A", bound=AsyncTypedProxy)


class AsyncTypedManager:
    """A client of a running typedmgr server, for asyncio code.

    ``async with AsyncShopManager(address=..., authkey=...) as m: shop = await m.Shop()``.
    Generated managers have one typed creation method per Protocol registration;
    ``AsyncTypedManager.of(ShopManager)`` builds an equivalent one at runtime, and
    :meth:`create` works on any.
    """

    def __init__(
        self,
        address: Address,
        authkey: bytes | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.address = address
        if authkey is None:
            authkey = _peers.peer(address).authkey or bytes(
                process.current_process().authkey
            )
        self._authkey = bytes(authkey)
        self._ssl_context = ssl_context
        self._connection: AsyncConnection | None = None
        _peers.remember(address, authkey=self._authkey, ssl_context=ssl_context)

    async def connect(self) -> None:
        """Open the connection (again, if it was lost)."""
        if self._connection is None or self._connection.closed:
            self._connection = await AsyncConnection.open(
                self.address, self._authkey, ssl_context=self._ssl_context
            )

    @property
    def connection(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("not connected: use `async with` or `await connect()`")
        return self._connection

    async def aclose(self) -> None:
        """Close the connection (the server's objects live on while proxies hold them).

        The releases of collected proxies still queued are done when this returns.
        """
        connection = self._connection
        if connection is None:
            return
        if _leases.pending.get(self.address) and not connection.closed:
            with contextlib.suppress(Exception):
                # A server-level request with a reply carries them (a no-op question:
                # the fingerprint of no typeid).
                await connection.server_call("fingerprint", "", "")
        connection.close()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _create(
        self, typeid: str, proxytype: type[_A], /, *args: object, **kwds: object
    ) -> _A:
        """Create a remote object of ``typeid``; its ``proxytype`` proxy."""
        connection = self.connection
        await check_fingerprint(connection, proxytype, typeid)
        kind, result = await connection.request(
            (None, "create", (typeid, *args), kwds, ())
        )
        if kind != PROXIED:
            raise remote_error(kind, result)
        return proxytype(connection, typeid, result[2])

    async def create(
        self, typeid: str, protocol: type, /, *args: object, **kwds: object
    ) -> AsyncTypedProxy:
        """Create a remote object of ``typeid``, served as ``protocol``; its async proxy."""
        return await self._create(
            typeid, async_proxy_class_for(protocol), *args, **kwds
        )

    @classmethod
    def of(cls, manager: type) -> type[AsyncTypedManager]:
        """An async manager with a creation method per Protocol registration of
        ``manager`` (a ``TypedManager`` subclass), built at runtime."""
        built = _OF.get(manager)
        if built is not None:
            return built
        namespace: dict[str, object] = {"__module__": manager.__module__}
        for typeid, protocol in _creatable(manager).items():
            namespace[typeid] = _creation_method(typeid, protocol)
        built = type(f"Async{manager.__name__}", (cls,), namespace)
        return _OF.setdefault(manager, built)


_OF: weakref.WeakKeyDictionary[type, type[AsyncTypedManager]] = (
    weakref.WeakKeyDictionary()
)


def _creatable(manager: type) -> dict[str, object]:
    """The Protocol (or ``Protocol[args]``) of each typeid ``manager`` registered with a
    creation method."""
    protocols: dict[str, tuple[object, object, bool]] = getattr(
        manager, "_protocols_", {}
    )
    return {
        typeid: protocol
        for typeid, (protocol, _, creates) in protocols.items()
        if creates
    }


def _creation_method(typeid: str, protocol: object) -> Callable[..., object]:
    async def create(
        self: AsyncTypedManager, /, *args: object, **kwds: object
    ) -> object:
        return await self._create(
            typeid, async_proxy_class_for(_origin(protocol)), *args, **kwds
        )

    create.__name__ = create.__qualname__ = typeid
    return create


def _origin(protocol: object) -> type:
    origin = typing.get_origin(protocol) or protocol
    assert isinstance(origin, type)
    return origin
