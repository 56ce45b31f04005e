"""What a client child does to a served RuntimeManager so that the server logs each event."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.runtime.fixtures import RuntimeManager
from typedmgr import ServerConnectionError
from typedmgr._errors import RefusedArgument


def busy_client(address: Any, authkey: bytes) -> list[str]:
    """Create objects, send a refused type, a failing one-way call and an oversized
    request, then exit (which ends the session); what happened, in order."""
    m: Any = RuntimeManager(address=address, authkey=authkey)
    m.connect()
    tally = m.Tally()
    board = m.Board()
    board.tally("dropped at once")  # its reference goes back with the next request
    seen = [str(tally.add(2))]
    try:
        tally.add(Decimal(1))
    except RefusedArgument:
        seen.append("refused")
    tally.note("boom")  # one-way: the server logs its failure
    seen.append(str(tally.add(1)))
    try:
        tally.note("x" * 200_000)  # over the server's --max-message-size
        tally.add(0)
    except ServerConnectionError:
        seen.append("closed")
    seen.append(str(tally.add(0)))  # a new connection
    return seen
