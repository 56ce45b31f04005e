"""The benchmark measures what its labels say: each column's clients, in every row, call
through that column's proxies; every contender of a row gets as many samples.

The benchmark runs in a child process: its generated module holds proxies of the shop's
Protocols too, which would become this process's proxies for returned shop objects.
"""

from __future__ import annotations

import json
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
            # What --json writes of a table with the rows measured here.
            rows = {name: bench.Row(name) for name in bench.ROWS}
            for kind in bench.KINDS:
                rows["call"].add(
                    kind,
                    bench.statistics.median(taken[kind].samples) * 1e6,
                    taken[kind].cpu_per_operation() * 1e6,
                )
                rows["4 procs"].add(kind, *outcome[kind])
            outcome["rows"] = {
                name: (row.figures, row.cpu) for name, row in rows.items()
            }
            outcome["json"] = bench.as_json(
                [bench.Table("unix socket", rows, ["a note"])], 1, True, 0.5
            )
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


def test_the_json_of_a_run_is_what_the_chart_reads(outcome: dict[str, Any]) -> None:
    """``--json`` writes every row's figures and CPU per contender (to 4 significant
    digits), and bench/chart.py takes typedmgr / stdlib-hand ratios of them, inverting
    the 4-process row's calls/s to time per call."""
    document = json.loads(outcome["json"])
    assert (1, True, 0.5) == (
        document["runs"],
        document["quick"],
        document["gen seconds"],
    )
    [table] = document["tables"]
    assert ("unix socket", ["a note"]) == (table["label"], table["notes"])
    kinds = ["stdlib auto", "stdlib hand", "typedmgr"]
    for name, (figures, cpu) in outcome["rows"].items():
        for measure, measured in (("figures", figures), ("cpu", cpu)):
            written = table["rows"][name][measure]
            assert sorted(measured) == sorted(written)
            for kind, values in measured.items():
                assert [float(f"{v:.4g}") for v in values] == written[kind]
    assert kinds == sorted(table["rows"]["call"]["figures"])
    sys.path.insert(0, str(ROOT / "bench"))
    import chart

    call, procs = chart.ratios(table, "figures")
    written = table["rows"]
    assert ("call", "4 processes (time per call)") == (call.label, procs.label)
    typed, hand = (
        written["call"]["figures"]["typedmgr"],
        written["call"]["figures"]["stdlib hand"],
    )
    assert typed[0] / hand[0] == call.median
    rates = written["4 procs"]["figures"]
    assert rates["stdlib hand"][0] / rates["typedmgr"][0] == procs.median
