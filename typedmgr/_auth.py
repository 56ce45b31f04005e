"""Auth: the stdlib's HMAC challenge, with SHA-256 on every Python.

Python 3.12 made the manager handshake negotiate ``{sha256}`` HMACs (gh-61460) but still
accepts a raw HMAC-MD5 reply from older peers; 3.10 and 3.11 speak only HMAC-MD5. typedmgr
speaks the 3.12 protocol on every Python, so it interoperates with 3.12+ peers, and accepts
HMAC-MD5 only when told to (``legacy_md5``), for stdlib clients on 3.10/3.11.
"""

from __future__ import annotations

import hmac
import os
from multiprocessing import AuthenticationError
from typing import TYPE_CHECKING

from typedmgr._gate import BUSY

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["ServerBusyError", "answer_challenge", "deliver_challenge"]


class ServerBusyError(ConnectionRefusedError):
    """The server is at its connection limit: it refused this connection politely."""

    __module__ = "typedmgr"  # its public name: what pickles and tracebacks show


_CHALLENGE = b"#CHALLENGE#"
_WELCOME = b"#WELCOME#"
_FAILURE = b"#FAILURE#"
_STRONG = frozenset({b"sha256", b"sha384", b"sha3_256", b"sha3_384"})
_LEGACY_CHALLENGE_LENGTH = (
    20  # a 3.10/3.11 challenge: raw random bytes, no digest prefix
)
_MD5_LENGTH = 16  # a 3.10/3.11 reply: a raw HMAC-MD5


def deliver_challenge(conn: Connection, authkey: bytes, *, legacy_md5: bool) -> None:
    """Challenge the peer to prove it holds ``authkey``; raise if it does not."""
    message = b"{sha256}" + os.urandom(40)
    conn.send_bytes(_CHALLENGE + message)
    response = conn.recv_bytes(256)
    try:
        _verify(authkey, message, response, legacy_md5=legacy_md5)
    except AuthenticationError:
        conn.send_bytes(_FAILURE)
        raise
    conn.send_bytes(_WELCOME)


def answer_challenge(
    conn: Connection, authkey: bytes, *, legacy_md5: bool = False
) -> None:
    """Prove to the peer that we hold ``authkey``; in HMAC-MD5 only if ``legacy_md5``."""
    message = conn.recv_bytes(256)
    if message.startswith(BUSY):
        raise ServerBusyError(
            "the manager server refused the connection: "
            f"{message[len(BUSY) :].decode(errors='replace')}; try again later"
        )
    if not message.startswith(_CHALLENGE):
        raise AuthenticationError(
            f"protocol error, expected a challenge: {message[:32]!r}"
        )
    message = message[len(_CHALLENGE) :]
    digest = _digest_name(message)
    if digest is not None:
        mac = hmac.new(authkey, message, digest.decode()).digest()
        conn.send_bytes(b"{%s}%s" % (digest, mac))
    elif legacy_md5 and len(message) == _LEGACY_CHALLENGE_LENGTH:
        conn.send_bytes(hmac.new(authkey, message, "md5").digest())
    else:
        raise AuthenticationError(
            "the peer challenged in HMAC-MD5 (a Python < 3.12 stdlib peer); "
            "allow it with `class MyManager(TypedManager, legacy_md5=True)`"
        )
    if conn.recv_bytes(256) != _WELCOME:
        raise AuthenticationError("digest sent was rejected")


def _verify(
    authkey: bytes, message: bytes, response: bytes, *, legacy_md5: bool
) -> None:
    digest = _digest_name(response)
    if digest is not None:
        mac = response[len(digest) + 2 :]
        expected = hmac.new(authkey, message, digest.decode()).digest()
    elif len(response) == _MD5_LENGTH and legacy_md5:
        mac, expected = response, hmac.new(authkey, message, "md5").digest()
    elif len(response) == _MD5_LENGTH:
        raise AuthenticationError(
            "refused an HMAC-MD5 reply (a Python < 3.12 stdlib client); "
            "allow it with `class MyManager(TypedManager, legacy_md5=True)`"
        )
    else:
        raise AuthenticationError("malformed challenge response")
    if not hmac.compare_digest(expected, mac):
        raise AuthenticationError("digest received was wrong")


def _digest_name(message: bytes) -> bytes | None:
    """The ``{name}`` a message starts with, if it is a strong digest."""
    if len(message) == _LEGACY_CHALLENGE_LENGTH or not message.startswith(b"{"):
        return None
    end = message.find(b"}", 1, 12)
    name = message[1:end] if end > 0 else b""
    return name if name in _STRONG else None
