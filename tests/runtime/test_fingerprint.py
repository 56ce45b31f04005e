"""Stale generated code fails fast, naming what differs."""

from __future__ import annotations

import pytest

from shop_proxies import ShopManager
from tests.runtime.fixtures import NewerShopManager
from typedmgr import StaleProxyError

pytestmark = pytest.mark.process


def test_a_client_generated_from_another_protocol_version_is_refused() -> None:
    """Creating an object whose Protocol changed on the server raises StaleProxyError."""
    with NewerShopManager(address=("127.0.0.1", 0), authkey=b"stale") as server:
        client = ShopManager(address=server.address, authkey=b"stale")
        client.connect()
        objects = server._number_of_objects()  # type: ignore[attr-defined]
        with pytest.raises(StaleProxyError) as raised:
            client.Counter()
        message = str(raised.value)
        assert "CounterProxy was generated from another version of Counter" in message
        assert "server: increment(by: int = 1, *, note: str = '') -> int" in message
        assert "client: increment(by: int = 1) -> int" in message
        assert "value" not in message  # only what differs
        assert objects == server._number_of_objects()  # type: ignore[attr-defined]


def test_matching_fingerprints_are_asked_once() -> None:
    """A client whose Protocol matches creates objects normally."""
    with ShopManager(address=("127.0.0.1", 0), authkey=b"fresh") as m:
        assert 1 == m.Counter().increment()
        assert 2 == m.Counter(start=1).increment()
