"""Stdlib proxy classes (AutoProxy, SyncManager's, hand-written ones) adapted to talk the
way typed proxies do: on the thread's session connection, with TLS, and counted against
this process's session.

Split from ``_proxy``, which adapts each stdlib-class proxy it makes (:func:`adapt`).
"""

from __future__ import annotations

import functools
import io
import pickle
import threading
from collections.abc import Callable, Mapping
from multiprocessing import managers, util
from typing import TYPE_CHECKING, Any, ClassVar

from typedmgr import _channel, _peers, _stdlib
from typedmgr._endpoint import Endpoint, endpoint_for
from typedmgr._opcodes import check_memo

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["adapt", "adopt_stdlib", "hold_until_collected"]

# Shared default of _callmethod's kwds: sent as is (so it must pickle), never mutated.
_NO_KWDS: dict[str, Any] = {}


def hold_until_collected(proxy: managers.BaseProxy) -> None:
    """A stdlib-class proxy holds a reference of this session: release it when collected,
    at once, as the stdlib does (``channel.release_now``); meanwhile the stdlib keeps the
    thread's connection open, as it does while it knows of references held."""
    held, key = _stdlib.hold_reference(proxy)
    util.Finalize(
        proxy,
        _channel.release_now,
        args=(proxy._token.address, proxy._id, held, key),  # type: ignore[attr-defined]
    )


class _SessionCalls(managers.BaseProxy):
    """How an adapted stdlib proxy class talks (see :func:`_stdlib_adapted`).

    It sits beneath the class's own methods (the adapted class's bases are the stdlib
    class, then this), so a class that overrides ``_callmethod`` still reaches typedmgr's
    through ``super()``. Replies, returned proxies and references are handled as
    ``TypedProxy`` handles them: its methods, run on this proxy (``_typed_``).
    """

    _stdlib_class_: ClassVar[type[managers.BaseProxy]]
    #: ``proxy.TypedProxy``, given by :func:`adapt` (``proxy`` imports this module).
    _typed_: ClassVar[Any]

    if TYPE_CHECKING:
        _tls: threading.local
        _token: managers.Token
        _id: str
        _authkey: bytes
        _Client: Callable[..., Connection]
        _owned_by_manager: bool

    def _callmethod(
        self,
        methodname: str,
        args: tuple[Any, ...] = (),
        kwds: Mapping[str, Any] = _NO_KWDS,
    ) -> Any:
        """Call on the thread's session connection; the reply loads as the stdlib loads
        it (in full: a string registration names no types to restrict it to)."""
        address = self._token.address
        kind, result = self._endpoint.exchange(
            (self._id, methodname, args, kwds, ()),
            loads=functools.partial(_load_stdlib_reply, address, self._typed_),
            typeid=self._token.typeid,
        )
        call = (methodname, args, kwds)
        return self._typed_._reply(self, kind, result, call)

    @property
    def _endpoint(self) -> Endpoint:
        """The endpoint of this proxy's server, key and connection factory (shared);
        looked up per call, as the stdlib class may change its key or factory."""
        return endpoint_for(self._token.address, self._authkey, self._Client)

    def _returned_proxy(
        self, typeid: str, exposed: tuple[str, ...], ident: str
    ) -> object:
        return self._typed_._returned_proxy(self, typeid, exposed, ident)

    def _connect(self) -> None:
        self._endpoint.connection()

    def _incref(self) -> None:
        """On the thread's connection, counted against this process's session (a forked
        child's, say), released when collected."""
        self._typed_._incref(self)
        if not self._owned_by_manager:
            hold_until_collected(self)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as the stdlib class: the receiver rebuilds the class it knows."""
        func, (proxytype, token, serializer, kwds) = super().__reduce__()
        if proxytype is type(self):
            proxytype = self._stdlib_class_
        return func, (proxytype, token, serializer, kwds)


def _load_stdlib_reply(address: Any, typed: type, data: bytes | bytearray) -> Any:
    """A reply to an adapted stdlib proxy, loaded in full as the stdlib loads it.

    A proxy of this server's objects inside it (an item of a managed list, say) is
    built without connecting while the reply loads, adapted, and takes its reference on
    the thread's connection once the whole reply is loaded: the stdlib's ``RebuildProxy``
    opens a plain connection of its own, which names no session and cannot speak TLS.
    """
    if _stdlib.REBUILD_PROXY[1].encode() not in data:
        return pickle.loads(data)
    rebuilt: list[managers.BaseProxy] = []

    def rebuild(
        func: Callable[..., Any], token: Any, serializer: str, kwds: dict[str, Any]
    ) -> object:
        if token.address != address or serializer != "pickle":
            return _stdlib.rebuild_proxy(func, token, serializer, kwds)
        kwds = {k: v for k, v in kwds.items() if k != "incref"}
        kwds.setdefault("authkey", _peers.peer(address).authkey)
        proxy = func(token, serializer, incref=False, **kwds)
        adapt(proxy, typed)
        rebuilt.append(proxy)
        return proxy

    check_memo(data)
    loaded = _RebuildingUnpickler(io.BytesIO(data), rebuild).load()
    for proxy in rebuilt:
        proxy._incref()  # type: ignore[attr-defined]
    return loaded


class _RebuildingUnpickler(pickle.Unpickler):
    """A full unpickler that rebuilds stdlib proxies with a function of its caller's."""

    def __init__(self, file: io.BytesIO, rebuild: Callable[..., object]) -> None:
        super().__init__(file)
        self._rebuild = rebuild

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == _stdlib.REBUILD_PROXY:
            return self._rebuild
        return super().find_class(module, name)


