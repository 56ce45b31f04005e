"""Async proxies against real servers: multiplexed calls matched by id under load,
cancellation, ``async def`` methods served, TLS, a killed async client's objects released."""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import random
import signal
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.process import aio_children as children
from tests.process.aio_api import AioManager, Echo, Item, Session
from tests.process.support import SPAWN, TIMEOUT, stop
from tests.process.test_nested_leak import settles
from tests.runtime.certs import Authority
from typedmgr import (
    AsyncConnection,
    AsyncTypedIterator,
    AsyncTypedManager,
    AsyncTypedProxy,
    ServerConnectionError,
    _introspect as introspect,
    async_proxy_class_for,
)

pytestmark = pytest.mark.process

AUTHKEY = b"async tests"
FORK = multiprocessing.get_context("fork")
AsyncAioManager = AsyncTypedManager.of(AioManager)


@pytest.fixture(scope="module", params=["tcp", "unix"])
def served(request: pytest.FixtureRequest, sockdir: Path) -> Iterator[AioManager]:
    """A started server of the async tests' Protocols, and a sync client of it."""
    address: Any = (
        ("127.0.0.1", 0) if request.param == "tcp" else str(sockdir / "aio.sock")
    )
    with AioManager(address=address, authkey=AUTHKEY, ctx=FORK) as manager:
        yield manager


def run(coroutine: Any) -> Any:
    """Run a test's coroutine on a fresh loop, bounded in time."""

    async def bounded() -> Any:
        async with asyncio.timeout(TIMEOUT):
            return await coroutine

    return asyncio.run(bounded())


def proxy_of(proxy: object, protocol: type) -> bool:
    """Whether ``proxy`` is an instance of ``protocol``'s async proxy class."""
    return isinstance(proxy, async_proxy_class_for(protocol))


async def echo_of(served: AioManager) -> tuple[AsyncTypedManager, Any]:
    manager = AsyncAioManager(served.address, AUTHKEY)
    await manager.connect()
    echo = await manager.Echo()  # type: ignore[attr-defined]
    return manager, echo


def test_runtime_proxies_have_the_protocol_methods_as_coroutines(
    served: AioManager,
) -> None:
    """Values, returned remote objects, iterators, properties, errors with the server's
    traceback, ``async with``: the async proxy does what the sync one does, awaited."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            assert proxy_of(echo, Echo)
            assert 3 == await echo.echo(3)
            assert "echo" == await echo.name()
            item = await echo.item(7)
            assert proxy_of(item, Item)
            assert 7 == await item.value()
            assert None is await echo.maybe(None)
            assert 8 == await (await echo.maybe(8)).value()
            iterator = await echo.count(4)
            assert isinstance(iterator, AsyncTypedIterator)
            assert [0, 1, 2, 3] == [x async for x in iterator]
            with pytest.raises(KeyError, match="boom") as raised:
                await echo.fail("boom")
            assert "raise KeyError" in str(raised.value.__cause__)
            with pytest.raises(TypeError):
                await echo.echo()  # bound like the Protocol's signature
            async with await echo.session() as session:
                assert proxy_of(session, Session)
                assert "open" == await session.state()
            assert "closed" == await session.state()

    run(main())


def test_special_methods_are_named_awaitable_methods(served: AioManager) -> None:
    """``len``, ``in``, ``bool``, item assignment and deletion cannot await: the async
    proxy has them as ``length()``, ``contains()``, ``truth()``, ``setitem()``,
    ``delitem()``; ``await p[k]`` and ``async for`` work as written."""

    async def main() -> None:
        manager = AsyncAioManager(served.address, AUTHKEY)
        async with manager:
            table: Any = await manager.Table()  # type: ignore[attr-defined]
            assert not hasattr(table, "__len__") and not hasattr(table, "__contains__")
            assert False is await table.truth()
            await table.setitem("a", 1)
            await table.setitem("b", 2)
            assert 2 == await table.length()
            assert await table.contains("a")
            assert not await table.contains("z")
            assert 2 == await table["b"]
            assert ["a", "b"] == [key async for key in table]
            await table.delitem("a")
            assert ["b"] == [key async for key in table]
            with pytest.raises(KeyError):
                await table["a"]

    run(main())


def test_thousands_of_concurrent_calls_get_their_own_replies(
    served: AioManager,
) -> None:
    """10,000 calls in flight from one loop on one connection, sync and async methods,
    each delayed at random on the server: every reply is the one to its request."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        rng = random.Random(17)

        async def one(tag: int) -> tuple[int, int]:
            kind = tag % 4
            if kind == 0:
                return tag, await echo.jitter(tag, 0.002)
            if kind == 1:
                return tag, await echo.aecho(tag, rng.uniform(0, 0.005))
            if kind == 2:
                return tag, await (await echo.item(tag)).value()
            return tag, await echo.echo(tag)

        async with manager:
            results = await asyncio.gather(*(one(tag) for tag in range(10_000)))
            assert manager.connection.in_flight == 0
        mismatched = [(tag, got) for tag, got in results if tag != got]
        assert [] == mismatched
        assert 10_000 == len(results)

    run(main())


