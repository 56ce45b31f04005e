"""Dispatch: what the server does with one request, and the reply it makes of the result.

A request is a call on a referent (its arguments checked against the Protocol first when
validation is on), a one-way call, an attribute read, a batch of requests, a release, or a
server function (create, incref, decref, fingerprint) on a client's long-lived connection.
A result is sent as a copy, or as a remote object when its registration says so
(``_registration.Returns``); an exception raised by a referent carries its traceback.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import sys
import traceback
from collections.abc import Set as AbstractSet
from multiprocessing import managers, util
from typing import TYPE_CHECKING, Any

from typedmgr import _stdlib
from typedmgr._compatibility import describe
from typedmgr._model import interface_of
from typedmgr._registration import Registration, registration_of
from typedmgr._server import coroutines, mux
from typedmgr._server.books import ANONYMOUS
from typedmgr._server.loop import ServingLoop
from typedmgr._server.takeover import Watch
from typedmgr._validation import Validator, validator_for
from typedmgr._wire import (
    BATCH,
    GETATTR,
    ITSELF,
    MUX,
    ONEWAY,
    PROXIED,
    RELEASE,
    SERVER_RPCS,
    TRACEBACK_ATTR,
)

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["Creation", "Dispatcher", "creations", "validators"]

_log = logging.getLogger("typedmgr.server")

#: Requests a batch may not hold (compared by equality: a malformed one may not hash).
_NOT_IN_BATCH = ((None, BATCH), (None, MUX))

#: What creating an object of a typeid needs: its callable, the names it exposes as
#: ``id_to_obj`` holds them and as the reply lists them (``None``: each object's public
#: methods), its registration.
Creation = tuple[Any, frozenset[str], tuple[str, ...] | None, Registration]


class Dispatcher(ServingLoop):
    """Requests to replies: calls, attribute reads, batches, releases, server functions."""

    if TYPE_CHECKING:
        # Stdlib internals typeshed does not declare.
        registry: dict[str, tuple[Any, Any, Any, Any]]
        id_to_refcount: dict[str, int]
        id_to_obj: dict[str, tuple[Any, AbstractSet[str], Any]]  # type: ignore[assignment]
        id_to_local_proxy_obj: dict[str, tuple[Any, AbstractSet[str], Any]]
        fallback_mapping: dict[str, Any]

    # Set by ``TypedServer.__init__``.
    #: The Protocol each typeid serves; None for stdlib-style string registrations.
    protocols: dict[str, type | None]
    _creations: dict[str, Creation]
    #: The argument validators of the registrations that validate, by typeid.
    _validators: dict[str, Validator]
    mux_watch: Watch

    def _handle(self, conn: Connection, request: Any) -> tuple[str, object] | None:
        """The reply to one request, or ``None`` for the one-way kinds; never raises."""
        try:
            return self._dispatch(conn, request)
        except Exception:  # a malformed request (unhashable names, wrong shapes...)
            return ("#TRACEBACK", traceback.format_exc())

    def _dispatch(self, conn: Connection, request: Any) -> tuple[str, object] | None:
        if len(request) == 5:  # a typedmgr client's: see _wire.PROXIED
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
            if methodname == MUX and typed:  # an asyncio client's connection
                return self._multiplex(conn)
            return self._server_rpc(conn, methodname, args, kwds)
        if methodname == ONEWAY:
            self._oneway(conn, ident, args, kwds)
            return None
        return self._call(conn, ident, methodname, args, kwds, typed)

    def _multiplex(self, conn: Connection) -> tuple[str, object]:
        """Serve this connection multiplexed (``mux``) until it closes; then end its
        thread as the end of any connection does."""
        wire = getattr(self._connection, "wire", None)
        if wire is None or wire.conn is not conn:
            return ("#TRACEBACK", "this connection cannot be multiplexed (again)")
        self._connection.wire = None
        mux.serve(self, conn, wire)
        sys.exit(0)

    def _batch(self, conn: Connection, requests: Any) -> list[tuple[str, object]]:
        """Run a batch's requests in order: the replies of those that have one."""
        replies: list[tuple[str, object]] = []
        for request in requests:
            if isinstance(request, tuple) and request[:2] in _NOT_IN_BATCH:
                what = "a batch" if request[1] == BATCH else "a request to multiplex"
                replies.append(("#ERROR", ValueError(f"a batch cannot hold {what}")))
                continue
            msg = self._handle(conn, request)
            if msg is not None:
                replies.append(msg)
        return replies

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
            obj, exposed, registration = self._lookup(ident)
            if methodname == GETATTR:
                return self._getattr(conn, obj, exposed, registration, args[0], typed)
            if methodname not in exposed:
                raise AttributeError(
                    f"method {methodname!r} of {type(obj)!r} object is not in "
                    f"exposed={exposed!r}"
                )
            function = getattr(obj, methodname)
            validator = self._validators.get(registration.typeid)
            try:
                if validator is not None:
                    validator.check(methodname, args, kwds)
                res = function(*args, **kwds)
                if inspect.iscoroutine(
                    res
                ):  # an ``async def``: run on the server's loop
                    res = coroutines.resolve(
                        res,
                        lambda r: self._result(
                            conn, registration, methodname, r, typed, obj
                        ),
                    )
            except Exception as e:
                _attach_traceback(e)
                return ("#ERROR", e)
            return self._result(conn, registration, methodname, res, typed, obj)
        except AttributeError:
            return self._fallback(conn, ident, obj, methodname, args, kwds)
        except Exception:
            return ("#TRACEBACK", traceback.format_exc())

    def _result(
        self,
        conn: Connection,
        registration: Registration,
        name: str,
        res: object,
        typed: bool,
        obj: object,
    ) -> tuple[str, object]:
        """A copy of ``res``, or a remote object when the registration maps ``name`` to a
        typeid: ``PROXIED`` for a typedmgr caller, a stdlib ``#PROXY`` for any other."""
        returns = registration.returns
        if name in returns.caller_proxy:
            # ``__enter__ -> Self``: the caller keeps its proxy.
            return ("#RETURN", None)
        if res is obj and typed and name in returns.fluent:
            # ``-> Self`` returned the referent: the caller keeps its proxy.
            return (ITSELF, None)
        typeid = returns.typeids.get(name)
        if not typeid or (res is None and name in returns.optional):
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
        registration: Registration,
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
        return self._result(conn, registration, name, res, typed, obj)

    def _lookup(self, ident: str) -> tuple[Any, AbstractSet[str], Registration]:
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

    # Server functions: the stdlib's, with each reference counted against the session of
    # the connection that takes or gives it back (``books``).

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
        them (``Books.take_ref``).
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
        factory, exposed, names, registration = creation
        self.books.check_room(session, None)
        # The object is new: built outside the mutex, which every other client's creations
        # and releases need (the stdlib holds it while a user constructor runs).
        if factory is not None:
            obj = factory(*args, **kwds)
        elif kwds or len(args) != 1:
            raise ValueError("Without callable, must have one non-keyword argument")
        else:
            obj = args[0]
        if names is None:  # ``exposed=None``: the object's public methods
            names = (*_stdlib.public_methods(obj), *registration.returns.typeids)
            exposed = frozenset(names)
        ident = self.books.add(obj, (obj, exposed, registration), session)
        return ident, names

    def incref(self, c: Any, ident: str) -> None:
        """The stdlib incref, counted against the connection's session; the receiver of a
        proxy that a reply carried takes over its in-flight reference instead."""
        self.books.take_ref(ident, self._session())

    def decref(self, c: Any, ident: str) -> None:
        """The stdlib decref, of a reference the connection's session holds (a stdlib
        client's: one that a connection naming no session took)."""
        if not self.books.release(self._session(), (ident,)):
            if ident in self.id_to_local_proxy_obj and ident not in self.id_to_refcount:
                return  # the stdlib skips a stashed referent
            raise KeyError(
                f"decref of {ident!r}: this connection's session holds no reference to it"
            )

    def _release(self, conn: Connection, idents: tuple[str, ...]) -> None:
        """Decrefs of collected proxies; a bad ident must not end the connection."""
        try:
            if not self.books.release(self._session(), idents):
                util.info("release of unknown objects ignored: %r", idents)
        except Exception:
            util.info("malformed release %r ignored", idents)


