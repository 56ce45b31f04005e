"""Proxies pickled outside process spawning (a Queue, a file) keep working (gh-139801).

A pickle never carries the authkey: it may travel anywhere. The stdlib then authenticates a
rebuilt proxy with the receiving process's own key, which fails for every manager given a
key of its own. typedmgr uses the key a manager in the receiving process (or the parent it
forked from) has for that address, and says how to provide one when there is none.
"""

from __future__ import annotations

import multiprocessing
import pickle
from multiprocessing.context import AuthenticationError
from typing import Any

import pytest

from shop_proxies import CounterProxy, ShopManager
from tests.process.support import run_children

pytestmark = pytest.mark.process

AUTHKEY = b"a key of this manager's own"
FORK = multiprocessing.get_context("fork")
SPAWN = multiprocessing.get_context("spawn")


def increment_pickled(payload: bytes) -> int:
    """Child: a proxy pickled outside spawning (as a queue does): no authkey inside."""
    counter: CounterProxy = pickle.loads(payload)
    return counter.increment()


def increment_passed_and_pickled(
    passed: CounterProxy, payload: bytes
) -> tuple[int, int]:
    """Child: one proxy from spawning (its key comes along), one pickled outside it."""
    pickled: CounterProxy = pickle.loads(payload)
    return passed.increment(), pickled.increment()


def pickled_before_and_after_a_manager(
    payload: bytes, address: Any, authkey: bytes
) -> tuple[str, int]:
    """Child: a proxy with no known key fails clearly; then a manager lends its key."""
    try:
        pickle.loads(payload)
    except AuthenticationError as e:
        refusal = str(e)
    else:
        refusal = ""
    ShopManager(address=address, authkey=authkey).connect()
    counter: CounterProxy = pickle.loads(payload)
    return refusal, counter.increment()


@pytest.fixture
def shop() -> Any:
    with ShopManager(address=("127.0.0.1", 0), authkey=AUTHKEY, ctx=FORK) as m:
        yield m


def test_a_pickled_proxy_carries_no_authkey(shop: ShopManager) -> None:
    """A proxy's pickle does not contain its manager's authkey."""
    assert AUTHKEY not in pickle.dumps(shop.Counter())


def test_a_forked_child_uses_the_parents_manager_key(shop: ShopManager) -> None:
    """No proxy is alive at the fork (those reconnect on their own): only the key
    helps."""
    payload = pickle.dumps(shop.Counter())
    [value] = run_children(increment_pickled, [(payload,)], ctx=FORK)
    assert 1 == value


def test_a_spawned_child_uses_the_key_of_a_proxy_it_was_given(
    shop: ShopManager,
) -> None:
    """A spawned child calls a proxy passed to it, and one unpickled after it, with the
    key that came with the passed proxy."""
    counter = shop.Counter()
    [values] = run_children(
        increment_passed_and_pickled, [(counter, pickle.dumps(counter))], ctx=SPAWN
    )
    assert (1, 2) == values
    assert 2 == counter.value()


def test_without_a_known_key_the_error_says_what_to_do(shop: ShopManager) -> None:
    """A pickled proxy used where no key is known fails naming the address and the
    remedy; once a manager for the address exists, it works."""
    counter = shop.Counter()
    [(refusal, value)] = run_children(
        pickled_before_and_after_a_manager,
        [(pickle.dumps(counter), shop.address, AUTHKEY)],
        ctx=SPAWN,
    )
    assert repr(shop.address) in refusal
    assert "make a TypedManager for that address with its authkey" in refusal
    assert 1 == value
