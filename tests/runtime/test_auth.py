"""The handshake: HMAC-SHA256 on every Python, HMAC-MD5 only when asked for."""

from __future__ import annotations

import hmac
import sys
from collections.abc import Iterator
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client

import pytest

from tests.runtime.fixtures import RuntimeManager
from typedmgr._channel import client

pytestmark = pytest.mark.process

AUTHKEY = b"auth-tests"


class LegacyManager(RuntimeManager, legacy_md5=True):
    """Accepts stdlib clients of Python 3.10/3.11."""


@pytest.fixture(params=[RuntimeManager, LegacyManager])
def manager(request: pytest.FixtureRequest) -> Iterator[RuntimeManager]:
    """A started server, refusing or accepting HMAC-MD5."""
    with request.param(address=("127.0.0.1", 0), authkey=AUTHKEY) as m:
        yield m


def md5_handshake(manager: RuntimeManager) -> bytes:
    """Answer the server's challenge as a Python 3.10/3.11 client does; its verdict."""
    assert manager.address is not None
    conn = Client(manager.address)  # no authkey: the handshake is done by hand
    challenge = conn.recv_bytes(256)
    assert challenge.startswith(b"#CHALLENGE#{sha256}")  # on every Python
    message = challenge[len(b"#CHALLENGE#") :]
    conn.send_bytes(hmac.new(AUTHKEY, message, "md5").digest())
    verdict = conn.recv_bytes(256)
    conn.close()
    return verdict


def test_hmac_md5_only_when_asked_for(manager: RuntimeManager) -> None:
    """A raw HMAC-MD5 reply is refused unless the manager says legacy_md5=True."""
    expected = b"#WELCOME#" if isinstance(manager, LegacyManager) else b"#FAILURE#"
    assert expected == md5_handshake(manager)


def test_typed_clients_authenticate_with_sha256(manager: RuntimeManager) -> None:
    """typedmgr's own client passes the SHA-256 handshake both ways; a wrong key fails."""
    assert manager.address is not None
    client(manager.address, authkey=AUTHKEY).close()
    with pytest.raises(AuthenticationError):
        client(manager.address, authkey=b"wrong")


@pytest.mark.skipif(
    sys.version_info < (3, 12), reason="stdlib SHA-256 handshake is 3.12+"
)
def test_stdlib_clients_of_312_and_later_interoperate() -> None:
    """An unmodified 3.12+ stdlib client authenticates against a strict typedmgr server."""
    with RuntimeManager(address=("127.0.0.1", 0), authkey=AUTHKEY) as m:
        assert m.address is not None
        Client(m.address, authkey=AUTHKEY).close()
