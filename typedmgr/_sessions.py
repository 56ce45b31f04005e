"""Sessions: which client process holds which references, so its death releases them.

A typedmgr client process opens one *lease* connection to each server and names its
session in every long-lived connection it opens. References the process takes over (created
objects, returned objects, increfs) are counted against its session; when the lease closes,
because the process exited or was killed, the server releases whatever the session still
holds. The stdlib keeps one global count per object, so a killed client leaks forever.
"""

from __future__ import annotations

import re

__all__ = ["Sessions", "lease_name", "session_name", "session_of"]

_TAG = re.compile(r"\[typedmgr session ([0-9a-f]{16})\]")
_LEASE = "typedmgr lease"


def session_name(name: str, session: str) -> str:
    """The ``accept_connection`` name of a connection that belongs to ``session``."""
    return f"{name} [typedmgr session {session}]"


def lease_name(session: str) -> str:
    """The ``accept_connection`` name of the connection whose end ends ``session``."""
    return session_name(_LEASE, session)


def session_of(name: str) -> tuple[str | None, bool]:
    """(the session a connection name declares, whether it is that session's lease)."""
    found = _TAG.search(name)
    if found is None:
        return None, False
    return found.group(1), name.startswith(_LEASE)


class Sessions:
    """Per-session reference counts, kept beside the server's global ones.

    Not locked: the server changes them together with its own counts, under its mutex.
    Nothing is allocated on the way but the entries themselves.
    """

    def __init__(self) -> None:
        self._held: dict[str, dict[str, int]] = {}  # session -> ident -> references
        self._holders: dict[str, set[str]] = {}  # ident -> sessions holding it

    def adopted(self, session: str, ident: str) -> None:
        """``session`` now holds one more reference to ``ident``."""
        held = self._held.get(session)
        if held is None:
            held = self._held[session] = {}
        count = held.get(ident, 0)
        held[ident] = count + 1
        if not count:
            holders = self._holders.get(ident)
            if holders is None:
                self._holders[ident] = {session}
            else:
                holders.add(session)

    def holds(self, session: str, ident: str) -> bool:
        """Whether ``session`` holds a reference to ``ident``."""
        return ident in self._held.get(session, ())

    def count(self, session: str) -> int:
        """How many objects ``session`` holds references to."""
        return len(self._held.get(session, ()))

    def released(self, session: str, ident: str) -> bool:
        """``session`` gives one reference to ``ident`` back; whether it held one."""
        held = self._held.get(session)
        if not held:
            return False
        count = held.get(ident, 0)
        if count > 1:
            held[ident] = count - 1
        elif count:
            del held[ident]
            self._drop_holder(ident, session)
        return bool(count)

    def forget(self, ident: str) -> None:
        """``ident`` was disposed of: no session may release it again (ids get reused)."""
        for session in self._holders.pop(ident, ()):
            self._held.get(session, {}).pop(ident, None)

    def end(self, session: str) -> dict[str, int]:
        """Close ``session``; return the references it still held, to be released."""
        held = self._held.pop(session, {})
        for ident in held:
            self._drop_holder(ident, session)
        return held

    def held(self) -> dict[str, dict[str, int]]:
        """A copy of what each session holds: session -> ident -> references."""
        return {session: dict(held) for session, held in self._held.items()}

    def _drop_holder(self, ident: str, session: str) -> None:
        holders = self._holders.get(ident)
        if holders is not None:
            holders.discard(session)
            if not holders:
                del self._holders[ident]
