"""Child-process side of the async tests."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.process.aio_api import AioManager
from typedmgr import AsyncTypedManager


def hold_then_wait(address: Any, authkey: bytes, conn: Any) -> None:
    """Take three remote objects through an async manager, report, wait to be killed."""

    async def main() -> None:
        manager = AsyncTypedManager.of(AioManager)(address, authkey)
        async with manager:
            echo = await manager.Echo()  # type: ignore[attr-defined]
            item = await echo.item(1)
            session = await echo.session()
            conn.send(3)
            await asyncio.to_thread(conn.recv)  # never answered: the parent kills us
            del echo, item, session

    asyncio.run(main())
