"""The manager server: the stdlib ``Server``, wire-compatible, with what a typed layer needs.

Differences from ``multiprocessing.managers.Server``, each invisible to stdlib clients:

* an exception raised by a referent carries its server-side traceback (gh-78279);
* a method declared ``-> P | None`` returns ``None`` as ``None``, not as a proxy of ``None``;
* ``__enter__`` declared ``-> Self`` replies ``None``: the caller's proxy is the result;
* typedmgr clients create objects, take references and release them on their long-lived
  connection, and what a client process holds is released when it dies (``_sessions``);
* a proxy of one of its own objects that a request brings in (an argument kept by a
  referent, a proxy stored in a managed list) holds a counted reference, released when the
  server drops it: the stdlib keeps such objects forever (gh-103136, see ``_rebuild_proxy``);
* with ``validate`` on (``TypedManager`` class keyword or ``register(..., validate=True)``),
  a call's arguments are checked against its Protocol before the referent is called
  (``_validation``); a mismatch is the caller's ``TypeError``.

``TypedServer`` is assembled from its three parts, each in a module of its own: the
connection loop (``loop``), dispatch (``dispatch``) and the reference books (``books``).
"""

from __future__ import annotations

import hmac
import pickle
import signal
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import managers
from typing import TYPE_CHECKING, Any, ClassVar

from typedmgr import _frames, _introspect, _stdlib, _tls
from typedmgr._admitted import value_objects, value_types
from typedmgr._allowlist import AllowList
from typedmgr._gate import Gate, is_local_address, refuse_exposed_strings
from typedmgr._inert import ProxyRecipe, rebuild_inert
from typedmgr._model import GENERATOR_TYPEID, ITERATOR_TYPEID, interface_of
from typedmgr._proxy import ProxyFactory, TypedProxy
from typedmgr._receipt import Loads
from typedmgr._restricted import loads_replacing
from typedmgr._server.books import ANONYMOUS, Books, LimitError
from typedmgr._server.dispatch import Dispatcher, creations, validators
from typedmgr._server.takeover import Watch

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = [
    "ANONYMOUS",
    "LimitError",
    "ServerStart",
    "TypedServer",
    "is_local_address",
    "serve",
]

#: The connection argument of a server function the server calls itself, for no peer.
_NO_CONNECTION: Any = None
#: The limits among the settings of ``TypedServer.configured``: each must be > 0.
_LIMITS = frozenset(
    {
        "handshake_timeout",
        "max_unauthenticated",
        "max_connections",
        "max_session_objects",
        "max_objects",
        "load_amplification",
    }
)
#: The settings ``TypedServer.configured`` takes.
_SETTINGS = _LIMITS | {
    "unpickling",
    "allow",
    "legacy_md5",
    "max_message_size",
    "validate",
    "request_spin",
    "remote_admin",
}
#: Settings given as empty (``""``, ``()``, 0) are left as the class has them.
_UNSET_WHEN_EMPTY = frozenset({"unpickling", "allow", "max_message_size"})
#: What a pickled proxy may not decide for the proxy the server rebuilds from it.
_NOT_GIVEN = frozenset({"incref", "authkey", "manager", "manager_owned"})


