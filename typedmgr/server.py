"""The manager server: the stdlib ``Server``, wire-compatible, with what a typed layer needs.

Differences from ``multiprocessing.managers.Server``, each invisible to stdlib clients:

* an exception raised by a referent carries its server-side traceback (gh-78279);
* a method declared ``-> P | None`` returns ``None`` as ``None``, not as a proxy of ``None``;
* ``__enter__`` declared ``-> Self`` replies ``None``: the caller's proxy is the result;
* typedmgr clients create objects, take references and release them on their long-lived
  connection, and what a client process holds is released when it dies (``sessions``);
* a proxy of one of its own objects that a request brings in (an argument kept by a
  referent, a proxy stored in a managed list) holds a counted reference, released when the
  server drops it: the stdlib keeps such objects forever (gh-103136, see ``_rebuild_proxy``);
* with ``validate`` on (``TypedManager`` class keyword or ``register(..., validate=True)``),
  a call's arguments are checked against its Protocol before the referent is called
  (``validation``); a mismatch is the caller's ``TypeError``.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import ipaddress
import logging
import pickle
import socket
import ssl
import sys
import threading
import time
import traceback
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Sequence, Set as AbstractSet
from multiprocessing import managers, util
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from typedmgr import _stdlib, auth, frames, introspect, tls
from typedmgr.channel import (
    BATCH,
    GETATTR,
    ITSELF,
    LARGE_PAYLOAD,
    ONEWAY,
    PROTOCOL,
    PROXIED,
    RELEASE,
    SERVER_RPCS,
    dumps,
    framed_uncopied,
    nodelay,
)
from typedmgr.compatibility import describe
from typedmgr.frames import Buffer, framed
from typedmgr.gate import BUSY, Gate, Ticket
from typedmgr.model import GENERATOR_TYPEID, ITERATOR_TYPEID, interface_of
from typedmgr.proxy import TRACEBACK_ATTR, ProxyFactory, TypedProxy
from typedmgr.sessions import Sessions, session_of
from typedmgr.unpickling import (
    AllowList,
    ProxyRecipe,
    RefusedType,
    loads_replacing,
    rebuild_inert,
    value_objects,
    value_types,
)
from typedmgr.validation import Validator, validator_for

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["TypedServer"]

_log = logging.getLogger("typedmgr.server")
#: Connections accepted and closed.
_connections_log = logging.getLogger("typedmgr.connections")
#: Handshakes (authkey, TLS) that failed.
_auth_log = logging.getLogger("typedmgr.auth")
#: Client sessions ended, and what they released.
_sessions_log = logging.getLogger("typedmgr.sessions")

#: The connection argument of server functions called by the server itself.
_SELF: Any = None
#: The session of connections that name none (stdlib clients): what they create and take
#: they hold together, and only that can they release.
ANONYMOUS = ""
#: What a pickled proxy may not decide for the proxy the server rebuilds from it.
_NOT_GIVEN = frozenset({"incref", "authkey", "manager", "manager_owned"})
#: Idents released per hold of the mutex: a long release lets others in between.
_RELEASE_CHUNK = 256


class LimitError(RuntimeError):
    """A request would take the server past one of its limits."""


class TypedServer(managers.Server):
    """The stdlib manager server plus tracebacks, ``P | None``, sessions and bulk replies."""

    if TYPE_CHECKING:
        # Stdlib internals typeshed does not declare.
        id_to_refcount: dict[str, int]
        authkey: bytes
        registry: dict[str, tuple[Any, Any, Any, Any]]
        id_to_obj: dict[str, tuple[Any, AbstractSet[str], Any]]  # type: ignore[assignment]
        id_to_local_proxy_obj: dict[str, tuple[Any, AbstractSet[str], Any]]
        stop_event: threading.Event
        mutex: threading.Lock
        listener: Any
        fallback_mapping: dict[str, Any]

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
    #: ``typedmgr inspect`` (``introspect``).
    public = [*managers.Server.public, introspect.REQUEST]  # noqa: RUF012

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
            tls.check_context(ssl_context, server_side=True)
            if not isinstance(address, tuple):
                raise ValueError(f"TLS needs a TCP address, not {address!r}")
        _check_full_pickle_exposure(registry, address, self.unpickling)
        super().__init__(registry, _ipv4_stand_in(address), authkey, serializer)
        if _ipv4_stand_in(address) is not address:  # the stdlib listens on IPv4 only
            _stdlib.listen_again(self, address, "AF_INET6")
        self.started = time.monotonic()
        #: The connections being served, by serving thread (``introspect``).
        self.links: dict[int, introspect.Link] = {}
        self.ssl_context = ssl_context
        #: Set by ``TypedManager.start()``: the secret its ``shutdown`` sends.
        self.shutdown_secret: bytes | None = None
        self._gate = Gate(
            handshake_timeout=self.handshake_timeout,
            max_unauthenticated=self.max_unauthenticated,
            max_connections=self.max_connections,
        )
        self.serializer = serializer
        # The Protocol each typeid serves; None for stdlib-style string registrations.
        self.protocols = {
            typeid: _protocol_of_entry(entry)
            for typeid, entry in registry.items()
            if typeid not in (ITERATOR_TYPEID, GENERATOR_TYPEID)
        }
        all_protocols = all(self.protocols.values())
        self._full_loads: Callable[[bytes | bytearray], Any] | None = None
        self.loads = self._loader(all_protocols)
        self.accepts_md5 = (
            not all_protocols if self.legacy_md5 is None else self.legacy_md5
        )
        self.sessions = Sessions()
        self._creations = _creations(registry)
        self._validators = _validators(registry, self.protocols, self.validate)
        # Each served connection has a thread of its own: per-connection state lives here.
        self._connection = threading.local()
        # The connection threads: one waits awake for its client's next request only while
        # no other is getting requests (frames.Crowd).
        self._crowd = frames.Crowd()
        # Proxies of our own objects that requests brought in (see _rebuild_proxy):
        # id(proxy) -> (weak reference, ident); idents of those collected, to be released.
        self._local_proxies: dict[int, tuple[weakref.ref[Any], str]] = {}
        self._local_releases: list[str] = []
        # References taken for proxies sent in replies, until their receivers incref:
        # ident -> count, and ident -> the connections (threads) that sent them.
        self._in_flight: dict[str, int] = {}
        self._senders: dict[str, Counter[int]] = {}

    def _loader(self, all_protocols: bool) -> Callable[[bytes | bytearray], Any]:
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

    def _handle_request(self, c: Connection) -> None:
        """A new connection: authenticate, then one server request (loaded like any other)."""
        request = None
        try:
            try:
                key, md5 = bytes(self.authkey), self.accepts_md5
                auth.deliver_challenge(c, key, legacy_md5=md5)
                auth.answer_challenge(c, key, legacy_md5=md5)
            except Exception as e:
                _auth_log.warning(
                    "authkey handshake with %s failed: %s%s",
                    self._peer(),
                    e or repr(e),
                    " (the client holds another authkey)"
                    if str(e) == "digest received was wrong"
                    else "",
                )
                raise
            self._gate.authenticated(getattr(self._connection, "ticket", None))
            try:
                if self.serializer == "pickle":
                    request = self.loads(frames.read_message(c, self.max_message_size))
                else:
                    request = c.recv()
            except RefusedType as e:
                _log.warning("refused a request from %s: %s", self._peer(), e)
                raise
            _, funcname, args, kwds = request
            if funcname not in self.public:  # an assert in the stdlib: gone under -O
                raise ValueError(f"{funcname!r} unrecognized")
            func = getattr(self, funcname)
        except Exception:
            msg: tuple[str, object] = ("#TRACEBACK", traceback.format_exc())
        else:
            try:
                msg = ("#RETURN", func(c, *args, **kwds))
            except Exception:
                msg = ("#TRACEBACK", traceback.format_exc())
        try:
            c.send(msg)
        except Exception as e:
            with contextlib.suppress(Exception):
                c.send(("#TRACEBACK", traceback.format_exc()))
            util.info("failure to send %r in reply to %r: %r", msg, request, e)

    # Accepting connections. The stdlib's accepter thread starts a thread per connection
    # and dies on the first exception (thread creation failing under load): the server then
    # listens and serves no one, for good. This one survives anything, and admits through
    # the gate (typedmgr.gate): bounded connections, a deadline on the handshake.

    def accepter(self) -> None:
        """Accept connections until the process ends; no failure stops it."""
        while True:
            try:
                conn = self.listener.accept()
            except Exception as e:  # EMFILE, a reset before accept, a TLS listener...
                util.info("accepting a connection failed: %r", e)
                if self.stop_event.wait(0.01):  # out of descriptors: do not spin
                    return
                continue
            try:
                self._start_connection(conn)
            except Exception as e:
                util.info("serving a connection failed: %r", e)
                with contextlib.suppress(Exception):
                    conn.close()

    def _start_connection(self, conn: Connection) -> None:
        ticket = self._gate.admit(conn)
        if isinstance(ticket, str):
            self._refuse(conn, ticket)
            return
        try:
            thread = threading.Thread(
                target=self._serve_connection, args=(conn, ticket), daemon=True
            )
            thread.start()
        except BaseException as e:
            self._gate.closed(ticket)
            self._refuse(conn, f"the server could not start a thread ({e})")

    @staticmethod
    def _refuse(conn: Connection, reason: str) -> None:
        """Turn a connection away politely: a typedmgr client waits and tries again."""
        util.info("refused a connection: %s", reason)
        with contextlib.suppress(Exception):
            conn.send_bytes(BUSY + reason.encode())
        conn.close()

    def _serve_connection(self, conn: Connection, ticket: Ticket) -> None:
        self._connection.ticket = ticket
        try:
            self.handle_request(conn)
        finally:
            self._gate.closed(ticket)

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

    def accept_connection(self, c: Connection, name: str) -> None:
        """Serve a long-lived connection; when a session's lease ends, release its refs."""
        session, is_lease = session_of(name)
        self._connection.session = session
        link = self.links.get(threading.get_ident())
        if link is not None:
            link.session, link.lease, link.name = session, is_lease, name
        try:
            super().accept_connection(c, name)
        finally:
            self._return_in_flight()
            if is_lease and session is not None:
                self._end_session(session)
            self._release_local()

    # References. The stdlib counts them per object (id_to_refcount); a TypedServer also
    # counts those each client session holds (self.sessions), and those that replies carry
    # in flight (_sent). All three change together, under self.mutex.

    def _session(self) -> str:
        """The session of the connection this thread serves; ``ANONYMOUS`` for one that
        names none (a stdlib client)."""
        session: str | None = getattr(self._connection, "session", None)
        return ANONYMOUS if session is None else session

    def create(
        self, c: Any, typeid: str, /, *args: object, **kwds: object
    ) -> tuple[str, tuple[str, ...]]:
        """The stdlib ``create``; the new reference is counted against the connection's
        session, if it has one."""
        return self._create(typeid, args, kwds, self._session())

    def _create(
        self,
        typeid: str,
        args: tuple[object, ...],
        kwds: dict[str, object],
        session: str | None,
    ) -> tuple[str, tuple[str, ...]]:
        """A new object of ``typeid`` and one new reference to it, held by ``session`` if
        given; what a typeid exposes is worked out once, unless its objects decide it.

        The reference is a new one: references in flight are for the proxies that carry
        them (``_take_ref``).
        """
        creation = self._creations.get(typeid)
        if creation is None:
            # What the stdlib raises: KeyError for an unknown typeid, else TypeError for
            # a method_to_typeid that is not a dict.
            method_to_typeid = self.registry[typeid][2]
            raise TypeError(
                f"Method_to_typeid {method_to_typeid!r}: type "
                f"{type(method_to_typeid)!s}, not dict"
            )
        factory, exposed, names, method_to_typeid = creation
        self._check_room(session, None)
        # The object is new: built outside the mutex, which every other client's creations
        # and releases need (the stdlib holds it while a user constructor runs).
        if factory is not None:
            obj = factory(*args, **kwds)
        elif kwds or len(args) != 1:
            raise ValueError("Without callable, must have one non-keyword argument")
        else:
            obj = args[0]
        if names is None:  # ``exposed=None``: the object's public methods
            names = (*_stdlib.public_methods(obj), *(method_to_typeid or ()))
            exposed = frozenset(names)
        ident = f"{id(obj):x}"
        with self.mutex:
            self._check_room(session, ident)
            self.id_to_obj[ident] = (obj, exposed, method_to_typeid)
            self.id_to_refcount[ident] = self.id_to_refcount.get(ident, 0) + 1
            if session is not None:
                self.sessions.adopted(session, ident)
        return ident, names

    def _check_room(self, session: str | None, ident: str | None) -> None:
        """Raise ``LimitError`` if ``session`` may not hold one more object (``ident``,
        if known: one it holds already takes no room)."""
        if ident is not None and ident in self.id_to_obj:
            # An object that exists: it takes room only in a session not holding it yet.
            if session is None or self.sessions.holds(session, ident):
                return
        elif len(self.id_to_obj) >= self.max_objects:
            raise LimitError(
                f"the server holds {len(self.id_to_obj)} objects, its limit "
                "(max_objects): release proxies no longer needed, or raise it with "
                "`class M(TypedManager, max_objects=...)`"
            )
        if session is not None and self.sessions.count(session) >= (
            self.max_session_objects
        ):
            raise LimitError(
                f"this client holds {self.sessions.count(session)} objects, the "
                "server's limit (max_session_objects): release proxies it no longer "
                "needs, or raise it with `class M(TypedManager, max_session_objects=...)`"
            )

    def incref(self, c: Any, ident: str) -> None:
        """The stdlib incref, counted against the connection's session; the receiver of a
        proxy that a reply carried takes over its in-flight reference instead."""
        self._take_ref(ident, self._session())

    def decref(self, c: Any, ident: str) -> None:
        """The stdlib decref, of a reference the connection's session holds (a stdlib
        client's: one that a connection naming no session took)."""
        if not self._release_refs(self._session(), (ident,)):
            if ident in self.id_to_local_proxy_obj and ident not in self.id_to_refcount:
                return  # the stdlib skips a stashed referent
            raise KeyError(
                f"decref of {ident!r}: this connection's session holds no reference to it"
            )

    def _release(self, conn: Connection, idents: tuple[str, ...]) -> None:
        """Decrefs of collected proxies; a bad ident must not end the connection."""
        try:
            if not self._release_refs(self._session(), idents):
                util.info("release of unknown objects ignored: %r", idents)
        except Exception:
            util.info("malformed release %r ignored", idents)

    def _release_refs(self, session: str | None, idents: Iterable[str]) -> bool:
        """Give back one reference to each of ``idents``; whether each was known.

        On a session's connection, only references the session holds: any other was taken
        back already, by the session's end or by the object's disposal (its ident may
        belong to another object by now).
        """
        known = True
        disposed: list[object] = []
        idents = list(idents)
        for start in range(0, len(idents), _RELEASE_CHUNK):
            with self.mutex:  # taken per chunk: others get their turn in between
                for ident in idents[start : start + _RELEASE_CHUNK]:
                    if session is None or self.sessions.released(session, ident):
                        known = self._drop(ident, disposed) and known
                    else:
                        known = False
        del disposed  # outside the mutex: an object holding proxies releases more
        self._release_local()
        return known

    def _drop(self, ident: str, disposed: list[object]) -> bool:
        """One reference fewer to ``ident``, under the mutex; whether it had any.

        An object left without references goes to ``disposed``, to be dropped once the
        mutex is released (the stdlib's two-step disposal).
        """
        count = self.id_to_refcount.get(ident)
        if not count:
            return False
        if count > 1:
            self.id_to_refcount[ident] = count - 1
            return True
        del self.id_to_refcount[ident]
        disposed.append(self.id_to_obj.pop(ident, None))
        self.sessions.forget(ident)  # its ident may soon name another object
        return True

    def _end_session(self, session: str) -> None:
        """A client process's lease closed: give back every reference its session held."""
        disposed: list[object] = []
        with self.mutex:
            held = self.sessions.end(session)
        items = list(held.items())
        for start in range(0, len(items), _RELEASE_CHUNK):
            with self.mutex:
                for ident, count in items[start : start + _RELEASE_CHUNK]:
                    for _ in range(min(count, self.id_to_refcount.get(ident, 0))):
                        self._drop(ident, disposed)
        _sessions_log.info(
            "session %s of %s ended: released %d references to %d objects "
            "(%d disposed of)",
            session,
            self._peer(),
            sum(held.values()),
            len(held),
            sum(1 for obj in disposed if obj is not None),
        )
        del disposed
        self._release_local()

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

        A proxy of another server is rebuilt inert (``unpickling.rebuild_inert``): loading a
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
        self._take_ref(ident)
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
            self._local_releases.append(ident)
            raise
        key = id(proxy)
        self._local_proxies[key] = (weakref.ref(proxy), ident)
        util.Finalize(proxy, self._local_proxy_collected, args=(key, ident))
        return proxy

    def _local_proxy_collected(self, key: int, ident: str) -> None:
        """Finalizer of a proxy the server held: queue its release (no lock is taken here:
        it runs wherever the proxy dies)."""
        entry = self._local_proxies.get(key)
        if entry is not None and entry[0]() is None:
            del self._local_proxies[key]
        self._local_releases.append(ident)

    def _release_local(self) -> None:
        """Release the references of the collected server-held proxies (and of those their
        objects held in turn); called between requests."""
        while self._local_releases:
            try:
                ident = self._local_releases.pop()
            except IndexError:
                return
            disposed: list[object] = []
            with self.mutex:
                if not self._drop(ident, disposed):
                    util.info("release of server-held proxy of %r failed", ident)
            del disposed

    def _take_ref(self, ident: str, session: str | None = None) -> None:
        """One more reference to ``ident``: one taken for a reply in flight, or a new one;
        held by ``session``, if given."""
        with self.mutex:
            if session is not None:
                self._check_room(session, ident)
            in_flight = self._in_flight.get(ident)
            count = self.id_to_refcount.get(ident)
            if in_flight:
                if in_flight > 1:
                    self._in_flight[ident] = in_flight - 1
                else:
                    del self._in_flight[ident]
            elif count:
                self.id_to_refcount[ident] = count + 1
            if session is not None and (in_flight or count):
                self.sessions.adopted(session, ident)
        if not (in_flight or count):
            # The stdlib's: restores a referent stashed in id_to_local_proxy_obj, or raises.
            super().incref(_SELF, ident)
            if session is not None:
                with self.mutex:
                    self.sessions.adopted(session, ident)

    def _sent(self, idents: list[str]) -> None:
        """Server-held proxies were pickled into a reply: keep their objects alive until
        the receivers incref (the stdlib RebuildProxy does, on a connection of its own), or
        until every connection that sent them has closed."""
        sender = threading.get_ident()
        with self.mutex:
            for ident in idents:
                # A proxy the server holds holds a reference: its object is counted.
                self.id_to_refcount[ident] += 1
                self._in_flight[ident] = self._in_flight.get(ident, 0) + 1
                self._senders.setdefault(ident, Counter())[sender] += 1

    def _return_in_flight(self) -> None:
        """This connection closed: release the in-flight references no receiver took over,
        of the objects no open connection has sent."""
        sender = threading.get_ident()
        disposed: list[object] = []
        with self.mutex:
            for ident in [i for i, s in self._senders.items() if sender in s]:
                senders = self._senders[ident]
                del senders[sender]
                if not senders:
                    del self._senders[ident]
                    for _ in range(self._in_flight.pop(ident, 0)):
                        self._drop(ident, disposed)
        del disposed
        self._release_local()

    def number_of_objects(self, c: Any) -> int:
        """The stdlib count, once the proxies the server dropped are released."""
        self._release_local()
        return int(super().number_of_objects(c))

    def debug_info(self, c: Any) -> str:
        """The stdlib's list of every object, with its ``str()``: only if ``remote_admin``
        (it hands out every object's ident, which names it in calls)."""
        if not self.remote_admin:
            raise PermissionError(
                "debug_info refused: it lists every client's objects; serve with "
                "`class M(TypedManager, remote_admin=True)` to allow it"
            )
        self._release_local()
        return str(super().debug_info(c))

    def serve_client(self, conn: Connection) -> None:
        """Serve one client connection until it closes; same messages as the stdlib's.

        Requests that have already arrived are answered together, in one write.
        """
        if self.serializer != "pickle":
            return self._serve_unbuffered(conn)
        wire = frames.Wire(
            conn, self.max_message_size, spin=self.request_spin, crowd=self._crowd
        )
        replies: list[Buffer] = []
        link = self.links.get(threading.get_ident(), introspect.Link(""))
        while not self.stop_event.is_set():
            try:
                payload: bytes | bytearray | None = wire.buffered()
                if payload is None:
                    self._flush(wire, replies)
                    payload = wire.read()
            except EOFError:
                sys.exit(0)
            # Garbled framing: this stream cannot be resynchronised.
            except Exception as e:
                self._give_up(conn, e)
            link.last = time.monotonic()
            try:
                request = self.loads(payload)
            except Exception as e:
                if isinstance(e, RefusedType):
                    _log.warning("refused a request from %s: %s", self._peer(), e)
                msg: tuple[str, object] | None = ("#TRACEBACK", traceback.format_exc())
            else:
                msg = self._handle(conn, request)
                del request  # proxies it carried must not live until the next one
            if msg is not None:
                replies += self._encode(conn, msg)
            msg = None
            self._release_local()
        self._flush(wire, replies)

    def _serve_unbuffered(self, conn: Connection) -> None:
        """The loop for other serializers (xmlrpclib): one message at a time."""
        while not self.stop_event.is_set():
            try:
                request = conn.recv()
            except EOFError:
                sys.exit(0)
            except Exception:
                msg: tuple[str, object] | None = ("#TRACEBACK", traceback.format_exc())
            else:
                msg = self._handle(conn, request)
                del request
            self._release_local()
            if msg is None:
                continue
            if msg[0] == BATCH:
                msg = ("#RETURN", msg[1])
            try:
                try:
                    conn.send(msg)
                except Exception:
                    conn.send(("#UNSERIALIZABLE", traceback.format_exc()))
            except Exception as e:
                self._give_up(conn, e)

    def _handle(self, conn: Connection, request: Any) -> tuple[str, object] | None:
        """The reply to one request, or ``None`` for the one-way kinds; never raises."""
        try:
            return self._dispatch(conn, request)
        except Exception:  # a malformed request (unhashable names, wrong shapes...)
            return ("#TRACEBACK", traceback.format_exc())

    def _dispatch(self, conn: Connection, request: Any) -> tuple[str, object] | None:
        if len(request) == 5:  # a typedmgr client's: see channel.PROXIED
            ident, methodname, args, kwds, released = request
            if released:
                self._release(conn, released)
            typed = True
        else:
            ident, methodname, args, kwds = request
            typed = False
        if ident is None:
            if methodname == RELEASE:
                self._release(conn, args)
                return None
            if methodname == BATCH:  # encoded as "#RETURN" (see _encode)
                return (BATCH, self._batch(conn, args))
            return self._server_rpc(conn, methodname, args, kwds)
        if methodname == ONEWAY:
            self._oneway(conn, ident, args, kwds)
            return None
        return self._call(conn, ident, methodname, args, kwds, typed)

    def _batch(self, conn: Connection, requests: Any) -> list[tuple[str, object]]:
        """Run a batch's requests in order: the replies of those that have one."""
        replies: list[tuple[str, object]] = []
        for request in requests:
            if isinstance(request, tuple) and request[:2] == (None, BATCH):
                replies.append(("#ERROR", ValueError("a batch cannot hold a batch")))
                continue
            msg = self._handle(conn, request)
            if msg is not None:
                replies.append(msg)
        return replies

    def _encode(self, conn: Connection, msg: tuple[str, object]) -> Sequence[Buffer]:
        """A reply, framed; a reply that cannot be pickled becomes ``#UNSERIALIZABLE``.

        A batch's replies go as one ``#RETURN``, each that cannot be pickled replaced.
        A large bytes result is written from its own memory, uncopied (a bytearray is
        copied: the reply may wait for the requests that arrived with it, which could
        change it meanwhile).
        """
        result = msg[1]
        if (
            msg[0] == "#RETURN"
            and type(result) is bytes
            and len(result) >= LARGE_PAYLOAD
        ):
            return framed_uncopied(msg)
        if msg[0] == BATCH:
            replies: Any = msg[1]
            msg = ("#RETURN", replies)
            try:
                return framed(self._dumps_reply(msg))
            except Exception:
                msg = ("#RETURN", [_sendable(reply) for reply in replies])
        try:
            return framed(self._dumps_reply(msg))
        except Exception as e:
            try:
                return framed(dumps(_unserializable(msg, e)))
            except Exception as e:
                self._give_up(conn, e)

    def _dumps_reply(self, msg: tuple[str, object]) -> bytes:
        """``dumps``; server-held proxies in the reply get an in-flight reference each."""
        if not self._local_proxies:
            return dumps(msg)
        pickler = _ReplyPickler(self._local_proxies)
        try:
            data = pickler.dumps(msg)
        except Exception:
            return dumps(msg)  # what plain pickle refuses (the stdlib reducers' types)
        if pickler.sent:
            self._sent(pickler.sent)
        return data

    def _flush(self, wire: frames.Wire, replies: list[Buffer]) -> None:
        if replies:
            try:
                wire.write(replies)
            except Exception as e:
                self._give_up(wire.conn, e)
            replies.clear()

    def _give_up(self, conn: Connection, error: Exception) -> NoReturn:
        _log.warning("closing the connection of %s: %s", self._peer(), error)
        util.info(
            "exception in thread serving %r: %r", threading.current_thread().name, error
        )
        conn.close()
        sys.exit(1)

    def _result(
        self,
        conn: Connection,
        gettypeid: Any,
        name: str,
        res: object,
        typed: bool,
        obj: object,
    ) -> tuple[str, object]:
        """A copy of ``res``, or a remote object when ``method_to_typeid`` names ``name``:
        ``PROXIED`` for a typedmgr caller, a stdlib ``#PROXY`` for any other."""
        if name in getattr(gettypeid, "itself", ()):
            # ``__enter__ -> Self``: the caller keeps its proxy.
            return ("#RETURN", None)
        if res is obj and typed and name in getattr(gettypeid, "fluent", ()):
            # ``-> Self`` returned the referent: the caller keeps its proxy.
            return (ITSELF, None)
        typeid = gettypeid and gettypeid.get(name)
        if not typeid or (res is None and name in _optional(gettypeid)):
            return ("#RETURN", res)
        if typed:
            rident, rexposed = self._create(typeid, (res,), {}, self._session())
            return (PROXIED, (typeid, rexposed, rident))
        # A stdlib proxy (a typedmgr client's process may have some) takes and gives back
        # its references on connections of their own, naming no session: so does this.
        rident, rexposed = self._create(typeid, (res,), {}, ANONYMOUS)
        return ("#PROXY", (rexposed, managers.Token(typeid, self.address, rident)))

    def _getattr(
        self,
        conn: Connection,
        obj: object,
        exposed: AbstractSet[str],
        gettypeid: Any,
        name: str,
        typed: bool,
    ) -> tuple[str, object]:
        """Read an exposed property or attribute; a Protocol-typed one comes back proxied."""
        if name not in exposed:
            return ("#TRACEBACK", f"attribute {name!r} of {type(obj)!r} is not exposed")
        try:
            res = getattr(obj, name)
        except Exception as e:
            _attach_traceback(e)
            return ("#ERROR", e)
        return self._result(conn, gettypeid, name, res, typed, obj)

    def fingerprint(
        self, c: Connection, typeid: str, fingerprint: str, methods: bool = False
    ) -> tuple[object, ...] | None:
        """``None`` if ``typeid``'s Protocol has this fingerprint here, else its signatures
        (clients before schema evolution), or with ``methods`` its methods described for
        a per-method comparison (``compatibility.describe``)."""
        protocol = self.protocols.get(typeid)
        if protocol is None:
            return None  # not a Protocol registration: nothing to compare
        interface = interface_of(protocol)
        if interface.fingerprint == fingerprint:
            return None
        return describe(protocol) if methods else interface.signature_lines

    def _oneway(self, conn: Connection, ident: str, args: Any, kwds: Any) -> None:
        """Run a one-way call; nobody waits for it, so its failure goes to the log."""
        methodname, call_args = args
        kind, result = self._call(conn, ident, methodname, call_args, kwds, True)
        if kind == "#ERROR":
            assert isinstance(result, BaseException)
            _log.error(
                "one-way call %s() failed (caller %s)",
                methodname,
                self._peer(),
                exc_info=(type(result), result, result.__traceback__),
            )
        elif kind != "#RETURN":
            _log.error(
                "one-way call %s() failed (caller %s):\n%s",
                methodname,
                self._peer(),
                result,
            )

    def _call(
        self,
        conn: Connection,
        ident: str,
        methodname: str,
        args: Any,
        kwds: Any,
        typed: bool,
    ) -> tuple[str, object]:
        """Call a method of a referent; the reply the stdlib would send, traceback kept
        (a returned remote object as ``PROXIED`` if the caller is ``typed``)."""
        obj = None
        try:
            obj, exposed, gettypeid = self._lookup(ident)
            if methodname == GETATTR:
                return self._getattr(conn, obj, exposed, gettypeid, args[0], typed)
            if methodname not in exposed:
                raise AttributeError(
                    f"method {methodname!r} of {type(obj)!r} object is not in "
                    f"exposed={exposed!r}"
                )
            function = getattr(obj, methodname)
            validator = self._validators.get(id(gettypeid))
            try:
                if validator is not None:
                    validator.check(methodname, args, kwds)
                res = function(*args, **kwds)
            except Exception as e:
                _attach_traceback(e)
                return ("#ERROR", e)
            return self._result(conn, gettypeid, methodname, res, typed, obj)
        except AttributeError:
            return self._fallback(conn, ident, obj, methodname, args, kwds)
        except Exception:
            return ("#TRACEBACK", traceback.format_exc())

    def handle_request(self, conn: Connection) -> None:
        """Serve a new connection, TCP_NODELAY first (the stdlib's handshake waits on Nagle).

        On a TLS server the TLS handshake comes first, in this connection's own thread: a
        peer that fails it (plaintext, a certificate the context refuses) is disconnected.
        """
        conn = nodelay(conn)
        link = introspect.Link(introspect.peer_of(conn))
        thread = threading.get_ident()
        self.links[thread] = link
        _connections_log.debug("connection from %s accepted", link.peer)
        try:
            if self.ssl_context is not None:
                try:
                    conn = tls.handshake(
                        conn, self.ssl_context, self.tls_handshake_timeout
                    )
                except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
                    _auth_log.warning("TLS handshake with %s failed: %s", link.peer, e)
                    util.info("TLS handshake with a client failed: %r", e)
                    return
            super().handle_request(conn)
        finally:
            del self.links[thread]
            _connections_log.debug(
                "connection from %s closed after %.1f s%s",
                link.peer,
                time.monotonic() - link.since,
                f" ({link.name})" if link.name else "",
            )

    def _peer(self) -> str:
        """The peer of the connection this thread serves, as logs name it."""
        link = self.links.get(threading.get_ident())
        return link.peer if link is not None else "?"

    def introspect(self, c: Connection) -> dict[str, Any]:
        """The report ``typedmgr inspect`` prints (``introspect.report``)."""
        return introspect.report(self)

    def _server_rpc(
        self, conn: Connection, name: str, args: tuple[Any, ...], kwds: dict[str, Any]
    ) -> tuple[str, object]:
        """create/incref/decref on a client's long-lived connection: no new connection."""
        if name not in SERVER_RPCS:
            return (
                "#TRACEBACK",
                f"{name!r} is not a server function a client may call here",
            )
        try:
            result = getattr(self, name)(conn, *args, **kwds)
        except Exception:
            return ("#TRACEBACK", traceback.format_exc())
        if name == "create":  # the new object comes back as returned ones do
            ident, exposed = result
            return (PROXIED, (args[0], exposed, ident))
        return ("#RETURN", result)

    def _lookup(self, ident: str) -> tuple[Any, AbstractSet[str], Any]:
        try:
            return self.id_to_obj[ident]
        except KeyError:
            if ident in self.id_to_local_proxy_obj:
                return self.id_to_local_proxy_obj[ident]
            raise

    def _fallback(
        self,
        conn: Connection,
        ident: object,
        obj: object,
        methodname: str,
        args: Any,
        kwds: Any,
    ) -> tuple[str, object]:
        """``__str__``, ``__repr__`` and ``#GETVALUE`` work whatever is exposed (as stdlib)."""
        try:
            result = self.fallback_mapping[methodname](
                self, conn, ident, obj, *args, **kwds
            )
        except Exception:
            return ("#TRACEBACK", traceback.format_exc())
        return ("#RETURN", result)


