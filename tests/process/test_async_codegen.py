"""Generated async twins of Protocols with ``async def`` methods, special methods and a
context manager: their text, stubtest, and the generated module against a real server."""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.process.aio_api import AioManager
from tests.process.support import TIMEOUT
from typedmgr_codegen._render import render_module

pytestmark = pytest.mark.process

AUTHKEY = b"async codegen"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The module and stub ``typedmgr gen`` writes for AioManager, imported."""
    folder = tmp_path_factory.mktemp("gen")
    module = render_module([AioManager])
    (folder / "aio_proxies.py").write_text(module.source)
    (folder / "aio_proxies.pyi").write_text(module.stub)
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("aio_proxies")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("aio_proxies", None)


def test_async_def_methods_are_plain_in_the_sync_proxy_and_awaited_in_the_twin(
    generated: ModuleType,
) -> None:
    """``async def aecho`` is ``def aecho`` on the sync proxy (it blocks) and ``async def``
    on the twin, with the awaited type; special methods and ``with`` as documented."""
    source = Path(generated.__file__ or "").read_text()
    sync_part, async_part = source.split("class AsyncEchoProxy", 1)
    assert "    def aecho(self, tag: int, delay: float = 0.0) -> int:" in sync_part
    assert (
        "    async def aecho(self, tag: int, delay: float = 0.0) -> int:" in async_part
    )
    table = generated.AsyncTableProxy
    assert {"length", "contains", "truth", "setitem", "delitem", "__getitem__"} <= set(
        vars(table)
    )
    assert "__len__" not in vars(table) and "__aiter__" in vars(table)
    session = generated.AsyncSessionProxy
    assert {"__aenter__", "__aexit__"} <= set(vars(session))
    assert "__enter__" not in vars(session)
    echo = generated.AsyncEchoProxy
    assert echo._fingerprint_ == generated.EchoProxy._fingerprint_


def test_generated_twins_against_a_server(generated: ModuleType) -> None:
    """The generated async manager and twins serve async def methods, iterators, special
    methods and ``async with`` end to end."""
    server = AioManager(
        address=("127.0.0.1", 0),
        authkey=AUTHKEY,
        ctx=multiprocessing.get_context("fork"),
    )

    async def main(address: Any) -> None:
        async with generated.AsyncAioManager(address=address, authkey=AUTHKEY) as m:
            echo = await m.Echo()
            assert type(echo) is generated.AsyncEchoProxy
            assert list(range(50)) == await asyncio.gather(
                *(echo.aecho(i, 0.001) for i in range(50))
            )
            item = await echo.aitem(4)
            assert type(item) is generated.AsyncItemProxy
            assert 4 == await item.value()
            assert [0, 1, 2] == [x async for x in await echo.count(3)]
            async with await echo.session() as session:
                assert "open" == await session.state()
            table = await m.Table()
            await table.setitem("k", 1)
            assert 1 == await table["k"] and 1 == await table.length()
            assert ["k"] == [key async for key in table]

    with server:
        asyncio.run(asyncio.wait_for(main(server.address), TIMEOUT))


def test_dump_model_marks_async_methods(capsys: pytest.CaptureFixture[str]) -> None:
    """``typedmgr gen --dump-model`` says which methods are ``async def``."""
    import json

    from typedmgr_codegen._cli import main as gen

    assert 0 == gen(["tests.process.aio_api:AioManager", "--dump-model"])
    model = json.loads(capsys.readouterr().out)
    methods = {
        (i["protocol"].rpartition(":")[2], m["name"]): m["async"]
        for i in model["interfaces"]
        for m in i["methods"]
    }
    assert methods["Echo", "aecho"] and methods["Echo", "meet"]
    assert not methods["Echo", "echo"] and not methods["Item", "value"]
