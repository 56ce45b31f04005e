"""What ``typedmgr`` offers its users: the names it exports, each documented."""

from __future__ import annotations

import importlib
import inspect
import pickle

import typedmgr
from typedmgr._proxy import ProxyFactory, TypedGenerator, TypedIterator

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


def test_what_crosses_the_wire_is_named_by_the_public_face() -> None:
    """Exceptions a server sends and the recipes a pickled proxy carries are named
    ``typedmgr.X`` (tracebacks, pickles, a stdlib peer's plain load), not by the private
    module that defines them: a module can move without changing the wire."""
    wire: list[type] = [
        obj
        for obj in vars(typedmgr).values()
        if inspect.isclass(obj) and issubclass(obj, BaseException)
    ]
    wire += [ProxyFactory, TypedIterator, TypedGenerator]
    assert len(wire) == 15  # the 12 exported exceptions, the 3 recipes
    for cls in wire:
        assert f"typedmgr.{cls.__qualname__}" == f"{cls.__module__}.{cls.__qualname__}"
        assert pickle.loads(pickle.dumps(cls)) is cls
    error = pickle.loads(pickle.dumps(typedmgr.ObjectGone("gone")))
    assert type(error) is typedmgr.ObjectGone and ("gone",) == error.args
