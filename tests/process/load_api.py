"""The load tests' counter: plain, pipelined and one-way increments of one shared value.

A process that only uses the counter imports this module, never ``tests.process.load_impl``.
"""

from __future__ import annotations

from typing import Protocol

from typedmgr import TypedManager, oneway


class LoadCounter(Protocol):
    """A tally the server guards with a lock: its connections are served in threads."""

    def increment(self, by: int = 1) -> int:
        """Add ``by``; return the new value."""
        ...

    @oneway
    def bump(self, by: int = 1) -> None:
        """Add ``by`` without a reply."""
        ...

    def value(self) -> int: ...


class LoadClient(TypedManager):
    """Knows the Protocol only: connects to a load counter served by another process."""


LoadClient.register(LoadCounter)
