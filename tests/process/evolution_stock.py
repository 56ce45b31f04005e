"""Two versions of one library under one module name, ``stock``, in different processes.

Remote objects a method returns travel under their Protocol's ``module:qualname``; to meet
another version of a returned Protocol, the client's and the server's must have the same
name, as two releases of an installed library do. Only a child process loads one:
``load_stock("v1")`` on the client's side, ``StockServer`` (version 2) on the server's.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path


def load_stock(version: str) -> types.ModuleType:
    """``evolution_stock_<version>.py`` imported as the module ``stock``."""
    path = Path(__file__).with_name(f"evolution_stock_{version}.py")
    spec = importlib.util.spec_from_file_location("stock", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["stock"] = module
    spec.loader.exec_module(module)
    return module


def __getattr__(name: str) -> object:
    """``StockServer``: version 2's server manager, loaded on first use (by the server's
    process only)."""
    if name == "StockServer":
        return load_stock("v2").StockServer
    raise AttributeError(name)
