"""Schema evolution: a client of one version of a library against a server of another.

tests/process/evolution_v1.py and evolution_v2.py are two releases of one library; the
server runs in a process of its own, the client here has proxies built from the other
version's Protocol. Compatible methods work; each incompatible one raises StaleProxyError
at its call, naming the method and both signatures, and never reaches the server.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from tests.process import evolution_v1 as v1, evolution_v2 as v2
from tests.process.evolution_stock import load_stock
from tests.process.support import run_children, server_process
from typedmgr import StaleProxyError, _channel, interface_of, proxy_class_for
from typedmgr._compatibility import describe
from typedmgr_codegen._load import load_managers
from typedmgr_codegen._render import render_module

pytestmark = pytest.mark.process

AUTHKEY = b"evolution"


@pytest.fixture(scope="module")
def v2_server() -> Iterator[Any]:
    """Version 2 served in a process of its own; yields its address."""
    with server_process(
        "tests.process.evolution_v2:InventoryServer", ("127.0.0.1", 0), AUTHKEY
    ) as address:
        yield address


@pytest.fixture(scope="module")
def v1_server() -> Iterator[Any]:
    """Version 1 served in a process of its own; yields its address."""
    with server_process(
        "tests.process.evolution_v1:InventoryServer", ("127.0.0.1", 0), AUTHKEY
    ) as address:
        yield address


def _v1_client(address: Any) -> v1.Inventory:
    """A new object on the server at ``address``, through a client of version 1."""
    client = v1.InventoryClient(address=address, authkey=AUTHKEY)
    client.connect()
    return cast(v1.Inventory, client.Inventory())  # type: ignore[attr-defined]


def _v2_client(address: Any) -> v2.Inventory:
    """A new object on the server at ``address``, through a client of version 2."""
    client = v2.InventoryClient(address=address, authkey=AUTHKEY)
    client.connect()
    return cast(v2.Inventory, client.Inventory())  # type: ignore[attr-defined]


def _stale(call: Callable[[], object]) -> str:
    """The message of the StaleProxyError ``call()`` raises."""
    with pytest.raises(StaleProxyError) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message
    assert "regenerate it with `typedmgr gen`, or update the server" in message
    return message


def test_an_old_client_keeps_the_methods_a_newer_server_still_serves(
    v2_server: Any,
) -> None:
    """Added methods, added defaults, a widened parameter, a narrowed result: all fine."""
    inventory = _v1_client(v2_server)  # creation works: the verdict is per method
    assert isinstance(inventory, proxy_class_for(v1.Inventory))
    assert 5 == inventory.stock("A-1")
    assert 8 == inventory.restock("A-1", 3)  # urgent and note take their defaults
    assert 3.0 == inventory.scale(2)  # an int where the server takes float | None
    assert "<A-1>" == inventory.label("A-1")  # str where the client expects str | None
    assert [
        "stock",
        "restock A-1 3 False ''",
        "scale 2",
        "label",
    ] == inventory.calls()


def test_an_old_client_calling_a_removed_or_changed_method_is_told_which(
    v2_server: Any,
) -> None:
    """Removed, required parameter added, parameter narrowed, result widened: each
    raises at its call, and the other methods go on working."""
    inventory = _v1_client(v2_server)
    message = _stale(inventory.audit)
    assert message.startswith("Inventory.audit cannot be called on the server at ")
    assert "the server's Inventory has no 'audit'" in message
    assert "the client has `audit() -> list[str]`" in message

    message = _stale(lambda: inventory.reserve("A-1"))
    assert "Inventory.reserve cannot be called" in message
    assert "the server requires 'qty', which the client does not send" in message
    assert "the server has `reserve(sku: str, qty: int) -> int`" in message
    assert "the client `reserve(sku: str) -> int`" in message

    message = _stale(lambda: inventory.price("A-1", 2.5))
    assert "Inventory.price cannot be called" in message
    assert (
        "parameter 'cents' takes int on the server, the client sends float" in message
    )

    message = _stale(inventory.count)
    assert "Inventory.count cannot be called" in message
    assert "the server returns int | None, which the client's int does not cover" in (
        message
    )
    assert 5 == inventory.stock("A-1")  # still fine after the stale calls
    assert ["stock"] == inventory.calls()  # no stale call reached the server


def test_the_verdict_is_shared_by_every_proxy_of_the_typeid(v2_server: Any) -> None:
    """Every proxy of the typeid from this server gets the same class: stale methods are
    replaced once, compatible ones are the class's own (no per-call check)."""
    first, second = _v1_client(v2_server), _v1_client(v2_server)
    assert type(first) is type(second)
    assert {"audit", "reserve", "price", "count"} == set(vars(type(first))["_stale_"])
    base = type(first).__mro__[1]
    assert type(first).stock is base.stock  # type: ignore[attr-defined]


