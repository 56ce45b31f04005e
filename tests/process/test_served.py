"""Servers in processes of their own; typed clients connect() from other processes."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import uuid

import pytest

from shop_proxies import CartProxy, ShopManager
from tests.process import children
from tests.process.support import EXAMPLES, Served, run_children
from typedmgr import RemoteTraceback
from typedmgr._cli import main

pytestmark = pytest.mark.process

CLIENTS = 4
VISITS = 50


def test_client_processes_share_one_server(served_shop: Served) -> None:
    """Four connect()ing client processes x 50 increments on one counter give exactly 200."""
    counter = f"visits-{uuid.uuid4().hex}"
    customers = [f"{name}-{uuid.uuid4().hex}" for name in ("ann", "bob", "cyd", "dan")]
    before = _sales(served_shop)
    outcomes = run_children(
        children.shop_visits,
        [
            (served_shop.address, served_shop.authkey, counter, customer, VISITS)
            for customer in customers
        ],
    )
    # Each child: its receipt, typed nested proxies, a clean `with` exit, no implementation.
    assert [(25.0, "CartProxy", True, [])] * CLIENTS == outcomes
    m = ShopManager(address=served_shop.address, authkey=served_shop.authkey)
    m.connect()
    shop = m.Shop()
    assert CLIENTS * VISITS == shop.counter(counter).value()
    assert before.get("T-3", 0) + 2 * CLIENTS == shop.sales()["T-3"]
    for customer in customers:
        cart = shop.find_cart(customer)
        assert isinstance(cart, CartProxy)
        assert [] == cart.lines()


def _sales(served: Served) -> dict[str, int]:
    m = ShopManager(address=served.address, authkey=served.authkey)
    m.connect()
    return m.Shop().sales()


def test_connected_manager_leaves_a_with_block_cleanly(served_shop: Served) -> None:
    """Leaving `with` on a connect()ed manager raises nothing and leaves the server up."""
    name = f"with-{uuid.uuid4().hex}"
    m = ShopManager(address=served_shop.address, authkey=served_shop.authkey)
    m.connect()
    with m:
        assert 1 == m.Shop().counter(name).increment()
    again = ShopManager(address=served_shop.address, authkey=served_shop.authkey)
    again.connect()
    with again:
        assert 2 == again.Shop().counter(name).increment()


def test_remote_exception_from_a_served_shop(served_shop: Served) -> None:
    """A served KeyError arrives with its type, message and the server-side frames."""
    m = ShopManager(address=served_shop.address, authkey=served_shop.authkey)
    m.connect()
    cart = m.Shop().cart(f"err-{uuid.uuid4().hex}")
    with pytest.raises(KeyError, match="no such sku: nope") as raised:
        cart.add("nope")
    cause = raised.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert os.path.join("shop", "impl.py") in cause.tb
    assert "in add" in cause.tb
    assert 4 == cart.add("G-7", 4)


def test_wrong_authkey_is_refused(served_shop: Served) -> None:
    """A client with another key cannot connect."""
    m = ShopManager(address=served_shop.address, authkey=b"not-the-key")
    with pytest.raises(multiprocessing.AuthenticationError):
        m.connect()


AUTHKEY_REFUSED = (
    "typedmgr serve: error: --authkey is not accepted: a key on the command line is "
    "readable by every local user; use --authkey-env VAR or --authkey-file PATH "
    "(see typedmgr serve --help)"
)


def test_serve_refuses_an_authkey_on_the_command_line() -> None:
    """`typedmgr serve` takes the key from the environment or a file, never argv."""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "typedmgr", "serve", "shop.server:ShopManager"),
            *("--address", "127.0.0.1:0", "--authkey", "secret"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(EXAMPLES)},
        check=False,
        timeout=30,
    )
    assert 2 == result.returncode
    assert AUTHKEY_REFUSED == result.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (["--authkey=secret"], AUTHKEY_REFUSED),
        (["--authkey"], AUTHKEY_REFUSED),
        (  # an abbreviation is not an option
            ["--authkey-e", "VAR"],
            "typedmgr serve: error: one of the arguments --authkey-env "
            "--authkey-file is required (see typedmgr serve --help)",
        ),
        (
            ["--authkey-env", "VAR", "--tls-c", "cert.pem"],
            "typedmgr: error: unrecognized arguments: --tls-c cert.pem "
            "(see typedmgr --help)",
        ),
    ],
    ids=["key-joined", "key-alone", "abbreviated-key-option", "abbreviated-option"],
)
def test_serve_refuses_keys_and_abbreviations_with_a_precise_error(
    options: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whatever the spelling, a key on the command line is refused, and so is an
    abbreviated option, each with the error that names it."""
    argv = ["serve", "shop.server:ShopManager", "--address", "127.0.0.1:0", *options]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert 2 == exit_.value.code
    assert error == capsys.readouterr().err.splitlines()[-1]
