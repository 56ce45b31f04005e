"""A large bytes payload's round trip: typedmgr, the stdlib, and a raw socket copy (the floor).

    python bench/buffers.py [--mib 64] [--rounds 5]

Each round sends the payload to an echo on a server process and reads it back, with each of
the three in turn (alternating, so that drift on the shared machine hits all three alike):

- typedmgr: ``Echo.echo(data: bytes) -> bytes`` through a typedmgr proxy, over TCP;
- stdlib: the same echo through a hand-written stdlib ``BaseProxy``, over TCP;
- raw socket: the bytes written to a TCP socket and read back into a buffer made ready
  beforehand, by a server that does the same: no pickling, no allocation - the floor.

typedmgr writes a payload of 64 KiB or more from its own memory, beside the rest of the
message, so the sender copies nothing; the receiver still copies it out of the message into
the new object (protocol 5 out-of-band buffers, read into their own memory, are not used yet).
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
from typing import cast

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "examples")]

from bench_api import BenchManager, Echo, EchoImpl  # noqa: E402

from typedmgr._proxy import ProxyFactory  # noqa: E402

AUTHKEY = b"bench-buffers"
_SIZE = struct.Struct("!Q")


class EchoBaseProxy(BaseProxy):
    _exposed_ = ("echo",)

    def echo(self, data: bytes) -> bytes:
        return cast(bytes, self._callmethod("echo", (data,)))


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


def raw_round_trip(payload: bytes) -> Callable[[], float]:
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


def proxy_round_trip(echo: Callable[[bytes], bytes], payload: bytes) -> float:
    start = time.perf_counter()
    back = echo(payload)
    elapsed = time.perf_counter() - start
    assert len(back) == len(payload)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=64, help="payload size (MiB)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    args = parser.parse_args()
    payload = bytes(range(256)) * (args.mib * 4096)
    times: dict[str, list[float]] = {"typedmgr": [], "stdlib": [], "raw socket": []}
    with (
        BenchManager(address=("127.0.0.1", 0), authkey=AUTHKEY) as typed,
        StdlibManager(address=("127.0.0.1", 0), authkey=AUTHKEY) as stdlib,
    ):
        typed_echo = cast(Echo, typed._create_proxy("Echo", ProxyFactory(Echo)))
        stdlib_echo = cast(EchoBaseProxy, stdlib.Echo())  # type: ignore[attr-defined]
        raw = raw_round_trip(payload)
        for _ in range(args.rounds + 1):  # the first round warms up, unrecorded
            samples = {
                "typedmgr": proxy_round_trip(typed_echo.echo, payload),
                "stdlib": proxy_round_trip(stdlib_echo.echo, payload),
                "raw socket": raw(),
            }
            for kind, seconds in samples.items():
                times[kind].append(seconds)
    medians = {kind: statistics.median(t[1:]) * 1e3 for kind, t in times.items()}
    print(f"{args.mib} MiB bytes round trip, TCP 127.0.0.1, median of {args.rounds}:")
    for kind, ms in medians.items():
        print(
            f"  {kind:<12} {ms:9.1f} ms  ({ms / medians['raw socket']:.2f}x the raw copy)"
        )
    print(f"  typedmgr / stdlib: {medians['typedmgr'] / medians['stdlib']:.2f}")


if __name__ == "__main__":
    main()
