"""The server's connection loop: accepting, handshakes, serving a connection, replying.

Accepting goes through the gate (``typedmgr._gate``): bounded connections, a deadline on
the handshake. Each connection has a thread; a long-lived one reads requests as they come,
hands each to dispatch (``_handle``), and writes the replies of the requests that arrived
together in one write (encoded by ``replies``). A client that declares it in its
connection's name gets and may send large payloads out of band (``_buffers``).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from multiprocessing import managers, util
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from typedmgr import _auth, _buffers, _frames, _introspect, _tls
from typedmgr._channel import (
    nodelay,
)
from typedmgr._frames import Buffer
from typedmgr._gate import BUSY, Gate, Ticket
from typedmgr._receipt import Loads, Message, load
from typedmgr._restricted import RefusedType
from typedmgr._server.books import ANONYMOUS, Books
from typedmgr._server.replies import encode
from typedmgr._sessions import session_of
from typedmgr._wire import BATCH

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["ServingLoop"]

_log = logging.getLogger("typedmgr.server")
#: Connections accepted and closed.
_connections_log = logging.getLogger("typedmgr.connections")
#: Handshakes (authkey, TLS) that failed.
_auth_log = logging.getLogger("typedmgr.auth")
#: Client sessions ended, and what they released.
_sessions_log = logging.getLogger("typedmgr.sessions")


class ServingLoop(managers.Server):
    """The stdlib server's connection handling, made to survive load and hostile peers."""

    if TYPE_CHECKING:
        # Stdlib internals typeshed does not declare.
        authkey: bytes
        stop_event: threading.Event
        listener: Any

        def _handle(
            self, conn: Connection, request: Any
        ) -> tuple[str, object] | None: ...

    # Settings (``TypedServer`` gives their values and says what they mean).
    max_message_size: ClassVar[int]
    request_spin: ClassVar[float]
    tls_handshake_timeout: ClassVar[float]
    # Set by ``TypedServer.__init__``.
    serializer: str
    accepts_md5: bool
    loads: Loads
    ssl_context: Any
    links: dict[int, _introspect.Link]
    books: Books
    _gate: Gate
    #: Per-connection state (its session, its gate ticket): each connection has a thread.
    _connection: threading.local
    #: The connection threads: one waits awake for its client's next request only while
    #: no other is getting requests (frames.Crowd).
    _crowd: _frames.Crowd

    def _handle_request(self, c: Connection) -> None:
        """A new connection: authenticate, then one server request (loaded like any other)."""
        request = None
        try:
            try:
                key, md5 = bytes(self.authkey), self.accepts_md5
                _auth.deliver_challenge(c, key, legacy_md5=md5)
                _auth.answer_challenge(c, key, legacy_md5=md5)
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
                    request = self.loads(_frames.read_message(c, self.max_message_size))
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
    # the gate (typedmgr._gate): bounded connections, a deadline on the handshake.

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

    def handle_request(self, conn: Connection) -> None:
        """Serve a new connection, TCP_NODELAY first (the stdlib's handshake waits on Nagle).

        On a TLS server the TLS handshake comes first, in this connection's own thread: a
        peer that fails it (plaintext, a certificate the context refuses) is disconnected.
        """
        conn = nodelay(conn)
        link = _introspect.Link(_introspect.peer_of(conn))
        thread = threading.get_ident()
        self.links[thread] = link
        _connections_log.debug("connection from %s accepted", link.peer)
        try:
            if self.ssl_context is not None:
                try:
                    conn = _tls.handshake(
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

    def _session(self) -> str:
        """The session of the connection this thread serves; ``ANONYMOUS`` for one that
        names none (a stdlib client)."""
        session: str | None = getattr(self._connection, "session", None)
        return ANONYMOUS if session is None else session

    def accept_connection(self, c: Connection, name: str) -> None:
        """Serve a long-lived connection; when a session's lease ends, release its refs."""
        session, is_lease = session_of(name)
        self._connection.session = session
        link = self.links.get(threading.get_ident())
        if link is not None:
            link.session, link.lease, link.name = session, is_lease, name
        try:
            self._accept(c, name)
        finally:
            self.books.return_in_flight()
            if is_lease and session is not None:
                self._end_session(session)
            self.books.release_local()

    def _accept(self, c: Connection, name: str) -> None:
        """The stdlib's ``accept_connection``; to a client declaring out-of-band messages
        (``_buffers``), the answer says they are welcome both ways."""
        buffers = self.serializer == "pickle" and _buffers.declared(name)
        self._connection.buffers = buffers
        threading.current_thread().name = name
        c.send(("#RETURN", _buffers.ACCEPTED if buffers else None))
        self.serve_client(c)

    def _end_session(self, session: str) -> None:
        """A client process's lease closed: give back every reference its session held."""
        held, disposed = self.books.end_session(session)
        _sessions_log.info(
            "session %s of %s ended: released %d references to %d objects "
            "(%d disposed of)",
            session,
            self._peer(),
            sum(held.values()),
            len(held),
            disposed,
        )

    def serve_client(self, conn: Connection) -> None:
        """Serve one client connection until it closes; same messages as the stdlib's.

        Requests that have already arrived are answered together, in one write.
        """
        if self.serializer != "pickle":
            return self._serve_unbuffered(conn)
        wire = _frames.Wire(
            conn,
            self.max_message_size,
            spin=self.request_spin,
            crowd=self._crowd,
            buffers=getattr(self._connection, "buffers", False),
        )
        self._connection.wire = wire  # a MUX request turns it multiplexed (dispatch)
        replies: list[Buffer] = []
        agreed = wire.buffers
        link = self.links.get(threading.get_ident(), _introspect.Link(""))
        while not self.stop_event.is_set():
            try:
                payload: Message | None = wire.buffered()
                if payload is None:
                    self._flush(wire, replies)
                    payload = wire.read()
            except EOFError:
                sys.exit(0)
            # Garbled framing: this stream cannot be resynchronised.
            except Exception as e:
                self._give_up(conn, e)
            link.last = time.monotonic()
            apart = False
            try:
                request = load(self.loads, payload)
            except Exception as e:
                if isinstance(e, RefusedType):
                    _log.warning("refused a request from %s: %s", self._peer(), e)
                msg: tuple[str, object] | None = ("#TRACEBACK", traceback.format_exc())
            else:
                # A typedmgr client's request (five items) may get buffers back; a stdlib
                # proxy of the client's process, sharing its connection, may not.
                apart = agreed and type(request) is tuple and len(request) == 5
                msg = self._handle(conn, request)
                del request  # proxies it carried must not live until the next one
            if msg is not None:
                parts = self._encode(conn, msg, apart)
                replies += parts
                # Its buffers are sent uncopied: before the next request can change them.
                if isinstance(parts, _buffers.Apart):
                    self._flush(wire, replies)
                del parts
            msg = None
            self.books.release_local()
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
            self.books.release_local()
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

    def _encode(
        self, conn: Connection, msg: tuple[str, object], apart: bool = False
    ) -> Sequence[Buffer]:
        """A reply, framed (``replies.encode``); the connection ends if none can be."""
        try:
            return encode(msg, self.books, apart=apart)
        except Exception as e:
            self._give_up(conn, e)

    def _flush(self, wire: _frames.Wire, replies: list[Buffer]) -> None:
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
