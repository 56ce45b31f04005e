"""CPython's own manager tests, run with TypedManager in place of BaseManager.

The test bodies are those of the running Python's ``test._test_multiprocessing``, unchanged
(so each Python checks its own version of the assertions):

* ``_TestMyManager``, ``_TestRemoteManager`` and ``_TestManagerRestart`` read their managers
  (``MyManager``, ``QueueManager``, ``QueueManager2``) from module globals. Their functions
  are rebound here, code objects untouched, to globals in which those names are the
  TypedManager subclasses below, registered exactly as CPython registers its own.
* ``TestSyncManagerTypes`` takes its manager from ``manager_class``: a SyncManager whose
  server and client machinery are TypedManager's.

Every test runs under each start method, as CPython's ``test_multiprocessing_{fork,spawn,
forkserver}`` packages do: spawned children import this module to find the managers and
the test classes' worker methods.
"""

# pyright: reportPrivateUsage=false
# (CPython's manager tests are about the managers' internals)

from __future__ import annotations

import contextlib
import inspect
import multiprocessing
import multiprocessing.managers
import types
import unittest
from collections.abc import Iterator
from typing import Any, cast

import pytest

from typedmgr import TypedManager

try:
    import test._test_multiprocessing as _cpython_tests
except ImportError as missing:  # never a skip: the run would pass without these tests
    raise ImportError(
        "CPython's own test package (test._test_multiprocessing) is missing from this "
        f"Python ({missing}); Debian ships it apart: apt-get install "
        "libpython3.X-testsuite"
    ) from missing
T: Any = _cpython_tests

pytestmark = pytest.mark.process

START_METHODS = [
    method
    for method in ("fork", "spawn", "forkserver")
    if method in multiprocessing.get_all_start_methods()
]


class MyManager(TypedManager):
    """CPython's MyManager, on TypedManager."""


MyManager.register("Foo", callable=T.FooBar)
MyManager.register("Bar", callable=T.FooBar, exposed=("f", "_h"))
MyManager.register("baz", callable=T.baz, proxytype=T.IteratorProxy)


class QueueManager(TypedManager):
    """CPython's QueueManager (serves a queue), on TypedManager."""


QueueManager.register("get_queue", callable=T.get_queue)


class QueueManager2(TypedManager):
    """CPython's QueueManager2 (a client that knows only the typeid), on TypedManager."""


QueueManager2.register("get_queue")


class TypedSyncManager(TypedManager, multiprocessing.managers.SyncManager):
    """SyncManager's registry (every stdlib proxy type), served and used as TypedManager."""


#: CPython's module globals, but for the managers.
_GLOBALS: dict[str, Any] = {
    **vars(T),
    "MyManager": MyManager,
    "QueueManager": QueueManager,
    "QueueManager2": QueueManager2,
}


def _rebound(func: types.FunctionType) -> types.FunctionType:
    """CPython's function ``func``, the same code, reading its globals from ``_GLOBALS``.

    A test CPython wraps in a decorator (3.15 wraps many in
    ``warnings_helper.ignore_fork_in_thread_deprecation_warnings()``, a context manager
    used as one) is unwrapped, rebound, and wrapped again in the same decorator.
    """
    if func.__globals__ is not vars(T):
        return _rewrapped(func)
    new = types.FunctionType(
        func.__code__, _GLOBALS, func.__name__, func.__defaults__, func.__closure__
    )
    new.__kwdefaults__ = func.__kwdefaults__
    new.__qualname__ = func.__qualname__
    return new


def _rewrapped(wrapper: types.FunctionType) -> types.FunctionType:
    """``wrapper``'s decorator applied again to its rebound ``__wrapped__`` function."""
    inner = getattr(wrapper, "__wrapped__", None)
    decorators = [
        cell.cell_contents
        for cell in wrapper.__closure__ or ()
        if isinstance(cell.cell_contents, contextlib.ContextDecorator)
    ]
    assert isinstance(inner, types.FunctionType) and len(decorators) == 1, (
        f"{wrapper.__qualname__} is wrapped in a way this module cannot rebind"
    )
    rewrapped: types.FunctionType = decorators[0](_rebound(inner))
    return rewrapped


