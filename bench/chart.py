"""Plot a benchmark run as typedmgr / stdlib ratios, one point and range per row.

    python bench/run.py --quick --json run.json
    python bench/chart.py run.json docs/performance.svg

writes the chart and prints the figures it plots as a markdown table. Each point is the median of the runs' ratios of typedmgr to the hand-written stdlib
``BaseProxy`` (the tables' typed/hand column), its bar the range of those ratios, for TCP
and the unix socket: the figures the tables print, drawn. The ratios are what the chart
shows because the machine is shared and noisy: absolute times move from run to run,
ratios measured in alternating rounds hold. Plotting needs matplotlib
(``pip install --group bench``); reading the figures does not.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The contender every ratio is taken against: what a careful stdlib user writes.
STDLIB = "stdlib hand"
TYPED = "typedmgr"


@dataclass(frozen=True)
class Bar:
    """How one chart row is made from a table: the ratio of typedmgr's figure in row
    ``typed`` to the stdlib's in row ``stdlib``, inverted for a rate (calls/s) so that
    lower is better on every row."""

    label: str
    typed: str
    stdlib: str
    rate: bool = False


BARS = (
    Bar("call", "call", "call"),
    Bar("call p99", "call p99", "call p99"),
    Bar("create", "create", "create"),
    Bar("nested return", "nested return", "nested return"),
    Bar("100 calls, sequential", "100 calls, sequential", "100 calls, sequential"),
    # The stdlib has no pipelining: its way to make 100 calls is one after the other,
    # measured in the same rounds as typedmgr's pipelines.
    Bar(
        "100 calls, pipelined (stdlib: sequential)",
        "100 calls, pipelined",
        "100 calls, sequential",
    ),
    Bar("100 KB payload", "100 KB payload", "100 KB payload"),
    Bar("4 processes (time per call)", "4 procs", "4 procs", rate=True),
)


@dataclass(frozen=True)
class Ratio:
    """typedmgr / stdlib on one row: the median and range of the runs' ratios."""

    label: str
    median: float
    low: float
    high: float


def ratios(table: dict[str, Any], measure: str) -> list[Ratio]:
    """The ratios of one table of ``bench/run.py --json`` in the order of ``BARS``;
    ``measure`` is ``"figures"`` (time, or calls/s) or ``"cpu"`` (CPU per operation). A
    row without figures for both contenders (the p99 has no CPU) is left out."""
    found = []
    for bar in BARS:
        typed = table["rows"][bar.typed][measure].get(TYPED)
        stdlib = table["rows"][bar.stdlib][measure].get(STDLIB)
        if not typed or not stdlib:
            continue
        # A rate's ratio inverts only where the figure is one: CPU is per call already.
        invert = bar.rate and measure == "figures"
        runs = [s / t if invert else t / s for t, s in zip(typed, stdlib, strict=True)]
        found.append(Ratio(bar.label, statistics.median(runs), min(runs), max(runs)))
    return found


def spread(ratio: Ratio) -> str:
    """``median [low-high]``, as bench/run.py prints its ratios."""
    spec = ".2f" if ratio.low >= 0.1 else ".2g"
    return f"{ratio.median:{spec}} [{ratio.low:{spec}}-{ratio.high:{spec}}]"


def markdown(document: dict[str, Any]) -> str:
    """The figures the chart plots, as a markdown table: one row per chart row, a time
    and a CPU column per table (transport)."""
    tables = document["tables"]
    columns = [(t, m) for t in tables for m in ("figures", "cpu")]
    found = [{r.label: spread(r) for r in ratios(t, m)} for t, m in columns]
    head = [f"{t['label']} {'time' if m == 'figures' else 'CPU'}" for t, m in columns]
    lines = [
        "| typedmgr / stdlib hand | " + " | ".join(head) + " |",
        "|---" * (len(head) + 1) + "|",
    ]
    for bar in BARS:
        cells = [f.get(bar.label, "-") for f in found]
        lines.append(f"| {bar.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(document: dict[str, Any], out: Path) -> None:
    """Two panels, time and CPU per operation, with every table's ratios on a log scale
    and a line at 1.0, written to ``out`` (SVG: text stays text, the file stays small,
    and its bytes depend only on the figures and the matplotlib version)."""
    import matplotlib

    matplotlib.use("agg")  # no display needed
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullLocator

    matplotlib.rcParams.update(
        {
            "svg.fonttype": "none",  # <text>, not glyph outlines
            "svg.hashsalt": "typedmgr",  # the same element ids on every run
            "font.size": 9,
        }
    )
    labels = [bar.label for bar in BARS]
    panels = (
        ("figures", "time per operation"),
        ("cpu", "CPU per operation (client + server processes)"),
    )
    markers = ("o", "s")
    every = [
        r
        for table in document["tables"]
        for measure, _ in panels
        for r in ratios(table, measure)
    ]
    # Whole decades around every range, with room for the median's label at the right.
    low = 10 ** math.floor(math.log10(min(r.low for r in every)))
    high = 10 ** math.ceil(math.log10(max(r.high for r in every)) + 0.5)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True)
    for ax, (measure, title) in zip(axes, panels, strict=True):
        for i, table in enumerate(document["tables"]):
            shift = (i - (len(document["tables"]) - 1) / 2) * 0.3
            found = ratios(table, measure)
            y = [labels.index(r.label) + shift for r in found]
            ax.errorbar(
                [r.median for r in found],
                y,
                xerr=[
                    [r.median - r.low for r in found],
                    [r.high - r.median for r in found],
                ],
                fmt=markers[i % len(markers)],
                color=f"C{i}",
                capsize=2.5,
                markersize=4.5,
                label=table["label"],
            )
            for r, at in zip(found, y, strict=True):
                ax.annotate(
                    f"{r.median:.2g}",
                    (r.high, at),
                    xytext=(4, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=7,
                    color=f"C{i}",
                )
        ax.axvline(1.0, color="0.35", linewidth=1, linestyle="--", zorder=0)
        ax.set_xscale("log")
        ax.set_xlim(low, high)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        # Decades only: the medians are written beside their points, and every minor
        # tick would be an SVG element of its own.
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_title(title)
        ax.set_xlabel(
            "typedmgr / stdlib hand-written BaseProxy (log scale)\nlower is better"
        )
        ax.grid(axis="x", which="major", color="0.9")
        ax.set_yticks(range(len(labels)), labels)
    axes[0].invert_yaxis()  # the rows in the tables' order (the panels share the axis)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper center", ncol=2, bbox_to_anchor=(0.5, 0.95))
    fig.suptitle(
        "typedmgr against the stdlib's proxies: median and range of "
        f"{document['runs']} runs' ratios (bench/run.py"
        f"{' --quick' if document['quick'] else ''}, Python {document['python']})",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    if out.suffix == ".svg":
        fig.savefig(out, metadata={"Date": None, "Creator": None})
    else:  # a preview: .png, .pdf, what matplotlib knows by its suffix
        fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the file of bench/run.py --json")
    parser.add_argument(
        "out", type=Path, nargs="?", help="the SVG to write (none: the table only)"
    )
    args = parser.parse_args()
    document = json.loads(args.run.read_text())
    if args.out:
        plot(document, args.out)
    print(markdown(document), end="")


if __name__ == "__main__":
    main()
