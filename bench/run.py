"""Benchmark typedmgr against the stdlib managers, measured in the same run.

    python bench/run.py [--quick] [--json FILE]

Prints one table per transport (TCP on 127.0.0.1, unix socket) with three contenders: the
stdlib's AutoProxy, a hand-written stdlib ``BaseProxy``, and typedmgr's generated proxies.
Each contender has a server process of its own. For every row, each contender gets the same
number of samples, taken in rounds that alternate the contenders; the whole table is
measured in several runs (3, or 5 without ``--quick``), each starting with another
contender. A contender's figure is the median over the runs of each run's median; a ratio
is given as the median and the range of the runs' ratios. Beside each time, the CPU time
per operation: this process's (the client) plus the contender's server process's, so that
a latency won by keeping a CPU busy shows. The machine is shared and noisy: read the
ratios and their ranges, not the absolute times. ``--json FILE`` also writes every run's
figures, which ``bench/chart.py`` plots.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import json
import multiprocessing
import os
import platform
import re
import shutil
import socket
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.managers import BaseManager, BaseProxy
from pathlib import Path
from typing import Any, cast

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "examples")]

from bench_api import BenchManager, ClockImpl, EchoImpl  # noqa: E402

from shop.impl import CounterImpl, ShopImpl  # noqa: E402
from typedmgr import Pipeline  # noqa: E402

AUTHKEY = b"bench"
KINDS = ["stdlib auto", "stdlib hand", "typedmgr"]
#: Extra contenders, typedmgr on a second server of its own: its pipelined calls (beside
#: its sequential ones), and its single calls measured in the rounds of creations and
#: nested returns (the round trips those are counted in: the machine's speed drifts).
PIPELINED = "typedmgr pipelined"
CALLS_BESIDE = "typedmgr calls beside"
SPARE = "typedmgr spare server"
#: Alternating rounds per row and run: the more, the less one burst of other work on the
#: shared machine weighs on one contender.
ROUNDS = 10
PAYLOAD = b"x" * 100_000
#: The rows of a table, in order.
ROWS = (
    "call",
    "call p99",
    "create",
    "nested return",
    "100 calls, sequential",
    "100 calls, pipelined",
    "100 KB payload",
    "4 procs",
)
#: Seconds each contender's 4 client processes call for, per run.
AGGREGATE_SECONDS = 0.5


class CounterBaseProxy(BaseProxy):
    """What a careful stdlib user writes by hand."""

    _exposed_ = ("increment", "value")

    def value(self) -> int:
        return cast(int, self._callmethod("value"))


class ShopBaseProxy(BaseProxy):
    _exposed_ = ("counter",)
    _method_to_typeid_ = {"counter": "CounterRef"}  # noqa: RUF012

    def counter(self, name: str) -> CounterBaseProxy:
        return cast(CounterBaseProxy, self._callmethod("counter", (name,)))


class EchoBaseProxy(BaseProxy):
    _exposed_ = ("echo",)

    def echo(self, data: bytes) -> bytes:
        return cast(bytes, self._callmethod("echo", (data,)))


class ClockBaseProxy(BaseProxy):
    _exposed_ = ("cpu",)

    def cpu(self) -> float:
        return cast(float, self._callmethod("cpu"))


class StdlibAuto(BaseManager):
    pass


class StdlibHand(BaseManager):
    pass


StdlibAuto.register("Counter", CounterImpl)
StdlibAuto.register("Shop", ShopImpl, method_to_typeid={"counter": "CounterRef"})
StdlibAuto.register("CounterRef", None, create_method=False)
StdlibAuto.register("Echo", EchoImpl)
StdlibAuto.register("Clock", ClockImpl)
StdlibHand.register("Counter", CounterImpl, CounterBaseProxy)
StdlibHand.register("Shop", ShopImpl, ShopBaseProxy)
StdlibHand.register("CounterRef", None, CounterBaseProxy, create_method=False)
StdlibHand.register("Echo", EchoImpl, EchoBaseProxy)
StdlibHand.register("Clock", ClockImpl, ClockBaseProxy)


def manager_class(kind: str) -> type[BaseManager]:
    """The client (and server) manager class of a contender."""
    if kind == "stdlib auto":
        return StdlibAuto
    if kind == "stdlib hand":
        return StdlibHand
    return typed_manager()


@dataclass
class Taken:
    """One contender's operations in one run of one row."""

    samples: list[float] = field(default_factory=list)  # seconds per operation
    operations: int = 0  # warm-up included: the server's CPU counts it
    client_cpu: float = 0.0  # seconds
    server_cpu: float = 0.0

    def cpu_per_operation(self) -> float:
        return (self.client_cpu + self.server_cpu) / self.operations


