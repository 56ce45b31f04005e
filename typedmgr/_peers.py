"""What this process knows about each manager server it talks to, by address.

A proxy carries its server's address, but a pickled proxy deliberately carries no authkey
(a pickle may travel through a queue, a file or another host) and nothing carries a TLS
context. The stdlib then falls back to the unpickling process's own authkey, which fails
for any manager started with a key of its own (gh-139801). typedmgr remembers instead, per
address, what a ``TypedManager`` made in this process (or a forked parent) was given, and
proxies rebuilt here use it: the key of a manager never leaves the processes that hold it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

__all__ = ["Peer", "forget", "peer", "remember"]


@dataclass(frozen=True)
class Peer:
    """How to talk to one server: its authkey, its TLS context, how to load its replies."""

    authkey: bytes | None = None
    #: A client-side context: the connection is TLS, the server's certificate checked.
    ssl_context: ssl.SSLContext | None = None
    #: Unpickle replies in full (the stdlib's trust in the server) instead of restricted.
    full_pickle: bool = False
    #: Seconds a client waits awake for a reply before it sleeps (``_awake.AwakeWait.wait``).
    reply_spin: float = 50e-6
    #: Seconds a call waits for its reply (``None``: no deadline), see ``_deadlines``.
    timeout: float | None = None
    #: Seconds connecting may take: connect, TLS and authkey handshakes.
    connect_timeout: float = 30.0


_UNKNOWN = Peer()
_peers: dict[Any, Peer] = {}
_lock = threading.Lock()


def peer(address: Any) -> Peer:
    """What is known about the server at ``address`` (nothing: a default ``Peer``)."""
    return _peers.get(address, _UNKNOWN)


def remember(
    address: Any,
    *,
    authkey: bytes | None = None,
    ssl_context: ssl.SSLContext | None = None,
    full_pickle: bool | None = None,
    reply_spin: float | None = None,
    timeout: float | None = None,
    connect_timeout: float | None = None,
) -> None:
    """Record what is given for the server at ``address``; what is ``None`` stays as it was."""
    if address is None:
        return
    given: dict[str, Any] = {
        "authkey": None if authkey is None else bytes(authkey),
        "ssl_context": ssl_context,
        "full_pickle": full_pickle,
        "reply_spin": reply_spin,
        "timeout": timeout,
        "connect_timeout": connect_timeout,
    }
    with _lock:
        _peers[address] = replace(
            _peers.get(address, _UNKNOWN),
            **{name: value for name, value in given.items() if value is not None},
        )


def forget(address: Any) -> None:
    """Forget what was known of an earlier server at ``address`` (one this process has
    just started listens there now: a reused port may have served TLS, or another key)."""
    with _lock:
        _peers.pop(address, None)


def key_for_unpickled(address: Any) -> bytes | None:
    """The key for a proxy of ``address`` rebuilt from a pickle, which never carries one
    (gh-139801): a manager's in this process for the address, never the process's own (the
    stdlib's fallback signed any server's challenge with it); ``None`` if none is known."""
    return peer(address).authkey


def lend_key(address: Any, authkey: bytes | None) -> None:
    """A proxy handed over at spawning carries the key: lend it to later arrivals."""
    if authkey is not None and peer(address).authkey is None:
        remember(address, authkey=authkey)