def test_cancellation_at_random_points_leaks_nothing(served: AioManager) -> None:
    """Creations, calls returning remote objects and iterator steps, cancelled at random
    moments: no reply reaches another call, the connection stays usable, and once the
    late replies are in, the server holds what it held before."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            baseline = await asyncio.to_thread(served._number_of_objects)  # type: ignore[attr-defined]
            rng = random.Random(1700)

            async def creation(tag: int) -> None:
                item = await manager.Item(tag)  # type: ignore[attr-defined]
                assert tag == await item.value()

            async def returned(tag: int) -> None:
                item = await echo.aitem(tag, rng.uniform(0, 0.004))
                assert tag == await item.value()

            async def iterated(tag: int) -> None:
                async for x in await echo.count(tag % 7 + 1):
                    assert x <= tag % 7

            async def checked(tag: int) -> None:
                assert tag == await echo.jitter(tag, 0.003)

            kinds = [creation, returned, iterated, checked]
            cancelled = 0
            for round_ in range(20):
                tasks = [
                    asyncio.create_task(kinds[i % 4](round_ * 1000 + i))
                    for i in range(100)
                ]
                # Let them run for a random while (in loop iterations), then cancel half.
                for _ in range(rng.randrange(1, 30)):
                    await asyncio.sleep(0)
                for task in rng.sample(tasks, 50):
                    cancelled += task.cancel()
                outcomes = await asyncio.gather(*tasks, return_exceptions=True)
                failed = [
                    repr(outcome)
                    for outcome in outcomes
                    if not (
                        outcome is None or isinstance(outcome, asyncio.CancelledError)
                    )
                ]
                assert [] == failed
                # A cancelled task's exception holds its frames, and so its proxies.
                del outcomes
            assert cancelled > 0
            await manager.connection.settled()
            del tasks
            # One loop iteration lets asyncio drop the last cancelled task's exception,
            # whose traceback holds the frames (and proxies) it was cancelled in.
            await asyncio.sleep(0)
            gc.collect()
            # The next call carries the queued releases, and runs after them.
            assert 5 == await echo.echo(5)
            assert baseline == await asyncio.to_thread(served._number_of_objects)  # type: ignore[attr-defined]

    run(main())


def test_a_deadline_cancels_the_call_and_the_connection_goes_on(
    served: AioManager,
) -> None:
    """An expired ``asyncio.timeout`` cancels the call; its late reply goes nowhere, and
    the next calls get their own replies."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await echo.echo(1, 0.5)
            assert 1 == manager.connection.in_flight
            assert [2, 3] == [await echo.echo(2), await echo.aecho(3)]
            await manager.connection.settled()
            assert 4 == await echo.echo(4)

    run(main())