def interleaved(
    fns: dict[str, Callable[[], object]],
    servers: dict[str, Any],
    samples: int,
    first: int,
) -> dict[str, Taken]:
    """``samples`` timings of each contender's ``fn``, in rounds that alternate them (the
    first round starts with contender ``first``), with the CPU time the client and the
    contender's server spent meanwhile. Every contender has a server of its own."""
    kinds = list(fns)
    taken = {kind: Taken() for kind in kinds}
    rounds = min(ROUNDS, samples)
    warm_up = max(1, min(20, samples // 5))
    before = {kind: servers[kind].cpu() for kind in kinds}
    for r in range(-1, rounds):
        start = (first + r) % len(kinds)
        for kind in kinds[start:] + kinds[:start]:
            fn, record = fns[kind], taken[kind]
            if r < 0:
                count, times = warm_up, None
            else:
                count = samples // rounds + (r < samples % rounds)
                times = record.samples
            cpu = time.process_time()
            for _ in range(count):
                began = time.perf_counter()
                fn()
                if times is not None:
                    times.append(time.perf_counter() - began)
            record.client_cpu += time.process_time() - cpu
            record.operations += count
    for kind in kinds:
        taken[kind].server_cpu = servers[kind].cpu() - before[kind]
    return taken


def p99(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.99) - 1)]


#: The class of the proxies each contender's clients call through: a column runs what its
#: label says.
PROXY_CLASSES = {
    "stdlib auto": "AutoProxy[Counter]",
    "stdlib hand": "CounterBaseProxy",
    "typedmgr": "CounterProxy",
}


def checked(kind: str, counter: Any) -> Any:
    """``counter``, once it is the proxy the ``kind`` column is labelled with."""
    name = type(counter).__name__
    if name != PROXY_CLASSES[kind]:
        raise RuntimeError(f"the {kind!r} column would call through a {name}")
    return counter


def worker(kind: str, address: Any, seconds: float, queue: Any) -> None:
    """One of the 4 client processes of the aggregate-throughput row: (calls, CPU s),
    or the error that stopped it."""
    try:
        manager = manager_class(kind)(address=address, authkey=AUTHKEY)
        manager.connect()
        counter = checked(kind, manager.Counter())  # type: ignore[attr-defined]
        counter.value()
    except Exception as e:
        queue.put(e)
        raise
    calls = 0
    cpu = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        counter.value()
        calls += 1
    queue.put((calls, time.process_time() - cpu))


def aggregate(
    kind: str, address: Any, clock: Any, seconds: float
) -> tuple[float, float]:
    """Calls per second of 4 client processes against one server, and the CPU seconds
    per call of those processes and the server."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(kind, address, seconds, queue))
        for _ in range(4)
    ]
    server_cpu = clock.cpu()
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    server_cpu = clock.cpu() - server_cpu
    for p in procs:
        p.join(timeout=30)
    for result in results:
        if isinstance(result, Exception):
            raise result
    calls = sum(calls for calls, _ in results)
    client_cpu = sum(cpu for _, cpu in results)
    return calls / seconds, (client_cpu + server_cpu) / calls


def start(kind: str, address: Any) -> Any:
    """A started manager of ``kind`` (the generated client manager for typedmgr)."""
    manager = manager_class(kind)(address=address, authkey=AUTHKEY)
    manager.start()
    return manager


def nested(shop: Any) -> Callable[[], object]:
    """A nested return: a proxy of the shop's counter ``c``."""
    return lambda: shop.counter("c")


