"""Argument validation on a served manager: wrong calls fail at the caller, unserved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.fixtures import LaxManager, Ledger, ValidatingManager
from tests.tools import log_to
from typedmgr import Pipeline, RemoteTraceback, TypedManager

pytestmark = pytest.mark.process


@pytest.fixture(scope="module")
def validating(server_log: Path) -> Iterator[ValidatingManager]:
    """A served manager that validates every registration but LaxTally."""
    m = ValidatingManager(address=("127.0.0.1", 0), authkey=b"validation")
    m.start(log_to, (str(server_log),))
    with m:
        yield m


@pytest.fixture(scope="module")
def lax() -> Iterator[LaxManager]:
    """A served manager that validates StrictLedger only."""
    with LaxManager(address=("127.0.0.1", 0), authkey=b"validation") as m:
        yield m


def test_a_wrong_argument_raises_type_error_at_the_caller_unserved(
    validating: ValidatingManager,
) -> None:
    """The caller gets TypeError naming the parameter; the implementation never ran."""
    ledger: Any = validating.Ledger()  # type: ignore[attr-defined]
    with pytest.raises(TypeError) as raised:
        ledger.record("cash", "2")
    assert "Ledger.record(): parameter 'amount' expects float, got str ('2')" == str(
        raised.value
    )
    assert isinstance(raised.value.__cause__, RemoteTraceback)
    with pytest.raises(TypeError, match=r"parameter 'memo' expects str \| None"):
        ledger.record("cash", 1.5, memo=3)
    assert [] == ledger.entries()
    assert 1 == ledger.record("cash", 2)  # int is a float; the server goes on serving
    assert ["('cash', 2, None)"] == ledger.entries()


def test_without_validation_the_same_call_reaches_the_implementation(
    lax: LaxManager,
) -> None:
    """Off by default: the implementation gets whatever was sent."""
    ledger: Any = lax.Ledger()  # type: ignore[attr-defined]
    assert 1 == ledger.record("cash", "2")
    assert ["('cash', '2', None)"] == ledger.entries()


def test_one_registration_can_turn_validation_on_or_off(
    validating: ValidatingManager, lax: LaxManager
) -> None:
    """register(..., validate=...) overrides the manager's setting for its typeid."""
    strict: Any = lax.StrictLedger()  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="parameter 'amount' expects float"):
        strict.record("cash", "2")
    lax_tally: Any = validating.LaxTally()  # type: ignore[attr-defined]
    with pytest.raises(
        TypeError, match="unsupported operand"
    ):  # from the implementation
        lax_tally.add("2")
    tally: Any = validating.Tally()  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match=r"Tally\.add\(\): parameter 'n' expects int"):
        tally.add("2")


def test_objects_returned_by_methods_are_validated_too(
    validating: ValidatingManager,
) -> None:
    """A Protocol a method returns is checked when the manager validates."""
    board: Any = validating.Board()  # type: ignore[attr-defined]
    tally = board.tally("t")
    with pytest.raises(TypeError, match=r"Tally\.add\(\): parameter 'n' expects int"):
        tally.add(1.5)
    assert 2 == tally.add(2)


def test_a_protocol_typed_parameter_takes_a_proxy(
    validating: ValidatingManager,
) -> None:
    """A proxy of the right Protocol passes (it arrives as a proxy); another object fails."""
    ledger: Any = validating.Ledger()  # type: ignore[attr-defined]
    tally: Any = validating.Tally()  # type: ignore[attr-defined]
    assert 1 == ledger.merge(tally)
    with pytest.raises(
        TypeError, match="parameter 'other' expects Tally, got LedgerProxy"
    ):
        ledger.merge(validating.Ledger())  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="parameter 'other' expects Tally, got int"):
        ledger.merge(3)
    assert ["TallyProxy"] == ledger.entries()


def test_a_wrong_arity_is_refused_by_the_server(validating: ValidatingManager) -> None:
    """Proxies bind arguments before sending; a raw request with too few is refused too."""
    ledger: Any = validating.Ledger()  # type: ignore[attr-defined]
    with pytest.raises(TypeError) as raised:
        ledger._callmethod("record", ("cash",), {"typo": 1})
    assert "Ledger.record() got an unexpected keyword argument 'typo'" == str(
        raised.value
    )
    with pytest.raises(TypeError, match=r"missing 1 required positional argument"):
        ledger._callmethod("record", ("cash",))
    assert [] == ledger.entries()


def test_pipelined_calls_are_validated_one_by_one(
    validating: ValidatingManager,
) -> None:
    """In a pipeline, only the wrong call's Reply raises; the others run."""
    ledger: Any = validating.Ledger()  # type: ignore[attr-defined]
    with Pipeline() as p:
        first = p.call(ledger.record, "a", 1.0)
        wrong = p.call(ledger.record, "b", b"1")
        last = p.call(ledger.record, "c", 3.0)
    assert (1, 2) == (first.value(), last.value())
    with pytest.raises(TypeError, match="parameter 'amount' expects float, got bytes"):
        wrong.value()
    assert 2 == len(ledger.entries())


def test_a_wrong_one_way_call_is_logged_and_not_run(
    validating: ValidatingManager, server_log: Path
) -> None:
    """A one-way call that fails validation lands in the server's log."""
    ledger: Any = validating.Ledger()  # type: ignore[attr-defined]
    assert ledger.log(42) is None
    ledger.log("ok")
    assert ["'ok'"] == ledger.entries()  # in order: the wrong one was refused first
    logged = server_log.read_text()
    assert "one-way call log() failed" in logged
    assert "Ledger.log(): parameter 'account' expects str, got int (42)" in logged


def test_validate_needs_a_protocol_registration() -> None:
    """A typeid string has no annotations to validate against."""

    class M(TypedManager):
        pass

    with pytest.raises(TypeError, match="validate= needs a Protocol registration"):
        M.register("Ledger", Ledger, validate=True)
