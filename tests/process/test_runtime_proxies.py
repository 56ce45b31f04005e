"""Protocols without a generated module: proxy classes built at runtime from the model."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.process import children
from tests.process.bank_api import BankClient, Statement
from tests.process.bank_impl import BankManager
from tests.process.support import run_children, server_process
from typedmgr import RemoteTraceback, TypedProxy, _channel

pytestmark = pytest.mark.process

CLIENTS = 3
DEPOSITS = 25
AUTHKEY = b"bank-process-tests"


@pytest.fixture
def bank_manager() -> Iterator[BankManager]:
    """A started BankManager (a server process of its own)."""
    with BankManager() as m:
        yield m


def test_runtime_proxies_call_and_return_nested_proxies(
    bank_manager: BankManager,
) -> None:
    """Runtime-built proxies: calls, values by copy, nested and `P | None` returns."""
    bank = children.create(bank_manager, "Bank")
    assert issubclass(type(bank), TypedProxy)
    assert "BankProxy" == type(bank).__name__
    assert type(bank)._generated_ is False
    assert bank.find("ann") is None
    account = bank.open("ann")
    assert "AccountProxy" == type(account).__name__
    assert type(account)._generated_ is False
    params = inspect.signature(type(account).deposit).parameters
    assert ["self", "amount", "note"] == list(params)
    assert 5 == account.deposit(5)
    assert 12 == account.deposit(7, note="gift")
    same = bank.find("ann")
    assert "AccountProxy" == type(same).__name__
    assert 10 == same.withdraw(2)
    statement = account.statement()
    assert Statement("ann", 10, (("", 5), ("gift", 7), ("withdrawal", -2))) == statement
    assert ["ann"] == bank.owners()
    standalone = children.create(bank_manager, "Account", "bob")
    assert 3 == standalone.deposit(3)
    assert "bob" == standalone.statement().owner


def test_runtime_proxy_raises_remote_errors(bank_manager: BankManager) -> None:
    """A ValueError raised by the implementation arrives with the server traceback."""
    account = children.create(bank_manager, "Bank").open("cyd")
    with pytest.raises(
        ValueError, match="insufficient funds in cyd's account"
    ) as raised:
        account.withdraw(1)
    assert isinstance(raised.value.__cause__, RemoteTraceback)
    assert "bank_impl.py" in raised.value.__cause__.tb
    assert 1 == account.calls()


@pytest.mark.parametrize(
    ("args", "kwds", "message"),
    [
        ((), {}, "missing a required argument: 'amount'"),
        ((1, 2), {}, "too many positional arguments"),
        ((), {"amount": 1}, "positional"),
        ((1,), {"memo": "x"}, "unexpected keyword argument 'memo'"),
    ],
)
def test_signature_binding_errors_raise_before_sending(
    bank_manager: BankManager,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[Any, ...],
    kwds: dict[str, Any],
    message: str,
) -> None:
    """A call that does not fit the Protocol's signature raises TypeError, sending nothing."""
    account = children.create(bank_manager, "Bank").open(f"dan-{uuid.uuid4().hex}")
    sent: list[object] = []
    exchange = _channel.exchange

    def spy(*a: Any, **k: Any) -> Any:
        sent.append(a[-1])
        return exchange(*a, **k)

    monkeypatch.setattr(_channel, "exchange", spy)
    with pytest.raises(TypeError, match=message):
        account.deposit(*args, **kwds)
    assert [] == sent
    assert 0 == account.calls()  # nothing reached the implementation either
    assert 1 == len(sent)  # the spy does see requests that are sent


def test_runtime_client_processes_share_a_served_bank() -> None:
    """Client processes knowing only the Protocols share one account on a served bank."""
    account = f"shared-{uuid.uuid4().hex}"
    with server_process(
        "tests.process.bank_impl:BankManager", ("127.0.0.1", 0), AUTHKEY
    ) as address:
        outcomes = run_children(
            children.bank_deposits,
            [
                (address, AUTHKEY, account, f"owner-{i}", DEPOSITS)
                for i in range(CLIENTS)
            ],
        )
        assert [("BankProxy", "AccountProxy", False, [])] * CLIENTS == outcomes
        m = BankClient(address=address, authkey=AUTHKEY)
        m.connect()
        with m:
            bank = children.create(m, "Bank")
            shared = bank.find(account)
            assert CLIENTS * DEPOSITS == shared.statement().balance
            assert CLIENTS * DEPOSITS == shared.calls()
            notes = {note for note, _ in shared.statement().entries}
            assert {f"owner-{i}" for i in range(CLIENTS)} == notes
            for i in range(CLIENTS):
                assert 10 == bank.find(f"owner-{i}").statement().balance


def test_runtime_proxy_passed_to_a_spawned_child(bank_manager: BankManager) -> None:
    """A runtime-built proxy pickled into a spawn child is rebuilt there from its Protocol."""
    bank = children.create(bank_manager, "Bank")
    owner = f"kid-{uuid.uuid4().hex}"
    [outcome] = run_children(children.use_passed_bank, [(bank, owner, DEPOSITS)])
    assert ("BankProxy", "AccountProxy", DEPOSITS, []) == outcome
    assert DEPOSITS == bank.find(owner).calls()
