"""Parent-side helpers: servers in processes of their own, client processes, their results.

Everything here is bounded: servers that do not come up, children that fail or hang, fail
the test within ``TIMEOUT`` seconds, and every process started here is gone on return.
"""

from __future__ import annotations

import ast
import contextlib
import multiprocessing
import os
import queue
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any

import pytest

from tests.process import children
from tests.tools import ROOT

EXAMPLES = ROOT / "examples"
SPAWN = multiprocessing.get_context("spawn")
#: Upper bound, in seconds, for any one wait on another process.
TIMEOUT = 30.0
#: The environment variable `typedmgr serve --authkey-env` reads.
KEY_VAR = "TYPEDMGR_PROCESS_TEST_KEY"


@dataclass(frozen=True)
class Served:
    """A server in a process of its own: where it listens and the key it wants."""

    address: Any
    authkey: bytes
    how: str


def run_children(
    target: Callable[..., object],
    arg_lists: Sequence[tuple[Any, ...]],
    *,
    ctx: BaseContext = SPAWN,
    timeout: float = TIMEOUT,
) -> list[Any]:
    """Run ``target(*args)`` in one child process per ``args``; their results, in order.

    Fails the test with the child's traceback as soon as one child fails or dies.
    """
    results: Any = ctx.Queue()
    procs = [
        ctx.Process(  # type: ignore[attr-defined]
            target=children.run_reporting,
            args=(results, tag, target, args),
            name=f"{getattr(target, '__name__', 'child')}-{tag}",
        )
        for tag, args in enumerate(arg_lists)
    ]
    outcomes: dict[int, object] = {}
    deadline = time.monotonic() + timeout
    # A forked child flushes the stdio buffers it inherited when it exits: empty them first,
    # or pytest's progress output is printed once more per child.
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        for proc in procs:
            proc.start()
        while len(outcomes) < len(procs):
            try:
                tag, status, value = results.get(timeout=0.2)
            except queue.Empty:
                silent = [p for p in procs if p.exitcode not in (None, 0)]
                if silent:  # a reported error would be here by now, give it a moment
                    with contextlib.suppress(queue.Empty):
                        tag, status, value = results.get(timeout=2)
                        if status == "error":
                            pytest.fail(f"child {tag} failed:\n{value}")
                    pytest.fail(
                        f"{silent[0].name} died with exit code {silent[0].exitcode}"
                    )
                if time.monotonic() > deadline:
                    pytest.fail(f"child processes gave no result within {timeout} s")
                continue
            if status == "error":
                pytest.fail(f"child {tag} failed:\n{value}")
            outcomes[tag] = value
        for proc in procs:
            proc.join(max(1.0, deadline - time.monotonic()))
            assert 0 == proc.exitcode, f"{proc.name} exit code {proc.exitcode}"
    finally:
        stop(procs)
        results.close()
    return [outcomes[tag] for tag in range(len(procs))]


def stop(procs: Sequence[Any]) -> None:
    """Terminate, then kill, any of ``procs`` still running; reap them all."""
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join(5)


@contextlib.contextmanager
def server_process(manager: str, address: Any, authkey: bytes) -> Iterator[Any]:
    """Serve the manager class ``"module:Class"`` in a spawned process.

    Yields the address the server reports; stops the process on exit.
    """
    ready: Any = SPAWN.Queue()
    proc = SPAWN.Process(
        target=children.serve, args=(manager, address, authkey, ready), daemon=True
    )
    proc.start()
    try:
        try:
            served = ready.get(timeout=TIMEOUT)
        except queue.Empty:
            pytest.fail(f"the server process did not start (exit code {proc.exitcode})")
        yield served
    finally:
        stop([proc])
        ready.close()


@contextlib.contextmanager
def cli_server(
    target: str, address: str, authkey: bytes, *options: str
) -> Iterator[Any]:
    """Run `typedmgr serve target --address ... --authkey-env ...` as a subprocess.

    Yields the address from the banner the command prints; stops the server on exit.
    """
    env = {
        **os.environ,
        KEY_VAR: authkey.decode(),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(EXAMPLES)]),
    }
    command = [sys.executable, "-m", "typedmgr", "serve", target]
    with tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(
            [*command, "--address", address, "--authkey-env", KEY_VAR, *options],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            banner = _first_line(proc, TIMEOUT)
            if " at " not in banner:
                stderr.seek(0)
                pytest.fail(f"`typedmgr serve` failed: {banner!r}\n{stderr.read()}")
            yield _literal_address(banner.split(" at ", 1)[1].strip())
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            assert proc.stdout is not None
            proc.stdout.close()


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The first line the process prints, or what it printed when it exited or timed out."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return f"<no output within {timeout} s>"
    return proc.stdout.readline()


def _literal_address(text: str) -> Any:
    """``('127.0.0.1', 4242)`` or ``'/path/to.sock'``, as the banner prints it."""
    return ast.literal_eval(text)


def as_cli_address(address: Any) -> str:
    """The `--address` text of a listening address."""
    if isinstance(address, tuple):
        host, port = address
        return f"{host}:{port}"
    return f"unix:{address}"