def sequential(counter: Any) -> Callable[[], object]:
    """100 calls, one after the other."""
    return lambda: [counter.value() for _ in range(100)]


def echo(echoer: Any) -> Callable[[], object]:
    """A 100 KB payload there and back."""
    return lambda: echoer.echo(PAYLOAD)


def pipelined(counter: Any) -> Callable[[], None]:
    """100 calls sent as one pipeline."""

    def run() -> None:
        with Pipeline() as p:
            for _ in range(100):
                p.call(counter.value)

    return run


def nodelay(proxy: Any) -> bool:
    """Whether the connection this thread's calls through ``proxy`` go on has TCP_NODELAY."""
    local, _ = BaseProxy._address_to_local[proxy._token.address]
    sock = socket.socket(fileno=os.dup(local.connection.fileno()))
    try:
        return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    finally:
        sock.close()


@dataclass
class Row:
    """One row of a table: for each run, each contender's figure (us per operation, or
    calls/s) and CPU us per operation."""

    name: str
    figures: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, figure: float, cpu: float | None) -> None:
        self.figures.setdefault(kind, []).append(figure)
        if cpu is not None:
            self.cpu.setdefault(kind, []).append(cpu)


@dataclass
class Table:
    label: str
    rows: dict[str, Row]
    notes: list[str]


def measure(label: str, address: Callable[[str], Any], quick: bool) -> Table:
    """Every row of one transport's table, in alternating runs."""
    runs = 3 if quick else 5
    n = 300 if quick else 2000
    tcp = not isinstance(address("x"), str)
    servers = [*KINDS, SPARE]
    managers = {
        kind: start("typedmgr" if kind == SPARE else kind, address(kind))
        for kind in servers
    }
    try:
        clocks = {k: m.Clock() for k, m in managers.items()}
        counters = {
            k: checked("typedmgr" if k == SPARE else k, m.Counter())
            for k, m in managers.items()
        }
        shops = {k: m.Shop() for k, m in managers.items()}
        echoes = {k: m.Echo() for k, m in managers.items()}
        for counter in counters.values():
            counter.value()  # this thread's connection to each server, made
        # A stdlib creation over TCP takes ~176 ms: fewer samples, as many for everyone.
        creations = (6 if quick else 10) if tcp else n // 4
        beside = {CALLS_BESIDE: counters[SPARE].value}
        specs: list[tuple[str, dict[str, Callable[[], object]], int]] = [
            ("call", {k: counters[k].value for k in KINDS}, n),
            (
                "create",
                {**{k: managers[k].Counter for k in KINDS}, **beside},
                creations,
            ),
            (
                "nested return",
                {**{k: nested(shops[k]) for k in KINDS}, **beside},
                creations,
            ),
            (
                "100 calls, sequential",
                {
                    **{k: sequential(counters[k]) for k in KINDS},
                    PIPELINED: pipelined(counters[SPARE]),
                },
                n // 50 + 5,
            ),
            (
                "100 KB payload",
                {k: echo(echoes[k]) for k in KINDS},
                n // 5,
            ),
        ]
        rows = {name: Row(name) for name in ROWS}
        ratios: dict[str, list[float]] = {
            "pipelining": [],
            "create": [],
            "nested return": [],
        }
        for run in range(runs):
            for name, fns, samples in specs:
                taken = interleaved(
                    fns,
                    {
                        k: clocks[SPARE if k in (PIPELINED, CALLS_BESIDE) else k]
                        for k in fns
                    },
                    samples,
                    run,
                )
                for kind in KINDS:
                    rows[name].add(
                        kind,
                        statistics.median(taken[kind].samples) * 1e6,
                        taken[kind].cpu_per_operation() * 1e6,
                    )
                if name == "call":
                    for kind in KINDS:
                        rows["call p99"].add(kind, p99(taken[kind].samples) * 1e6, None)
                if PIPELINED in taken:
                    piped = taken[PIPELINED]
                    rows["100 calls, pipelined"].add(
                        "typedmgr",
                        statistics.median(piped.samples) * 1e6,
                        piped.cpu_per_operation() * 1e6,
                    )
                    ratios["pipelining"].append(
                        statistics.median(taken["typedmgr"].samples)
                        / statistics.median(piped.samples)
                    )
                if CALLS_BESIDE in taken:
                    ratios[name].append(
                        statistics.median(taken["typedmgr"].samples)
                        / statistics.median(taken[CALLS_BESIDE].samples)
                    )
            for i in range(len(KINDS)):
                kind = KINDS[(run + i) % len(KINDS)]
                rate, cpu = aggregate(
                    kind, managers[kind].address, clocks[kind], AGGREGATE_SECONDS
                )
                rows["4 procs"].add(kind, rate, cpu * 1e6)
        notes = [
            f"typedmgr: pipelining {spread(ratios['pipelining'])} times the throughput "
            f"of sequential calls; create = {spread(ratios['create'])} call round "
            f"trips, nested return = {spread(ratios['nested return'])} (against calls "
            "on another typedmgr server, measured in the same rounds)"
        ]
        if tcp:
            flags = {k: "on" if nodelay(counters[k]) else "off" for k in KINDS}
            notes.append(
                "TCP_NODELAY on the client's end of the call connection: "
                + ", ".join(f"{k} {v}" for k, v in flags.items())
                + ". typedmgr sets it on both ends of every connection; the stdlib on "
                "neither, so each of its handshakes waits out Nagle's algorithm and the "
                "peer's delayed ACK (the create rows)."
            )
        return Table(label, rows, notes)
    finally:
        for manager in managers.values():
            manager.shutdown()


