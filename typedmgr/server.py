"""The manager server's old home: ``TypedServer`` and its helpers live in ``_server`` now.

Kept so that imports of ``typedmgr.server`` keep working until the public face is settled.
"""

from __future__ import annotations

from typedmgr._server import ANONYMOUS, LimitError, TypedServer, is_local_address

__all__ = ["ANONYMOUS", "LimitError", "TypedServer", "is_local_address"]
