"""Benchmark typedmgr against the stdlib managers, measured in the same run.

    python bench/run.py [--quick]

Prints one table per transport (TCP on 127.0.0.1, unix socket) with the stdlib's AutoProxy,
a hand-written stdlib ``BaseProxy``, typedmgr, and the ratio typedmgr / hand-written stdlib.
The machine is shared and noisy: read the ratios, not the absolute times.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from multiprocessing.managers import BaseManager, BaseProxy
from pathlib import Path
from typing import Any, cast

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "examples")]

from bench_api import BenchManager, EchoImpl  # noqa: E402

from shop.impl import CounterImpl, ShopImpl  # noqa: E402
from typedmgr import Pipeline  # noqa: E402

AUTHKEY = b"bench"
PIPELINED = "typedmgr pipelined"
#: Alternating rounds per row: the more, the less one burst of other work on the shared
#: machine weighs on one kind (or on one of two figures whose ratio is reported).
ROUNDS = 10
#: typedmgr's single calls, measured in the rounds of its creations and nested returns: the
#: round trips those are counted in (the machine's speed drifts between rows).
CALLS_BESIDE = "typedmgr calls beside"
PAYLOAD = b"x" * 100_000


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


class StdlibAuto(BaseManager):
    pass


class StdlibHand(BaseManager):
    pass


StdlibAuto.register("Counter", CounterImpl)
StdlibAuto.register("Shop", ShopImpl, method_to_typeid={"counter": "CounterRef"})
StdlibAuto.register("CounterRef", None, create_method=False)
StdlibAuto.register("Echo", EchoImpl)
StdlibHand.register("Counter", CounterImpl, CounterBaseProxy)
StdlibHand.register("Shop", ShopImpl, ShopBaseProxy)
StdlibHand.register("CounterRef", None, CounterBaseProxy, create_method=False)
StdlibHand.register("Echo", EchoImpl, EchoBaseProxy)


def timed(fn: Callable[[], object], n: int) -> list[float]:
    """Seconds per call of ``fn``, ``n`` samples after a short warm-up."""
    for _ in range(min(n, 20)):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def p99(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.99) - 1]


def worker(kind: str, address: Any, seconds: float, queue: Any) -> None:
    """One of the 4 client processes of the aggregate-throughput row."""
    manager: BaseManager
    if kind == "typedmgr":
        manager = typed_manager()(address=address, authkey=AUTHKEY)
    else:
        manager = StdlibHand(address=address, authkey=AUTHKEY)
    manager.connect()
    counter: Any = manager.Counter()  # type: ignore[attr-defined]
    calls = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        counter.value()
        calls += 1
    queue.put(calls)


def aggregate(kind: str, address: Any, seconds: float) -> float:
    """Calls per second of 4 client processes against one server."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(kind, address, seconds, queue))
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    total: int = sum(queue.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    return total / seconds


def start(kind: str, address: Any) -> Any:
    """A started manager of ``kind`` (the generated client manager for typedmgr)."""
    manager: Any
    if kind == "typedmgr":
        manager = typed_manager()(address=address, authkey=AUTHKEY)
    else:
        manager = (StdlibAuto if kind == "stdlib auto" else StdlibHand)(
            address=address, authkey=AUTHKEY
        )
    manager.start()
    return manager


def interleaved(
    fns: dict[str, Callable[[], object]], samples: dict[str, int], rounds: int
) -> dict[str, list[float]]:
    """Samples of each kind's ``fn``, taken in alternating rounds so drift hits all alike."""
    taken: dict[str, list[float]] = {kind: [] for kind in fns}
    kinds = list(fns)
    for r in range(rounds):
        for kind in kinds[r % len(kinds) :] + kinds[: r % len(kinds)]:
            per_round = max(1, samples[kind] // rounds)
            taken[kind] += timed(fns[kind], per_round)
    return taken


def pipelined(counter: Any) -> Callable[[], None]:
    """100 calls sent as one pipeline."""

    def run() -> None:
        with Pipeline() as p:
            for _ in range(100):
                p.call(counter.value)

    return run


def measure(
    kinds: list[str], address: Callable[[str], Any], quick: bool
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Every row of one transport's table, kinds measured side by side; and the median
    typedmgr call measured in the rounds of each row that has one."""
    n = 300 if quick else 2000
    managers = {kind: start(kind, address(kind)) for kind in kinds}
    try:
        counters = {k: m.Counter() for k, m in managers.items()}
        shops = {k: m.Shop() for k, m in managers.items()}
        echoes = {k: m.Echo() for k, m in managers.items()}
        tcp = not isinstance(address("x"), str)
        many = dict.fromkeys(kinds, n)
        # A stdlib creation over TCP takes ~176 ms: a few samples say enough.
        creations = {k: (5 if tcp and k != "typedmgr" else n // 4) for k in kinds}
        rows: dict[str, dict[str, float]] = {k: {} for k in kinds}
        calls = interleaved({k: c.value for k, c in counters.items()}, many, ROUNDS)
        for k in kinds:
            rows[k]["call median (us)"] = median(calls[k]) * 1e6
            rows[k]["call p99 (us)"] = p99(calls[k]) * 1e6
        beside = {CALLS_BESIDE: counters["typedmgr"].value}
        creations_beside = {**creations, CALLS_BESIDE: creations["typedmgr"]}
        measured = {
            "create (us)": (
                {**{k: m.Counter for k, m in managers.items()}, **beside},
                creations_beside,
            ),
            "nested return (us)": (
                {
                    **{k: (lambda s=s: s.counter("c")) for k, s in shops.items()},
                    **beside,
                },
                creations_beside,
            ),
            # typedmgr's pipelined calls are measured beside its sequential ones, so that
            # their ratio compares two things measured at the same time.
            "100 calls, sequential (us)": (
                {
                    **{
                        k: (lambda c=c: [c.value() for _ in range(100)])
                        for k, c in counters.items()
                    },
                    PIPELINED: pipelined(counters["typedmgr"]),
                },
                dict.fromkeys([*kinds, PIPELINED], n // 50 + 5),
            ),
            "100 KB payload (us)": (
                {k: (lambda e=e: e.echo(PAYLOAD)) for k, e in echoes.items()},
                dict.fromkeys(kinds, n // 5),
            ),
        }
        piped = float("nan")
        calls_beside: dict[str, float] = {}
        for row, (fns, samples) in measured.items():
            taken = interleaved(fns, samples, min(ROUNDS, samples[kinds[-1]]))
            for k in kinds:
                rows[k][row] = median(taken[k]) * 1e6
            if PIPELINED in taken:
                piped = median(taken[PIPELINED]) * 1e6
            if CALLS_BESIDE in taken:
                calls_beside[row] = median(taken[CALLS_BESIDE]) * 1e6
        for k in kinds:
            rows[k]["100 calls, pipelined (us)"] = float("nan")
        rows["typedmgr"]["100 calls, pipelined (us)"] = piped
        # Short rounds, kinds alternating, and the median of each kind's: a burst of other
        # work on the machine then spoils one round, not the figure.
        rates: dict[str, list[float]] = {k: [] for k in kinds}
        for _ in range(3 if quick else 5):
            for k in kinds:
                kind = "typedmgr" if k == "typedmgr" else "stdlib"
                rates[k].append(aggregate(kind, managers[k].address, 0.5))
        for k in kinds:
            rows[k]["4 procs (calls/s)"] = median(rates[k])
        return rows, calls_beside
    finally:
        for manager in managers.values():
            manager.shutdown()


def typed_manager() -> type[BaseManager]:
    """The generated client manager of BenchManager (generated into a temporary dir once)."""
    if "bench_proxies" not in sys.modules:
        from typedmgr_codegen.render import render_module

        out = Path(tempfile.mkdtemp(prefix="typedmgr-bench-"))
        (out / "bench_proxies.py").write_text(render_module([BenchManager]).source)
        sys.path.insert(0, str(out))
    manager: type[BaseManager] = importlib.import_module("bench_proxies").BenchManager
    return manager


def gen_time() -> float:
    """Seconds for `typedmgr gen` of 200 Protocols x 10 methods (in process, fresh module)."""
    from typedmgr_codegen.load import load_managers
    from typedmgr_codegen.render import render_module

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
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    args = parser.parse_args()
    kinds = ["stdlib auto", "stdlib hand", "typedmgr"]
    typed_manager()  # generate before forking any server
    with tempfile.TemporaryDirectory() as tmp:
        transports: dict[str, Callable[[str], Any]] = {
            "TCP 127.0.0.1": lambda kind: ("127.0.0.1", 0),
            "unix socket": lambda kind: os.path.join(tmp, kind.replace(" ", "-")),
        }
        for label, address in transports.items():
            columns, calls_beside = measure(kinds, address, args.quick)
            print(f"\n{label}")
            print(
                f"{'':28}" + "".join(f"{k:>13}" for k in kinds) + f"{'typed/hand':>12}"
            )
            for row in columns["typedmgr"]:
                values = [columns[k][row] for k in kinds]
                ratio = values[2] / values[1] if values[1] else float("nan")
                print(
                    f"{row:28}"
                    + "".join(f"{v:13.1f}" for v in values)
                    + f"{ratio:12.3f}"
                )
            typed = columns["typedmgr"]
            piped = typed["100 calls, pipelined (us)"]
            sequential = typed["100 calls, sequential (us)"]
            trips = {
                row: typed[row] / calls_beside[row]
                for row in ("create (us)", "nested return (us)")
            }
            print(
                f"typedmgr: pipelining x{sequential / piped:.1f} the throughput of "
                f"sequential calls; create = {trips['create (us)']:.1f} call round trips, "
                f"nested return = {trips['nested return (us)']:.1f} (against calls "
                f"measured in the same rounds: {calls_beside['create (us)']:.1f} and "
                f"{calls_beside['nested return (us)']:.1f} us)"
            )
    print(f"\ntypedmgr gen, 200 Protocols x 10 methods: {gen_time():.2f} s")
    print(
        "pipelined rows: the stdlib has no pipelining, so only typedmgr's column is filled"
    )


if __name__ == "__main__":
    main()
