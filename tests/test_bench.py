"""The benchmark measures what its labels say: each column's clients, in every row, call
through that column's proxies; every contender of a row gets as many samples."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.tools import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import run as bench

pytestmark = pytest.mark.process


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A started server of each contender, on unix sockets."""
    folder = tmp_path_factory.mktemp("bench")
    started = {
        kind: bench.start(kind, str(folder / str(i)))
        for i, kind in enumerate(bench.KINDS)
    }
    try:
        yield started
    finally:
        for manager in started.values():
            manager.shutdown()


@pytest.mark.parametrize("kind", bench.KINDS)
def test_the_four_process_row_runs_the_columns_proxies(
    kind: str, servers: dict[str, Any]
) -> None:
    """The aggregate row's client processes of a column call through its proxy class."""
    manager = servers[kind]
    rate, cpu = bench.aggregate(kind, manager.address, manager.Clock(), 0.05)
    assert rate > 0
    assert cpu > 0


def test_a_mislabelled_column_stops_the_benchmark(
    servers: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old mistake, every stdlib column's clients on hand-written proxies, stops the
    run naming the column (the forked clients inherit the mistake)."""
    monkeypatch.setattr(
        bench,
        "manager_class",
        lambda kind: bench.typed_manager() if kind == "typedmgr" else bench.StdlibHand,
    )
    auto = servers["stdlib auto"]
    with pytest.raises(
        RuntimeError, match="'stdlib auto' column would call through a CounterBaseProxy"
    ):
        bench.aggregate("stdlib auto", auto.address, auto.Clock(), 0.05)


def test_every_contender_gets_as_many_samples(servers: dict[str, Any]) -> None:
    """Each contender of a row is timed the same number of times, warm-up apart, and its
    server's CPU time is read."""
    counters = {kind: manager.Counter() for kind, manager in servers.items()}
    taken = bench.interleaved(
        {kind: counter.value for kind, counter in counters.items()},
        {kind: manager.Clock() for kind, manager in servers.items()},
        samples=23,
        first=1,
    )
    assert {kind: 23 for kind in bench.KINDS} == {
        kind: len(record.samples) for kind, record in taken.items()
    }
    assert all(record.operations > 23 for record in taken.values())
    assert all(record.server_cpu > 0 for record in taken.values())
