"""Errors at the caller name the server, the call and the fix, without server frames."""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from multiprocessing.process import BaseProcess
from typing import Any

import pytest

from tests.runtime.fixtures import RuntimeManager
from tests.runtime.slow import SlowManager
from typedmgr import Pipeline, ServerConnectionError, _introspect
from typedmgr._channel import client, server_rpc
from typedmgr._errors import ObjectGone, RefusedArgument, UnpicklableResult

pytestmark = pytest.mark.process

AUTHKEY = b"a key for the error tests"


def free_address() -> tuple[str, int]:
    """A loopback address nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address: tuple[str, int] = s.getsockname()
    return address


def test_no_server_is_a_server_connection_error_naming_the_address() -> None:
    """connect() to an address nobody serves: ServerConnectionError with the address."""
    address = free_address()
    m = RuntimeManager(address=address, authkey=AUTHKEY)
    for _ in range(2):
        with pytest.raises(ServerConnectionError) as raised:
            m.connect()
        assert repr(address) in str(raised.value)
        assert "is it running" in str(raised.value)


def test_a_lost_server_fails_every_call_alike_and_a_server_back_is_used() -> None:
    """After the server stops, each call raises ServerConnectionError naming it; once a
    server is back at the address, the next calls reconnect."""
    server = RuntimeManager(address=("127.0.0.1", 0), authkey=AUTHKEY)
    server.start()
    address: Any = server.address
    m: Any = RuntimeManager(address=address, authkey=AUTHKEY)
    m.connect()
    tally = m.Tally()
    assert 1 == tally.add()
    server.shutdown()
    for _ in range(3):
        with pytest.raises(ServerConnectionError, match=str(address[1])):
            tally.add()
    with pytest.raises(ServerConnectionError, match=str(address[1])):
        m.Tally()
    again = RuntimeManager(address=address, authkey=AUTHKEY)
    again.start()
    try:
        fresh = m.Tally()
        assert 5 == fresh.add(5)
        assert 1 == again._number_of_objects()  # type: ignore[attr-defined]
        # The session has a new lease there too (what it holds is released with it).
        (session,) = _introspect.request(address, AUTHKEY)["sessions"]
        assert 2 == session["connections"]
        assert 1 == session["objects"]
    finally:
        again.shutdown()


@contextlib.contextmanager
def _in_thread(call: Callable[[], int]) -> Iterator[Callable[[], int]]:
    """A thread kept alive with its own connection: ``run()`` makes ``call`` there. It
    ends with the block (a thread left behind would make every later fork unsafe)."""
    calls: queue.Queue[Callable[[], None] | None] = queue.Queue()

    def serve() -> None:
        while (job := calls.get()) is not None:
            job()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def run() -> int:
        result: queue.Queue[int | BaseException] = queue.Queue()

        def job() -> None:
            try:
                result.put(call())
            except BaseException as e:
                result.put(e)

        calls.put(job)
        outcome = result.get(timeout=60)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    try:
        yield run
    finally:
        calls.put(None)
        thread.join(60)


def _serve(address: Any) -> None:
    RuntimeManager(address=address, authkey=AUTHKEY).get_server().serve_forever()


def _restarted_elsewhere(first: RuntimeManager) -> BaseProcess:
    """Kill ``first``'s server and serve its address from a process of nobody's knowing,
    as an operator restarting a crashed server does."""
    address = first.address
    process = first._process  # type: ignore[attr-defined]
    process.kill()
    process.join(30)
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(address,)
    )
    server.start()
    _until_listening(address)
    return server


def _until_listening(address: Any) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(address).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens at {address!r}"
            time.sleep(0.01)


def test_a_server_started_here_at_a_used_address_is_reached_at_the_first_call() -> None:
    """A server of another process was used here, then went; this process starts its own
    at the same address (a reused port, in tests): no thread's first call fails on the
    connection it kept to the old one."""
    address = free_address()
    spawn = multiprocessing.get_context("spawn")  # no fork while the other thread runs
    first = spawn.Process(target=_serve, args=(address,))
    first.start()
    m: Any = RuntimeManager(address=address, authkey=AUTHKEY)
    with _in_thread(lambda: int(m.Tally().add(3))) as other:
        try:
            _until_listening(address)
            m.connect()
            assert 1 == m.Tally().add()
            assert 3 == other()
        finally:
            first.kill()
            first.join(30)
        second = RuntimeManager(address=address, authkey=AUTHKEY, ctx=spawn)
        second.start()
        try:
            assert 2 == m.Tally().add(2)
            assert 3 == other()
        finally:
            second.shutdown()


@pytest.fixture
def crashed() -> Iterator[tuple[Any, Any, Callable[[], int]]]:
    """A client used from two threads, whose server was then killed and another started
    at its address by someone else: (address, manager, the other thread's call)."""
    # spawn: a thread of the test before may still be ending, and fork copies it mid-way
    first = RuntimeManager(
        address=("127.0.0.1", 0),
        authkey=AUTHKEY,
        ctx=multiprocessing.get_context("spawn"),
    )
    first.start()
    address: Any = first.address
    m: Any = RuntimeManager(address=address, authkey=AUTHKEY)
    m.connect()
    with _in_thread(lambda: int(m.Tally().add(3))) as other:
        assert 1 == m.Tally().add()
        assert 3 == other()
        second = _restarted_elsewhere(first)
        try:
            yield address, m, other
        finally:
            second.kill()
            second.join(30)
            first.shutdown()


def test_after_a_crash_one_call_fails_and_every_other_thread_reconnects(
    crashed: tuple[Any, Any, Callable[[], int]],
) -> None:
    """The server is killed and another starts at its address: the call that finds the
    old connection dead fails (it cannot know whether it ran); once that thread is
    connected again, the other threads' first calls reach the new server."""
    address, m, other = crashed
    with pytest.raises(ServerConnectionError, match=str(address[1])):
        m.Tally()
    assert 2 == m.Tally().add(2)
    assert 3 == other()


def test_connecting_again_after_a_crash_renews_every_threads_connection(
    crashed: tuple[Any, Any, Callable[[], int]],
) -> None:
    """The server is killed and another starts at its address: a ``connect()`` there
    notices, and no thread's next call fails on its old connection."""
    address, m, other = crashed
    RuntimeManager(address=address, authkey=AUTHKEY).connect()
    assert 2 == m.Tally().add(2)
    assert 3 == other()


def test_a_proxy_whose_object_is_gone_says_so() -> None:
    """A call on a proxy whose object the server disposed of raises ObjectGone, naming
    the typeid and the object, not a KeyError traceback."""
    with RuntimeManager(address=("127.0.0.1", 0), authkey=AUTHKEY) as m:
        tally: Any = m.Tally()  # type: ignore[attr-defined]
        assert m.address is not None
        # The session gives its reference back behind the proxy's back: the object goes.
        server_rpc(m.address, AUTHKEY, client, "decref", tally._id)
        with pytest.raises(ObjectGone) as raised:
            tally.add()
        assert f"holds no Tally object {tally._id}" in str(raised.value)
        assert "Traceback" not in str(raised.value)


def test_a_wrong_authkey_says_so() -> None:
    """A client with another key than the server's is told the keys differ."""
    with RuntimeManager(address=("127.0.0.1", 0), authkey=AUTHKEY) as server:
        m = RuntimeManager(address=server.address, authkey=b"not the server's key!")
        with pytest.raises(Exception, match="wrong authkey") as raised:
            m.connect()
        assert "AuthenticationError" == type(raised.value).__name__
        assert "unpickled" not in str(raised.value)


def test_a_refused_argument_type_names_method_parameter_type_and_fix() -> None:
    """A Decimal where the Protocol says int: the restricted server refuses to load it;
    the caller's error names Tally.add(), parameter 'n', decimal.Decimal and allow=."""
    with RuntimeManager(address=("127.0.0.1", 0), authkey=AUTHKEY) as m:
        tally: Any = m.Tally()  # type: ignore[attr-defined]
        with pytest.raises(RefusedArgument) as raised:
            tally.add(Decimal(1))
        message = str(raised.value)
        assert "Tally.add()" in message
        assert "parameter 'n'" in message
        assert "decimal.Decimal" in message
        assert "allow=(Decimal,)" in message
        assert "Traceback" not in message
        assert "Traceback" in raised.value.server_traceback
        assert raised.value.__cause__ is None
        with pytest.raises(RefusedArgument, match=r"creating Tally: .* argument 1 of"):
            m.Tally(Decimal(0))  # type: ignore[attr-defined]
        with Pipeline() as p:
            reply = p.call(tally.add, n=Decimal(2))
        with pytest.raises(RefusedArgument, match="parameter 'n'"):
            reply.value()
        assert 3 == tally.add(3)


def test_an_unpicklable_result_names_method_and_type() -> None:
    """A method returning a lock: the error names Sleeper.lock() and _thread.lock."""
    with SlowManager(address=("127.0.0.1", 0), authkey=AUTHKEY) as m:
        sleeper: Any = m.Sleeper()  # type: ignore[attr-defined]
        with pytest.raises(UnpicklableResult) as raised:
            sleeper.lock()
        message = str(raised.value)
        assert "Sleeper.lock()" in message
        assert "_thread.lock" in message
        assert "Traceback" not in message
        assert "ok" == sleeper.nap(0, "ok")
