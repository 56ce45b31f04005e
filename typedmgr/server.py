"""The manager server: the stdlib ``Server``, wire-compatible, with what a typed layer needs.

Differences from ``multiprocessing.managers.Server``, each invisible to stdlib clients:

* an exception raised by a referent carries its server-side traceback (gh-78279);
* a method declared ``-> P | None`` returns ``None`` as ``None``, not as a proxy of ``None``.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import traceback
from multiprocessing import managers, util
from typing import TYPE_CHECKING, Any

from typedmgr.channel import RELEASE, SERVER_RPCS, nodelay
from typedmgr.proxy import TRACEBACK_ATTR

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["TypedServer"]


class TypedServer(managers.Server):
    """A manager server that keeps remote tracebacks and honours ``P | None`` returns."""

    if TYPE_CHECKING:
        # Stdlib internals typeshed does not declare.
        registry: dict[str, tuple[Any, Any, Any, Any]]
        id_to_local_proxy_obj: dict[str, tuple[Any, set[str], dict[str, str]]]
        stop_event: threading.Event
        fallback_mapping: dict[str, Any]

        def create(
            self, c: Connection, typeid: str, /, *args: object, **kwds: object
        ) -> tuple[str, tuple[str, ...]]: ...

    def serve_client(self, conn: Connection) -> None:
        """Serve one client connection until it closes; same messages as the stdlib's."""
        recv, send = conn.recv, conn.send
        while not self.stop_event.is_set():
            try:
                ident, methodname, args, kwds = recv()
            except EOFError:
                sys.exit(0)
            except Exception:
                msg: tuple[str, object] = ("#TRACEBACK", traceback.format_exc())
            else:
                if ident is None and methodname == RELEASE:
                    self._release(conn, args)
                    continue
                if ident is None:
                    msg = self._server_rpc(conn, methodname, args, kwds)
                else:
                    msg = self._call(conn, ident, methodname, args, kwds)
            try:
                try:
                    send(msg)
                except Exception:
                    send(("#UNSERIALIZABLE", traceback.format_exc()))
            except Exception as e:
                util.info(
                    "exception in thread serving %r: %r",
                    threading.current_thread().name,
                    e,
                )
                conn.close()
                sys.exit(1)

    def _call(
        self, conn: Connection, ident: str, methodname: str, args: Any, kwds: Any
    ) -> tuple[str, object]:
        """Call a method of a referent; the reply the stdlib would send, traceback kept."""
        obj = None
        try:
            obj, exposed, gettypeid = self._lookup(ident)
            if methodname not in exposed:
                raise AttributeError(
                    f"method {methodname!r} of {type(obj)!r} object is not in "
                    f"exposed={exposed!r}"
                )
            function = getattr(obj, methodname)
            try:
                res = function(*args, **kwds)
            except Exception as e:
                _attach_traceback(e)
                return ("#ERROR", e)
            typeid = gettypeid and gettypeid.get(methodname)
            if not typeid or (res is None and methodname in _optional(gettypeid)):
                return ("#RETURN", res)
            rident, rexposed = self.create(conn, typeid, res)
            return ("#PROXY", (rexposed, managers.Token(typeid, self.address, rident)))
        except AttributeError:
            return self._fallback(conn, ident, obj, methodname, args, kwds)
        except Exception:
            return ("#TRACEBACK", traceback.format_exc())

    def handle_request(self, conn: Connection) -> None:
        """Serve a new connection, TCP_NODELAY first (the stdlib's handshake waits on Nagle)."""
        super().handle_request(nodelay(conn))

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
            return ("#RETURN", getattr(self, name)(conn, *args, **kwds))
        except Exception:
            return ("#TRACEBACK", traceback.format_exc())

    def _release(self, conn: Connection, idents: tuple[str, ...]) -> None:
        """One-way decrefs of collected proxies; a bad ident must not end the connection."""
        for ident in idents:
            try:
                self.decref(conn, ident)
            except Exception:
                util.info("release of unknown object %r ignored", ident)

    def _lookup(self, ident: str) -> tuple[Any, set[str], dict[str, str]]:
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


def _optional(method_to_typeid: dict[str, str] | None) -> frozenset[str]:
    return getattr(method_to_typeid, "optional", frozenset())


def _attach_traceback(exc: BaseException) -> None:
    """Let the traceback travel with the pickled exception (the stdlib drops it)."""
    # An exception type that refuses attributes travels without its traceback.
    with contextlib.suppress(Exception):
        setattr(exc, TRACEBACK_ATTR, "".join(traceback.format_exception(exc)))