class TypedServer(Dispatcher):
    """The stdlib manager server plus tracebacks, ``P | None``, sessions and bulk replies."""

    if TYPE_CHECKING:
        # Stdlib internals typeshed does not declare.
        mutex: threading.Lock

    #: "restricted": requests may only name the types the Protocols name; "full": any pickle
    #: (the stdlib's trust model); "auto": restricted when every registration is a Protocol.
    unpickling: ClassVar[str] = "auto"
    #: Further types a restricted server may load (set with ``TypedManager`` class keywords).
    allow: ClassVar[tuple[type, ...]] = ()
    #: Accept HMAC-MD5 replies (stdlib clients on 3.10/3.11); ``None``: only for managers
    #: with stdlib-style string registrations, which such clients may be using.
    legacy_md5: ClassVar[bool | None] = None
    #: Requests larger than this close their connection instead of filling the memory.
    max_message_size: ClassVar[int] = 256 * 1024 * 1024
    #: Check arguments against the Protocol before calling a referent (registrations may
    #: say otherwise with ``register(..., validate=...)``).
    validate: ClassVar[bool] = False

    #: Seconds a connection's thread waits awake for the client's next request before it
    #: sleeps (``frames.Wire._await``): a client making calls one after another then never
    #: waits for the server to be woken up. 0: sleep at once.
    request_spin: ClassVar[float] = 50e-6

    #: Seconds a client gets to complete the TLS handshake.
    tls_handshake_timeout: ClassVar[float] = 10.0
    #: Seconds a new connection gets to complete the authkey handshake (TLS's included).
    handshake_timeout: ClassVar[float] = 10.0
    #: Connections in their handshake at once, at most: more are refused at once.
    max_unauthenticated: ClassVar[int] = 64
    #: Connections served at once, at most (each has a thread): more are refused at once.
    max_connections: ClassVar[int] = 1024
    #: Objects one client session (one stdlib-client pool) may hold references to.
    max_session_objects: ClassVar[int] = 10_000
    #: Objects the server holds, at most.
    max_objects: ClassVar[int] = 1_000_000
    #: A restricted load may build about this many bytes per byte of message.
    load_amplification: ClassVar[int] = 32
    #: Whether an authenticated peer may call ``shutdown`` and ``debug_info``; a server
    #: made by ``start()`` obeys its starting process's ``shutdown`` either way.
    remote_admin: ClassVar[bool] = False

    #: The server functions a new connection may call: the stdlib's, and the report of
    #: ``typedmgr inspect`` (``_introspect``).
    public = [*managers.Server.public, _introspect.REQUEST]  # noqa: RUF012

    @classmethod
    def configured(cls, name: str, **given: Any) -> type[TypedServer]:
        """This class, or a subclass called ``name`` with the settings given (the
        ``TypedManager`` class keywords; ``None``, and an empty ``unpickling``, ``allow``
        or ``max_message_size``: as this class); ``ValueError`` for one out of range."""
        settings = {
            key: value
            for key, value in given.items()
            if value is not None and (value or key not in _UNSET_WHEN_EMPTY)
        }
        unknown = settings.keys() - _SETTINGS
        if unknown:
            raise TypeError(f"not server settings: {', '.join(sorted(unknown))}")
        spin = settings.get("request_spin")
        if spin is not None and not spin >= 0:
            raise ValueError(f"request_spin must be >= 0 seconds, not {spin!r}")
        for key in _LIMITS & settings.keys():
            if not settings[key] > 0:
                raise ValueError(f"{key} must be > 0, not {settings[key]!r}")
        return type(name, (cls,), settings) if settings else cls

    def __init__(
        self,
        registry: dict[str, Any],
        address: Any,
        authkey: bytes,
        serializer: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if ssl_context is not None:
            _tls.check_context(ssl_context, server_side=True)
            if not isinstance(address, tuple):
                raise ValueError(f"TLS needs a TCP address, not {address!r}")
        if self.unpickling == "auto":
            refuse_exposed_strings(_string_typeids(registry), address)
        super().__init__(registry, _ipv4_stand_in(address), authkey, serializer)
        if _ipv4_stand_in(address) is not address:  # the stdlib listens on IPv4 only
            _stdlib.listen_again(self, address, "AF_INET6")
        self.started = time.monotonic()
        #: The connections being served, by serving thread (``_introspect``).
        self.links = {}
        self.ssl_context = ssl_context
        #: Set by ``TypedManager.start()``: the secret its ``shutdown`` sends.
        self.shutdown_secret: bytes | None = None
        self._gate = Gate(
            handshake_timeout=self.handshake_timeout,
            max_unauthenticated=self.max_unauthenticated,
            max_connections=self.max_connections,
        )
        self.serializer = serializer
        self.protocols = {
            typeid: _protocol_of_entry(entry)
            for typeid, entry in registry.items()
            if typeid not in (ITERATOR_TYPEID, GENERATOR_TYPEID)
        }
        all_protocols = all(self.protocols.values())
        self._full_loads: Loads | None = None
        self.loads = self._loader(all_protocols)
        self.accepts_md5 = (
            not all_protocols if self.legacy_md5 is None else self.legacy_md5
        )
        self.books = Books(
            self.id_to_obj,
            self.id_to_refcount,
            self.id_to_local_proxy_obj,
            self._restore_stashed,
            max_objects=self.max_objects,
            max_session_objects=self.max_session_objects,
        )
        # The stdlib's own methods that lock (debug_info...) take the books' mutex.
        self.mutex = self.books.mutex
        self.sessions = self.books.sessions
        self._creations = creations(registry)
        self._validators = validators(registry, self.protocols, self.validate)
        self._connection = threading.local()
        self._crowd = _frames.Crowd()
        self.mux_watch = Watch(self)

    def _loader(self, all_protocols: bool) -> Loads:
        """A full loader, or one restricted to what the Protocols name."""
        if self.unpickling not in ("auto", "restricted", "full"):
            raise ValueError(
                f"unpickling must be auto, restricted or full, not {self.unpickling!r}"
            )
        replaced: dict[tuple[str, str], object] = {
            _stdlib.REBUILD_PROXY: self._rebuild_proxy
        }
        if self.unpickling == "full" or (
            self.unpickling == "auto" and not all_protocols
        ):
            self._full_loads = loads_replacing(replaced)
            return self._full_loads
        typed = {p for p in self.protocols.values() if p is not None}
        interfaces = [interface_of(p) for p in typed]
        return AllowList(
            [*value_types(interfaces), *self.allow],
            values=value_objects(interfaces),
            replaced=replaced,
            amplification=self.load_amplification,
        ).loads

    # gh-103136. When a request carries a proxy of one of this server's own objects (an
    # argument, an item for a managed list), the stdlib's RebuildProxy builds it with
    # manager_owned=True, so it takes no reference, and stashes the referent in
    # id_to_local_proxy_obj, whence nothing ever removes it: the object outlives every
    # proxy of it, and number_of_objects() no longer counts the proxies the server holds.
    # Here requests are loaded with RebuildProxy replaced by _rebuild_proxy: the proxy the
    # server keeps holds one counted reference, released when the proxy is collected, and
    # id_to_local_proxy_obj stays empty. Clients see the same messages as before.

    def _rebuild_proxy(
        self,
        func: object,
        token: Any,
        serializer: str,
        kwds: Any,
    ) -> Any:
        """Load a proxy a request carries; one of ours holds a reference while it lives.

        A proxy of another server is rebuilt inert (``_inert.rebuild_inert``): loading a
        request never connects anywhere, nor answers anyone's challenge.
        """
        recipe: ProxyRecipe | None = None
        if isinstance(func, ProxyRecipe):
            recipe = func
        elif isinstance(func, ProxyFactory):  # a full load
            recipe = ProxyRecipe(func.protocol)
        elif isinstance(func, type) and issubclass(func, TypedProxy):
            recipe = ProxyRecipe(getattr(func, "_protocol_", None))
        elif self._full_loads is None or not callable(func):
            raise pickle.UnpicklingError(f"refused to rebuild a proxy with {func!r}")
        if token.address != self.address:
            if recipe is not None:
                return rebuild_inert(recipe, token, serializer, kwds)
            # A stdlib proxy class: a full load keeps the stdlib's trust.
            return _stdlib.rebuild_proxy(func, token, serializer, kwds)
        ident = token.id
        self.books.take_ref(ident)
        given = dict(kwds) if isinstance(kwds, dict) else {}
        options = {"exposed": given.get("exposed")}
        if recipe is None:  # a stdlib proxy class, in a full load
            options = {k: v for k, v in given.items() if k not in _NOT_GIVEN}
        try:
            factory: Any = func if recipe is None else recipe.proxy_class()
            proxy = factory(
                token,
                "pickle" if recipe is not None else serializer,
                authkey=self.authkey,  # to call us, if the referent does
                incref=False,
                manager_owned=True,
                **options,
            )
        except BaseException:
            self.books.release_later(ident)
            raise
        self.books.hold_local(proxy, ident)
        return proxy

    def _restore_stashed(self, ident: str) -> None:
        """The stdlib's incref: restores a referent stashed in id_to_local_proxy_obj, or
        raises ``KeyError``."""
        super().incref(_NO_CONNECTION, ident)

    def stop(self) -> None:
        """Stop ``serve_forever`` (from the serving process: a peer may not, by default)."""
        self.stop_event.set()

    def shutdown(self, c: Connection, secret: bytes | None = None) -> None:
        """The stdlib ``shutdown``: only with the secret of the process that started the
        server (``TypedManager.start()``), or from any peer if ``remote_admin``."""
        secret = getattr(secret, "data", secret)  # xmlrpclib sends bytes as Binary
        allowed = self.remote_admin or (
            self.shutdown_secret is not None
            and isinstance(secret, bytes)
            and hmac.compare_digest(secret, self.shutdown_secret)
        )
        if not allowed:
            raise PermissionError(
                "shutdown refused: only the process that started this server may shut "
                "it down; serve with `class M(TypedManager, remote_admin=True)` to let "
                "key holders do it"
            )
        super().shutdown(c)

    def number_of_objects(self, c: Any) -> int:
        """The stdlib count, once the proxies the server dropped are released."""
        self.books.release_local()
        return int(super().number_of_objects(c))

    def debug_info(self, c: Any) -> str:
        """The stdlib's list of every object, with its ``str()``: only if ``remote_admin``
        (it hands out every object's ident, which names it in calls)."""
        if not self.remote_admin:
            raise PermissionError(
                "debug_info refused: it lists every client's objects; serve with "
                "`class M(TypedManager, remote_admin=True)` to allow it"
            )
        self.books.release_local()
        return str(super().debug_info(c))

    def introspect(self, c: Connection) -> dict[str, Any]:
        """The report ``typedmgr inspect`` prints (``introspect.report``)."""
        return _introspect.report(self)


@dataclass(frozen=True)
class ServerStart:
    """``TypedManager.start()``'s initializer, carrying the server's TLS context (to a
    forked child) and the secret the server obeys ``shutdown`` with."""

    ssl_context: ssl.SSLContext | None
    initializer: Callable[..., object] | None
    initargs: Any
    shutdown_secret: bytes | None = None

    def __call__(self) -> None:
        if self.initializer is not None:
            self.initializer(*self.initargs)


def serve(
    server_class: type[TypedServer],
    registry: dict[str, Any],
    address: Any,
    authkey: bytes,
    serializer: str,
    writer: Connection,
    initializer: Callable[..., object] | None = None,
    initargs: Any = (),
) -> None:
    """The stdlib's ``_run_server`` in a started server's process, with a
    ``ServerStart``'s TLS context and shutdown secret."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # bpo-36368, as the stdlib does
    ssl_context = None
    secret = None
    if isinstance(initializer, ServerStart):
        start = initializer
        ssl_context, initializer, initargs, secret = (
            start.ssl_context,
            start.initializer,
            start.initargs,
            start.shutdown_secret,
        )
    if initializer is not None:
        initializer(*initargs)
    server = server_class(
        registry, address, authkey, serializer, ssl_context=ssl_context
    )
    if isinstance(server, TypedServer):
        server.shutdown_secret = secret
    writer.send(server.address)
    writer.close()
    server.serve_forever()


def _string_typeids(registry: dict[str, Any]) -> list[str]:
    """The stdlib-style registrations (no Protocol), which load requests in full."""
    return sorted(
        typeid
        for typeid, entry in registry.items()
        if typeid != ITERATOR_TYPEID and _protocol_of_entry(entry) is None
    )


def _protocol_of_entry(entry: tuple[Any, ...]) -> type | None:
    """The Protocol a registry entry serves, from its proxytype; ``None`` for stdlib ones."""
    proxytype = entry[-1]
    protocol = getattr(proxytype, "protocol", None) or getattr(
        proxytype, "_protocol_", None
    )
    return protocol if isinstance(protocol, type) else None


def _ipv4_stand_in(address: Any) -> Any:
    """An address the stdlib's ``Server`` can listen on, for an IPv6 one (listened on in
    its place once the stdlib's ``__init__`` is done); any other address as it is."""
    if isinstance(address, tuple) and ":" in str(address[0]):
        return ("127.0.0.1", 0)
    return address
