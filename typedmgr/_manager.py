"""``TypedManager``: a drop-in ``BaseManager`` that registers Protocols."""

from __future__ import annotations

import contextlib
import importlib
import os
import ssl
from collections.abc import Callable, Iterable, Mapping, Sequence
from multiprocessing import managers, util
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from typedmgr import (
    _channel,
    _errors,
    _leases,
    _peers,
    _stdlib,
    _tls,
)
from typedmgr._client_errors import remote_error
from typedmgr._endpoint import endpoint_for
from typedmgr._gate import refuse_weak_key
from typedmgr._model import protocol_of
from typedmgr._proxy import TypedProxy, check_fingerprint
from typedmgr._registration import (
    adopt_stdlib_creations,
    creation_method,
    protocol_registration,
    returned_entries,
)
from typedmgr._replies import expect_replies
from typedmgr._server import ServerStart, TypedServer, serve

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import BaseContext
    from types import TracebackType

__all__ = ["TypedManager"]

# The secret each server this process started obeys ``shutdown`` with, by address.
_shutdown_secrets: dict[Any, bytes] = {}

_P = TypeVar("_P")


class TypedManager(managers.BaseManager):
    """A ``BaseManager`` whose ``register()`` also takes ``typing.Protocol`` classes.

    ``register(Counter, CounterImpl)`` derives the typeid (``"Counter"``), ``exposed`` (the
    Protocol's methods) and ``method_to_typeid`` (methods returning other Protocols) from the
    Protocol, and checks that ``CounterImpl`` implements it. String typeids behave exactly as
    with ``BaseManager``.
    """

    _Server: ClassVar[type[TypedServer]] = TypedServer
    #: For a generated client manager: ``"module:Class"`` of the manager whose registry a
    #: locally started server uses. Imported only by ``start()``/``get_server()``, so a
    #: client that only connects never imports the implementations.
    _server_manager_: ClassVar[str | None] = None
    #: Protocol registrations, by typeid: (Protocol or ``Protocol[args]``, callable, has a
    #: creation method).
    #: Copied on write per class, like the stdlib ``_registry``; the generator reads it.
    _protocols_: ClassVar[
        dict[str, tuple[object, Callable[..., object] | None, bool]]
    ] = {}

    if TYPE_CHECKING:
        # Stdlib internals typeshed does not declare.
        _registry: ClassVar[dict[str, tuple[Any, Any, Any, Any]]]
        _address: Any
        _authkey: bytes
        _serializer: str
        _Client: Callable[..., Connection]
        _ctx: BaseContext

        def _create(
            self, typeid: str, /, *args: object, **kwds: object
        ) -> tuple[managers.Token, tuple[str, ...]]: ...

    def __init_subclass__(
        cls,
        *,
        unpickling: str | None = None,
        allow: tuple[type, ...] = (),
        legacy_md5: bool | None = None,
        max_message_size: int | None = None,
        validate: bool | None = None,
        request_spin: float | None = None,
        handshake_timeout: float | None = None,
        max_unauthenticated: int | None = None,
        max_connections: int | None = None,
        max_session_objects: int | None = None,
        max_objects: int | None = None,
        load_amplification: int | None = None,
        remote_admin: bool | None = None,
        **kwargs: object,
    ) -> None:
        """``class M(TypedManager, unpickling="full", allow=(Decimal,))`` configures M's server.

        Args:
            unpickling: "restricted" (requests may name only the types the Protocols name),
                "full" (any pickle: any authenticated peer can run code in the server), or
                "auto" (the default: restricted when every registration is a Protocol).
            allow: more types a restricted server may load, and this process's clients
                may receive.
            legacy_md5: accept HMAC-MD5 handshakes (stdlib clients on 3.10/3.11); by default
                only managers with stdlib-style string registrations do.
            max_message_size: the largest request the server reads (default 256 MiB).
            validate: check each call's arguments against the Protocol's annotations before
                calling the implementation (a mismatch raises ``TypeError`` at the caller);
                ``register(..., validate=...)`` decides for one registration.
            request_spin: seconds the server waits awake for a client's next request
                before it sleeps (default 50 us; 0: sleep at once).
            handshake_timeout: seconds a new connection gets to authenticate (default 10).
            max_unauthenticated: connections authenticating at once (default 64).
            max_connections: connections served at once (default 1024).
            max_session_objects: objects one client process may hold (default 10,000).
            max_objects: objects the server holds (default 1,000,000).
            load_amplification: bytes a restricted load may build per byte of request
                (default 32).
            remote_admin: let any key holder call ``shutdown`` and ``debug_info``
                (default: only the process that started the server may shut it down).
        """
        super().__init_subclass__(**kwargs)
        adopt_stdlib_creations(cls)
        server = cls._Server.configured(
            f"{cls.__name__}Server",
            unpickling=unpickling,
            allow=allow,
            legacy_md5=legacy_md5,
            max_message_size=max_message_size,
            validate=validate,
            request_spin=request_spin,
            handshake_timeout=handshake_timeout,
            max_unauthenticated=max_unauthenticated,
            max_connections=max_connections,
            max_session_objects=max_session_objects,
            max_objects=max_objects,
            load_amplification=load_amplification,
            remote_admin=remote_admin,
        )
        expect_replies(types=allow)  # the values travel both ways
        cls._Server = server

    @classmethod
    def _server_class(cls) -> type[TypedServer]:
        server_manager = cls._source_manager()
        return server_manager._Server if server_manager else cls._Server

    @classmethod
    def _source_manager(cls) -> type[TypedManager] | None:
        """The manager a generated client stands for; imported only to serve locally."""
        if cls._server_manager_ is None:
            return None
        module, _, qualname = cls._server_manager_.partition(":")
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
        assert isinstance(found, type) and issubclass(found, TypedManager)
        return found

    @classmethod
    def _run_server(cls, *args: Any) -> None:
        """The stdlib's (registry, address, authkey, serializer, writer, initializer,
        initargs), serving with the source manager's server class."""
        serve(cls._server_class(), *args)

    def __init__(
        self,
        address: tuple[str, int] | str | bytes | None = None,
        authkey: bytes | None = None,
        serializer: str = "pickle",
        ctx: BaseContext | None = None,
        *,
        shutdown_timeout: float = 1.0,
        allow_insecure_network: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        server_ssl_context: ssl.SSLContext | None = None,
        reply_spin: float | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        """As ``BaseManager``.

        A server on a TCP address other than loopback refuses to start with an empty
        authkey, or with none (the process's inherited key, which remote clients cannot
        know and which the stdlib would then use anyway), unless ``allow_insecure_network``.

        ``ssl_context`` (made with ``ssl.Purpose.SERVER_AUTH``) makes this process's
        connections to the server TLS; ``server_ssl_context`` (``Purpose.CLIENT_AUTH``) is
        what ``get_server()`` and ``start()`` serve with. Both need a TCP address.

        ``reply_spin``: seconds this process's calls to the server wait awake for a reply,
        polling and yielding the CPU, before they sleep (default 50 us; 0: sleep at once).
        Waking a sleeping thread can cost more than a whole exchange.

        ``timeout``: seconds a call of this process to the server waits for its reply
        (default: no limit); past it, ``typedmgr.DeadlineExceeded``. ``with
        typedmgr.deadline(seconds):`` overrides it for a block. ``connect_timeout``:
        seconds connecting may take, handshakes included (default 30).
        """
        if reply_spin is not None and not reply_spin >= 0:
            raise ValueError(f"reply_spin must be >= 0 seconds, not {reply_spin!r}")
        for name, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 seconds, not {value!r}")
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        super().__init__(
            address, authkey, serializer, ctx, shutdown_timeout=shutdown_timeout
        )
        self._weak_key = not authkey
        self._allow_insecure_network = allow_insecure_network
        if ssl_context is not None:
            _tls.check_context(ssl_context, server_side=False)
        if server_ssl_context is not None:
            _tls.check_context(server_ssl_context, server_side=True)
        self._ssl_context = ssl_context
        self._reply_spin = reply_spin
        self._server_ssl_context = server_ssl_context
        if self._serializer == "pickle":
            self._Client = _channel.client
            self._remember()

    def _remember(self) -> None:
        """Lend this manager's key, TLS context and trust to proxies of its address."""
        _peers.remember(
            self._address,
            authkey=self._authkey,
            ssl_context=self._ssl_context,
            full_pickle=True if type(self)._Server.unpickling == "full" else None,
            reply_spin=self._reply_spin,
            timeout=self._timeout,
            connect_timeout=self._connect_timeout,
        )

    def _check_exposure(self) -> None:
        if self._weak_key and not self._allow_insecure_network:
            refuse_weak_key(self._address)

    @classmethod
    def register(
        cls,
        typeid: object,
        callable: Callable[..., object] | None = None,
        proxytype: object = None,
        exposed: Sequence[str] | None = None,
        method_to_typeid: Mapping[str, str] | None = None,
        create_method: bool = True,
        *,
        protocol_typeid: str | None = None,
        validate: bool | None = None,
    ) -> None:
        """Register a Protocol (or, as in the stdlib, a typeid string) and its implementation.

        Args:
            typeid: a ``typing.Protocol`` class, or a plain typeid string (stdlib behaviour).
            callable: builds the referent on the server; ``None`` for client-side managers.
            proxytype: defaults to the Protocol's generated proxy class when its module is
                imported, else an equivalent class built at runtime.
            exposed: defaults to the Protocol's methods.
            method_to_typeid: defaults to the methods returning a Protocol (or ``P | None``).
            create_method: add a creation method named after the typeid.
            protocol_typeid: the typeid of a Protocol registration; defaults to its name.
            validate: check the arguments of calls on this typeid's objects against the
                Protocol before calling them (``None``: as the manager's ``validate``).

        Raises:
            InterfaceError: the Protocol cannot be proxied, or ``callable`` does not
                implement it; the message names the Protocol, the method and the problem.
        """
        if isinstance(typeid, str):
            if validate is not None:
                raise TypeError(
                    "validate= needs a Protocol registration: a typeid string has no "
                    "annotations to check against"
                )
            super().register(
                typeid, callable, proxytype, exposed, method_to_typeid, False
            )
            if create_method:
                setattr(cls, typeid, creation_method(typeid, None))
            return
        protocol = protocol_of(typeid)
        if protocol is None:
            raise TypeError(
                f"register() takes a typeid string or a Protocol class, not {typeid!r}"
            )
        name = protocol_typeid or protocol.__name__
        registration = protocol_registration(
            name,
            protocol,
            callable,
            proxytype=proxytype,
            exposed=exposed,
            method_to_typeid=method_to_typeid,
            create_method=create_method,
            validate=validate,
        )
        if create_method and hasattr(managers.BaseManager, name):
            raise ValueError(
                f"typeid {name!r} of {protocol.__qualname__} would replace "
                f"BaseManager.{name}; pass protocol_typeid=... to rename it"
            )
        if "_registry" not in cls.__dict__:  # copied on write, as the stdlib does
            cls._registry = cls._registry.copy()
        cls._registry[name] = registration.entry()
        cls._registry.update(returned_entries(protocol, cls._registry))
        if "_protocols_" not in cls.__dict__:
            cls._protocols_ = dict(cls._protocols_)
        cls._protocols_[name] = (typeid, callable, create_method)
        if create_method:
            setattr(cls, name, creation_method(name, callable))

    def _create_proxy(
        self,
        typeid: str,
        proxytype: Callable[..., _P],
        /,
        *args: object,
        **kwds: object,
    ) -> _P:
        """Create a remote object of ``typeid`` and return its ``proxytype`` proxy."""
        if self._serializer != "pickle":  # xmlrpclib cannot carry typedmgr's requests
            token, exposed = self._create(typeid, *args, **kwds)
            proxy = proxytype(
                token,
                self._serializer,
                manager=self,
                authkey=self._authkey,
                exposed=exposed,
            )
            self._decref(token)
            return proxy
        # Looked up per creation: the address is known only once the server started.
        endpoint = endpoint_for(self._address, self._authkey, self._Client)
        proxytype = check_fingerprint(proxytype, typeid, endpoint)
        kind, result = endpoint.server_reply("create", typeid, *args, **kwds)
        if kind != _channel.PROXIED:
            raise _errors.explain(
                kind,
                result,
                address=self._address,
                typeid=typeid,
                ident=None,
                protocol=None,
                call=("__init__", args, kwds),
            ) or remote_error(kind, result)
        _, exposed, ident = result
        token = managers.Token(typeid, self._address, ident)
        return TypedProxy._adopting_proxy(proxytype, token, self, endpoint, exposed)

    def _decref(self, token: managers.Token) -> None:
        conn = self._Client(token.address, authkey=self._authkey)
        with contextlib.closing(conn):
            _stdlib.dispatch(conn, "decref", (token.id,))

    def _server_registry(self) -> dict[str, tuple[Any, Any, Any, Any]]:
        server_manager = self._source_manager()
        return server_manager._registry if server_manager else self._registry

    def connect(self) -> None:
        """Connect to a running server (the stdlib ignores ``_Client`` here, and its handshake)."""
        conn = self._Client(self._address, authkey=self._authkey)
        with contextlib.closing(conn):
            _stdlib.dispatch(conn, "dummy")
        _leases.revalidate(self._address)
        self._state.value = managers.State.STARTED  # type: ignore[attr-defined]

    def start(
        self,
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[object] = (),
    ) -> None:
        """Start a server process; a generated client manager serves its source's registry."""
        self._check_exposure()
        self._registry = self._server_registry()  # type: ignore[misc]
        if self._server_ssl_context is not None:
            if self._ssl_context is None:
                raise ValueError(
                    "a manager that starts a TLS server talks to it too: pass "
                    "ssl_context (for clients) as well as server_ssl_context"
                )
            if self._ctx.get_start_method() != "fork":
                raise ValueError(
                    "an SSLContext cannot be sent to a spawned server process: use the "
                    "fork start method, or serve with get_server().serve_forever()"
                )
        # Only this process may shut the server down: it alone knows the secret.
        secret = os.urandom(32)
        initializer = ServerStart(
            self._server_ssl_context, initializer, initargs, secret
        )
        super().start(initializer, ())
        _shutdown_secrets[self._address] = secret
        # A connection this process kept to the address, and what it knew of the server
        # there (TLS, a key), belong to a server that has gone: the port was reused.
        _leases.forget_server(self._address)
        _peers.forget(self._address)
        self._remember()  # the address is known now

    @staticmethod
    def _finalize_manager(
        process: Any,
        address: Any,
        authkey: bytes,
        state: Any,
        _Client: Callable[..., Connection],
        *rest: Any,
    ) -> None:
        """The stdlib's, sending the secret the server was started with."""
        secret = _shutdown_secrets.pop(address, None)
        if secret is not None and process.is_alive():
            try:
                conn = _Client(address, authkey=authkey)
                with contextlib.closing(conn):
                    _stdlib.dispatch(conn, "shutdown", (secret,))
            except Exception as e:
                util.info("sending shutdown to the manager failed: %r", e)
            else:
                process.join(rest[0] if rest else 1.0)
        _leases.forget_server(address)
        _stdlib.finalize_manager(process, address, authkey, state, _Client, *rest)

    def get_server(self) -> managers.Server:
        """The server object, of this manager's ``_Server`` class (the stdlib ignores it)."""
        self._check_exposure()
        return self._server_class()(
            self._server_registry(),
            self._address,
            self._authkey,
            self._serializer,
            ssl_context=self._server_ssl_context,
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        # A manager that connect()ed to someone else's server has nothing to shut down
        # (the stdlib raises AttributeError here).
        shutdown = getattr(self, "shutdown", None)
        if shutdown is not None:
            shutdown()