def spread(values: list[float]) -> str:
    """``median [min-max]`` of one figure's runs."""
    if not values:
        return "-"
    low, median, high = min(values), statistics.median(values), max(values)
    spec = ".2f" if low >= 0.1 else ".2g"
    return f"{median:{spec}} [{low:{spec}}-{high:{spec}}]"


def render(table: Table, runs: int) -> str:
    """The table as text: per contender the median figure and CPU per operation over the
    runs; then typed/hand as the median and range of the runs' ratios."""
    lines = [
        textwrap.fill(
            f"{table.label}: time and CPU (client + server processes) per operation in "
            f"us, medians of {runs} runs; 4 procs: calls/s (higher is better) and CPU "
            "per call. typed/hand: median [range] of the runs' ratios.",
            100,
        ),
        f"{'':22}"
        + "".join(f"{k:>18}" for k in KINDS)
        + f"{'typed/hand time':>25}{'typed/hand cpu':>25}",
        f"{'':22}" + f"{'time':>10}{'cpu':>8}" * len(KINDS),
    ]
    for row in table.rows.values():
        cells = ""
        for kind in KINDS:
            figures = row.figures.get(kind)
            cpu = row.cpu.get(kind)
            cells += f"{statistics.median(figures):10.1f}" if figures else f"{'-':>10}"
            cells += f"{statistics.median(cpu):8.1f}" if cpu else f"{'-':>8}"
        typed, hand = row.figures.get("typedmgr"), row.figures.get("stdlib hand")
        time_ratio = (
            spread([t / h for t, h in zip(typed, hand, strict=True)])
            if typed and hand
            else "-"
        )
        typed_cpu, hand_cpu = row.cpu.get("typedmgr"), row.cpu.get("stdlib hand")
        cpu_ratio = (
            spread([t / h for t, h in zip(typed_cpu, hand_cpu, strict=True)])
            if typed_cpu and hand_cpu
            else "-"
        )
        lines.append(f"{row.name:22}{cells}{time_ratio:>25}{cpu_ratio:>25}")
    lines += [textwrap.fill(note, 100) for note in table.notes]
    return "\n".join(lines)


#: A JSON list of numbers, spread over lines by ``json.dumps(indent=...)``.
NUMBERS = re.compile(r"\[\s*([-+.\deE]+(?:,\s*[-+.\deE]+)*)\s*\]")


def figures(value: float) -> float:
    """``value`` to 4 significant digits: the runs differ in the second one already, and
    a committed result stays readable in a diff."""
    return float(f"{value:.4g}")


