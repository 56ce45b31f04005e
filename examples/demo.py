"""The reference example end to end: a shop server and typed clients in other processes.

Run ``typedmgr gen`` first (it writes ``shop_proxies.py``), then ``python examples/demo.py``.
The server runs in its own process (``typedmgr serve``); each customer is a separate client
process that imports only the Protocols and the generated module, never ``shop.impl``.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import subprocess
import sys
from pathlib import Path

from shop.models import Category
from shop_proxies import ShopManager

HERE = Path(__file__).resolve().parent
CUSTOMERS = {
    "ann": [("B-1", 1), ("T-3", 2)],
    "bob": [("G-7", 1)],
    "cyd": [("T-3", 4), ("B-1", 2), ("G-7", 1)],
}


def customer(address: tuple[str, int], authkey: bytes, name: str) -> str:
    """One client process: fill a cart on the shared shop, check out, report."""
    manager = ShopManager(address=address, authkey=authkey)
    manager.connect()
    with manager:
        shop = manager.Shop()
        cart = shop.cart(name)
        for sku, qty in CUSTOMERS[name]:
            cart.add(sku, qty)
        visit = shop.counter("visits").increment()
        receipt = cart.checkout()
        bought = ", ".join(f"{line['qty']} x {line['sku']}" for line in receipt.lines)
        loaded = "shop.impl" in sys.modules
        return (
            f"[pid {os.getpid()}] {name}: visit #{visit}, bought {bought}, "
            f"paid {receipt.total:.2f} EUR (implementation imported: {loaded})"
        )


def main() -> None:
    authkey = secrets.token_hex(16)
    env = {**os.environ, "SHOP_AUTHKEY": authkey, "PYTHONPATH": str(HERE)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "typedmgr",
            "serve",
            "shop.server:ShopManager",
            "--address",
            "127.0.0.1:0",
            "--authkey-env",
            "SHOP_AUTHKEY",
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline().strip()
        print(banner)
        host, port = banner.rsplit("(", 1)[1].rstrip(")").replace("'", "").split(", ")
        address = (host, int(port))
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(len(CUSTOMERS)) as pool:
            jobs = [(address, authkey.encode(), name) for name in CUSTOMERS]
            for line in pool.starmap(customer, jobs):
                print(line)
        report(address, authkey.encode())
    finally:
        server.terminate()
        server.wait(timeout=10)


def report(address: tuple[str, int], authkey: bytes) -> None:
    """What the clients left on the server, read back by one more typed client."""
    manager = ShopManager(address=address, authkey=authkey)
    manager.connect()
    with manager:
        shop = manager.Shop()
        catalog = shop.catalog()
        print(f"units sold: {shop.sales()}")
        print(f"visits: {shop.counter('visits').value()}")
        books = [item.name for item in catalog.items(Category.BOOKS)]
        print(f"books: {books}; B-1 costs {catalog.price('B-1', currency='USD')} USD")
        print(f"cart of 'zed': {shop.find_cart('zed')}")
        try:
            shop.cart("ann").add("NOPE")
        except KeyError as error:
            where = str(error.__cause__).strip().splitlines()[-3].strip()
            print(f"remote error at the caller: KeyError {error}, raised at {where}")


if __name__ == "__main__":
    main()
