"""The client's one route to a server: address, key, connection factory and thread-local
connection, held together so proxies, pipelines, iterators and the manager call
``endpoint.exchange(request)`` instead of passing the four of them on every call.

Proxies of one server made with one key share one endpoint (:func:`endpoint_for`); a proxy a
method returns takes its caller's, so creating one costs no lookup.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from typedmgr import _channel, _stdlib

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["Endpoint", "endpoint_for"]


class Endpoint:
    """Where a client's requests to one server go, and how they get there.

    ``local`` is the stdlib's per-address thread-local (``BaseProxy._tls``), which holds
    each thread's connection; stdlib proxies of the address share it.
    """

    __slots__ = ("address", "authkey", "connect", "local")

    def __init__(
        self, address: Any, authkey: bytes, connect: Callable[..., Connection]
    ) -> None:
        self.address = address
        self.authkey = authkey
        self.connect = connect
        self.local: Any = _stdlib.address_local(address)[0]

    def exchange(
        self,
        request: tuple[object, ...] | bytes,
        patience: float = 0.0,
        *,
        loads: Callable[[bytes | bytearray], Any] | None = None,
        typeid: object = None,
    ) -> tuple[str, Any]:
        """Send ``request`` on this thread's connection and return the reply
        (see ``channel.exchange``)."""
        return _channel.exchange(
            self.local,
            self.address,
            self.authkey,
            self.connect,
            request,
            patience,
            loads=loads,
            typeid=typeid,
        )

    def exchange_many(
        self, requests: list[bytes], replies: int
    ) -> list[tuple[str, Any] | BaseException]:
        """Write framed ``requests`` at once, then read ``replies`` replies (a chunk)."""
        return _channel.exchange_many(
            self.local, self.address, self.authkey, self.connect, requests, replies
        )

    def server_reply(
        self, name: str, /, *args: object, **kwds: object
    ) -> tuple[str, Any]:
        """The raw reply to a server-level request (``create``, ``incref``, ...)."""
        return self.exchange((None, name, args, kwds, ()))

    def server_rpc(self, name: str, /, *args: object, **kwds: object) -> Any:
        """The result of a server-level function, or the error it raised."""
        kind, result = self.server_reply(name, *args, **kwds)
        if kind == "#RETURN":
            return result
        raise _stdlib.convert_to_error(kind, result)

    def connection(self) -> Connection:
        """This thread's long-lived connection to the server (made if need be)."""
        return _channel.thread_connection(
            self.address, self.authkey, self.connect, self.local
        )

    def __repr__(self) -> str:
        return f"<Endpoint {self.address!r}>"


_ENDPOINTS: dict[tuple[Any, bytes | None, Callable[..., Connection]], Endpoint] = {}
_ENDPOINTS_LOCK = threading.Lock()


def endpoint_for(
    address: Any, authkey: bytes, connect: Callable[..., Connection]
) -> Endpoint:
    """The shared endpoint of ``address`` with ``authkey``, connecting with ``connect``.

    One per (address, key, factory) in the process: an endpoint holds no connection of
    its own (the thread-local does), so sharing it shares nothing but its fields.
    """
    key = (address, authkey, connect)
    found = _ENDPOINTS.get(key)  # entries are only ever added: no lock to find one
    if found is None:
        with _ENDPOINTS_LOCK:
            found = _ENDPOINTS.setdefault(key, Endpoint(address, authkey, connect))
    return found
