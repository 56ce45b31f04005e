"""IDE completion: jedi sees a generated proxy's exposed methods, signatures and docs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shop import api
from typedmgr import interface_of

jedi = pytest.importorskip("jedi")

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "from shop_proxies import ShopManager\nm = ShopManager()\n"


def complete(expression: str) -> list[Any]:
    """jedi's completions after ``expression.`` in a client snippet."""
    code = f"{PREFIX}{expression}."
    project = jedi.Project(ROOT, added_sys_path=[str(ROOT / "examples")])
    script = jedi.Script(code, path=ROOT / "snippet.py", project=project)
    completions: list[Any] = script.complete(code.count("\n") + 1, len(expression) + 1)
    return completions


@pytest.mark.parametrize(
    ("expression", "protocol"),
    [
        ("m.Shop()", "Shop"),
        ("m.Shop().cart('ann')", "Cart"),
        ("m.Shop().catalog()", "Catalog"),
        ("m.Counter()", "Counter"),
    ],
)
def test_completion_offers_exactly_the_exposed_methods(
    expression: str, protocol: str
) -> None:
    """The public names jedi completes are the Protocol's methods, nothing else."""
    expected = set(interface_of(getattr(api, protocol)).exposed)
    public = {c.name for c in complete(expression) if not c.name.startswith("_")}
    assert expected == public


def test_completion_shows_signature_and_docstring() -> None:
    """A completed method carries the Protocol's signature and docstring."""
    add = next(c for c in complete("m.Shop().cart('ann')") if c.name == "add")
    assert ["add(sku: str, qty: int=1) -> int"] == [
        s.to_string() for s in add.get_signatures()
    ]
    assert (
        "Add ``qty`` of ``sku``; return the quantity of it now in the cart."
        in add.docstring()
    )


def complete_async(lines: list[str]) -> list[Any]:
    """jedi's completions at the end of the last line, in an ``async def`` client."""
    body = "".join(f"    {line}\n" for line in lines).rstrip("\n")
    code = (
        "from shop_proxies import AsyncShopManager\n"
        "async def client() -> None:\n"
        "    m = AsyncShopManager(('127.0.0.1', 50000))\n" + body
    )
    project = jedi.Project(ROOT, added_sys_path=[str(ROOT / "examples")])
    script = jedi.Script(code, path=ROOT / "snippet.py", project=project)
    last = code.splitlines()[-1]
    completions: list[Any] = script.complete(code.count("\n") + 1, len(last))
    return completions


@pytest.mark.parametrize(
    ("lines", "protocol"),
    [
        (["shop = await m.Shop()", "shop."], "Shop"),
        (["shop = await m.Shop()", "cart = await shop.cart('ann')", "cart."], "Cart"),
        (["counter = await m.Counter()", "counter."], "Counter"),
    ],
)
def test_completion_of_async_twins_offers_the_exposed_methods(
    lines: list[str], protocol: str
) -> None:
    """Through ``await``, jedi completes an async twin with the Protocol's methods."""
    expected = set(interface_of(getattr(api, protocol)).exposed)
    public = {c.name for c in complete_async(lines) if not c.name.startswith("_")}
    assert expected == public


def test_completion_of_an_async_twin_shows_signature_and_docstring() -> None:
    """A completed async method carries the Protocol's signature and docstring."""
    completions = complete_async(["cart = await (await m.Shop()).cart('a')", "cart."])
    add = next(c for c in completions if c.name == "add")
    assert ["add(sku: str, qty: int=1) -> int"] == [
        s.to_string() for s in add.get_signatures()
    ]
    assert "Add ``qty`` of ``sku``" in add.docstring()
