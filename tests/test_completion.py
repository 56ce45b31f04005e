"""IDE completion: jedi sees a generated proxy's exposed methods, signatures and docs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jedi  # a dev dependency: missing, the tests fail rather than skip
import pytest

from shop import api
from tests.tools import ROOT
from typedmgr import interface_of

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


@pytest.mark.parametrize("files", [("proxies.py",), ("proxies.py", "proxies.pyi")])
def test_overloads_are_shown_from_the_module_and_from_its_stub(
    files: tuple[str, ...], tmp_path: Path
) -> None:
    """jedi lists each ``@overload`` of a method, reading the .py alone or the .pyi beside
    it (it knows an overload only by a decorator spelled ``overload``)."""
    package = tmp_path / "client_pkg"
    package.mkdir()
    (package / "__init__.py").touch()
    for name in files:
        source = ROOT / "tests" / "golden" / "bag" / "expected" / name
        (package / name).write_text(source.read_text())
    code = "from client_pkg.proxies import BagProxy\ndef f(b: BagProxy):\n    b.pick("
    project = jedi.Project(tmp_path, added_sys_path=[str(ROOT)])
    script = jedi.Script(code, path=tmp_path / "snippet.py", project=project)
    assert ["pick(key: str) -> int", "pick(key: str, default: str) -> int | str"] == [
        s.to_string() for s in script.get_signatures(3, len("    b.pick("))
    ]


def signatures(module: str, code: str, name: str) -> list[str]:
    """jedi's signatures of attribute ``name`` completed at the end of ``code``."""
    source = f"from {module} import *\n{code}."
    project = jedi.Project(ROOT, added_sys_path=[str(ROOT / "examples")])
    script = jedi.Script(source, path=ROOT / "snippet.py", project=project)
    lines = source.splitlines()
    found = script.complete(len(lines), len(lines[-1]))
    return [s.to_string() for c in found if c.name == name for s in c.get_signatures()]


@pytest.mark.parametrize(
    ("module", "code", "name", "shown"),
    [
        (
            "tests.golden.family.expected.proxies",
            "FamilyManager().Store().open('a.txt')",
            "decode",
            'decode(encoding: Encoding="utf-8") -> str',
        ),
        (
            "tests.golden.family.expected.proxies",
            "FamilyManager().Store().open('a.txt')",
            "chunks",
            "chunks(size: int) -> Chunks",
        ),
        (
            "tests.golden.forms.expected.proxies",
            "FormsManager().Forms()",
            "values",
            "values(color: Color=..., at: Point | None=None) -> Row",  # the .pyi's
        ),
        (
            "tests.golden.forms.expected.proxies",
            "FormsManager().Forms()",
            "literal",
            'literal(mode: Literal["r", "w"]="r", level: Literal[1, 2]=1) -> str',
        ),
        (
            "shop_proxies",
            "ShopManager().Shop().cart('ann')",
            "checkout",
            "checkout() -> Receipt",
        ),
    ],
)
def test_signatures_use_the_protocols_own_names(
    module: str, code: str, name: str, shown: str
) -> None:
    """IDEs read the .py: user types, aliases and typing forms appear as the Protocol
    wrote them, not as the generated module's private aliases."""
    assert [shown] == signatures(module, code, name)


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