def as_json(tables: list[Table], runs: int, quick: bool, gen_seconds: float) -> str:
    """Every run's figures of every table, for ``bench/chart.py`` and for the record:
    per row and contender the list of the runs' figures (us per operation, calls/s for
    "4 procs") and CPU us per operation, in the order the tables print."""
    document = {
        "runs": runs,
        "quick": quick,
        "python": platform.python_version(),
        "gen seconds": figures(gen_seconds),
        "tables": [
            {
                "label": table.label,
                "rows": {
                    row.name: {
                        "figures": {
                            k: [figures(v) for v in vs] for k, vs in row.figures.items()
                        },
                        "cpu": {
                            k: [figures(v) for v in vs] for k, vs in row.cpu.items()
                        },
                    }
                    for row in table.rows.values()
                },
                "notes": table.notes,
            }
            for table in tables
        ],
    }
    text = json.dumps(document, indent=1)
    # One line per list of figures: the file reads (and diffs) as the tables do.
    return (
        NUMBERS.sub(lambda m: f"[{', '.join(m[1].replace(',', ' ').split())}]", text)
        + "\n"
    )


def typed_manager() -> type[BaseManager]:
    """The generated client manager of BenchManager (generated into a temporary dir once)."""
    if "bench_proxies" not in sys.modules:
        from typedmgr_codegen._render import render_module

        out = Path(tempfile.mkdtemp(prefix="typedmgr-bench-"))
        atexit.register(shutil.rmtree, out, ignore_errors=True)
        (out / "bench_proxies.py").write_text(render_module([BenchManager]).source)
        sys.path.insert(0, str(out))
    manager: type[BaseManager] = importlib.import_module("bench_proxies").BenchManager
    return manager


def gen_time() -> float:
    """Seconds for `typedmgr gen` of 200 Protocols x 10 methods (in process, fresh module)."""
    from typedmgr_codegen._load import load_managers
    from typedmgr_codegen._render import render_module

    lines = ["from typing import Protocol", "from typedmgr import TypedManager", ""]
    for p in range(200):
        lines.append(f"class P{p}(Protocol):")
        lines += [
            f"    def m{m}(self, a: int, b: str = 'x') -> list[int]: ..."
            for m in range(10)
        ]
        lines.append(f"class Impl{p}:")
        lines += [
            f"    def m{m}(self, a: int, b: str = 'x') -> list[int]: return [a]"
            for m in range(10)
        ]
    lines.append("class Big(TypedManager): ...")
    lines += [f"Big.register(P{p}, Impl{p})" for p in range(200)]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "bench_big.py").write_text(textwrap.dedent("\n".join(lines)))
        sys.path.insert(0, tmp)
        start = time.perf_counter()
        render_module(load_managers(["bench_big:Big"]))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and runs")
    parser.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help="also write every run's figures to FILE (bench/chart.py plots them)",
    )
    args = parser.parse_args()
    typed_manager()  # generate before forking any server
    runs = 3 if args.quick else 5
    tables = []
    with tempfile.TemporaryDirectory() as tmp:
        transports: dict[str, Callable[[str], Any]] = {
            "TCP 127.0.0.1": lambda kind: ("127.0.0.1", 0),
            "unix socket": lambda kind: os.path.join(tmp, kind.replace(" ", "-")),
        }
        for label, address in transports.items():
            tables.append(measure(label, address, args.quick))
            print()
            print(render(tables[-1], runs), flush=True)
    gen_seconds = gen_time()
    print(f"\ntypedmgr gen, 200 Protocols x 10 methods: {gen_seconds:.2f} s")
    print(
        textwrap.fill(
            "typedmgr's client and server threads wait for the next message awake "
            "(polling) for a while before they sleep; the stdlib's sleep at once: the cpu "
            "columns count both. The stdlib has no pipelining: only typedmgr's column of "
            "that row is filled.",
            100,
        )
    )
    if args.json:
        args.json.write_text(as_json(tables, runs, args.quick, gen_seconds))


if __name__ == "__main__":
    main()
