"""CPython's own BaseManager tests, run with TypedManager in place of BaseManager.

``_TestMyManager``, ``_TestRemoteManager`` and ``_TestManagerRestart`` of the running
Python's ``test._test_multiprocessing`` name their managers as module globals. Their methods
are rebound here to globals in which those names are TypedManager subclasses registered
exactly as CPython registers its own; the test bodies are CPython's, unchanged.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.managers
import types
import unittest
from typing import Any

import pytest

from typedmgr import TypedManager

T: Any = pytest.importorskip("test._test_multiprocessing")

pytestmark = pytest.mark.process


class MyManager(TypedManager):
    """CPython's MyManager, on TypedManager."""


MyManager.register("Foo", callable=T.FooBar)
MyManager.register("Bar", callable=T.FooBar, exposed=("f", "_h"))
MyManager.register("baz", callable=T.baz, proxytype=T.IteratorProxy)


class QueueManager(TypedManager):
    """CPython's QueueManager (the server side), on TypedManager."""


QueueManager.register("get_queue", callable=T.get_queue)


class QueueManager2(TypedManager):
    """CPython's QueueManager2 (a client knowing only the typeid), on TypedManager."""


QueueManager2.register("get_queue")

_GLOBALS = {
    **vars(T),
    "MyManager": MyManager,
    "QueueManager": QueueManager,
    "QueueManager2": QueueManager2,
}


def _rebound(cls: type) -> dict[str, Any]:
    """``cls``'s own members, every function reading its globals from ``_GLOBALS``."""

    def rebind(func: types.FunctionType) -> types.FunctionType:
        if func.__globals__ is not vars(T):  # e.g. a test.support decorator's wrapper
            return func
        return types.FunctionType(
            func.__code__, _GLOBALS, func.__name__, func.__defaults__, func.__closure__
        )

    members: dict[str, Any] = {}
    for name, value in vars(cls).items():
        if (
            name == "setUpClass"
        ):  # only test.support's hash-availability check, bound to cls
            continue
        if isinstance(value, types.FunctionType):
            members[name] = rebind(value)
        elif isinstance(value, classmethod):
            func: Any = value.__func__
            members[name] = classmethod(rebind(func))
        elif not name.startswith("__"):
            members[name] = value
    return members


def _cpython_case(cls: type) -> type[unittest.TestCase]:
    """CPython's test class ``cls`` as a TestCase whose managers are TypedManagers."""
    members = _rebound(cls)
    members["Process"] = multiprocessing.Process
    members["TYPE"] = "manager"
    members["__module__"] = __name__
    return type(f"Typed{cls.__name__}", (T.BaseTestCase, unittest.TestCase), members)


TypedTestMyManager = _cpython_case(T._TestMyManager)
TypedTestRemoteManager = _cpython_case(T._TestRemoteManager)
TypedTestManagerRestart = _cpython_case(T._TestManagerRestart)


def test_the_cases_run_cpython_code() -> None:
    """The rebound methods are CPython's own code objects, not copies of them."""
    common: Any = vars(TypedTestMyManager)["common"]
    assert common.__code__ is T._TestMyManager.common.__code__
    assert common.__globals__["MyManager"] is MyManager


class TypedSyncManager(TypedManager, multiprocessing.managers.SyncManager):
    """SyncManager's registry served by TypedServer: every stdlib proxy type against it."""


class TypedTestSyncManagerTypes(T.TestSyncManagerTypes):  # type: ignore[misc]
    """CPython's SyncManager type tests (each in a worker process) with TypedSyncManager."""

    manager_class = TypedSyncManager
