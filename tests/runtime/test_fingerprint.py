"""Generated code of another Protocol version: what still agrees works, the rest fails
at its call, naming what differs (tests/process/test_evolution.py has every rule)."""

from __future__ import annotations

import pytest

from shop_proxies import ShopManager
from tests.runtime.fixtures import NewerShopManager, SchemalessShopManager
from typedmgr import StaleProxyError

pytestmark = pytest.mark.process


def test_a_client_generated_from_another_protocol_version_keeps_what_agrees() -> None:
    """Against a newer Counter, creation and ``increment`` (which grew a keyword with a
    default) work; ``value`` (which may now return a float) raises StaleProxyError at
    the call, naming the method and both signatures."""
    with NewerShopManager(address=("127.0.0.1", 0), authkey=b"stale") as server:
        client = ShopManager(address=server.address, authkey=b"stale")
        client.connect()
        counter = client.Counter(start=4)
        assert 5 == counter.increment()
        with pytest.raises(StaleProxyError) as raised:
            counter.value()
        message = str(raised.value)
        assert message.startswith("Counter.value cannot be called on the server at")
        assert "the server returns float, which the client's int does not cover" in (
            message
        )
        assert "the server has `value() -> float`, the client `value() -> int`" in (
            message
        )
        assert "CounterProxy was generated from another version of Counter" in message
        assert "increment" not in message  # only what differs
        assert 6 == counter.increment()


def test_a_server_that_cannot_describe_its_methods_refuses_the_whole_proxy() -> None:
    """A server from before schema evolution only lists its signatures: creating an
    object whose Protocol changed there raises StaleProxyError, listing what differs."""
    with SchemalessShopManager(address=("127.0.0.1", 0), authkey=b"stale") as server:
        client = ShopManager(address=server.address, authkey=b"stale")
        client.connect()
        objects = server._number_of_objects()  # type: ignore[attr-defined]
        with pytest.raises(StaleProxyError) as raised:
            client.Counter()
        message = str(raised.value)
        assert "CounterProxy was generated from another version of Counter" in message
        assert "server: increment(by: int = 1, *, note: str = '') -> int" in message
        assert "client: increment(by: int = 1) -> int" in message
        assert "server: value() -> float" in message
        assert objects == server._number_of_objects()  # type: ignore[attr-defined]


def test_matching_fingerprints_are_asked_once() -> None:
    """A client whose Protocol matches creates objects normally."""
    with ShopManager(address=("127.0.0.1", 0), authkey=b"fresh") as m:
        assert 1 == m.Counter().increment()
        assert 2 == m.Counter(start=1).increment()
