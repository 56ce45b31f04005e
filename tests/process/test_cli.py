"""The real `typedmgr` executable: usage errors, --version, serve / inspect / ping / SIGTERM,
and the events a served session logs."""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any

import pytest

import typedmgr
from tests.process import operating
from tests.process.support import EXAMPLES, TIMEOUT, run_children
from tests.runtime.certs import Authority
from tests.runtime.fixtures import RuntimeManager
from tests.tools import ROOT

pytestmark = pytest.mark.process

TYPEDMGR = Path(sys.executable).with_name("typedmgr")
KEY = "a-long-enough-authkey-for-tests"
ENV = {
    **os.environ,
    "TYPEDMGR_CLI_KEY": KEY,
    "PYTHONPATH": os.pathsep.join([str(ROOT), str(EXAMPLES)]),
}
KEY_OPTION = ["--authkey-env", "TYPEDMGR_CLI_KEY"]


def typedmgr_run(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> Any:
    """Run the `typedmgr` executable to its end; its CompletedProcess."""
    return subprocess.run(
        [str(TYPEDMGR), *args],
        env=ENV if env is None else env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_version_everywhere() -> None:
    """`typedmgr --version` and `python -m typedmgr --version` print the version."""
    for command in ([str(TYPEDMGR)], [sys.executable, "-m", "typedmgr"]):
        done = subprocess.run(
            [*command, "--version"], capture_output=True, text=True, timeout=TIMEOUT
        )
        assert 0 == done.returncode
        assert done.stdout.startswith(f"typedmgr {typedmgr.__version__} (")


def listening_port() -> socket.socket:
    """A socket listening on a loopback port (which a server then cannot take)."""
    return socket.create_server(("127.0.0.1", 0))


SERVE = ["serve", "shop.server:ShopManager"]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            [*SERVE, "--address", "localhost", *KEY_OPTION],
            {},
            "--address 'localhost': expected HOST:PORT, [IPv6]:PORT or unix:PATH",
        ),
        (
            [*SERVE, "--address", ":50204", *KEY_OPTION],
            {},
            "--address ':50204' names no host: 127.0.0.1:50204 serves this machine, "
            "0.0.0.0:50204 every network interface",
        ),
        (
            [*SERVE, "--address", "127.0.0.1:0", "--authkey-env", "TYPEDMGR_UNSET"],
            {},
            "--authkey-env TYPEDMGR_UNSET: the environment variable TYPEDMGR_UNSET "
            "is not set",
        ),
        (
            [*SERVE, "--address", "127.0.0.1:0", "--authkey-file", "/no/such/key"],
            {},
            "--authkey-file /no/such/key: No such file or directory",
        ),
        (
            ["serve", "no_such_module:M", "--address", "127.0.0.1:0", *KEY_OPTION],
            {},
            "cannot import 'no_such_module' (No module named 'no_such_module'); is "
            "it in the current directory or on PYTHONPATH?",
        ),
        (
            ["serve", "shop.server:Nope", "--address", "127.0.0.1:0", *KEY_OPTION],
            {},
            "'shop.server' has no 'Nope'",
        ),
        (
            [*SERVE, "--address", "0.0.0.0:0", *KEY_OPTION],
            {"TYPEDMGR_CLI_KEY": "abc"},
            "a 3-byte authkey is too weak for the network address 0.0.0.0:0: use 16 "
            "bytes or more",
        ),
        (
            [*SERVE, "--address", "127.0.0.1:0", "--authkey-env"],
            {},
            "argument --authkey-env: expected one argument",
        ),
        (
            [*SERVE, "--addr", "127.0.0.1:0", *KEY_OPTION],
            {},
            "the following arguments are required: --address",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    args: list[str], env: dict[str, str], message: str, tmp_path: Path
) -> None:
    """Each usage error: exit status 2, one line on stderr naming it, no traceback,
    and no file made (a bare word is not a unix socket path)."""
    done = typedmgr_run(*args, env={**ENV, **env}, cwd=tmp_path)
    assert 2 == done.returncode
    assert "" == done.stdout
    lines = done.stderr.splitlines()
    assert 1 == len(lines), done.stderr
    assert lines[0].startswith("typedmgr serve: error: ")
    assert message in lines[0]
    assert [] == list(tmp_path.iterdir())


def test_a_busy_port_is_a_usage_error() -> None:
    """Serving on a port in use: one line naming the address, exit status 2."""
    with listening_port() as taken:
        port = taken.getsockname()[1]
        done = typedmgr_run(*SERVE, "--address", f"127.0.0.1:{port}", *KEY_OPTION)
    assert 2 == done.returncode
    assert [
        f"typedmgr serve: error: cannot listen on 127.0.0.1:{port}: Address already "
        "in use (another server uses this port)"
    ] == done.stderr.splitlines()


@dataclass
class Running:
    """A `typedmgr serve` subprocess, its CLI address and its log file."""

    proc: subprocess.Popen[str]
    address: Any
    cli_address: str
    log: Path


@contextlib.contextmanager
def served(
    target: str, *options: str, tmp: Path, address: str = "127.0.0.1:0"
) -> Iterator[Running]:
    """`typedmgr serve target --address ADDRESS ... --log-level debug`, stderr to a
    file; terminated (SIGTERM, then SIGKILL) if still running on exit."""
    log = tmp / "serve.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [
                *(str(TYPEDMGR), "serve", target, "--address", address),
                *(*KEY_OPTION, "--log-level", "debug", *options),
            ],
            env=ENV,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            assert proc.stdout is not None
            banner = proc.stdout.readline()
            assert " at " in banner, f"no banner: {banner!r}\n{log.read_text()}"
            listening = ast.literal_eval(banner.split(" at ", 1)[1].strip())
            if isinstance(listening, tuple):
                host, port = listening[:2]
                cli = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                listening = (host, port)
            else:
                cli = f"unix:{listening}"
            yield Running(proc, listening, cli, log)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(TIMEOUT)
            assert proc.stdout is not None
            proc.stdout.close()


