"""The server's reference books: who holds which object, and the one mutex that guards them.

The stdlib counts references per object (``id_to_refcount``); a typedmgr server also counts
those each client session holds (``_sessions``), those that replies carry in flight to their
receivers, and the proxies of its own objects that requests brought in (gh-103136). All of
them change together, in one critical section per request, under the books' own mutex; the
server's stdlib methods that lock (``debug_info``...) take that same mutex.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from multiprocessing import util
from typing import Any

from typedmgr._sessions import Sessions

__all__ = ["ANONYMOUS", "Books", "LimitError"]

#: The session of connections that name none (stdlib clients): what they create and take
#: they hold together, and only that can they release.
ANONYMOUS = ""
#: Idents released per hold of the mutex: a long release lets others in between.
_RELEASE_CHUNK = 256

#: What ``id_to_obj`` holds per ident: (referent, exposed names, its registration).
Entry = tuple[Any, Any, Any]


class LimitError(RuntimeError):
    """A request would take the server past one of its limits."""


class Books:
    """Per object, per client session, in flight and server-held references, and the mutex.

    ``objects``, ``refcounts`` and ``stashed`` are the stdlib server's own ``id_to_obj``,
    ``id_to_refcount`` and ``id_to_local_proxy_obj``: the stdlib methods a typedmgr server
    still calls read them. ``restore`` is the stdlib's ``incref``, which brings a stashed
    referent back (it takes the mutex itself).
    """

    def __init__(
        self,
        objects: dict[str, Entry],
        refcounts: dict[str, int],
        stashed: dict[str, Entry],
        restore: Callable[[str], None],
        *,
        max_objects: int,
        max_session_objects: int,
    ) -> None:
        self.mutex = threading.Lock()
        self.objects = objects
        self.refcounts = refcounts
        self.stashed = stashed
        self._restore = restore
        self.max_objects = max_objects
        self.max_session_objects = max_session_objects
        self.sessions = Sessions()
        # Proxies of our own objects that requests brought in (see ``hold_local``):
        # id(proxy) -> (weak reference, ident); idents of those collected, to be released.
        self.local_proxies: dict[int, tuple[weakref.ref[Any], str]] = {}
        self._local_releases: list[str] = []
        # References taken for proxies sent in replies, until their receivers incref:
        # ident -> count, and ident -> the connections (threads) that sent them.
        self._in_flight: dict[str, int] = {}
        self._senders: dict[str, Counter[int]] = {}

    def add(self, obj: object, entry: Entry, session: str | None) -> str:
        """Book a new object and one new reference to it, held by ``session`` if given;
        its ident. ``LimitError`` if that takes the server or the session past a limit."""
        ident = f"{id(obj):x}"
        with self.mutex:
            self.check_room(session, ident)
            self.objects[ident] = entry
            self.refcounts[ident] = self.refcounts.get(ident, 0) + 1
            if session is not None:
                self.sessions.adopted(session, ident)
        return ident

    def check_room(self, session: str | None, ident: str | None) -> None:
        """Raise ``LimitError`` if ``session`` may not hold one more object (``ident``,
        if known: one it holds already takes no room)."""
        if ident is not None and ident in self.objects:
            # An object that exists: it takes room only in a session not holding it yet.
            if session is None or self.sessions.holds(session, ident):
                return
        elif len(self.objects) >= self.max_objects:
            raise LimitError(
                f"the server holds {len(self.objects)} objects, its limit "
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

    def take_ref(self, ident: str, session: str | None = None) -> None:
        """One more reference to ``ident``: one taken for a reply in flight, or a new one;
        held by ``session``, if given."""
        with self.mutex:
            if session is not None:
                self.check_room(session, ident)
            in_flight = self._in_flight.get(ident)
            count = self.refcounts.get(ident)
            if in_flight:
                if in_flight > 1:
                    self._in_flight[ident] = in_flight - 1
                else:
                    del self._in_flight[ident]
            elif count:
                self.refcounts[ident] = count + 1
            if session is not None and (in_flight or count):
                self.sessions.adopted(session, ident)
        if not (in_flight or count):
            # Restores a referent stashed in id_to_local_proxy_obj, or raises.
            self._restore(ident)
            if session is not None:
                with self.mutex:
                    self.sessions.adopted(session, ident)

    def release(self, session: str | None, idents: Iterable[str]) -> bool:
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
        self.release_local()
        return known

    def _drop(self, ident: str, disposed: list[object]) -> bool:
        """One reference fewer to ``ident``, under the mutex; whether it had any.

        An object left without references goes to ``disposed``, to be dropped once the
        mutex is released (the stdlib's two-step disposal).
        """
        count = self.refcounts.get(ident)
        if not count:
            return False
        if count > 1:
            self.refcounts[ident] = count - 1
            return True
        del self.refcounts[ident]
        disposed.append(self.objects.pop(ident, None))
        self.sessions.forget(ident)  # its ident may soon name another object
        return True

    def end_session(self, session: str) -> tuple[dict[str, int], int]:
        """A client process's lease closed: give back every reference its session held.

        What it held (ident -> references), and how many objects that disposed of.
        """
        disposed: list[object] = []
        with self.mutex:
            held = self.sessions.end(session)
        items = list(held.items())
        for start in range(0, len(items), _RELEASE_CHUNK):
            with self.mutex:
                for ident, count in items[start : start + _RELEASE_CHUNK]:
                    for _ in range(min(count, self.refcounts.get(ident, 0))):
                        self._drop(ident, disposed)
        gone = sum(1 for obj in disposed if obj is not None)
        del disposed
        self.release_local()
        return held, gone

    # gh-103136: a proxy of one of our own objects that a request brought in holds one
    # counted reference while the server keeps it (see TypedServer._rebuild_proxy).

    def hold_local(self, proxy: object, ident: str) -> None:
        """Note a server-held proxy of ``ident`` (whose reference is taken): its reference
        is released once the proxy is collected."""
        key = id(proxy)
        self.local_proxies[key] = (weakref.ref(proxy), ident)
        util.Finalize(proxy, self._local_proxy_collected, args=(key, ident))

    def release_later(self, ident: str) -> None:
        """Queue the release of a reference taken for a server-held proxy (no lock is
        taken: this runs wherever the proxy dies)."""
        self._local_releases.append(ident)

    def _local_proxy_collected(self, key: int, ident: str) -> None:
        """Finalizer of a proxy the server held: queue its release."""
        entry = self.local_proxies.get(key)
        if entry is not None and entry[0]() is None:
            del self.local_proxies[key]
        self.release_later(ident)

    def release_local(self) -> None:
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

    def sent(self, idents: list[str]) -> None:
        """Server-held proxies were pickled into a reply: keep their objects alive until
        the receivers incref (the stdlib RebuildProxy does, on a connection of its own), or
        until every connection that sent them has closed."""
        sender = threading.get_ident()
        with self.mutex:
            for ident in idents:
                # A proxy the server holds holds a reference: its object is counted.
                self.refcounts[ident] += 1
                self._in_flight[ident] = self._in_flight.get(ident, 0) + 1
                self._senders.setdefault(ident, Counter())[sender] += 1

    def return_in_flight(self) -> None:
        """This thread's connection closed: release the in-flight references no receiver
        took over, of the objects no open connection has sent."""
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
        self.release_local()