def test_async_methods_run_concurrently_on_one_server_loop(served: AioManager) -> None:
    """100 callers of an ``async def`` barrier all get through, which they can only do
    if the server awaits them at the same time; all ran on one loop."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            arrived = await asyncio.gather(*(echo.meet(100) for _ in range(100)))
            assert list(range(1, 101)) == sorted(arrived)
            assert 1 == await echo.loops()

    run(main())


def test_a_sync_method_runs_while_an_async_one_awaits(served: AioManager) -> None:
    """While ``wait_open`` awaits on the server, ``open`` on the same object (same
    connection) runs and lets it finish; a sync proxy of the Protocol blocks as usual."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            waiting = asyncio.create_task(echo.wait_open())
            await asyncio.sleep(0)
            await echo.open()
            assert "opened" == await waiting

    run(main())
    sync_echo = served.Echo()  # type: ignore[attr-defined]
    assert 6 == sync_echo.aecho(6, 0.001)
    with pytest.raises(ValueError, match="async boom") as raised:
        sync_echo.afail("async boom")
    assert "raise ValueError" in str(raised.value.__cause__)


@pytest.mark.parametrize("waiters", [1, 3])
def test_a_blocking_sync_method_does_not_block_the_connection(
    served: AioManager, waiters: int
) -> None:
    """A sync method that blocks until another request of the same connection runs
    (alone, or among others read with it): the server reads on in another thread, so
    that request runs and unblocks it."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            waiting = [asyncio.create_task(echo.wait_gate()) for _ in range(waiters)]
            await asyncio.sleep(0)  # the tasks send their requests
            assert 7 == await echo.echo(7)
            await echo.open()
            assert ["opened"] * waiters == await asyncio.gather(*waiting)

    run(main())


def test_a_burst_of_quick_calls_runs_on_few_threads(served: AioManager) -> None:
    """1,000 quick calls read at once run one after another on one or two server threads,
    not on a thread each (waking threads costs more than the calls, and the GIL runs one
    at a time); a blocking method would have the watch add threads (below)."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            for _ in range(3):
                threads = set(
                    await asyncio.gather(*(echo.thread() for _ in range(1000)))
                )
                # The lead, a worker, and what the watch added when a busy machine
                # held the worker up past 2 ms; 32 threads ran such a burst before.
                assert len(threads) <= 6, len(threads)

    run(main())