def ipv6_loopback() -> bool:
    """Whether this machine can listen on ::1."""
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("kind", ["ipv6", "unix"])
def test_serve_ipv6_and_unix_addresses(kind: str, tmp_path: Path) -> None:
    """[::1]:PORT and unix:PATH are served and pinged; a unix socket file is removed
    when the server stops."""
    if kind == "ipv6" and not ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    sock = Path(tempfile.mkdtemp(prefix="tm-", dir="/tmp")) / "s.sock"
    address = "[::1]:0" if kind == "ipv6" else f"unix:{sock}"
    target = "tests.runtime.fixtures:RuntimeManager"
    with served(target, tmp=tmp_path, address=address) as server:
        ping = typedmgr_run("ping", server.cli_address, *KEY_OPTION)
        assert 0 == ping.returncode, ping.stderr
        m: Any = RuntimeManager(address=server.address, authkey=KEY.encode())
        m.connect()
        assert 2 == m.Tally().add(2)
        server.proc.send_signal(signal.SIGTERM)
        assert 0 == server.proc.wait(TIMEOUT)
    assert not sock.exists()
    sock.parent.rmdir()


def wait_for(condition: Any, what: str) -> None:
    """Poll ``condition()`` until true, failing after TIMEOUT seconds."""
    end = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_serve_inspect_ping_and_stop_with_sigterm(tmp_path: Path) -> None:
    """A served manager is pinged, inspected (text and JSON: typeids with signatures and
    fingerprints, objects per typeid, this process's session) and stopped by SIGTERM
    with a log line and exit status 0; a ping then fails."""
    with served("tests.runtime.fixtures:RuntimeManager", tmp=tmp_path) as server:
        ping = typedmgr_run("ping", server.cli_address, *KEY_OPTION)
        assert 0 == ping.returncode, ping.stderr
        assert ping.stdout.startswith(f"{server.cli_address}: answered in ")
        m: Any = RuntimeManager(address=server.address, authkey=KEY.encode())
        m.connect()
        tally = m.Tally()
        tally.add(1)
        board = m.Board()
        kept = [board.tally("a"), board.tally("b")]
        text = typedmgr_run("inspect", server.cli_address, *KEY_OPTION)
        assert 0 == text.returncode, text.stderr
        assert f"typedmgr {typedmgr.__version__}, cpython" in text.stdout
        assert "add(n: int = 1) -> int" in text.stdout
        fingerprint = typedmgr.interface_of(type(tally)._protocol_).fingerprint
        assert f"fingerprint {fingerprint}; 1 alive" in text.stdout
        assert (
            "asyncio   0 multiplexed connections; methods that blocked one past 2 ms: "
            "none"
        ) in text.stdout
        report = json.loads(
            typedmgr_run("inspect", server.cli_address, *KEY_OPTION, "--json").stdout
        )
        alive = {row["typeid"]: row["objects"] for row in report["typeids"]}
        assert {"Tally": 1, "Board": 1} == {k: alive[k] for k in ("Tally", "Board")}
        assert 2 == alive["tests.runtime.fixtures:Tally"]  # returned by Board.tally()
        assert sys.version.split()[0] == report["server"]["python"]
        (session,) = report["sessions"]
        assert 4 == session["objects"]
        assert session["peer"].startswith("127.0.0.1:")
        assert isinstance(session["idle"], float)
        assert KEY not in json.dumps(report)
        del kept
        server.proc.send_signal(signal.SIGTERM)
        assert 0 == server.proc.wait(TIMEOUT)
        log = server.log.read_text()
        assert (
            "INFO typedmgr.server: stopped by SIGTERM (objects alive: 4, client sessions: 1)"
            in log
        )
        assert "Traceback" not in log
        after = typedmgr_run("ping", server.cli_address, *KEY_OPTION, "--timeout", "2")
        assert 1 == after.returncode
        assert "cannot connect" in after.stderr


