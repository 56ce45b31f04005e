"""Benchmark typedmgr's asyncio client against the ways a sync proxy serves asyncio code.

    python bench/async_run.py [--quick]

One asyncio client makes 1, 100 and 1,000 concurrent calls, in the same run as
(a) the sync proxy called through ``asyncio.to_thread`` (aioprocessing's way: a thread per
call, each thread with its own connection), and (b) the sync proxy's pipelining (one batch
request, from a blocking caller). Each figure is the median of alternating rounds, so that
machine drift hits every column alike, and the columns' order rotates, so that none always
follows the same one (what ran just before a call, on which connection, changes what it
costs); ratios are of figures of the same run. Also: a single
sync call, the async client's own pipelining (``AsyncPipeline``: one batch per connection),
and 100 concurrent calls of an ``async def`` method that awaits ``asyncio.sleep(0.01)`` on
the server.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

from async_api import AsyncBenchManager, Ping  # noqa: E402

from typedmgr import (  # noqa: E402
    AsyncPipeline,
    AsyncTypedManager,
    Pipeline,
)

AUTHKEY = b"async bench"
ROUNDS = 10
CONCURRENCY = (1, 100, 1000)


def _median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


async def _timed(make: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await make()
    return time.perf_counter() - start


async def measure(address: Any, quick: bool) -> dict[str, dict[int, float]]:
    """Median seconds per batch of N concurrent calls, per way of calling."""
    sync_manager = AsyncBenchManager(address=address, authkey=AUTHKEY)
    sync_manager.connect()
    sync_ping: Any = sync_manager.Ping()  # type: ignore[attr-defined]
    client: Any = AsyncTypedManager.of(AsyncBenchManager)(address, AUTHKEY)
    await client.connect()
    ping = await client.Ping()
    rounds = 3 if quick else ROUNDS
    repeat = {1: 200, 100: 10, 1000: 2} if quick else {1: 1000, 100: 40, 1000: 5}
    times: dict[str, dict[int, list[float]]] = {
        kind: {n: [] for n in CONCURRENCY}
        for kind in ("async", "to_thread", "pipelined", "sync", "async pipelined")
    }

    def pipelined(n: int) -> None:
        with Pipeline() as p:
            replies = [p.call(sync_ping.ping, i) for i in range(n)]
        assert [r.value() for r in replies] == list(range(n))

    def sequential(n: int) -> None:
        for i in range(n):
            sync_ping.ping(i)

    async def once(kind: str, n: int) -> None:
        if kind == "async":
            if n == 1:  # one call, awaited as such
                await ping.ping(0)
            else:
                await asyncio.gather(*(ping.ping(i) for i in range(n)))
        elif kind == "to_thread":
            if n == 1:
                await asyncio.to_thread(sync_ping.ping, 0)
            else:
                await asyncio.gather(
                    *(asyncio.to_thread(sync_ping.ping, i) for i in range(n))
                )
        elif kind == "async pipelined":
            async with AsyncPipeline() as p:
                areplies = [p.call(ping.ping, i) for i in range(n)]
            assert [r.value() for r in areplies] == list(range(n))
        elif kind == "pipelined":
            pipelined(n)
        else:
            sequential(n)

    step = 0
    for _ in range(rounds):
        for n in CONCURRENCY:
            kinds = [kind for kind in times if kind != "sync" or n == 1]
            for _ in range(repeat[n]):
                # The order rotates: no column always follows the same one.
                step += 1
                at = step % len(kinds)
                for kind in kinds[at:] + kinds[:at]:
                    start = time.perf_counter()
                    await once(kind, n)
                    times[kind][n].append(time.perf_counter() - start)
    naps = [
        await _timed(lambda: asyncio.gather(*(ping.nap(0.01) for _ in range(100))))
        for _ in range(3 if quick else 5)
    ]
    await client.aclose()
    result = {
        kind: {n: _median_us(samples) for n, samples in by_n.items() if samples}
        for kind, by_n in times.items()
    }
    result["nap"] = {100: _median_us(naps)}
    return result


def table(title: str, r: dict[str, dict[int, float]]) -> str:
    lines = [
        title,
        f"{'':30}{'async':>12}{'to_thread':>12}{'pipelined':>12}{'async pipe':>12}"
        f"{'to_thread/async':>17}{'pipe/async':>12}",
    ]
    for n in CONCURRENCY:
        a, t, p = r["async"][n], r["to_thread"][n], r["pipelined"][n]
        ap = r["async pipelined"][n]
        label = "1 call (us)" if n == 1 else f"{n} concurrent calls (us)"
        lines.append(
            f"{label:30}{a:12.1f}{t:12.1f}{p:12.1f}{ap:12.1f}{t / a:17.2f}{p / a:12.2f}"
        )
    sync = r["sync"][1]
    lines.append(
        f"sync call {sync:.1f} us; async call / sync call = {r['async'][1] / sync:.2f}; "
        f"1000 concurrent: async x{r['to_thread'][1000] / r['async'][1000]:.1f} the "
        f"throughput of to_thread; 100 x `await sleep(0.01)` served in "
        f"{r['nap'][100] / 1000:.1f} ms"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    args = parser.parse_args()
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="typedmgr-abench-") as tmp:
        for title, address in (
            ("TCP 127.0.0.1", ("127.0.0.1", 0)),
            ("unix socket", str(Path(tmp) / "bench.sock")),
        ):
            server = AsyncBenchManager(address=address, authkey=AUTHKEY, ctx=ctx)
            server.start()
            try:
                results = asyncio.run(measure(server.address, args.quick))
            finally:
                server.shutdown()
            print(table(title, results))
            print()


if __name__ == "__main__":
    _ = Ping
    main()