def creations(registry: dict[str, tuple[Any, Any, Any, Any]]) -> dict[str, Creation]:
    """What creating an object of each typeid needs (``Creation``). Typeids the stdlib
    refuses to create (a ``method_to_typeid`` that is not a dict) are left out."""
    found: dict[str, Creation] = {}
    for typeid, entry in registry.items():
        factory, exposed, method_to_typeid, _ = entry
        if not isinstance(method_to_typeid, (dict, type(None))):
            continue
        registration = registration_of(typeid, entry)
        if exposed is None:
            found[typeid] = (factory, frozenset(), None, registration)
            continue
        names = (*exposed, *(method_to_typeid or ()))
        found[typeid] = (factory, frozenset(names), names, registration)
    return found


def validators(
    registry: dict[str, Any], protocols: dict[str, type | None], default: bool
) -> dict[str, Validator]:
    """The argument validators of the registrations that validate, built once, by typeid
    (a registration's ``validate``; ``None``: the server's ``default``)."""
    found: dict[str, Validator] = {}
    for typeid, entry in registry.items():
        protocol = protocols.get(typeid)
        if protocol is None or entry[2] is None:
            continue
        flag = registration_of(typeid, entry).validate
        if default if flag is None else flag:
            found[typeid] = validator_for(interface_of(protocol))
    return found


def _attach_traceback(exc: BaseException) -> None:
    """Let the traceback travel with the pickled exception (the stdlib drops it)."""
    # An exception type that refuses attributes travels without its traceback.
    with contextlib.suppress(Exception):
        setattr(exc, TRACEBACK_ATTR, "".join(traceback.format_exception(exc)))
