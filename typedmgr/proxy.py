"""The proxy base that generated proxy classes extend.

A generated method is one typed call into :meth:`TypedProxy._call`; everything else (reply
handling, remote tracebacks, returned remote objects) lives here, so a runtime fix never needs
a regeneration. When no generated class for a Protocol is imported, :func:`proxy_class_for`
builds an equivalent one from the same interface model.
"""

from __future__ import annotations

import functools
import io
import pickle
import threading
import weakref
from collections.abc import Callable, Generator, Iterator, Mapping
from multiprocessing import managers, util
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    NoReturn,
    Self,
    TypeVar,
    cast,
    overload,
)

from typedmgr import _stdlib, channel, compatibility, errors, peers, unpickling
from typedmgr._wire import GETATTR, ITSELF, ONEWAY, PROXIED, TRACEBACK_ATTR
from typedmgr.model import (
    GENERATOR_TYPEID,
    ITERATOR_TYPEID,
    Interface,
    Method,
    ReturnKind,
    inspect_signature,
    interface_of,
    protocol_for_ref,
    protocol_of,
)
from typedmgr.pipeline import capturing
from typedmgr.unpickling import BUILTIN_EXCEPTIONS, AllowList

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = [
    "ClientException",
    "ProxyFactory",
    "RemoteTraceback",
    "StaleProxyError",
    "TypedGenerator",
    "TypedIterator",
    "TypedProxy",
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


class RemoteTraceback(Exception):
    """The server-side traceback of a remote exception, chained as its ``__cause__``."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f"\n\n{self.tb}"


class ClientException(Exception):
    """Stands in, for a server's ``__exit__``, for an exception a client could not send.

    A ``with proxy:`` block that raised sends the exception's type and value to the
    referent's ``__exit__`` (the traceback cannot cross processes) when the server can load
    them: a builtin exception whose arguments and attributes are plain values. Any other
    exception arrives as a ``ClientException`` naming its type and message; the client's
    own ``with`` statement still raises the original.
    """

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(type_name, message)
        self.type_name = type_name
        self.message = message

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}" if self.message else self.type_name

    def __reduce__(self) -> tuple[type[ClientException], tuple[str, str]]:
        return ClientException, (self.type_name, self.message)


#: What a server's ``__exit__`` can always load: builtin exceptions, and the stand-in.
# A trial load with it has no effects: it builds no proxy (which would take a reference).
_EXIT_VALUES = AllowList([*BUILTIN_EXCEPTIONS, ClientException], tokens=False)


def sendable_exception(exc_type: object, exc: object) -> tuple[object, object, None]:
    """``__exit__``'s arguments as a server can load them: tb dropped, stand-in if need be."""
    if exc_type is None and exc is None:
        return None, None, None
    try:
        _EXIT_VALUES.loads(pickle.dumps((exc_type, exc)))
    except Exception:
        pass
    else:
        return exc_type, exc, None
    name = getattr(exc_type, "__qualname__", None) or type(exc).__qualname__
    module = getattr(exc_type, "__module__", None)
    if isinstance(module, str) and module != "builtins":
        name = f"{module}.{name}"
    try:
        message = "" if exc is None else str(exc)
    except Exception:
        message = f"<unprintable {name}>"
    stand_in = ClientException(name, message)
    return ClientException, stand_in, None


class TypedProxy(managers.BaseProxy):
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
        #: The session (``channel.session()``) of the process whose reference the proxy
        #: holds; absent on a proxy that holds none.
        _held_by: str

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "_protocol_" in cls.__dict__:
            unpickling.expect_replies([cls._protocol_])
            if cls._generated_:
                _GENERATED[cls._protocol_] = cls

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
        unknown = False
        if authkey is None and manager is None:
            # Rebuilt from a pickle, which never carries the key (gh-139801): the key a
            # manager in this process has for the address, never the process's own (the
            # stdlib's fallback signed any server's challenge with it).
            authkey = peers.peer(token.address).authkey
            unknown = authkey is None
        elif authkey is not None and peers.peer(token.address).authkey is None:
            # A proxy handed over at spawning carries the key: lend it to later arrivals.
            peers.remember(token.address, authkey=authkey)
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
            self._Client = channel.client
        if unknown:
            self._authkey = None  # type: ignore[assignment]  # channel.client refuses it
        if incref:
            self._incref()

    @classmethod
    def _adopt(
        cls,
        factory: Callable[..., _P],
        token: managers.Token,
        manager: managers.BaseManager | None,
        authkey: bytes,
        exposed: object,
        serializer: str = "pickle",
    ) -> _P:
        """A proxy that takes over the reference the server made for it: no incref/decref pair.

        Its release, when collected, rides on the next request to the server.
        """
        proxy: Any
        if isinstance(factory, ProxyFactory):
            factory = proxy_class_for(factory.protocol)  # type: ignore[assignment]
        if (
            isinstance(factory, type)
            and issubclass(factory, TypedProxy)
            and serializer == "pickle"
        ):
            if factory.__init__ is TypedProxy.__init__:
                proxy = factory._adopted(token, manager, authkey)
            else:
                proxy = factory(
                    token, serializer, manager=manager, authkey=authkey, incref=False
                )
                proxy._held_by = channel.session()
            result: _P = proxy
            return result
        proxy = factory(
            token,
            serializer,
            manager=manager,
            authkey=authkey,
            exposed=exposed,
            incref=False,
        )
        if serializer == "pickle":
            _adapt(proxy)
        _hold_until_collected(proxy)
        adopted: _P = proxy
        return adopted

    @classmethod
    def _adopted(
        cls,
        token: managers.Token,
        manager: managers.BaseManager | None,
        authkey: bytes,
    ) -> Self:
        """``cls(token, "pickle", manager, authkey, incref=False)``, holding the reference
        the server made for it, built directly.

        A method returning proxies returns one per call: this is ``__init__`` and the
        stdlib's ``BaseProxy.__init__`` (``_stdlib.new_proxy_identity``) without the lock,
        keyword handling and after-fork entry (see ``_Inheritance``).
        """
        proxy = cls.__new__(cls)
        address = token.address
        _stdlib.new_proxy_identity(proxy, address)
        proxy._token = token
        proxy._id = str(token.id)
        proxy._manager = manager
        proxy._serializer = "pickle"
        proxy._Client = channel.client
        proxy._owned_by_manager = False
        proxy._authkey = _stdlib.authentication_string(authkey)
        if peers.peer(address).authkey is None:
            peers.remember(address, authkey=authkey)
        proxy._held_by = channel.session()
        _inheritance.add(address, proxy)
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
            _inheritance.discard(address, self)
            if held_by == channel.session():
                channel.release_later(address, self._id)
        except Exception:  # interpreter shutdown: the session's end releases it
            pass

    def _incref(self) -> None:
        """Take a reference on this thread's connection, counted against our session."""
        if self._owned_by_manager:
            return
        connect = channel.client if self._serializer == "pickle" else self._Client
        channel.server_rpc(
            self._token.address, self._authkey, connect, "incref", self._id
        )
        self._held_by = channel.session()

    def _connect(self) -> None:
        channel.thread_connection(self._token.address, self._authkey, self._Client)

    def _call(self, methodname: str, /, *args: object, **kwds: object) -> object:
        """Call ``methodname`` on the referent; the typed face of ``_callmethod``.

        Inside ``Pipeline.call`` the request is queued and a ``Reply`` comes back instead.
        """
        pipeline = capturing.get()
        if pipeline is not None:
            return pipeline.enqueue(
                self, (self._id, methodname, args, kwds, ()), expects_reply=True
            )
        return self._callmethod(methodname, args, kwds)

    def _call_self(self, methodname: str, /, *args: object, **kwds: object) -> Self:
        """Call a method that returns its own referent (``__enter__``): this proxy is the result.

        The server replies ``None`` for it (``Returns.caller_proxy``): no new reference.
        """
        self._call(methodname, *args, **kwds)
        return self

    def _call_fluent(self, methodname: str, /, *args: object, **kwds: object) -> object:
        """Call a ``-> Self`` method: this proxy if the server returned its referent, else
        a new proxy of this class (``None`` stays ``None`` for ``-> Self | None``)."""
        result = self._call(methodname, *args, **kwds)
        cls = type(self)
        if (
            isinstance(result, TypedProxy)
            and type(result) is not cls
            and issubclass(cls, type(result))
        ):
            result.__class__ = cls  # the typeid's class; ours subclasses it
        return result

    def _call_exit(self, methodname: str, /, *args: object, **kwds: object) -> object:
        """Call ``__exit__``: ``(exc_type, exc, tb)`` go as :func:`sendable_exception` says."""
        if len(args) >= 3:
            args = (*sendable_exception(args[0], args[1]), *args[3:])
        return self._call(methodname, *args, **kwds)

    def _get(self, name: str) -> object:
        """Read the attribute or property ``name`` of the referent."""
        return self._call(GETATTR, name)

    def _get_fluent(self, name: str) -> object:
        """Read a ``-> Self`` property: as :meth:`_call_fluent` returns."""
        return self._call_fluent(GETATTR, name)

    def _send(self, methodname: str, /, *args: object, **kwds: object) -> None:
        """Call a ``@oneway`` method: send the request and return without waiting."""
        request = (self._id, ONEWAY, (methodname, args), kwds, ())
        pipeline = capturing.get()
        if pipeline is not None:
            pipeline.enqueue(self, request, expects_reply=False)
            return
        channel.exchange_many(
            self._tls,
            self._token.address,
            self._authkey,
            self._Client,
            [channel.frame(request)],
            0,
        )

    def _callmethod(  # type: ignore[override]  # the stdlib's stub says -> None
        self,
        methodname: str,
        args: tuple[object, ...] = (),
        kwds: Mapping[str, object] = _NO_KWDS,
    ) -> object:
        kind, result = channel.exchange(
            self._tls,
            self._token.address,
            self._authkey,
            self._Client,
            (self._id, methodname, args, kwds, ()),
            typeid=self._token.typeid,
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
        explained = errors.explain(
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
        address = self._token.address
        proxytype = _proxytype_for_typeid(typeid, self._manager)
        proxy = TypedProxy._adopt(
            proxytype,
            managers.Token(typeid, address, ident),
            self._manager,
            self._authkey,
            exposed,
            self._serializer,
        )
        checked = check_fingerprint(
            proxytype, typeid, address, self._authkey, self._Client
        )
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


def _hold_until_collected(proxy: managers.BaseProxy) -> None:
    """A stdlib-class proxy holds a reference of this session: release it when collected,
    at once, as the stdlib does (``channel.release_now``); meanwhile the stdlib keeps the
    thread's connection open, as it does while it knows of references held."""
    held, key = _stdlib.hold_reference(proxy)
    util.Finalize(
        proxy,
        channel.release_now,
        args=(proxy._token.address, proxy._id, held, key),  # type: ignore[attr-defined]
    )


class _SessionCalls(managers.BaseProxy):
    """How an adapted stdlib proxy class talks (see :func:`_stdlib_adapted`).

    It sits beneath the class's own methods (the adapted class's bases are the stdlib
    class, then this), so a class that overrides ``_callmethod`` still reaches typedmgr's
    through ``super()``.
    """

    _stdlib_class_: ClassVar[type[managers.BaseProxy]]

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
        kind, result = channel.exchange(
            self._tls,
            address,
            self._authkey,
            self._Client,
            (self._id, methodname, args, kwds, ()),
            loads=functools.partial(_load_stdlib_reply, address),
            typeid=self._token.typeid,
        )
        call = (methodname, args, kwds)
        return TypedProxy._reply(self, kind, result, call)  # type: ignore[arg-type]

    def _returned_proxy(
        self, typeid: str, exposed: tuple[str, ...], ident: str
    ) -> object:
        return TypedProxy._returned_proxy(self, typeid, exposed, ident)  # type: ignore[arg-type]

    def _connect(self) -> None:
        channel.thread_connection(self._token.address, self._authkey, self._Client)

    def _incref(self) -> None:
        """On the thread's connection, counted against this process's session (a forked
        child's, say), released when collected."""
        TypedProxy._incref(self)  # type: ignore[arg-type]
        if not self._owned_by_manager:
            _hold_until_collected(self)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as the stdlib class: the receiver rebuilds the class it knows."""
        func, (proxytype, token, serializer, kwds) = super().__reduce__()
        if proxytype is type(self):
            proxytype = self._stdlib_class_
        return func, (proxytype, token, serializer, kwds)


def _load_stdlib_reply(address: Any, data: bytes | bytearray) -> Any:
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
        kwds.setdefault("authkey", peers.peer(address).authkey)
        proxy = func(token, serializer, incref=False, **kwds)
        _adapt(proxy)
        rebuilt.append(proxy)
        return proxy

    unpickling.check_memo(data)
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


def _adapt(proxy: object) -> None:
    """Make a stdlib-class proxy (AutoProxy, SyncManager's, a hand-written class) talk
    through typedmgr's connections, TLS and sessions, its public face unchanged."""
    if isinstance(proxy, managers.BaseProxy) and not isinstance(proxy, TypedProxy):
        proxy.__class__ = _stdlib_adapted(type(proxy))
        proxy._Client = channel.client  # type: ignore[attr-defined]


_ADAPTED: dict[type, type[managers.BaseProxy]] = {}


def _stdlib_adapted(cls: type[managers.BaseProxy]) -> type[managers.BaseProxy]:
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
        }
        made = type(cls.__name__, (cls, _SessionCalls), namespace)
        adapted = _ADAPTED.setdefault(cls, made)
    return adapted


class _Inheritance:
    """Adopted proxies by server address: a forked child takes a reference of its own to
    each (``BaseProxy._after_fork``), as the stdlib's after-fork entry per proxy makes it do.

    That entry is a ``WeakValueDictionary`` item (about 1.5 us a proxy, with its removal);
    this is a plain dict of weak references, emptied by ``TypedProxy.__del__``. An address's
    hook is registered after its connection-local's, which forgets the parent's connection.
    """

    def __init__(self) -> None:
        self._proxies: dict[Any, dict[int, weakref.ref[TypedProxy]]] = {}

    def add(self, address: Any, proxy: TypedProxy) -> None:
        proxies = self._proxies.get(address)
        if proxies is None:
            proxies = self._track(address)
        proxies[id(proxy)] = weakref.ref(proxy)

    def discard(self, address: Any, proxy: TypedProxy) -> None:
        proxies = self._proxies.get(address)
        if proxies is not None:
            proxies.pop(id(proxy), None)

    def _track(self, address: Any) -> dict[int, weakref.ref[TypedProxy]]:
        new: dict[int, weakref.ref[TypedProxy]] = {}
        proxies = self._proxies.setdefault(address, new)  # atomic: one hook per address
        if proxies is new:
            local, _ = _stdlib.address_local(address)
            _stdlib.register_after_fork(
                local, functools.partial(self._after_fork, address)
            )
        return proxies

    def _after_fork(self, address: Any, _local: object) -> None:
        for ref in list(self._proxies.get(address, {}).values()):
            proxy = ref()
            if proxy is not None:
                proxy._after_fork()  # type: ignore[attr-defined]


_inheritance = _Inheritance()


class StaleProxyError(TypeError):
    """A method generated from another version of its Protocol than the server serves,
    called though the server cannot serve it as called (see docs/schema-evolution.md)."""


# (server address, typeid, fingerprint) already found to agree, in this process.
_agreed: set[tuple[object, str, str]] = set()
# ... found to differ: the methods the server cannot serve, each with its message.
_stale: dict[tuple[object, str, str], dict[str, str]] = {}
_F = TypeVar("_F")


def check_fingerprint(
    proxytype: _F,
    typeid: str,
    address: object,
    authkey: bytes,
    connect: Callable[..., Connection],
) -> _F:
    """``proxytype``, or if the server's Protocol differs, a subclass whose stale methods
    raise :class:`StaleProxyError` when called (``compatibility`` decides which).

    Asked once per server, typeid and fingerprint in a process, then remembered: calls cost
    nothing more. Stdlib proxies (no fingerprint) and servers that do not know the typeid's
    Protocol are not checked. A server too old to describe its methods fails the whole
    proxy here, listing the signatures that differ.
    """
    cls: object = proxytype
    if isinstance(proxytype, ProxyFactory):
        cls = proxy_class_for(proxytype.protocol)
    fingerprint = getattr(cls, "_fingerprint_", None)
    if not isinstance(fingerprint, str) or (address, typeid, fingerprint) in _agreed:
        return proxytype
    assert isinstance(cls, type) and issubclass(cls, TypedProxy)
    key = (address, typeid, fingerprint)
    restricted = _stale_classes.get((cls, key))
    if restricted is None:
        stale = _stale.get(key)
        if stale is None:
            stale = _stale_methods(cls, typeid, fingerprint, address, authkey, connect)
            if not stale:
                _agreed.add(key)
                return proxytype
            _stale[key] = stale
        restricted = _stale_classes.setdefault((cls, key), _stale_class(cls, stale))
    return cast("_F", restricted)


def _stale_methods(
    cls: type[TypedProxy],
    typeid: str,
    fingerprint: str,
    address: object,
    authkey: bytes,
    connect: Callable[..., Connection],
) -> dict[str, str]:
    """The server's verdict on each method of ``cls``: the stale ones, with messages."""
    protocol = cls._protocol_
    try:
        described = channel.server_rpc(
            address, authkey, connect, "fingerprint", typeid, fingerprint, methods=True
        )
    except managers.RemoteError:  # a server from before schema evolution
        server_lines = channel.server_rpc(
            address, authkey, connect, "fingerprint", typeid, fingerprint
        )
        ours = interface_of(protocol).signature_lines
        differences = [f"  server: {line}" for line in server_lines if line not in ours]
        differences += [
            f"  client: {line}" for line in ours if line not in server_lines
        ]
        raise StaleProxyError(
            f"{cls.__name__} was generated from another version of "
            f"{protocol.__qualname__} than the server at {address!r} serves, which "
            "cannot tell which methods still agree (regenerate with `typedmgr gen`, or "
            "update the server):\n"
            + "\n".join(differences or ["  (the same signatures, in another order)"])
        ) from None
    if described is None:
        return {}
    try:
        reasons = compatibility.stale_methods(protocol, described)
    except (compatibility.SchemaError, RecursionError) as exc:
        raise StaleProxyError(
            f"the server at {address!r} describes {protocol.__qualname__} in a form "
            f"{cls.__name__} cannot read ({exc}); update typedmgr here, or regenerate"
        ) from None
    name = protocol.__qualname__
    return {
        method: f"{name}.{method} cannot be called on the server at {address!r}: "
        f"{reason} ({cls.__name__} was generated from another version of {name}: "
        "regenerate it with `typedmgr gen`, or update the server)"
        for method, reason in reasons.items()
    }


# The class of each proxy class's proxies from one server and typeid, if stale there.
_stale_classes: dict[tuple[type, tuple[object, str, str]], type[TypedProxy]] = {}


def _stale_class(cls: type[TypedProxy], stale: Mapping[str, str]) -> type[TypedProxy]:
    """``cls`` with each stale method (or property) raising :class:`StaleProxyError`."""
    interface = interface_of(cls._protocol_)
    namespace: dict[str, object] = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        #: The stale methods, each with the message its calls raise.
        "_stale_": dict(stale),
    }
    for name, message in stale.items():
        namespace[name] = _stale_member(
            name, message, is_property=interface.method(name).is_property
        )
    return type(cls.__name__, (cls,), namespace)


def _stale_member(name: str, message: str, *, is_property: bool) -> object:
    def stale(self: TypedProxy, /, *args: object, **kwds: object) -> NoReturn:
        raise StaleProxyError(message)

    stale.__name__ = stale.__qualname__ = name
    stale.__doc__ = message
    return property(stale, doc=message) if is_property else stale


def remote_error(kind: str, result: object) -> BaseException:
    """The exception a non-result reply stands for, with the server traceback chained."""
    if kind == "#ERROR" and isinstance(result, BaseException):
        tb = getattr(result, TRACEBACK_ATTR, None)
        if isinstance(tb, str):
            result.__cause__ = RemoteTraceback(tb)
        return result
    if kind == "#TRACEBACK":
        return managers.RemoteError(result)
    if kind == "#UNSERIALIZABLE":
        return managers.RemoteError(f"Unserializable message: {result}")
    return ValueError(f"Unrecognized message type {kind!r}")


class TypedIterator(TypedProxy, Iterator[_T]):
    """A proxy of an iterator a method returned; each ``next()`` is one call."""

    _exposed_ = ("__next__",)
    _method_to_typeid_: ClassVar[dict[str, str]] = {}

    def __iter__(self) -> TypedIterator[_T]:
        return self

    def __next__(self) -> _T:
        return self._call("__next__")  # type: ignore[return-value]

    def __reduce__(self) -> _Reduced:
        return managers.BaseProxy.__reduce__(self)


class TypedGenerator(TypedProxy, Generator[_Y_co, _S_contra, _R_co]):
    """A proxy of a generator a method declared ``-> Generator[Y, S, R]`` returned.

    ``next()``, ``send()``, ``throw()`` and ``close()`` each run on the server's generator;
    its return value arrives as ``StopIteration.value``, as with a local generator. A
    thrown exception travels as ``__exit__``'s do (a builtin exception with plain values,
    else ``ClientException``); its traceback stays here.
    """

    _exposed_ = ("__next__", "send", "throw", "close")
    _method_to_typeid_: ClassVar[dict[str, str]] = {}

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> _Y_co:
        return self._call("__next__")  # type: ignore[return-value]

    def send(self, value: _S_contra, /) -> _Y_co:
        return self._call("send", value)  # type: ignore[return-value]

    @overload
    def throw(
        self,
        typ: type[BaseException],
        val: BaseException | object = None,
        tb: TracebackType | None = None,
        /,
    ) -> _Y_co: ...

    @overload
    def throw(
        self, typ: BaseException, val: None = None, tb: TracebackType | None = None, /
    ) -> _Y_co: ...

    def throw(
        self,
        typ: type[BaseException] | BaseException,
        val: object = None,
        tb: TracebackType | None = None,
        /,
    ) -> _Y_co:
        if isinstance(typ, BaseException):
            exc = typ
        elif isinstance(val, BaseException):
            exc = val
        else:
            exc = typ() if val is None else typ(val)
        _, sent, _ = sendable_exception(type(exc), exc)
        return self._call("throw", sent)  # type: ignore[return-value]

    def close(self) -> None:
        self._call("close")

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


_GENERATED: dict[type, type[TypedProxy]] = {}
_RUNTIME: dict[type, type[TypedProxy]] = {}
_RUNTIME_LOCK = threading.RLock()  # a class is built after those it extends


def proxy_class_for(protocol: type) -> type[TypedProxy]:
    """The generated proxy class of ``protocol`` if imported, else one built from its model."""
    generated = _GENERATED.get(protocol)
    if generated is not None:
        return generated
    with _RUNTIME_LOCK:
        built = _RUNTIME.get(protocol)
        if built is None:
            built = _RUNTIME[protocol] = _build_proxy_class(interface_of(protocol))
        return built


class ProxyFactory:
    """A picklable stand-in for "the best proxy class of this Protocol", used as proxytype."""

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
    namespace: dict[str, object] = {
        "_protocol_": interface.protocol,
        "_exposed_": interface.exposed,
        "_method_to_typeid_": interface.method_to_typeid,
        "_fingerprint_": interface.fingerprint,
        "_generated_": False,
        "__doc__": interface.doc,
        "__module__": interface.module,
    }
    for method in interface.methods:
        namespace[method.name] = (
            _runtime_property(method) if method.is_property else _runtime_method(method)
        )
    # The proxy classes of the Protocols it extends, as the generated class has them.
    bases = tuple(
        dict.fromkeys(
            proxy_class_for(origin)
            for base in interface.bases
            if (origin := protocol_of(base)) is not None
        )
    )
    return type(f"{interface.name}Proxy", bases or (TypedProxy,), namespace)


def _runtime_property(method: Method) -> property:
    name = method.name

    fluent = method.return_kind in (ReturnKind.FLUENT, ReturnKind.OPTIONAL_FLUENT)

    def get(self: TypedProxy) -> object:
        return self._get_fluent(name) if fluent else self._get(name)

    return property(get, doc=method.doc)


def _runtime_method(method: Method) -> Callable[..., object]:
    """A proxy method that binds arguments like the generated one: same wire message."""
    signature = inspect_signature(method.params, returns=method.returns)
    name = method.name
    oneway = method.oneway
    overloaded = bool(method.overloads)

    itself = method.return_kind is ReturnKind.SELF
    fluent = method.return_kind in (ReturnKind.FLUENT, ReturnKind.OPTIONAL_FLUENT)
    exits = method.is_exit

    def call(self: TypedProxy, /, *args: object, **kwds: object) -> object:
        if overloaded:  # which overload applies is the server's business
            if fluent:
                return self._call_fluent(name, *args, **kwds)
            return self._call(name, *args, **kwds)
        bound = signature.bind(*args, **kwds)
        bound.apply_defaults()
        if oneway:
            self._send(name, *bound.args, **bound.kwargs)
            return None
        if itself:
            return self._call_self(name, *bound.args, **bound.kwargs)
        if fluent:
            return self._call_fluent(name, *bound.args, **bound.kwargs)
        if exits:
            return self._call_exit(name, *bound.args, **bound.kwargs)
        return self._call(name, *bound.args, **bound.kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = method.doc
    call.__signature__ = inspect_signature(  # type: ignore[attr-defined]
        method.params, returns=method.returns, with_self=True
    )
    return call