def test_a_newer_client_against_an_older_server_is_told_what_it_lacks(
    v1_server: Any,
) -> None:
    """The other direction: the method the server lacks, parameters it would not take,
    a type it does not accept and a result wider than promised each fail at the call;
    a narrowed parameter and a widened result are fine from this side."""
    inventory = _v2_client(v1_server)
    message = _stale(inventory.history)
    assert "Inventory.history cannot be called" in message
    assert "the server's Inventory has no 'history'" in message

    message = _stale(lambda: inventory.restock("A-1", 2, note="late"))
    assert "Inventory.restock cannot be called" in message
    assert "the server has `restock(sku: str, qty: int) -> int`" in message

    message = _stale(lambda: inventory.scale(None))
    assert (
        "parameter 'factor' takes int on the server, the client sends float | None"
        in (message)
    )
    message = _stale(lambda: inventory.label("A-1"))
    assert "the server returns str | None, which the client's str does not cover" in (
        message
    )
    message = _stale(lambda: inventory.reserve("A-1", 2))
    assert "the server takes 1 positional argument(s), the client sends 2" in message

    assert 3 == inventory.price("A-1", 3)  # int where the server takes float
    assert 1 == inventory.count()  # int where the client expects int | None
    assert ["price 3", "count"] == inventory.calls()


def test_the_same_version_on_both_sides_is_not_restricted(v2_server: Any) -> None:
    """A client of the server's own version gets the plain proxy class."""
    inventory = _v2_client(v2_server)
    assert not hasattr(inventory, "_stale_")
    assert ["restocked"] == inventory.history()


def test_clients_from_before_schema_evolution_still_get_signature_lines(
    v2_server: Any,
) -> None:
    """The ``fingerprint`` request as older typedmgr clients send it is answered as it
    was: the server's signature lines, which such a client lists in its error."""
    lines = _channel.server_rpc(
        v2_server, AUTHKEY, _channel.client, "fingerprint", "Inventory", "0" * 16
    )
    assert interface_of(v2.Inventory).signature_lines == lines
    described = _channel.server_rpc(
        v2_server,
        AUTHKEY,
        _channel.client,
        "fingerprint",
        "Inventory",
        "0" * 16,
        methods=True,
    )
    assert describe(v2.Inventory) == described


def generated_v1_client(folder: str, address: Any) -> tuple[bool, int, str]:
    """In a child process: version 1's generated module (in ``folder``) against the
    server at ``address``. Whether the proxy is of the generated class, what ``restock``
    returned, and the message of ``audit``'s StaleProxyError."""
    sys.path.insert(0, folder)
    module = importlib.import_module("inventory_v1_proxies")
    client = module.InventoryServer(address=address, authkey=AUTHKEY)
    client.connect()
    inventory = client.Inventory()
    generated = isinstance(inventory, module.InventoryProxy)
    restocked: int = inventory.restock("B-2", 1)
    try:
        inventory.audit()
    except StaleProxyError as exc:
        return generated, restocked, str(exc)
    return generated, restocked, ""


def test_a_generated_client_of_version_1_against_version_2(
    v2_server: Any, tmp_path: Path
) -> None:
    """The same with `typedmgr gen`'s output for version 1, in a process of its own (its
    generated class would otherwise become this process's proxy class of version 1)."""
    source = render_module(
        load_managers(["tests.process.evolution_v1:InventoryServer"])
    ).source
    (tmp_path / "inventory_v1_proxies.py").write_text(source)
    [(generated, restocked, message)] = run_children(
        generated_v1_client, [(str(tmp_path), v2_server)]
    )
    assert generated
    assert 6 == restocked
    assert message.startswith("Inventory.audit cannot be called on the server at")
    assert "InventoryProxy was generated from another version of Inventory" in message


def returned_v1_bin(address: Any) -> tuple[str, int, str]:
    """In a child process: version 1 of ``stock`` against the server at ``address``. The
    returned Bin's class, its ``level()`` and the message of its ``empty()``."""
    stock = load_stock("v1")
    client = stock.StockServer(address=address, authkey=AUTHKEY)
    client.connect()
    depot = client.Depot()
    found = depot.bin("north")
    level: int = found.level()
    try:
        found.empty()
    except StaleProxyError as exc:
        return type(found).__name__, level, str(exc)
    return type(found).__name__, level, ""


def test_a_returned_object_of_another_version_keeps_what_agrees() -> None:
    """Version 1's client of a version 2 server, ``stock`` being each side's name for
    the library: the Depot agrees, the Bin it returns has lost ``empty``, which raises
    at its call, while ``level`` works."""
    with server_process(
        "tests.process.evolution_stock:StockServer", ("127.0.0.1", 0), AUTHKEY
    ) as address:
        [(name, level, message)] = run_children(returned_v1_bin, [(address,)])
    assert "BinProxy" == name
    assert 2 == level
    assert message.startswith("Bin.empty cannot be called on the server at")
    assert (
        "the server's Bin has no 'empty', the client has `empty() -> None`" in message
    )
