"""The proxy base that generated proxy classes extend.

A generated method is one typed call into :meth:`TypedProxy._call`; everything else (reply
handling, remote tracebacks, returned remote objects) lives here, so a runtime fix never needs
a regeneration. When no generated class for a Protocol is imported, :func:`proxy_class_for`
builds an equivalent one from the same interface model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator, Mapping
from multiprocessing import managers
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar, cast

from typedmgr import (
    _channel,
    _errors,
    _inert,
    _peers,
    _runtime_classes,
    _staleness,
    _stdlib,
)
from typedmgr._call_forms import CallForms, GeneratorCalls, IteratorCalls
from typedmgr._client_errors import remote_error
from typedmgr._endpoint import Endpoint, endpoint_for
from typedmgr._fork import retake_after_fork
from typedmgr._model import (
    GENERATOR_TYPEID,
    ITERATOR_TYPEID,
    Interface,
    interface_of,
    protocol_for_ref,
)
from typedmgr._pipeline import capturing
from typedmgr._replies import expect_replies
from typedmgr._stdlib_proxies import adopt_stdlib
from typedmgr._wire import ITSELF, ONEWAY, PROXIED

__all__ = [
    "ProxyFactory",
    "TypedGenerator",
    "TypedIterator",
    "TypedProxy",
    "check_fingerprint",
    "proxy_class_for",
]

# Shared default of _callmethod's kwds: sent as is (so it must pickle), never mutated.
_NO_KWDS: dict[str, Any] = {}
_P = TypeVar("_P")
_T = TypeVar("_T")
#: What a proxy pickles as: ``RebuildProxy`` and its (func, token, serializer, kwds).
_Reduced = tuple[
    Callable[..., object], tuple[object, managers.Token, str, dict[str, object]]
]
_Y_co = TypeVar("_Y_co", covariant=True)
_S_contra = TypeVar("_S_contra", contravariant=True)
_R_co = TypeVar("_R_co", covariant=True)


class TypedProxy(managers.BaseProxy, CallForms):
    """Base of every typedmgr proxy: one per Protocol, methods typed from the Protocol."""

    _protocol_: ClassVar[type]
    _exposed_: ClassVar[tuple[str, ...]]
    _method_to_typeid_: ClassVar[dict[str, str]]
    _generated_: ClassVar[bool] = True
    #: ``Interface.fingerprint`` of the Protocol the class was generated from.
    _fingerprint_: ClassVar[str]

    if TYPE_CHECKING:
        # Stdlib internals typeshed does not declare.
        _token: managers.Token
        _id: str
        _manager: managers.BaseManager | None
        _serializer: str
        _authkey: bytes
        _tls: threading.local
        _owned_by_manager: bool
        #: Where this proxy's requests go (shared by the proxies of its server and key).
        _endpoint: Endpoint
        #: The session (``channel.session()``) of the process whose reference the proxy
        #: holds; absent on a proxy that holds none.
        _held_by: str

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "_protocol_" in cls.__dict__:
            expect_replies([cls._protocol_])
            if cls._generated_:
                _runtime_classes.GENERATED[cls._protocol_] = cls

    def __init__(
        self,
        token: managers.Token,
        serializer: str,
        manager: managers.BaseManager | None = None,
        authkey: bytes | None = None,
        exposed: object = None,
        incref: bool = True,
        manager_owned: bool = False,
    ) -> None:
        if authkey is None and manager is None:
            authkey = _peers.key_for_unpickled(token.address)
            unknown = authkey is None
        else:
            unknown = False
            _peers.lend_key(token.address, authkey)
        super().__init__(
            token,
            serializer,
            manager,
            b"" if unknown else authkey,
            exposed,
            False,
            manager_owned,
        )
        if serializer == "pickle":
            self._Client = _channel.client
        if unknown:
            self._authkey = None  # type: ignore[assignment]  # channel.client refuses it
        self._endpoint = endpoint_for(token.address, self._authkey, self._Client)
        if incref:
            self._incref()

    @classmethod
    def _adopting_proxy(
        cls,
        factory: Callable[..., _P],
        token: managers.Token,
        manager: managers.BaseManager | None,
        endpoint: Endpoint,
        exposed: object,
        serializer: str = "pickle",
    ) -> _P:
        """A proxy made by ``factory`` (any proxy type) that takes over the reference the
        server made for it: no incref/decref pair.

        Its release, when collected, rides on the next request to the server.
        """
        authkey = endpoint.authkey
        proxy: Any
        if isinstance(factory, ProxyFactory):
            factory = proxy_class_for(factory.protocol)  # type: ignore[assignment]
        if (
            isinstance(factory, type)
            and issubclass(factory, TypedProxy)
            and serializer == "pickle"
        ):
            if factory.__init__ is TypedProxy.__init__:
                proxy = factory._new_adopting(token, manager, endpoint)
            else:
                proxy = factory(
                    token, serializer, manager=manager, authkey=authkey, incref=False
                )
                proxy._held_by = _channel.session()
            result: _P = proxy
            return result
        adopted: _P = adopt_stdlib(
            factory, token, manager, authkey, exposed, serializer, TypedProxy
        )
        return adopted

    @classmethod
    def _new_adopting(
        cls,
        token: managers.Token,
        manager: managers.BaseManager | None,
        endpoint: Endpoint,
    ) -> Self:
        """``cls(token, "pickle", manager, authkey, incref=False)``, holding the reference
        the server made for it, built directly on ``endpoint`` (its caller's: no lookup).

        A method returning proxies returns one per call: this is ``__init__`` and the
        stdlib's ``BaseProxy.__init__`` (``_stdlib.new_proxy_identity``) without the lock,
        keyword handling and after-fork entry (see ``_fork.RetakeAfterFork``).
        """
        authkey = endpoint.authkey
        proxy = cls.__new__(cls)
        address = token.address
        _stdlib.new_proxy_identity(proxy, address)
        proxy._token = token
        proxy._id = str(token.id)
        proxy._manager = manager
        proxy._serializer = "pickle"
        proxy._Client = _channel.client
        proxy._owned_by_manager = False
        proxy._authkey = _stdlib.authentication_string(authkey)
        proxy._endpoint = endpoint
        _peers.lend_key(address, authkey)
        proxy._held_by = _channel.session()
        retake_after_fork.add(address, proxy)
        return proxy

    def __del__(self) -> None:
        """Queue the release of the reference this process holds for the proxy, if any.

        A method, not a ``util.Finalize`` per proxy (a weak reference, a registry entry and
        a Python call when it fires): a returned proxy often lives for one call. A forked
        child releases the references it took itself (``_after_fork``), not its parent's.
        """
        try:
            held_by = self.__dict__.get("_held_by")
            if held_by is None:
                return
            address = self._token.address
            retake_after_fork.discard(address, self)
            if held_by == _channel.session():
                _channel.release_later(address, self._id)
        except Exception:  # interpreter shutdown: the session's end releases it
            pass

    def _incref(self) -> None:
        """Take a reference on this thread's connection, counted against our session."""
        if self._owned_by_manager:
            return
        connect = _channel.client if self._serializer == "pickle" else self._Client
        # Looked up again: a proxy unpickled before its key was known gets it later.
        endpoint = endpoint_for(self._token.address, self._authkey, connect)
        endpoint.server_rpc("incref", self._id)
        if isinstance(self, TypedProxy):  # an adapted stdlib proxy finds its own
            self._endpoint = endpoint
        self._held_by = _channel.session()

    def _connect(self) -> None:
        self._endpoint.connection()

    def _call(self, methodname: str, /, *args: object, **kwds: object) -> object:
        """Call ``methodname`` on the referent; the typed face of ``_callmethod``.

        Inside ``Pipeline.call`` the request is queued and a ``Reply`` comes back instead.
        """
        pipeline = capturing.get()
        if pipeline is not None:
            request = (self._id, methodname, args, kwds, ())
            return pipeline.enqueue(self._endpoint, request, self._reply)
        return self._callmethod(methodname, args, kwds)

    def _send(self, methodname: str, /, *args: object, **kwds: object) -> None:
        """Call a ``@oneway`` method: send the request and return without waiting."""
        request = (self._id, ONEWAY, (methodname, args), kwds, ())
        pipeline = capturing.get()
        if pipeline is not None:
            pipeline.enqueue(self._endpoint, request, None)
            return
        self._endpoint.exchange_many([_channel.frame(request)], 0)

    def _callmethod(  # type: ignore[override]  # the stdlib's stub says -> None
        self,
        methodname: str,
        args: tuple[object, ...] = (),
        kwds: Mapping[str, object] = _NO_KWDS,
    ) -> object:
        kind, result = self._endpoint.exchange(
            (self._id, methodname, args, kwds, ()), typeid=self._token.typeid
        )
        if kind == "#RETURN":
            return result
        return self._reply(kind, result, (methodname, args, kwds))

    def _reply(
        self,
        kind: str,
        result: object,
        call: tuple[str, tuple[object, ...], Mapping[str, object]] | None = None,
    ) -> object:
        """The value a reply stands for: a copy, a new proxy, or the exception raised.

        ``call``: the method called, its arguments and keywords, to name in errors.
        """
        if kind == "#RETURN":
            return result
        if kind == ITSELF:
            return self
        if kind == PROXIED:
            typeid, exposed, ident = cast("tuple[str, tuple[str, ...], str]", result)
            return self._returned_proxy(typeid, exposed, ident)
        explained = _errors.explain(
            kind,
            result,
            address=self._token.address,
            typeid=self._token.typeid,
            ident=self._id,
            protocol=getattr(self, "_protocol_", None),
            call=call,
        )
        try:
            raise explained or remote_error(kind, result)
        finally:
            del result  # the traceback would keep the exception alive (gh-106558)

    def _returned_proxy(
        self, typeid: str, exposed: tuple[str, ...], ident: str
    ) -> object:
        """Wrap a remote object a method returned, without the manager's registry (gh-99595)."""
        endpoint = self._endpoint
        proxytype = _proxytype_for_typeid(typeid, self._manager)
        proxy = TypedProxy._adopting_proxy(
            proxytype,
            managers.Token(typeid, endpoint.address, ident),
            self._manager,
            endpoint,
            exposed,
            self._serializer,
        )
        checked = check_fingerprint(proxytype, typeid, endpoint)
        if checked is not proxytype and isinstance(checked, type):
            proxy.__class__ = checked  # some methods are stale: they raise when called
        return proxy

    def __reduce__(self) -> _Reduced:
        # Rebuild by Protocol, not by class: a class built at runtime is not importable.
        func, (_, token, serializer, kwds) = super().__reduce__()
        return func, (ProxyFactory(self._protocol_), token, serializer, kwds)

    def __repr__(self) -> str:
        token = self._token
        return f"<{type(self).__name__} of {token.typeid!r} at {token.id!r}>"


_F = TypeVar("_F")


def check_fingerprint(proxytype: _F, typeid: str, endpoint: Endpoint) -> _F:
    """``proxytype``, or if the Protocol served as ``typeid`` at ``endpoint`` differs from
    the one its class was generated from, a subclass whose stale methods raise
    :class:`StaleProxyError` when called (see ``_staleness.restricted_class``)."""
    cls: object = proxytype
    if isinstance(proxytype, ProxyFactory):
        cls = proxy_class_for(proxytype.protocol)
    restricted = _staleness.restricted_class(cls, typeid, endpoint)
    return proxytype if restricted is None else cast("_F", restricted)


class TypedIterator(IteratorCalls[_T], TypedProxy, Iterator[_T]):
    """A proxy of an iterator a method returned; each ``next()`` is one call."""

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show

    _exposed_ = ("__next__",)
    _method_to_typeid_: ClassVar[dict[str, str]] = {}

    def __reduce__(self) -> _Reduced:
        return managers.BaseProxy.__reduce__(self)


class TypedGenerator(
    GeneratorCalls[_Y_co, _S_contra], TypedProxy, Generator[_Y_co, _S_contra, _R_co]
):
    """A proxy of a generator a method declared ``-> Generator[Y, S, R]`` returned.

    ``next()``, ``send()``, ``throw()`` and ``close()`` each run on the server's generator;
    its return value arrives as ``StopIteration.value``, as with a local generator. A
    thrown exception travels as ``__exit__``'s do (a builtin exception with plain values,
    else ``ClientException``); its traceback stays here.
    """

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show

    _exposed_ = ("__next__", "send", "throw", "close")
    _method_to_typeid_: ClassVar[dict[str, str]] = {}

    def __reduce__(self) -> _Reduced:
        return managers.BaseProxy.__reduce__(self)


def _proxytype_for_typeid(
    typeid: str, manager: managers.BaseManager | None
) -> Callable[..., object]:
    if typeid == ITERATOR_TYPEID:
        return TypedIterator
    if typeid == GENERATOR_TYPEID:
        return TypedGenerator
    protocol = protocol_for_ref(typeid)
    if protocol is not None:
        return proxy_class_for(protocol)
    registry: dict[str, tuple[object, ...]] | None = getattr(manager, "_registry", None)
    if registry is not None and typeid in registry:
        proxytype = registry[typeid][-1]
        if callable(proxytype):
            return proxytype
    return _stdlib.auto_proxy()


def proxy_class_for(protocol: type) -> type[TypedProxy]:
    """The generated proxy class of ``protocol`` if imported, else one built from its model."""
    found: type[TypedProxy] = _runtime_classes.class_for(protocol, TypedProxy)
    return found


class ProxyFactory:
    """A picklable stand-in for "the best proxy class of this Protocol", used as proxytype."""

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show

    __slots__ = ("protocol",)

    def __init__(self, protocol: type) -> None:
        self.protocol = protocol

    def __call__(self, *args: Any, **kwds: Any) -> TypedProxy:
        return proxy_class_for(self.protocol)(*args, **kwds)

    def __reduce__(self) -> tuple[type[ProxyFactory], tuple[type]]:
        return ProxyFactory, (self.protocol,)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProxyFactory) and other.protocol is self.protocol

    def __hash__(self) -> int:
        return hash(self.protocol)

    @property
    def _exposed_(self) -> tuple[str, ...]:
        return interface_of(self.protocol).exposed

    @property
    def _method_to_typeid_(self) -> dict[str, str]:
        return interface_of(self.protocol).method_to_typeid


def _build_proxy_class(interface: Interface) -> type[TypedProxy]:
    """A new proxy class of ``interface`` built from its model (``proxy_class_for`` keeps
    one per Protocol)."""
    return cast("type[TypedProxy]", _runtime_classes.build_class(interface, TypedProxy))


_inert.provide_proxy_classes(
    _inert.ProxyClasses(TypedIterator, TypedGenerator, proxy_class_for)
)
