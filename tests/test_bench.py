"""The benchmark measures what its labels say: each column's clients, in every row, call
through that column's proxies; every contender of a row gets as many samples.

The benchmark runs in a child process: its generated module holds proxies of the shop's
Protocols too, which would become this process's proxies for returned shop objects.
"""

from __future__ import annotations

import sys
import tempfile
from typing import Any

import pytest

from tests.process.support import SPAWN, run_children
from tests.tools import ROOT

pytestmark = pytest.mark.process


def bench_module() -> Any:
    """bench/run.py, imported."""
    sys.path.insert(0, str(ROOT / "bench"))
    import run

    return run


def run_the_rows_briefly() -> dict[str, Any]:
    """Child: each contender's server; the 4-process row for each column, the 4-process
    row of a mislabelled column, and one alternating row of 23 samples."""
    bench = bench_module()
    outcome: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        servers = {
            kind: bench.start(kind, f"{folder}/{i}")
            for i, kind in enumerate(bench.KINDS)
        }
        try:
            clocks = {kind: m.Clock() for kind, m in servers.items()}
            for kind, manager in servers.items():
                outcome[kind] = bench.aggregate(
                    kind, manager.address, clocks[kind], 0.05
                )
            taken = bench.interleaved(
                {kind: m.Counter().value for kind, m in servers.items()},
                clocks,
                samples=23,
                first=1,
            )
            outcome["samples"] = {k: len(t.samples) for k, t in taken.items()}
            outcome["operations"] = {k: t.operations for k, t in taken.items()}
            outcome["server cpu"] = {k: t.server_cpu for k, t in taken.items()}
            # The old mistake: every stdlib column's clients on hand-written proxies.
            bench.manager_class = lambda kind: (
                bench.typed_manager() if kind == "typedmgr" else bench.StdlibHand
            )
            auto = servers["stdlib auto"]
            try:
                bench.aggregate(
                    "stdlib auto", auto.address, clocks["stdlib auto"], 0.05
                )
            except RuntimeError as e:
                outcome["mislabelled"] = str(e)
        finally:
            for manager in servers.values():
                manager.shutdown()
    return outcome


@pytest.fixture(scope="module")
def outcome() -> dict[str, Any]:
    """What the benchmark's rows did, run briefly in a child process."""
    [result] = run_children(run_the_rows_briefly, [()], ctx=SPAWN)
    assert isinstance(result, dict)
    return result


def test_the_four_process_row_runs_the_columns_proxies(outcome: dict[str, Any]) -> None:
    """The aggregate row's client processes of each column call through its proxy class
    (or the row stops), and report calls and CPU time."""
    for kind in ("stdlib auto", "stdlib hand", "typedmgr"):
        rate, cpu = outcome[kind]
        assert rate > 0, kind
        assert cpu > 0, kind


def test_a_mislabelled_column_stops_the_benchmark(outcome: dict[str, Any]) -> None:
    """The old mistake, every stdlib column's clients on hand-written proxies, stops the
    run naming the column."""
    assert (
        "the 'stdlib auto' column would call through a CounterBaseProxy"
        == outcome.get("mislabelled")
    )


def test_every_contender_gets_as_many_samples(outcome: dict[str, Any]) -> None:
    """Each contender of a row is timed the same number of times, warm-up apart, and its
    server's CPU time is read."""
    kinds = ("stdlib auto", "stdlib hand", "typedmgr")
    assert dict.fromkeys(kinds, 23) == outcome["samples"]
    assert all(operations > 23 for operations in outcome["operations"].values())
    assert all(cpu > 0 for cpu in outcome["server cpu"].values())