def test_ping_fails_on_a_wrong_key_and_on_a_silent_listener() -> None:
    """ping exits non-zero when the key is refused, or nothing answers within --timeout."""
    with served_quietly() as address:
        wrong = typedmgr_run(
            "ping", address, "--authkey-env", "WRONG", env={**ENV, "WRONG": "x" * 20}
        )
        assert 1 == wrong.returncode
        assert "wrong authkey" in wrong.stderr
    with listening_port() as mute:
        port = mute.getsockname()[1]
        start = time.monotonic()
        silent = typedmgr_run(
            "ping", f"127.0.0.1:{port}", *KEY_OPTION, "--timeout", "0.5"
        )
        assert time.monotonic() - start < TIMEOUT
        assert 1 == silent.returncode
        assert "did not complete the authkey handshake within 0.50 s" in silent.stderr


@contextlib.contextmanager
def served_quietly() -> Iterator[str]:
    """A RuntimeManager started by this process; its CLI address."""
    with RuntimeManager(address=("127.0.0.1", 0), authkey=KEY.encode()) as m:
        address: Any = m.address
        yield f"{address[0]}:{address[1]}"


def test_a_served_session_logs_each_event(tmp_path: Path) -> None:
    """--log-level debug: connections accepted and closed, a failed handshake (peer and
    reason), a refused type, a failed one-way call, a limit hit, a session ended with
    what it released, the stop."""
    options = ["--max-message-size", "64K"]
    with served("tests.runtime.fixtures:RuntimeManager", *options, tmp=tmp_path) as s:
        (seen,) = run_children(operating.busy_client, [(s.address, KEY.encode())])
        assert ["2", "refused", "3", "closed", "3"] == seen
        stranger = RuntimeManager(address=s.address, authkey=b"not the right key!")
        with pytest.raises(Exception, match="wrong authkey"):
            stranger.connect()
        for event in ("ended: released", "authkey handshake with"):
            wait_for(lambda e=event: e in s.log.read_text(), event)
        s.proc.send_signal(signal.SIGINT)
        assert 0 == s.proc.wait(TIMEOUT)
    log = s.log.read_text()
    peer = r"127\.0\.0\.1:\d+"
    for pattern in [
        rf"DEBUG typedmgr\.connections: connection from {peer} accepted",
        rf"DEBUG typedmgr\.connections: connection from {peer} closed after",
        rf"WARNING typedmgr\.auth: authkey handshake with {peer} failed: digest "
        r"received was wrong \(the client holds another authkey\)",
        rf"WARNING typedmgr\.server: refused a request from {peer}: refused to load "
        r"decimal\.Decimal",
        rf"ERROR typedmgr\.server: one-way call note\(\) failed \(caller {peer}\)",
        rf"WARNING typedmgr\.server: closing the connection of {peer}: a \d+-byte "
        r"message exceeds the limit of 65536",
        rf"INFO typedmgr\.sessions: session [0-9a-f]{{16}} of {peer} ended: released "
        r"2 references to 2 objects \(2 disposed of\)",
        r"INFO typedmgr\.server: stopped by SIGINT",
    ]:
        assert re.search(pattern, log), f"{pattern!r} not in the log:\n{log}"


