"""``with proxy:``: __enter__ and __exit__ run on the server, whatever the block raised."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import cast

import pytest

from tests.golden.bag.expected.proxies import BagManager, LeaseProxy, LedgerProxy
from tests.golden.bag.protocols import Lease, Ledger
from typedmgr import ClientException, interface_of
from typedmgr._proxy import _build_proxy_class

pytestmark = pytest.mark.process


class CustomError(Exception):
    """Defined here: a restricted server would refuse to load it."""


class LockedError(Exception):
    """Carries a lock: it does not pickle at all."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()


@pytest.fixture(scope="module")
def manager() -> Iterator[BagManager]:
    with BagManager(address=("127.0.0.1", 0), authkey=b"ctx") as m:
        yield m


@pytest.fixture(params=["generated", "runtime-built"])
def built(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "runtime-built")


@pytest.fixture
def ledger(manager: BagManager, built: bool) -> LedgerProxy:
    """A fresh remote Ledger, through the generated proxy or a class built from the model.

    A runtime-built proxy is typed as the generated one: it has the same methods.
    """
    generated = manager.Ledger()
    assert isinstance(generated, LedgerProxy)
    if not built:
        return generated
    cls = _build_proxy_class(interface_of(Ledger))
    assert cls is not LedgerProxy
    return cast(LedgerProxy, cls(generated._token, "pickle", authkey=b"ctx"))


def test_with_gives_the_same_proxy(ledger: LedgerProxy) -> None:
    """``with p as q``: q is p, no new proxy, and the server ran both halves."""
    with ledger as entered:
        assert entered is ledger
        ledger.record("inside")
    assert ["enter", "inside", "exit"] == ledger.entries()


def test_the_server_sends_no_copy_and_takes_no_reference(ledger: LedgerProxy) -> None:
    """The reply to ``__enter__`` is None: neither a pickled referent nor a new token."""
    assert ledger._call("__enter__") is None
    assert ["enter"] == ledger.entries()


def test_a_builtin_exception_reaches_the_server_as_is(ledger: LedgerProxy) -> None:
    """The server's __exit__ sees the type and value (no traceback); the client its own."""
    error = ValueError("bad", 3)
    with pytest.raises(ValueError) as raised, ledger:
        raise error
    assert raised.value is error
    assert ["enter", "exit ValueError: ('bad', 3)"] == ledger.entries()


@pytest.mark.parametrize(
    ("error", "seen"),
    [
        (
            CustomError("not allowed"),
            "tests.runtime.test_context.CustomError: not allowed",
        ),
        (
            LockedError("no pickle"),
            "tests.runtime.test_context.LockedError: no pickle",
        ),
        (ValueError(Decimal("1.5")), "ValueError: 1.5"),  # a builtin carrying a Decimal
    ],
)
def test_other_exceptions_reach_the_server_as_a_stand_in(
    ledger: LedgerProxy, error: Exception, seen: str
) -> None:
    """What the server could not load arrives as ClientException; the client's is intact."""
    with pytest.raises(type(error)) as raised, ledger:
        raise error
    assert raised.value is error
    assert ["enter", f"exit ClientException: {seen}"] == ledger.entries()


def test_a_true_exit_suppresses(ledger: LedgerProxy) -> None:
    """The server's __exit__ returning True suppresses the exception, as in Python."""
    ledger.suppress(True)
    with ledger:
        raise KeyError("k")
    with ledger:
        raise CustomError("also suppressed")
    assert [
        "enter",
        "exit KeyError: 'k'",
        "enter",
        "exit ClientException: tests.runtime.test_context.CustomError: also suppressed",
    ] == ledger.entries()


def test_enter_returning_its_protocol_gives_the_same_proxy(
    manager: BagManager, built: bool
) -> None:
    """``__enter__ -> Lease`` is the proxy itself too, even if the referent returns None."""
    lease = manager.Lease()
    assert isinstance(lease, LeaseProxy)
    if built:
        cls = _build_proxy_class(interface_of(Lease))
        lease = cast(LeaseProxy, cls(lease._token, "pickle", authkey=b"ctx"))
    with lease as held:
        assert held is lease
        assert lease.held()
    assert not lease.held()
    with pytest.raises(CustomError), lease:
        raise CustomError("x")
    assert [
        "lease taken",
        "lease returned after None",
        "lease taken",
        "lease returned after <class 'typedmgr.ClientException'>",
    ] == lease.ledger().entries()


def test_stand_ins_pickle_and_read_well() -> None:
    """ClientException survives a round trip and says what it stands for."""
    stand_in = pickle.loads(pickle.dumps(ClientException("pkg.Error", "message")))
    assert ("pkg.Error", "message") == (stand_in.type_name, stand_in.message)
    assert "pkg.Error: message" == str(stand_in)
    assert "pkg.Error" == str(ClientException("pkg.Error", ""))
