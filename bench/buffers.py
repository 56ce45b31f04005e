"""A large payload's round trip: typedmgr, the stdlib, and a raw socket copy (the floor).

    python bench/buffers.py [--mib 64] [--rounds 5] [--kind bytes|bytearray]

Each round sends the payload to an echo on a server process and reads it back, with each of
the three in turn (alternating, so that drift on the shared machine hits all three alike):

- typedmgr: ``Echo.echo(data: bytes) -> bytes`` (or ``echo_array``, bytearray) through a
  typedmgr proxy, over TCP;
- stdlib: the same echo through a hand-written stdlib ``BaseProxy``, over TCP;
- raw socket: the bytes written to a TCP socket and read back into a buffer made ready
  beforehand, by a server that reads each into a new buffer of its size: no pickling - the
  floor.

Between typedmgr peers a payload of 64 KiB or more goes out of band: written from its own
memory beside the message's pickle, read by the receiver straight into the new object
(``typedmgr._buffers``). What typedmgr does beyond the floor is mostly the page faults of
that new object, on both ends: the raw client reads into memory it has touched before.
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import statistics
import struct
import sys
import time
from collections.abc import Callable
from multiprocessing.managers import BaseManager, BaseProxy
from pathlib import Path
from typing import Any, cast

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "examples")]

from bench_api import BenchManager, Echo, EchoImpl  # noqa: E402

from typedmgr._proxy import ProxyFactory  # noqa: E402

AUTHKEY = b"bench-buffers"
_SIZE = struct.Struct("!Q")


class EchoBaseProxy(BaseProxy):
    _exposed_ = ("echo", "echo_array")

    def echo(self, data: bytes) -> bytes:
        return cast(bytes, self._callmethod("echo", (data,)))

    def echo_array(self, data: bytearray) -> bytearray:
        return cast(bytearray, self._callmethod("echo_array", (data,)))


class StdlibManager(BaseManager):
    pass


StdlibManager.register("Echo", EchoImpl, EchoBaseProxy)


def _recv_exactly(conn: socket.socket, view: memoryview) -> None:
    while view:
        n = conn.recv_into(view)
        if n == 0:
            raise ConnectionError("the peer closed the socket")
        view = view[n:]


def _raw_echo_server(listener: socket.socket) -> None:
    """Echo length-prefixed payloads, reading each into a buffer of its size."""
    conn, _ = listener.accept()
    with conn:
        header = bytearray(_SIZE.size)
        while True:
            try:
                _recv_exactly(conn, memoryview(header))
            except ConnectionError:
                return
            (size,) = _SIZE.unpack(header)
            body = bytearray(size)
            _recv_exactly(conn, memoryview(body))
            conn.sendall(header)
            conn.sendall(body)


def raw_round_trip(payload: bytes | bytearray) -> Callable[[], float]:
    """A timed raw-socket echo of ``payload`` (the server is a forked process)."""
    listener = socket.create_server(("127.0.0.1", 0))
    server = multiprocessing.get_context("fork").Process(
        target=_raw_echo_server, args=(listener,), daemon=True
    )
    server.start()
    conn = socket.create_connection(listener.getsockname())
    listener.close()
    back = bytearray(len(payload))
    header = bytearray(_SIZE.size)

    def once() -> float:
        start = time.perf_counter()
        conn.sendall(_SIZE.pack(len(payload)))
        conn.sendall(payload)
        _recv_exactly(conn, memoryview(header))
        _recv_exactly(conn, memoryview(back))
        return time.perf_counter() - start

    return once


def proxy_round_trip(echo: Callable[[Any], Any], payload: bytes | bytearray) -> float:
    start = time.perf_counter()
    back = echo(payload)
    elapsed = time.perf_counter() - start
    assert len(back) == len(payload)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=64, help="payload size (MiB)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    parser.add_argument("--kind", choices=("bytes", "bytearray"), default="bytes")
    args = parser.parse_args()
    payload: bytes | bytearray = bytes(range(256)) * (args.mib * 4096)
    if args.kind == "bytearray":
        payload = bytearray(payload)
    times: dict[str, list[float]] = {"typedmgr": [], "stdlib": [], "raw socket": []}
    with (
        BenchManager(address=("127.0.0.1", 0), authkey=AUTHKEY) as typed,
        StdlibManager(address=("127.0.0.1", 0), authkey=AUTHKEY) as stdlib,
    ):
        typed_echo = cast(Echo, typed._create_proxy("Echo", ProxyFactory(Echo)))
        stdlib_echo = cast(EchoBaseProxy, stdlib.Echo())  # type: ignore[attr-defined]
        raw = raw_round_trip(payload)
        method = "echo" if args.kind == "bytes" else "echo_array"
        for _ in range(args.rounds + 1):  # the first round warms up, unrecorded
            samples = {
                "typedmgr": proxy_round_trip(getattr(typed_echo, method), payload),
                "stdlib": proxy_round_trip(getattr(stdlib_echo, method), payload),
                "raw socket": raw(),
            }
            for kind, seconds in samples.items():
                times[kind].append(seconds)
    medians = {kind: statistics.median(t[1:]) * 1e3 for kind, t in times.items()}
    print(
        f"{args.mib} MiB {args.kind} round trip, TCP 127.0.0.1, "
        f"median of {args.rounds}:"
    )
    for kind, ms in medians.items():
        print(
            f"  {kind:<12} {ms:9.1f} ms  ({ms / medians['raw socket']:.2f}x the raw copy)"
        )
    print(f"  typedmgr / stdlib: {medians['typedmgr'] / medians['stdlib']:.2f}")


if __name__ == "__main__":
    main()