def adapt(proxy: object, typed: type) -> None:
    """Make a stdlib-class proxy (AutoProxy, SyncManager's, a hand-written class) talk
    through typedmgr's connections, TLS and sessions, its public face unchanged.

    ``typed``: ``proxy.TypedProxy``, whose reply handling the adapted class runs.
    """
    if isinstance(proxy, managers.BaseProxy) and not isinstance(proxy, typed):
        proxy.__class__ = _stdlib_adapted(type(proxy), typed)
        proxy._Client = _channel.client  # type: ignore[attr-defined]


_ADAPTED: dict[type, type[managers.BaseProxy]] = {}


def _stdlib_adapted(
    cls: type[managers.BaseProxy], typed: type
) -> type[managers.BaseProxy]:
    """``cls``, a stdlib proxy class, as a subclass that talks the way typed proxies do.

    Calls go on the thread's session connection (one that an interrupted call is dropped
    from, TLS where the address has it), a returned remote object comes back in the same
    round trip (the stdlib opens three connections for it), and references are counted
    against this process's session. Name, methods and pickles stay the stdlib class's.
    """
    adapted = _ADAPTED.get(cls)
    if adapted is None:
        namespace: dict[str, object] = {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
            "_stdlib_class_": cls,
            "_typed_": typed,
        }
        made = type(cls.__name__, (cls, _SessionCalls), namespace)
        adapted = _ADAPTED.setdefault(cls, made)
    return adapted


def adopt_stdlib(
    factory: Callable[..., Any],
    token: managers.Token,
    manager: managers.BaseManager | None,
    authkey: bytes,
    exposed: object,
    serializer: str,
    typed: type,
) -> Any:
    """A proxy of ``factory``, a stdlib proxy type, holding the reference the server made
    for it (released when collected), adapted to talk as typed proxies do (``typed``:
    ``proxy.TypedProxy``)."""
    proxy = factory(
        token,
        serializer,
        manager=manager,
        authkey=authkey,
        exposed=exposed,
        incref=False,
    )
    if serializer == "pickle":
        adapt(proxy, typed)
    hold_until_collected(proxy)
    return proxy