_Creation = tuple[Any, frozenset[str], tuple[str, ...] | None, Any]


def _creations(registry: dict[str, tuple[Any, Any, Any, Any]]) -> dict[str, _Creation]:
    """What creating an object of each typeid needs: its callable, the names it exposes as
    ``id_to_obj`` holds them and as the reply lists them (``None``: each object's public
    methods), its ``method_to_typeid``. Typeids the stdlib refuses to create are left out."""
    creations: dict[str, _Creation] = {}
    for typeid, (factory, exposed, method_to_typeid, _) in registry.items():
        if not isinstance(method_to_typeid, (dict, type(None))):
            continue
        if exposed is None:
            creations[typeid] = (factory, frozenset(), None, method_to_typeid)
            continue
        names = (*exposed, *(method_to_typeid or ()))
        creations[typeid] = (factory, frozenset(names), names, method_to_typeid)
    return creations


def _sendable(msg: tuple[str, object]) -> tuple[str, object]:
    """``msg`` if it pickles, else the ``#UNSERIALIZABLE`` reply saying why."""
    try:
        dumps(msg)
    except Exception as e:
        return _unserializable(msg, e)
    return msg


def _unserializable(msg: tuple[str, object], error: Exception) -> tuple[str, str]:
    """The ``#UNSERIALIZABLE`` reply to ``msg``: its first line names the value's type
    (``typedmgr.errors`` reads it), the traceback follows."""
    cls = type(msg[1])
    _log.warning(
        "cannot pickle a %s.%s reply: %s", cls.__module__, cls.__qualname__, error
    )
    return (
        "#UNSERIALIZABLE",
        f"cannot pickle the result, a {cls.__module__}.{cls.__qualname__}: {error}\n"
        + traceback.format_exc(),
    )


