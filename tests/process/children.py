"""What child processes run: servers, typed clients and users of proxies they were handed.

Besides typedmgr, this module imports only what a client holds (the Protocols and the
generated module), so a client child can report whether anything pulled in the
implementations. Servers import theirs when they start.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing import process
from multiprocessing.managers import BaseManager
from typing import Any

from shop_proxies import CartProxy, CounterProxy, ShopManager, ShopProxy
from tests.process.bank_api import BankClient
from tests.process.load_api import LoadCounter
from typedmgr import Pipeline, TypedManager

#: Server-side modules a client process must never import.
IMPLEMENTATIONS = ("shop.impl", "shop.server", "tests.process.bank_impl")


def run_reporting(
    results: Any, tag: int, target: Callable[..., object], args: tuple[Any, ...]
) -> None:
    """Run ``target(*args)`` and put ``(tag, "ok", result)`` or its traceback on ``results``."""
    try:
        value = target(*args)
    except BaseException:
        results.put((tag, "error", traceback.format_exc()))
        raise
    results.put((tag, "ok", value))


def loaded_implementations() -> list[str]:
    """The server-side modules this process has imported."""
    return [name for name in IMPLEMENTATIONS if name in sys.modules]


def create(manager: TypedManager, typeid: str, /, *args: object) -> Any:
    """Call the creation method a runtime registration added (invisible to type checkers)."""
    return getattr(manager, typeid)(*args)


def serve(manager: str, address: Any, authkey: bytes, ready: Any) -> None:
    """Serve the manager class named ``"module:Class"`` forever, imported here only.

    ``shop_proxies:ShopManager`` is the generated client manager: it imports ``shop.server``
    lazily, to serve.
    """
    module, _, name = manager.partition(":")
    manager_class: type[BaseManager] = getattr(importlib.import_module(module), name)
    if not issubclass(manager_class, TypedManager):
        # The stdlib's proxies rebuilt in its server authenticate with the process's key.
        process.current_process().authkey = authkey
    server = manager_class(address=address, authkey=authkey).get_server()
    ready.put(server.address)
    server.serve_forever()


def shop_visits(
    address: Any, authkey: bytes, counter_name: str, customer: str, visits: int
) -> tuple[float, str, bool, list[str]]:
    """connect() with the generated manager, count visits and check out a cart.

    Returns (receipt total, proxy class of the nested cart, whether the `with` block of the
    connect()ed manager exited cleanly, the implementation modules this process loaded).
    """
    manager = ShopManager(address=address, authkey=authkey)
    manager.connect()
    with manager:
        shop = manager.Shop()
        counter = shop.counter(counter_name)
        assert isinstance(counter, CounterProxy), counter
        for _ in range(visits):
            counter.increment()
        cart = shop.cart(customer)
        cart.add("T-3", 2)
        found = shop.find_cart(customer)
        assert found is not None
        receipt = found.checkout()
    return receipt.total, type(cart).__name__, True, loaded_implementations()


def use_passed_shop(
    shop: ShopProxy, counter: CounterProxy, counter_name: str, customer: str, times: int
) -> tuple[list[str], bool, int, int, list[str]]:
    """Use proxies received as Process arguments, including methods returning proxies.

    Returns (proxy class names, whether find_cart of a stranger was None, the quantity in
    the customer's cart, the nested counter's value, the implementation modules loaded).
    """
    for _ in range(times):
        counter.increment()
    nested = shop.counter(counter_name)  # a #PROXY reply: gh-99595 in the stdlib
    for _ in range(times):
        nested.increment()
    cart = shop.cart(customer)
    cart.add("B-1")
    found = shop.find_cart(customer)
    assert isinstance(found, CartProxy), found
    quantity = found.add("B-1")
    names = [type(p).__name__ for p in (shop, counter, nested, cart, found)]
    stranger = shop.find_cart(f"stranger-of-{customer}")
    return names, stranger is None, quantity, nested.value(), loaded_implementations()


def bank_deposits(
    address: Any, authkey: bytes, account: str, owner: str, times: int
) -> tuple[str, str, bool, list[str]]:
    """A client with Protocols only (runtime-built proxies) deposits into a shared account.

    Returns (class names of the bank and account proxies, whether the account proxy class
    was generated, the implementation modules loaded).
    """
    manager = BankClient(address=address, authkey=authkey)
    manager.connect()
    with manager:
        bank = create(manager, "Bank")
        shared = bank.open(account)
        for _ in range(times):
            shared.deposit(1, note=owner)
        bank.open(owner).deposit(10)
        generated: bool = type(shared)._generated_
        return (
            type(bank).__name__,
            type(shared).__name__,
            generated,
            loaded_implementations(),
        )


def use_passed_bank(
    bank: Any, owner: str, times: int
) -> tuple[str, str, int, list[str]]:
    """Use a runtime-built proxy received as a Process argument; open an account with it.

    Returns (class names of the bank and the account it returned, the account's balance,
    the implementation modules loaded).
    """
    account = bank.open(owner)  # a #PROXY reply to a proxy rebuilt from its Protocol
    for _ in range(times):
        account.deposit(1)
    found = bank.find(owner)
    balance: int = found.statement().balance
    return (
        type(bank).__name__,
        type(account).__name__,
        balance,
        loaded_implementations(),
    )


#: What a load child returns: the values its increments returned, in order, the number of
#: one-way bumps it had sent before each of them, and when its calls began and ended
#: (time.monotonic, comparable across processes).
LoadRun = tuple[list[int], list[int], float, float]


def increment_passed(counter: CounterProxy, times: int) -> LoadRun:
    """Increment a counter proxy received as a Process argument ``times`` times."""
    begun = time.monotonic()
    values = [counter.increment() for _ in range(times)]
    return values, [0] * times, begun, time.monotonic()


def increment_connected(
    address: Any, authkey: bytes, counter_name: str, times: int
) -> LoadRun:
    """connect() on its own, find the shop's named counter and increment it ``times`` times."""
    manager = ShopManager(address=address, authkey=authkey)
    manager.connect()
    with manager:
        counter = manager.Shop().counter(counter_name)
        begun = time.monotonic()
        values = [counter.increment() for _ in range(times)]
        return values, [0] * times, begun, time.monotonic()


