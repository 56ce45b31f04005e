"""Deadlines: how long a call waits for its reply, and how long connecting may take.

A manager-wide default, per server address (``TypedManager(..., timeout=5.0)``), and a
per-block override that reads as what it means::

    with typedmgr.deadline(2.0):        # every call in the block, together: 2 s at most
        cart.add("B-1")
        receipt = cart.checkout()
    with typedmgr.deadline(None):       # no deadline here, whatever the manager says
        report = shop.yearly_report()

The innermost block decides. A call past its deadline raises :class:`DeadlineExceeded`
(a ``TimeoutError``); its connection is handed to a background thread that reads the late
reply, gives back any remote object it carried and closes it, so the next call, on a new
connection, always gets its own reply and nothing leaks on the server.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import select
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from typedmgr import _peers, _tls

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DeadlineExceeded",
    "call_deadline",
    "connect_budget",
    "deadline",
    "readable",
]

#: Seconds connecting (TCP or unix connect, TLS and authkey handshakes) may take by default.
DEFAULT_CONNECT_TIMEOUT = 30.0

_UNSET: Any = object()
#: The deadline of the innermost ``deadline()`` block: a ``time.monotonic()`` instant, or
#: ``None`` for a block without one; ``_UNSET`` outside any block.
_block: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "typedmgr_deadline", default=_UNSET
)


class DeadlineExceeded(TimeoutError):
    """A call got no reply, or a connection was not made, within its deadline.

    ``address``: the server's; ``method``: what was waited for (``"Cart.add()"``);
    ``waited``: seconds waited.
    """

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show

    def __init__(self, address: object, method: str, waited: float) -> None:
        super().__init__(
            f"{method} got no reply from the manager server at {address!r} within "
            f"{waited:.2f} s (its deadline); the call may still run there. The next "
            "call uses a new connection (raise the limit with typedmgr.deadline(seconds) "
            "around the call, or TypedManager(..., timeout=seconds))"
        )
        self.address = address
        self.method = method
        self.waited = waited

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.address, self.method, self.waited)


class ConnectTimeout(DeadlineExceeded):
    """Connecting to a server (connect and handshakes) took longer than allowed."""

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show

    def __init__(self, address: object, method: str, waited: float) -> None:
        if method == "connect":
            text = (
                f"connecting to the manager server at {address!r} took longer than "
                f"{waited:.2f} s; is it reachable?"
            )
        else:
            text = (
                f"the server at {address!r} accepted the connection but did not "
                f"complete the {method} within {waited:.2f} s: is it a TLS server "
                "(a client needs ssl_context=..., typedmgr ping/inspect --tls-ca), "
                "or not a manager server?"
            )
        TimeoutError.__init__(
            self,
            f"{text} (TypedManager(..., connect_timeout=seconds) sets the limit)",
        )
        self.address = address
        self.method = method
        self.waited = waited


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Calls in this block, together, wait ``seconds`` at most (``None``: no deadline).

    Overrides the manager's ``timeout`` and any enclosing block; per thread (and asyncio
    task: a ``contextvars`` variable).
    """
    if seconds is not None and not seconds > 0:
        raise ValueError(f"a deadline is a number of seconds > 0, not {seconds!r}")
    token = _block.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _block.reset(token)


def call_deadline(address: Any) -> float | None:
    """The instant (``time.monotonic()``) a call to ``address`` starting now must end by."""
    block = _block.get()
    if block is not _UNSET:
        return block
    timeout = _peers.peer(address).timeout
    return None if timeout is None else time.monotonic() + timeout


def connect_budget(address: Any) -> float:
    """Seconds connecting to ``address`` may take now: its connect timeout, or less if the
    enclosing ``deadline()`` block ends sooner."""
    budget = _peers.peer(address).connect_timeout
    block = _block.get()
    if block is not _UNSET and block is not None:
        budget = min(budget, max(block - time.monotonic(), 0.001))
    return budget


def readable(conn: Connection, until: float) -> bool:
    """Wait until ``conn`` has something to read (or closed), at most until ``until``."""
    remaining = until - time.monotonic()
    if isinstance(conn, _tls.TLSConnection):
        return conn.poll(max(remaining, 0.0))
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    while True:
        if poller.poll(max(0, math.ceil(remaining * 1000))):
            return True
        remaining = until - time.monotonic()
        if remaining <= 0:
            return False
