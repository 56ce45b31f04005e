"""The asyncio connection's opening: ``auth``'s handshakes both ways, the session's
``accept_connection``, then the ``MUX`` request that makes the connection multiplexed."""

from __future__ import annotations

import hmac
import os
from multiprocessing.context import AuthenticationError
from typing import TYPE_CHECKING, Any

from typedmgr import _auth
from typedmgr._client_errors import remote_error
from typedmgr._encoding import dumps
from typedmgr._leases import session
from typedmgr._replies import load_reply
from typedmgr._sessions import session_name
from typedmgr._wire import MUX, MUX_VERSION, PROXIED

if TYPE_CHECKING:
    from typedmgr._aio.connection import Frames

__all__ = ["join", "request"]


async def join(wire: Frames, authkey: bytes, name: str) -> tuple[str, Any]:
    """Authenticate both ways, join this process's session as ``name``, ask for
    multiplexing: the server's answer to that (``("#RETURN", MUX_VERSION)``)."""
    await _answer_challenge(wire, authkey)
    await _deliver_challenge(wire, authkey)
    await request(
        wire, (None, "accept_connection", (session_name(name, session()),), {})
    )
    return await request(wire, (None, MUX, (MUX_VERSION,), {}, ()), checked=False)


async def request(
    wire: Frames, message: tuple[object, ...], *, checked: bool = True
) -> tuple[str, Any]:
    """One request and its reply, before the connection is multiplexed."""
    wire.send(dumps(message))
    reply: Any = load_reply(await wire.next_message())
    kind, result = reply
    if checked and kind not in ("#RETURN", PROXIED):
        raise remote_error(kind, result)
    return kind, result


async def _answer_challenge(wire: Frames, authkey: bytes) -> None:
    """``_auth.answer_challenge`` on an asyncio connection (SHA-256 family only)."""
    message = await wire.next_message()
    if not message.startswith(_auth._CHALLENGE):
        raise AuthenticationError(
            f"protocol error, expected a challenge: {message[:32]!r}"
        )
    message = message[len(_auth._CHALLENGE) :]
    digest = _auth._digest_name(message)
    if digest is None:
        raise AuthenticationError(
            "the peer challenged in HMAC-MD5 (a Python < 3.12 stdlib peer)"
        )
    mac = hmac.new(authkey, message, digest.decode()).digest()
    wire.send(b"{%s}%s" % (digest, mac))
    if await wire.next_message() != _auth._WELCOME:
        raise AuthenticationError("digest sent was rejected")


async def _deliver_challenge(wire: Frames, authkey: bytes) -> None:
    """``_auth.deliver_challenge`` on an asyncio connection."""
    message = b"{sha256}" + os.urandom(40)
    wire.send(_auth._CHALLENGE + message)
    response = await wire.next_message()
    try:
        _auth._verify(authkey, message, response, legacy_md5=False)
    except AuthenticationError:
        wire.send(_auth._FAILURE)
        raise
    wire.send(_auth._WELCOME)
