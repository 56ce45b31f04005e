"""The allow-list a client loads its servers' replies with: the value types of the
Protocols that have a proxy class in this process, rebuilt when one is added.
"""

from __future__ import annotations

from collections.abc import Iterable

from typedmgr._admitted import value_objects, value_types
from typedmgr._allowlist import AllowList
from typedmgr._inert import rebuilt
from typedmgr._model import interface_of

__all__ = ["expect_replies", "load_reply"]

_CLIENT_REFUSAL = (
    "a reply may name only the types the Protocols of this process name, and exception "
    "classes it has imported; allow a type with `class MyManager(TypedManager, "
    'allow=(TheType,))`, or trust a server\'s pickles with `unpickling="full"`'
)

# Replies: what the Protocols with a proxy class in this process name (rebuilt on change).
_reply_protocols: set[type] = set()
_reply_types: set[type] = set()
_reply_allow: AllowList | None = None


def expect_replies(protocols: Iterable[type] = (), types: Iterable[type] = ()) -> None:
    """Let replies carry the value types of ``protocols``, and ``types``."""
    global _reply_allow
    _reply_protocols.update(protocols)
    _reply_types.update(types)
    _reply_allow = None


def load_reply(data: bytes | bytearray) -> object:
    """Unpickle a server's reply, restricted as a server restricts requests.

    The proxies it carries are rebuilt inert; the caller adopts them once every reply of
    its exchange is read (``_inert.adopt_rebuilt``).
    """
    global _reply_allow
    allow = _reply_allow
    if allow is None:
        interfaces = [interface_of(protocol) for protocol in list(_reply_protocols)]
        allow = _reply_allow = AllowList(
            [*value_types(interfaces), *_reply_types],
            values=value_objects(interfaces),
            exceptions=True,
            refusal=_CLIENT_REFUSAL,
        )
    if getattr(rebuilt, "proxies", None) is None:
        rebuilt.proxies = []
    rebuilt.loading_reply = True
    try:
        return allow.loads(data)
    finally:
        rebuilt.loading_reply = False
