"""This process's session with each server: the thread connections that name it, the
lease whose end releases what it holds, and the releases queued for the next request.

Split from ``_channel``, which re-exports the public names.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import threading
from collections import deque
from collections.abc import Callable
from multiprocessing import process, util
from typing import TYPE_CHECKING, Any

from typedmgr import _frames, _peers, _stdlib
from typedmgr._encoding import dumps
from typedmgr._sessions import lease_name, session_name

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = [
    "pending",
    "release_later",
    "release_now",
    "requeue",
    "session",
    "take_releases",
    "thread_connection",
]


def thread_connection(
    address: Any,
    authkey: bytes,
    connect: Callable[..., Connection],
    local: Any = None,
) -> Connection:
    """This thread's long-lived connection to ``address``, which names our session.

    Stdlib proxies share it and read it directly, which is safe: between two exchanges
    nothing is left buffered, since every request gets exactly one reply. They may also
    close it (when they know of no reference this process holds) and connect anew, naming
    no session: such a connection is closed and replaced, never used for our requests.
    """
    if local is None:
        local, _ = _stdlib.address_local(address)
    wire: _frames.Wire | None = getattr(local, "wire", None)
    conn: Connection | None = getattr(local, "connection", None)
    epoch = epochs.get(address, 0)
    if wire is not None and conn is wire.conn and local.epoch == epoch:
        return conn
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()
    _ensure_lease(address, authkey, connect)
    name = process.current_process().name
    if threading.current_thread().name != "MainThread":
        name += "|" + threading.current_thread().name
    conn = _accepted(address, authkey, connect, session_name(name, _session))
    local.connection = conn
    local.wire = _frames.Wire(conn, spin=_peers.peer(address).reply_spin)
    local.epoch = epoch
    return conn


# Per server address, the epoch of the server this process last knew there. A thread's
# connection made in an earlier epoch leads to a server that has gone, even when another
# now listens at the address (restarted, or a new server given a reused port): it is
# replaced at its next use instead of failing a call.
epochs: dict[Any, int] = {}
_epoch_counter = itertools.count(1)


def forget_server(address: Any) -> None:
    """The server at ``address`` has gone, or is new: every thread's connection there is
    stale."""
    epochs[address] = next(_epoch_counter)


def _accepted(
    address: Any, authkey: bytes, connect: Callable[..., Connection], name: str
) -> Connection:
    """A new connection the server will serve as long-lived, under ``name``."""
    conn = connect(address, authkey=authkey)
    _stdlib.dispatch(conn, "accept_connection", (name,))
    return conn


# This process's session, and its lease connection to each server: when the process dies,
# the leases close and the servers release what the session held (typedmgr._sessions).
_session = secrets.token_hex(8)
_leases: dict[Any, Connection] = {}
_leases_lock = threading.Lock()
# Held while the lease is used (a release on it, or a check that it still stands).
_lease_lock = threading.Lock()


def _new_session() -> None:
    """In a forked child: a session of its own; the parent's leases are not ours to close."""
    global _session, _leases_lock, _lease_lock
    _session = secrets.token_hex(8)
    _leases.clear()
    _leases_lock, _lease_lock = threading.Lock(), threading.Lock()


os.register_at_fork(after_in_child=_new_session)


def session() -> str:
    """This process's session: a proxy whose reference it holds releases it when collected."""
    return _session


def _ensure_lease(
    address: Any, authkey: bytes, connect: Callable[..., Connection]
) -> None:
    with _leases_lock:
        _forget_if_gone(address)
        if address not in _leases:
            _leases[address] = _accepted(
                address, authkey, connect, lease_name(_session)
            )


def revalidate(address: Any) -> None:
    """Forget the server at ``address`` if it has gone since this process last used it."""
    with _leases_lock:
        _forget_if_gone(address)


def _forget_if_gone(address: Any) -> None:
    lease = _leases.get(address)
    if lease is not None and _ended(lease):
        # The server went away (and released what the session held): a server back at
        # the address gets a new lease, and every thread a new connection.
        del _leases[address]
        forget_server(address)
        with contextlib.suppress(Exception):
            lease.close()


def _ended(lease: Connection) -> bool:
    """Whether the server closed ``lease`` (it never writes on it unprompted)."""
    with _lease_lock:
        try:
            return lease.closed or lease.poll(0)
        except Exception:
            return True


#: Releases waiting for the next request, per server address. Whatever is still queued when
#: the process exits is released by the server when the session's lease closes. Never
#: rebound (a fork clears it in place): ``_channel`` peeks at it unlocked, one dict lookup.
#: No lock guards it: ``release_later`` runs in finalizers, which the garbage collector may
#: start on any allocation, also one made while this thread holds such a lock.
pending: dict[Any, deque[str]] = {}
# A forked child must never send its parent's releases.
os.register_at_fork(after_in_child=pending.clear)


def release_later(address: Any, ident: str) -> None:
    """A proxy holding a reference was collected: queue the decref for the next request."""
    queued = pending.get(address)
    if queued is None:
        queued = pending.setdefault(address, deque())
    queued.append(ident)


def release_now(address: Any, ident: str, held: set[Any], key: object) -> None:
    """A stdlib-class proxy holding a reference of this session was collected: release it
    now, on the session's lease, as the stdlib releases at once (on a connection of its
    own, which names no session). Its own requests cannot carry queued releases.
    """
    _stdlib.release_reference(held, key)
    lease = _leases.get(address)
    # No lease: it broke, and the server released the session's references with it.
    if lease is None:
        return
    # A finalizer never waits for the lease: its own thread may hold it (a collection can
    # start amid another release, or in _ended). Busy, the release goes with the next
    # request of this process to the server, or with the lease when the process ends.
    if not _lease_lock.acquire(blocking=False):
        release_later(address, ident)
        return
    try:
        lease.send_bytes(dumps((None, "decref", (ident,), {}, ())))
        lease.recv_bytes()
    except Exception:  # a lost server has released it
        util.info("release of %r on the lease to %r failed", ident, address)
    finally:
        _lease_lock.release()


def requeue(address: Any, idents: list[str]) -> None:
    """Queue ``idents`` again: the request they were to ride on was never sent."""
    pending.setdefault(address, deque()).extend(idents)


def take_releases(address: Any) -> list[str]:
    """The releases queued for ``address``, now the caller's to send."""
    queued = pending.get(address)
    taken: list[str] = []
    while queued:
        try:
            taken.append(queued.popleft())
        except IndexError:  # another thread took the last one
            break
    return taken