class _ReplyPickler(pickle.Pickler):
    """Pickles a reply as ``dumps`` does, noting the server-held proxies in it."""

    def __init__(self, local_proxies: dict[int, tuple[weakref.ref[Any], str]]) -> None:
        self._file = io.BytesIO()
        super().__init__(self._file, PROTOCOL)
        self._local_proxies = local_proxies
        self.sent: list[str] = []

    def dumps(self, msg: object) -> bytes:
        self.dump(msg)
        return self._file.getvalue()

    def reducer_override(self, obj: Any) -> Any:
        entry = self._local_proxies.get(id(obj))
        if entry is not None and entry[0]() is obj:
            self.sent.append(entry[1])
        return NotImplemented


def is_local_address(address: Any) -> bool:
    """Whether only this host can reach ``address``: a unix socket, or a host name that
    resolves to loopback addresses only (by what it resolves to, not how it is spelled:
    ``127.attacker.example`` is not local)."""
    if not isinstance(address, tuple):
        return True  # a unix socket (or a Windows pipe)
    host = address[0]
    if not isinstance(host, str) or not host:
        return False  # "": every interface
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    try:
        return bool(infos) and all(
            ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
            for info in infos
        )
    except ValueError:
        return False


def _check_full_pickle_exposure(
    registry: dict[str, Any], address: Any, unpickling: str
) -> None:
    """Refuse to serve string registrations (the stdlib's trust: a peer with the key runs
    code) beyond this host, unless ``unpickling="full"`` was chosen explicitly."""
    if unpickling != "auto":
        return
    strings = sorted(
        typeid
        for typeid, entry in registry.items()
        if typeid != ITERATOR_TYPEID and _protocol_of_entry(entry) is None
    )
    if strings and not is_local_address(address):
        raise ValueError(
            f"refusing to serve string registrations ({', '.join(strings)}) on "
            f"{address!r}, which other hosts can reach: they load requests in full, so "
            "any key holder could run code here; register Protocols, or accept that "
            'with `class M(TypedManager, unpickling="full")`'
        )


