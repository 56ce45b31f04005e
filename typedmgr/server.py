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
            methodname = obj = None
            try:
                ident, methodname, args, kwds = recv()
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
                    msg: tuple[str, object] = ("#ERROR", e)
                else:
                    typeid = gettypeid and gettypeid.get(methodname)
                    if typeid and not (
                        res is None and methodname in _optional(gettypeid)
                    ):
                        rident, rexposed = self.create(conn, typeid, res)
                        msg = (
                            "#PROXY",
                            (rexposed, managers.Token(typeid, self.address, rident)),
                        )
                    else:
                        msg = ("#RETURN", res)
            except AttributeError:
                msg = self._fallback(
                    conn, ident if methodname else None, obj, methodname, args, kwds
                )
            except EOFError:
                sys.exit(0)
            except Exception:
                msg = ("#TRACEBACK", traceback.format_exc())
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
        methodname: str | None,
        args: Any,
        kwds: Any,
    ) -> tuple[str, object]:
        """``__str__``, ``__repr__`` and ``#GETVALUE`` work whatever is exposed (as stdlib)."""
        if methodname is None:
            return ("#TRACEBACK", traceback.format_exc())
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
