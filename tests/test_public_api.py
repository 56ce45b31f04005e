"""What ``typedmgr`` offers its users: the names it exports, each documented."""

from __future__ import annotations

import importlib
import inspect

import typedmgr

#: The public face. A name added here is a promise: add it on purpose, with docs.
PUBLIC = {
    "AsyncConnection",
    "AsyncPipeline",
    "AsyncReply",
    "AsyncTypedIterator",
    "AsyncTypedManager",
    "AsyncTypedProxy",
    "ClientException",
    "ConnectTimeout",
    "DeadlineExceeded",
    "Interface",
    "InterfaceError",
    "ObjectGone",
    "Pipeline",
    "RUNTIME_API",
    "RefusedArgument",
    "RefusedType",
    "RemoteTraceback",
    "Reply",
    "ServerBusyError",
    "ServerConnectionError",
    "StaleProxyError",
    "TypedManager",
    "TypedProxy",
    "UnpicklableResult",
    "__version__",
    "async_proxy_class_for",
    "deadline",
    "interface_of",
    "oneway",
    "proxy_class_for",
    "require_runtime_api",
}


def test_typedmgr_exports_its_public_names_and_no_others() -> None:
    """``typedmgr.__all__`` is the list above, and each name is there to import."""
    assert PUBLIC == set(typedmgr.__all__)
    module = importlib.import_module("typedmgr")
    assert all(hasattr(module, name) for name in PUBLIC)


def test_every_public_class_and_function_says_what_it_is_for() -> None:
    """Each exported class and function has a docstring (what an IDE shows)."""
    undocumented = [
        name
        for name in PUBLIC
        if (inspect.isclass(obj := getattr(typedmgr, name)) or inspect.isfunction(obj))
        and not inspect.getdoc(obj)
    ]
    assert [] == undocumented