def _cpython_case(name: str, cpython: type) -> type[unittest.TestCase]:
    """CPython's ``BaseTestCase`` class ``cpython``, as its ``ManagerMixin`` would mix it.

    ``name`` must be the module global the class is stored in: spawned children unpickle
    its worker classmethods by that name.
    """
    members: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": f"CPython's {cpython.__name__}, with this module's managers.",
        "__test__": False,  # run by the test functions below
        "TYPE": "manager",
        "Process": multiprocessing.Process,
    }
    for key, value in vars(cpython).items():
        if key.startswith("__") or key in ("setUpClass", "tearDownClass"):
            continue  # setUpClass: only test.support's check that sha256 exists
        if isinstance(value, types.FunctionType):
            members[key] = _rebound(value)
        elif isinstance(value, classmethod):
            members[key] = classmethod(_rebound(cast(Any, value).__func__))
        else:
            members[key] = value
    return type(name, (T.BaseTestCase, unittest.TestCase), members)


MyManagerCase = _cpython_case("MyManagerCase", T._TestMyManager)
RemoteManagerCase = _cpython_case("RemoteManagerCase", T._TestRemoteManager)
ManagerRestartCase = _cpython_case("ManagerRestartCase", T._TestManagerRestart)


SyncManagerTypesCase: type[unittest.TestCase] = type(
    "SyncManagerTypesCase",
    (T.TestSyncManagerTypes,),
    {
        "__module__": __name__,
        "__doc__": "CPython's TestSyncManagerTypes, manager_class a TypedSyncManager.",
        "__test__": False,  # run by test_sync_manager_types
        "manager_class": TypedSyncManager,
    },
)


SYNC_MANAGER_TESTS: list[str] = list(
    unittest.TestLoader().getTestCaseNames(T.TestSyncManagerTypes)
)


@pytest.fixture(params=START_METHODS)
def start_method(request: pytest.FixtureRequest) -> Iterator[str]:
    """The default start method during the test, as CPython's setUpModule sets it."""
    method = str(request.param)
    previous = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method(method, force=True)
    try:
        yield method
    finally:
        multiprocessing.set_start_method(previous, force=True)


def _run(case_class: type[unittest.TestCase], name: str) -> None:
    """Run test ``name`` of ``case_class``, its failures raised as they are."""
    case = case_class(name)
    T.support.environment_altered = False
    try:
        case.debug()  # setUp, the test, tearDown, cleanups
    finally:
        case.doCleanups()  # the cleanups left when the test failed
    # CPython's tearDowns flag leftover child processes here (regrtest: "env changed").
    assert not T.support.environment_altered, "the test left processes behind"


def test_the_cases_are_cpython_code_on_typed_managers() -> None:
    """The cases run CPython's code objects (under CPython's own decorators, if any),
    which see TypedManager subclasses."""
    common: Any = inspect.unwrap(vars(MyManagerCase)["common"])
    assert common.__code__ is inspect.unwrap(T._TestMyManager.common).__code__
    assert common.__globals__ is _GLOBALS
    test_remote: Any = inspect.unwrap(vars(RemoteManagerCase)["test_remote"])
    cpython_remote: Any = inspect.unwrap(T._TestRemoteManager.test_remote)
    assert test_remote.__code__ is cpython_remote.__code__
    assert test_remote.__globals__["QueueManager2"] is QueueManager2
    for manager in (MyManager, QueueManager, QueueManager2, TypedSyncManager):
        assert issubclass(manager, TypedManager)
        assert manager._Server is TypedManager._Server
    assert "Queue" in TypedSyncManager._registry
    assert T.TestSyncManagerTypes.manager_class is not TypedSyncManager


@pytest.mark.parametrize(
    "name",
    ["test_mymanager", "test_mymanager_context", "test_mymanager_context_prestarted"],
)
def test_my_manager(name: str, start_method: str) -> None:
    """CPython's _TestMyManager test ``name`` passes with MyManager on TypedManager."""
    _run(MyManagerCase, name)


def test_remote(start_method: str) -> None:
    """CPython's _TestRemoteManager.test_remote (xmlrpclib, TCP) passes on TypedManager."""
    _run(RemoteManagerCase, "test_remote")


def test_rapid_restart(start_method: str) -> None:
    """CPython's _TestManagerRestart.test_rapid_restart passes on TypedManager."""
    _run(ManagerRestartCase, "test_rapid_restart")


@pytest.mark.parametrize("name", SYNC_MANAGER_TESTS)
def test_sync_manager_types(name: str, start_method: str) -> None:
    """CPython's TestSyncManagerTypes test ``name`` passes with a TypedSyncManager."""
    _run(SyncManagerTypesCase, name)
