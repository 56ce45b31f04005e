"""The performance chart: bench/chart.py plots typedmgr / stdlib ratios the way the
tables compute them, and the committed chart and its table show the committed run.

Only the byte-for-byte check of the chart needs matplotlib (the ``bench`` dependency
group); it is skipped without it, or with another version than the group pins.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.tools import ROOT

RUN = ROOT / "docs" / "performance-run.json"
SVG = ROOT / "docs" / "performance.svg"


def chart_module() -> Any:
    """bench/chart.py, imported (it imports nothing of the benchmark's)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import chart

    return chart


def row(typed: list[float], hand: list[float], **cpu: list[float]) -> dict[str, Any]:
    """One row of a ``bench/run.py --json`` table: figures of typedmgr and the
    hand-written stdlib proxy (the AutoProxy's are there too, and must not count)."""
    return {
        "figures": {"stdlib auto": [1e9] * 3, "stdlib hand": hand, "typedmgr": typed},
        "cpu": {k.replace("_", " "): v for k, v in cpu.items()},
    }


def test_ratios_are_typedmgr_over_the_stdlib_per_run_lower_is_better() -> None:
    """Each chart row is the median and range of the runs' typedmgr / stdlib-hand ratios;
    calls/s are inverted to time per call; pipelines are set against the stdlib's
    sequential calls; a row without CPU figures has no CPU point."""
    chart = chart_module()
    empty = row([], [])
    table = {
        "label": "unix socket",
        "rows": {
            **{name: empty for name in {bar.typed for bar in chart.BARS}},
            "call": row(
                [2.0, 4.0, 3.0],
                [4.0, 4.0, 4.0],
                typedmgr=[1.0, 1.0, 1.0],
                stdlib_hand=[2.0, 4.0, 1.0],
            ),
            "call p99": row([10.0, 30.0, 20.0], [10.0, 10.0, 10.0]),
            "100 calls, sequential": row([100.0] * 3, [200.0, 100.0, 400.0]),
            "100 calls, pipelined": {"figures": {"typedmgr": [20.0] * 3}, "cpu": {}},
            "4 procs": row(
                [200.0, 100.0, 400.0],
                [100.0] * 3,
                typedmgr=[3.0] * 3,
                stdlib_hand=[6.0] * 3,
            ),
        },
    }
    Ratio = chart.Ratio
    assert [
        Ratio("call", 0.75, 0.5, 1.0),
        Ratio("call p99", 2.0, 1.0, 3.0),
        Ratio("100 calls, sequential", 0.5, 0.25, 1.0),
        Ratio("100 calls, pipelined (stdlib: sequential)", 0.1, 0.05, 0.2),
        Ratio("4 processes (time per call)", 0.5, 0.25, 1.0),
    ] == chart.ratios(table, "figures")
    assert [
        Ratio("call", 0.5, 0.25, 1.0),
        Ratio("4 processes (time per call)", 0.5, 0.5, 0.5),
    ] == chart.ratios(table, "cpu")


def test_the_docs_show_the_figures_of_the_committed_run() -> None:
    """docs/performance.md holds the table bench/chart.py prints for the committed run,
    and the command that makes the chart from it."""
    chart = chart_module()
    page = (ROOT / "docs" / "performance.md").read_text()
    document = json.loads(RUN.read_text())
    assert "| call | " in chart.markdown(document)
    assert chart.markdown(document) in page
    assert "bench/chart.py docs/performance-run.json docs/performance.svg" in page
    assert "(performance.svg)" in page


def test_the_committed_chart_shows_the_committed_run() -> None:
    """Each panel of docs/performance.svg labels the points of each transport with the
    medians of the committed run, in row order (its text is text: the SVG is diffable)."""
    chart = chart_module()
    document = json.loads(RUN.read_text())
    texts = [
        "".join(t.itertext())
        for t in ET.parse(SVG).iter("{http://www.w3.org/2000/svg}text")
    ]
    for measure in ("figures", "cpu"):
        for table in document["tables"]:
            medians = [f"{r.median:.2g}" for r in chart.ratios(table, measure)]
            assert len(medians) >= 7
            starts = [
                i for i in range(len(texts)) if texts[i : i + len(medians)] == medians
            ]
            assert starts, (measure, table["label"], medians)
    assert "lower is better" in texts
    assert {t["label"] for t in document["tables"]} <= set(texts)


def test_the_committed_chart_is_what_chart_py_makes_of_the_run(tmp_path: Path) -> None:
    """With the matplotlib the ``bench`` group pins, bench/chart.py remakes the committed
    chart byte for byte from the committed run (no date, no random ids)."""
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is not installed (pip install --group bench)")
    import matplotlib

    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    [pin] = [
        m[1] for r in groups["bench"] if (m := re.fullmatch(r"matplotlib==(.+)", r))
    ]
    if matplotlib.__version__ != pin:
        pytest.skip(f"matplotlib {matplotlib.__version__}, the chart is {pin}'s")
    out = tmp_path / "performance.svg"
    chart_module().plot(json.loads(RUN.read_text()), out)
    assert SVG.read_bytes() == out.read_bytes()
