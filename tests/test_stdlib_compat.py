"""Every private name of ``multiprocessing`` typedmgr relies on, checked on this Python.

``typedmgr._stdlib`` is the one module that reaches them; when a CPython release renames
or drops one, this test names it, instead of a hundred others failing obscurely.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from multiprocessing import managers
from typing import Any, Protocol

import pytest

from typedmgr import _stdlib


@pytest.mark.parametrize(
    ("module", "name"),
    [(m, n) for m, names in _stdlib.MODULE_NAMES.items() for n in names],
)
def test_module_level_names_exist(module: str, name: str) -> None:
    """Each private module-level name is still there."""
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"


def _server() -> Any:
    return managers.Server({}, ("127.0.0.1", 0), b"key", "pickle")


@pytest.mark.parametrize("name", _stdlib.SERVER_NAMES)
def test_server_names_exist(name: str) -> None:
    """Each name TypedServer reads or overrides is on a stdlib Server."""
    server = _server()
    try:
        # stop_event is made by serve_forever
        found = hasattr(server, name) or f"self.{name} = " in inspect.getsource(
            managers.Server.serve_forever
        )
        assert found, f"Server.{name} is gone"
    finally:
        server.listener.close()


def _proxy() -> managers.BaseProxy:
    token = managers.Token("t", ("127.0.0.1", 1), "1")
    return managers.BaseProxy(token, "pickle", authkey=b"key", incref=False)


@pytest.mark.parametrize("name", _stdlib.BASE_PROXY_NAMES)
def test_base_proxy_names_exist(name: str) -> None:
    """Each name typedmgr reads or overrides is on a stdlib proxy (or its class)."""
    assert hasattr(_proxy(), name), f"BaseProxy.{name} is gone"


@pytest.mark.parametrize("name", _stdlib.BASE_MANAGER_NAMES)
def test_base_manager_names_exist(name: str) -> None:
    """Each name TypedManager reads or overrides is on a stdlib BaseManager."""
    assert hasattr(managers.BaseManager(authkey=b"key"), name), (
        f"BaseManager.{name} is gone"
    )


def test_the_release_scheme_is_the_one_this_python_has() -> None:
    """Serials (3.12.8+, 3.13.1+, 3.14+) or the older ident set, as BaseProxy sets them."""
    proxy = _proxy()
    if sys.version_info >= (3, 14) or (3, 13, 1) <= sys.version_info < (3, 14):
        assert _stdlib.SERIALS
    if sys.version_info < (3, 12, 8):
        assert not _stdlib.SERIALS
    assert ("_serial" in vars(proxy)) is _stdlib.SERIALS
    assert ("_idset" in vars(proxy)) is not _stdlib.SERIALS


def test_a_bare_proxy_is_placed_as_init_places_one() -> None:
    """new_proxy_identity sets the names BaseProxy.__init__ sets for the address, and
    hold/release_reference change the set the stdlib watches."""
    built = _proxy()
    bare = managers.BaseProxy.__new__(managers.BaseProxy)
    vars(bare)["_id"] = "1"
    _stdlib.new_proxy_identity(bare, ("127.0.0.1", 1))
    shared = {"_tls", "_all_serials", "_idset"}
    for name in shared & vars(built).keys():
        assert vars(bare)[name] is vars(built)[name], name
    held, key = _stdlib.hold_reference(bare)
    assert key in held
    _stdlib.release_reference(held, key)
    assert key not in held
    if _stdlib.SERIALS:
        assert vars(bare)["_serial"] != vars(built)["_serial"]


class _Declares(Protocol):
    size: int
    name: "Unresolvable"  # type: ignore[name-defined]  # noqa: F821, UP037


def test_class_annotation_names_are_read_without_evaluating() -> None:
    """Declared attributes are found on every Python, lazy annotations (3.14+) included,
    even when an annotation cannot be resolved."""
    assert ["size", "name"] == _stdlib.class_annotation_names(_Declares)