def test_ping_and_inspect_a_tls_server(tmp_path: Path) -> None:
    """--tls-ca (and a client certificate for mutual TLS) reach a TLS server; without
    them, ping fails with a message that points at TLS."""
    ca = Authority(tmp_path, "ca")
    clients = Authority(tmp_path, "clients")
    server_id = ca.issue("localhost", server=True)
    member = clients.issue("member", server=False)
    options = ["--tls-cert", str(server_id.cert), "--tls-key", str(server_id.key)]
    options += ["--tls-client-ca", str(clients.cert)]
    target = "tests.runtime.fixtures:RuntimeManager"
    with served(target, *options, tmp=tmp_path) as server:
        tls = ["--tls-ca", str(ca.cert), "--tls-cert", str(member.cert)]
        tls += ["--tls-key", str(member.key)]
        ping = typedmgr_run("ping", server.cli_address, *KEY_OPTION, *tls)
        assert 0 == ping.returncode, ping.stderr
        report = json.loads(
            typedmgr_run(
                "inspect", server.cli_address, *KEY_OPTION, *tls, "--json"
            ).stdout
        )
        assert report["server"]["tls"] is True
        plain = typedmgr_run("ping", server.cli_address, *KEY_OPTION, "--timeout", "1")
        assert 1 == plain.returncode
        assert "is it a TLS server" in plain.stderr


class StdlibClient(BaseManager):
    """A plain stdlib client: HMAC-MD5 handshakes on Python 3.10/3.11."""


StdlibClient.register("Tally")


def test_legacy_md5_admits_a_stdlib_client(tmp_path: Path) -> None:
    """serve --legacy-md5: a stdlib BaseManager client (HMAC-MD5 before 3.12) is served;
    without it, on those Pythons, it is refused."""
    target = "tests.runtime.fixtures:RuntimeManager"
    with served(target, "--legacy-md5", tmp=tmp_path) as server:
        m: Any = StdlibClient(address=server.address, authkey=KEY.encode())
        m.connect()
        assert 2 == m.Tally().add(2)
    if sys.version_info < (3, 12):
        with served(target, tmp=tmp_path) as server:
            refused: Any = StdlibClient(address=server.address, authkey=KEY.encode())
            with pytest.raises(Exception, match="digest sent was rejected"):
                refused.connect()


def test_validate_and_allow_flags(tmp_path: Path) -> None:
    """serve --validate checks arguments against the Protocol; --allow lets a type in."""
    target = "tests.runtime.fixtures:RuntimeManager"
    options = ["--validate", "--allow", "decimal:Decimal"]
    with served(target, *options, tmp=tmp_path) as server:
        m: Any = RuntimeManager(address=server.address, authkey=KEY.encode())
        m.connect()
        tally = m.Tally()
        with pytest.raises(TypeError, match="parameter 'n' expects int, got str"):
            tally.add("2")
        with pytest.raises(TypeError, match="parameter 'n' expects int, got Decimal"):
            tally.add(Decimal(2))  # loaded (allowed), then refused by validation
        assert 2 == tally.add(2)