def _protocol_of_entry(entry: tuple[Any, ...]) -> type | None:
    """The Protocol a registry entry serves, from its proxytype; ``None`` for stdlib ones."""
    proxytype = entry[-1]
    protocol = getattr(proxytype, "protocol", None) or getattr(
        proxytype, "_protocol_", None
    )
    return protocol if isinstance(protocol, type) else None


def _validators(
    registry: dict[str, Any], protocols: dict[str, type | None], default: bool
) -> dict[int, Validator]:
    """The argument validators of the registrations that validate, built once.

    Keyed by the ``id`` of the registration's ``method_to_typeid`` object: the server's record
    of a referent keeps that object, not the typeid (each Protocol registration has its own).
    """
    validators: dict[int, Validator] = {}
    for typeid, entry in registry.items():
        protocol = protocols.get(typeid)
        methods = entry[2]
        if protocol is None or methods is None:
            continue
        flag = getattr(methods, "validate", None)
        if default if flag is None else flag:
            validators[id(methods)] = validator_for(interface_of(protocol))
    return validators


def _optional(method_to_typeid: dict[str, str] | None) -> frozenset[str]:
    return getattr(method_to_typeid, "optional", frozenset())


def _attach_traceback(exc: BaseException) -> None:
    """Let the traceback travel with the pickled exception (the stdlib drops it)."""
    # An exception type that refuses attributes travels without its traceback.
    with contextlib.suppress(Exception):
        setattr(exc, TRACEBACK_ATTR, "".join(traceback.format_exception(exc)))


def _ipv4_stand_in(address: Any) -> Any:
    """An address the stdlib's ``Server`` can listen on, for an IPv6 one (listened on in
    its place once the stdlib's ``__init__`` is done); any other address as it is."""
    if isinstance(address, tuple) and ":" in str(address[0]):
        return ("127.0.0.1", 0)
    return address