def test_blocking_calls_read_at_once_get_threads_of_their_own(
    served: AioManager,
) -> None:
    """20 calls that each block for 100 ms, read at once, run at the same time (the watch
    adds a thread whenever all those running block, and then, the method known, before
    each runs): they take far less than the 2 s they would one after another."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            for _ in range(2):
                start = time.perf_counter()
                tags = await asyncio.gather(*(echo.echo(i, 0.1) for i in range(20)))
                assert list(range(20)) == tags
                assert time.perf_counter() - start < 1.0

    run(main())


def test_blocking_calls_made_one_at_a_time_take_no_more_threads_than_the_limit(
    served: AioManager,
) -> None:
    """Calls that block, sent one after another each once the one before has blocked:
    the thread that read the first runs it and hands the reading on; the others go to
    the connection's workers (at most 32), not to a new thread each, so a client cannot
    make the server start threads without end."""
    sync_echo = served.Echo()  # type: ignore[attr-defined]

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            before = await asyncio.to_thread(sync_echo.thread_count)
            waiting = []
            for i in range(80):
                waiting.append(asyncio.ensure_future(echo.echo(i, 0.5)))
                await asyncio.sleep(0.005)  # read alone, after the last one blocked
            grown = await asyncio.to_thread(sync_echo.thread_count) - before
            assert list(range(80)) == await asyncio.gather(*waiting)
            assert grown <= 34, f"80 blocking calls started {grown} threads"

    run(main())


def test_replies_held_back_go_out_when_the_next_call_blocks(served: AioManager) -> None:
    """A thread running a burst of quick calls holds their replies back to write them
    together; when the burst's last call blocks, they go out all the same, within
    milliseconds (the watch has the lead write them), not when the lead next wakes up
    (its poll's 500 ms), nor when the blocked call returns."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            for _ in range(3):
                gated = await manager.Echo()  # type: ignore[attr-defined]
                start = time.perf_counter()
                quick = [asyncio.ensure_future(echo.echo(i)) for i in range(200)]
                gate = asyncio.ensure_future(gated.wait_gate())  # blocks until `open`
                assert list(range(200)) == await asyncio.gather(*quick)
                took = time.perf_counter() - start
                assert took < 0.25, f"the quick replies came after {took:.3f} s"
                assert not gate.done()
                await gated.open()
                assert "opened" == await gate

    run(main())


def test_calls_made_one_at_a_time_never_starve_the_loop(served: AioManager) -> None:
    """A call made alone may complete without a trip through the event loop (its reply
    read where it waited for it), but not many in a row: a timer that has fallen due
    runs within a few calls."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            loop = asyncio.get_running_loop()
            overdue = worst = fired = 0

            def tick() -> None:
                nonlocal overdue, fired
                overdue, fired = 0, fired + 1
                timer[0] = loop.call_later(0.0005, tick)

            timer = [loop.call_later(0.0005, tick)]
            for i in range(500):
                assert i == await echo.echo(i)
                if loop.time() >= timer[0].when():  # calls made while it was due
                    overdue += 1
                    worst = max(worst, overdue)
            timer[0].cancel()
            assert fired > 0
            assert worst <= 33
            # On this Python's asyncio, replies were read where their calls waited.
            assert manager.connection._caught_all > 0

    run(main())


def takeovers(served: AioManager) -> dict[str, int]:
    """The server's count of runs it took the reading of a connection from, by method."""
    report = introspect.request(served.address, AUTHKEY)
    counts: dict[str, int] = report["multiplexed"]["takeovers"]
    return counts


def test_a_method_that_blocked_the_connection_hands_reading_on_before_it_runs(
    served: AioManager,
) -> None:
    """The thread that reads a request runs it. When it blocks, the server's watch has
    another thread read on (counted in the report); the connection remembers the method,
    whose next run hands the reading on before it starts: no second takeover."""

    async def main() -> None:
        manager, _ = await echo_of(served)
        async with manager:
            before = await asyncio.to_thread(takeovers, served)
            for _ in range(2):
                gate = await manager.Echo()  # type: ignore[attr-defined]
                waiting = asyncio.create_task(gate.wait_gate())
                await asyncio.sleep(0.1)  # read alone, blocking the thread that read it
                await gate.open()
                assert "opened" == await waiting
                after = await asyncio.to_thread(takeovers, served)
                assert before.get("wait_gate", 0) + 1 == after.get("wait_gate")

    run(main())


def test_one_way_calls_are_sent_without_waiting(served: AioManager) -> None:
    """A ``@oneway`` method of an async proxy returns once sent; the server runs it (it
    lets an awaiting ``async def`` call finish)."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            waiting = asyncio.create_task(echo.wait_open())
            await asyncio.sleep(0)  # the task sends its request
            assert 1 == manager.connection.in_flight
            assert None is await echo.open_later()
            # A one-way call awaits no reply: only wait_open's is outstanding.
            assert 1 == manager.connection.in_flight
            assert "opened" == await waiting

    run(main())


def test_large_messages_both_ways_among_small_ones(served: AioManager) -> None:
    """Requests and replies of megabytes, in flight among small calls, arrive whole."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            chunk = bytes(range(256)) * 400  # 100 KiB
            calls = [echo.blob(chunk, times=i % 3 * 10 + 1) for i in range(12)]
            calls += [echo.blob(b"x") for _ in range(50)]
            replies = await asyncio.gather(*calls)
            assert [chunk * (i % 3 * 10 + 1) for i in range(12)] == replies[:12]
            assert [b"x"] * 50 == replies[12:]

    run(main())


def test_a_refused_reply_fails_its_call_only(served: AioManager) -> None:
    """A reply naming a type the client does not load fails that call; the connection
    and the calls around it go on."""
    import pickle

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            results = await asyncio.gather(
                echo.echo(1), echo.odd(), echo.echo(2), return_exceptions=True
            )
            assert 1 == results[0] and 2 == results[2]
            assert isinstance(results[1], pickle.UnpicklingError), results[1]
            assert "Fraction" in str(results[1])
            assert 3 == await echo.echo(3)

    run(main())


def test_async_failures_carry_the_server_traceback(served: AioManager) -> None:
    """An ``async def`` method that raises: the caller gets the exception, the server's
    traceback chained."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            with pytest.raises(ValueError, match="async boom") as raised:
                await echo.afail("async boom")
            assert "raise ValueError" in str(raised.value.__cause__)

    run(main())


def test_a_lost_server_fails_the_calls_in_flight(sockdir: Path) -> None:
    """Calls waiting when the server goes fail with ServerConnectionError."""
    manager = AioManager(address=str(sockdir / "lost.sock"), authkey=AUTHKEY, ctx=FORK)
    manager.start()

    async def main() -> None:
        client = AsyncAioManager(manager.address, AUTHKEY)
        async with client:
            echo = await client.Echo()  # type: ignore[attr-defined]
            pending = asyncio.create_task(echo.echo(1, 5.0))
            await asyncio.sleep(0)
            await asyncio.to_thread(manager.shutdown)
            with pytest.raises(ServerConnectionError):
                await pending

    run(main())


def test_async_calls_over_tls(tmp_path: Path) -> None:
    """The async connection speaks TLS, checking the server's certificate."""
    ca = Authority(tmp_path, "aio")
    server_context = ca.server_context(ca.issue("server", server=True))
    client_context = ca.client_context()
    manager = AioManager(
        address=("127.0.0.1", 0),
        authkey=AUTHKEY,
        ctx=FORK,
        ssl_context=client_context,
        server_ssl_context=server_context,
    )
    with manager:

        async def main() -> None:
            client = AsyncAioManager(
                manager.address, AUTHKEY, ssl_context=client_context
            )
            async with client:
                echo = await client.Echo()  # type: ignore[attr-defined]
                tags = await asyncio.gather(*(echo.aecho(i) for i in range(200)))
                assert list(range(200)) == tags
                assert 9 == await (await echo.item(9)).value()
            untrusting = ssl.create_default_context()
            with pytest.raises(ssl.SSLError):
                await AsyncConnection.open(
                    manager.address, AUTHKEY, ssl_context=untrusting
                )

        run(main())


def test_a_wrong_authkey_is_refused(served: AioManager) -> None:
    """The async handshake is the authkey handshake: a wrong key is refused."""
    from multiprocessing import AuthenticationError

    async def main() -> None:
        with pytest.raises(AuthenticationError):
            await AsyncConnection.open(served.address, b"not the key")

    run(main())


def test_a_killed_async_client_releases_its_objects(served: AioManager) -> None:
    """A client process holding async proxies is killed: the server releases them."""
    baseline = served._number_of_objects()  # type: ignore[attr-defined]
    ours, theirs = SPAWN.Pipe()
    child = SPAWN.Process(
        target=children.hold_then_wait, args=(served.address, AUTHKEY, theirs)
    )
    child.start()
    try:
        assert ours.poll(TIMEOUT), "the child did not report"
        assert 3 == ours.recv()
        assert baseline + 3 == served._number_of_objects()  # type: ignore[attr-defined]
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(TIMEOUT)
        assert settles(served._number_of_objects, baseline)  # type: ignore[attr-defined]
    finally:
        stop([child])


def test_a_second_mux_request_is_refused(served: AioManager) -> None:
    """On a connection already multiplexed, another MUX request is answered with an error
    and the connection goes on."""
    from typedmgr._wire import MUX, MUX_VERSION as VERSION

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            kind, result = await manager.connection.request(
                (None, MUX, (VERSION,), {}, ())
            )
            assert "#TRACEBACK" == kind
            assert "cannot be multiplexed" in result
            assert 8 == await echo.echo(8)

    run(main())


def test_async_pipelines_send_calls_as_one_batch(served: AioManager) -> None:
    """An AsyncPipeline's calls go as one request and come back in order: values,
    remote objects, one-way calls, a failing call raising from its own reply."""
    from typedmgr import AsyncPipeline

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            async with AsyncPipeline() as p:
                tags = [p.call(echo.echo, i) for i in range(100)]
                item = p.call(echo.item, 5)
                failed = p.call(echo.fail, "in a batch")
                p.call(echo.open_later)
                after = p.call(echo.echo, 101)
                assert 0 == manager.connection.in_flight  # nothing sent yet
            assert list(range(100)) == [reply.value() for reply in tags]
            assert 5 == await item.value().value()
            with pytest.raises(KeyError, match="in a batch"):
                failed.value()
            assert 101 == after.value()
            assert "opened" == await echo.wait_open()
            with pytest.raises(TypeError, match="not a method of an async"):
                p.call(asyncio.sleep, 0)

    run(main())


def test_a_cancelled_pipeline_leaks_nothing(served: AioManager) -> None:
    """Pipelines of calls returning remote objects, cancelled while in flight: once
    their late replies are in, the server holds what it held before."""
    from typedmgr import AsyncPipeline

    async def main() -> None:
        # Proxies of earlier tests in reference cycles go first (their releases ride
        # on the creation below).
        gc.collect()
        manager, echo = await echo_of(served)
        async with manager:
            baseline = await asyncio.to_thread(served._number_of_objects)  # type: ignore[attr-defined]

            async def batch() -> None:
                async with AsyncPipeline() as p:
                    for i in range(20):
                        p.call(echo.aitem, i, 0.002)
                        p.call(echo.item, i)

            tasks = [asyncio.create_task(batch()) for _ in range(10)]
            await asyncio.sleep(0)  # every batch is sent
            for task in tasks:
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
            del outcomes, tasks
            await manager.connection.settled()
            await asyncio.sleep(0)
            gc.collect()
            assert 1 == await echo.echo(1)  # carries the releases
            assert baseline == await asyncio.to_thread(served._number_of_objects)  # type: ignore[attr-defined]

    run(main())


def test_proxies_are_not_picklable_and_say_what_to_do(served: AioManager) -> None:
    """An async proxy belongs to its connection's loop: pickling it is refused."""
    import pickle

    async def main() -> None:
        manager, echo = await echo_of(served)
        async with manager:
            assert isinstance(echo, AsyncTypedProxy)
            with pytest.raises(TypeError, match="sync proxy"):
                pickle.dumps(echo)

    run(main())


def test_calls_after_close_say_the_client_closed(served: AioManager) -> None:
    """A call on a closed async manager's proxy fails with ServerConnectionError naming
    the client's own close; ``connect()`` opens a new connection."""

    async def main() -> None:
        manager, echo = await echo_of(served)
        await manager.aclose()
        with pytest.raises(ServerConnectionError, match="closed by this client"):
            await echo.echo(1)
        await manager.connect()
        again = await manager.Echo()  # type: ignore[attr-defined]
        assert 2 == await again.echo(2)
        await manager.aclose()

    run(main())


def test_connections_closed_after_their_lead_moved_leave_others_intact(
    served: AioManager,
) -> None:
    """Connections come and go while others open: each made a call long enough that
    another thread took its lead, so the thread that closes it is not the one that
    accepted it. No other connection is disturbed (two threads closing one descriptor
    at once once closed a newer connection's)."""

    async def churn(rounds: int) -> None:
        for i in range(rounds):
            manager, echo = await echo_of(served)
            async with manager:
                assert i == await echo.echo(i, 0.005)  # past the takeover: a new lead
                assert i == await echo.echo(i)

    async def main() -> None:
        await asyncio.gather(*(churn(15) for _ in range(4)))

    run(main())