def increment_mixed(counter: LoadCounter, rounds: int) -> LoadRun:
    """Add 100 per round: 30 calls, 10 one-way calls, a pipeline of 45 calls and 15 one-way.

    Ends with a call, so every one-way call it sent has run when it returns.
    """
    values: list[int] = []
    bumps: list[int] = []
    sent = 0
    begun = time.monotonic()
    for _ in range(rounds):
        for i in range(40):
            if i % 4 == 3:
                counter.bump()
                sent += 1
            else:
                values.append(counter.increment())
                bumps.append(sent)
        with Pipeline() as p:
            replies = []
            for i in range(60):
                if i % 4 == 3:
                    p.call(counter.bump)
                    sent += 1
                else:
                    replies.append((p.call(counter.increment), sent))
        for reply, before in replies:
            values.append(reply.value())
            bumps.append(before)
    counter.value()
    return values, bumps, begun, time.monotonic()


def eldest_then_exit(address: Any, authkey: bytes) -> str:
    """A typed client that receives a returned object through a stdlib proxy, drops it,
    and exits: its stdlib proxy released that reference, its session must not again."""
    from tests.process.legacy import LegacyManager

    manager = LegacyManager(address=address, authkey=authkey)
    manager.connect()
    # An AutoProxy, created on the session's connection, which its requests then use:
    family = create(manager, "SharedFamily")
    member = family.eldest()  # answered with #PROXY
    greeting: str = member.hello("kid")
    return greeting
