"""Class 3: one request cannot corrupt what every client shares.

Admitting a type used to admit ``BUILD`` on it: the slot state of a pickle sets attributes
on the class object itself, and the dict state of an enum member reached by value rewrites
the process-wide singleton. In the shop, one call made ``catalog.item("B-1")`` fail for
every client until the server restarted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shop.models import Category
from shop_proxies import ShopManager
from tests.security.attack import (
    Target,
    call,
    exchange,
    limited_server,
    op_global,
    op_string,
    session_less,
)

pytestmark = pytest.mark.process

CATEGORY = op_global("shop.models", "Category")
ITEM = op_global("shop.models", "Item")

ATTACKS = {
    # Category("books"), then BUILD {"_value_": "evil"}: the singleton's value rewritten.
    "enum member dict state": CATEGORY
    + op_string("books")
    + b"\x85R}"
    + op_string("_value_")
    + op_string("evil")
    + b"sb",
    # The class Item, then BUILD (None, {"__reduce_ex__": None}): setattr on the class.
    "class slot state": ITEM + b"N}" + op_string("__reduce_ex__") + b"Ns\x86b",
    # Category.__new__(Category, "games") is the shared member too.
    "enum member by NEWOBJ": CATEGORY
    + op_string("games")
    + b"\x85\x81}"
    + op_string("_name_")
    + op_string("evil")
    + b"sb",
}


@pytest.fixture(scope="module")
def shop() -> Iterator[Target]:
    """The shop example, served under an address-space limit."""
    with limited_server("shop.server:ShopManager") as target:
        yield target


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_build_on_shared_objects_is_refused(shop: Target, attack: str) -> None:
    """The request is refused, and every client still reads the catalog as before."""
    m = ShopManager(address=shop.address, authkey=shop.authkey)
    m.connect()
    catalog: Any = m.Shop().catalog()
    payload = call(catalog._id, "items", ATTACKS[attack] + b"\x85")
    kind, text = exchange(session_less(shop), payload)
    assert "#TRACEBACK" == kind
    assert "refused to set the state of" in text
    item = catalog.item("B-1")
    assert Category.BOOKS is item.category
    assert ["G-7"] == [i.sku for i in catalog.items(Category.GAMES)]


def test_state_of_fresh_instances_still_loads(shop: Target) -> None:
    """What the fix must not refuse: values built in the message (dataclasses, enums)."""
    m = ShopManager(address=shop.address, authkey=shop.authkey)
    m.connect()
    catalog: Any = m.Shop().catalog()
    assert ["T-3"] == [i.sku for i in catalog.items(Category.TOOLS)]
