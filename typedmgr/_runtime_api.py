"""The runtime API generated modules call, and the check they make at import.

A module ``typedmgr gen`` wrote records the API level it was generated for and calls
``require_runtime_api`` first: imported with a typedmgr that does not serve that level, it
fails there with one line naming both, not later with an AttributeError deep in a call
(grpc's generated code checks its runtime the same way).

``RUNTIME_API`` goes up when generated code starts to need something an older runtime lacks;
``OLDEST_RUNTIME_API`` goes up when the runtime stops serving what older generated code calls.
"""

from __future__ import annotations

import importlib.metadata

__all__ = ["OLDEST_RUNTIME_API", "RUNTIME_API", "require_runtime_api"]

RUNTIME_API = 1
"""The API level this runtime serves, which ``typedmgr gen`` records in what it generates."""

OLDEST_RUNTIME_API = 1
"""The oldest API level this runtime still serves."""


def require_runtime_api(api: int, module: str) -> None:
    """Raise ImportError unless this runtime serves ``api``, the level ``module`` (a
    generated module, by its ``__name__``) was generated for."""
    if OLDEST_RUNTIME_API <= api <= RUNTIME_API:
        return
    try:
        installed = f"typedmgr {importlib.metadata.version('typedmgr')}"
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        installed = "typedmgr"
    served = (
        f"API {RUNTIME_API}"
        if OLDEST_RUNTIME_API == RUNTIME_API
        else f"APIs {OLDEST_RUNTIME_API} to {RUNTIME_API}"
    )
    raise ImportError(
        f"{module} was generated for typedmgr runtime API {api}, but the installed "
        f"{installed} serves {served}: regenerate it with `typedmgr gen`, "
        f"or install a typedmgr that serves API {api}"
    )
