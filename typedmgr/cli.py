"""The ``typedmgr`` command: ``gen`` (delegated to typedmgr-codegen), ``serve``, ``inspect``
and ``ping``.

Usage errors (a bad address, an unset key variable, a module that does not import, a busy
port...) print one line, ``typedmgr <command>: error: ...``, and exit with status 2.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import ipaddress
import json
import logging
import os
import signal
import ssl
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from typedmgr import __version__
from typedmgr.manager import TypedManager

__all__ = ["UsageError", "main", "parse_address"]

_log = logging.getLogger("typedmgr.server")

#: Authkeys shorter than this are refused on a network address.
MIN_NETWORK_KEY = 16


class UsageError(Exception):
    """A mistake in the command line or its environment: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``typedmgr`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["gen"]:
        try:
            from typedmgr_codegen.cli import main as gen
        except ImportError:
            print(
                "typedmgr gen: the generator is not installed; "
                "pip install typedmgr-codegen (a build-time tool, clients never need it)",
                file=sys.stderr,
            )
            return 2
        return gen(args[1:])
    parser = _build_parser()
    options = parser.parse_args(args)
    command = f"typedmgr {options.command}"
    tls_alone = options.command == "serve" and not options.tls_cert
    if tls_alone and (options.tls_key or options.tls_client_ca):
        parser.exit(
            2, f"{command}: error: --tls-key and --tls-client-ca need --tls-cert\n"
        )
    try:
        result: int = options.run(options)
    except UsageError as e:
        print(f"{command}: error: {e}", file=sys.stderr)
        return 2
    return result


def _version() -> str:
    return (
        f"typedmgr {__version__} "
        f"({sys.implementation.name} {sys.version.split()[0]}, {sys.executable})"
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="typedmgr", allow_abbrev=False)
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )
    commands.add_parser(
        "gen", help="generate typed proxies and stubs (typedmgr-codegen)"
    )
    serve = commands.add_parser(
        "serve",
        help="serve a TypedManager until SIGTERM or SIGINT",
        allow_abbrev=False,
        description="Serve a TypedManager in the foreground; logs go to stderr.",
    )
    serve.set_defaults(run=_serve)
    serve.add_argument("target", metavar="module:ManagerClass")
    _address_and_key(serve)
    serve.add_argument(
        "--tls-cert", type=Path, help="serve TLS with this certificate (PEM)"
    )
    serve.add_argument(
        "--tls-key", type=Path, help="the certificate's private key (PEM)"
    )
    serve.add_argument(
        "--tls-client-ca",
        type=Path,
        help="mutual TLS: admit only clients whose certificate this CA signed",
    )
    serve.add_argument(
        "--legacy-md5",
        action="store_true",
        help="accept HMAC-MD5 handshakes (stdlib clients on Python 3.10/3.11)",
    )
    serve.add_argument(
        "--allow-insecure-network",
        action="store_true",
        help=f"serve a network address with an authkey under {MIN_NETWORK_KEY} bytes",
    )
    serve.add_argument(
        "--validate",
        action="store_true",
        help="check each call's arguments against its Protocol",
    )
    serve.add_argument(
        "--unpickling",
        choices=("auto", "restricted", "full"),
        help="what requests may name (default: the manager's; see SECURITY.md)",
    )
    serve.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="module:Type",
        help="another type requests may carry (repeatable)",
    )
    serve.add_argument(
        "--max-message-size",
        type=_size,
        metavar="BYTES",
        help="the largest request read (default 256 MiB; suffixes K, M, G)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="debug: every connection; info (default): sessions and the server's "
        "start and stop; warning: failed handshakes, refused requests, limits",
    )
    for name, run, text in (
        ("inspect", _inspect, "what a running server serves, holds and to whom"),
        ("ping", _ping, "exit 0 if a server answers an authenticated request in time"),
    ):
        sub = commands.add_parser(name, help=text, allow_abbrev=False, description=text)
        sub.set_defaults(run=run)
        sub.add_argument("address", metavar="ADDRESS")
        _key(sub)
        sub.add_argument("--timeout", type=float, default=5.0, help="seconds (5)")
        sub.add_argument("--tls-ca", type=Path, help="talk TLS; trust this CA (PEM)")
        sub.add_argument("--tls-cert", type=Path, help="client certificate (PEM)")
        sub.add_argument("--tls-key", type=Path, help="its private key (PEM)")
        if name == "inspect":
            sub.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _address_and_key(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address",
        required=True,
        help="HOST:PORT, [IPv6]:PORT or unix:PATH (port 0: any free port)",
    )
    _key(parser)


def _key(parser: argparse.ArgumentParser) -> None:
    key = parser.add_mutually_exclusive_group(required=True)
    key.add_argument("--authkey-env", metavar="VAR", help="read the authkey from $VAR")
    key.add_argument("--authkey-file", type=Path, help="read the authkey from a file")
    parser.add_argument(
        "--authkey", nargs="?", action=_RefuseAuthkey, help=argparse.SUPPRESS
    )


class _RefuseAuthkey(argparse.Action):
    """``--authkey KEY`` is an error that says why: a key on the command line is in the
    process list (``ps``, ``/proc/PID/cmdline``) for every local user to read."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        parser.error(
            "--authkey is not accepted: a key on the command line is readable by every "
            "local user; use --authkey-env VAR or --authkey-file PATH"
        )


def _size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    scale = units.get(text[-1:].upper(), 1)
    digits = text[:-1] if scale != 1 else text
    if not digits.isdigit() or int(digits) <= 0:
        raise argparse.ArgumentTypeError(f"not a size in bytes: {text!r}")
    return int(digits) * scale


def parse_address(text: str) -> str | tuple[str, int]:
    """``HOST:PORT``, ``[IPv6]:PORT`` -> (host, port); ``unix:PATH`` -> the path.

    Anything else raises :class:`UsageError` (a bare word is never taken for a path).
    """
    if text.startswith("unix:"):
        path = text[len("unix:") :]
        if not path:
            raise UsageError("--address unix: needs a path, as in unix:/run/shop.sock")
        return path
    host, sep, port = text.rpartition(":")
    if host.startswith("["):
        if not host.endswith("]"):
            raise UsageError(f"--address {text!r}: an IPv6 host is written [::1]:PORT")
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UsageError(
                f"--address {text!r}: {host!r} is not an IPv6 address"
            ) from None
    elif ":" in host:
        raise UsageError(
            f"--address {text!r}: write an IPv6 host in brackets, [{host}]"
        )
    if not sep or not port.isdigit() or int(port) > 65535:
        raise UsageError(
            f"--address {text!r}: expected HOST:PORT, [IPv6]:PORT or unix:PATH"
        )
    if not host:
        raise UsageError(
            f"--address {text!r} names no host: 127.0.0.1:{port} serves this machine, "
            f"0.0.0.0:{port} every network interface"
        )
    return host, int(port)


def is_loopback(address: str | tuple[str, int]) -> bool:
    """Whether only this machine can reach ``address`` (unix sockets are local)."""
    if not isinstance(address, tuple):
        return True
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read_key(options: argparse.Namespace) -> bytes:
    if options.authkey_env:
        value = os.environ.get(options.authkey_env)
        if value is None:
            raise UsageError(
                f"--authkey-env {options.authkey_env}: the environment variable "
                f"{options.authkey_env} is not set"
            )
        return value.encode()
    path: Path = options.authkey_file
    try:
        return path.read_bytes().strip()
    except OSError as e:
        raise UsageError(f"--authkey-file {path}: {e.strerror or e}") from None


def _load(target: str) -> type[TypedManager]:
    module_name, colon, qualname = target.partition(":")
    if not colon or not module_name or not qualname:
        raise UsageError(
            f"{target!r}: expected module:ManagerClass, as in shop.server:ShopManager"
        )
    sys.path.insert(0, os.getcwd())
    try:
        obj: object = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise UsageError(
            f"cannot import {module_name!r} ({e}); is it in the current directory or "
            "on PYTHONPATH?"
        ) from None
    except Exception as e:
        _log.debug("importing %s failed", module_name, exc_info=True)
        raise UsageError(
            f"importing {module_name!r} failed: {type(e).__name__}: {e} "
            "(--log-level debug shows the traceback)"
        ) from None
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"{module_name!r} has no {qualname!r}") from None
    if not (isinstance(obj, type) and issubclass(obj, TypedManager)):
        raise UsageError(f"{target} is not a TypedManager subclass")
    return obj


def _resolve_type(name: str) -> type:
    module_name, _, qualname = name.partition(":")
    try:
        obj: object = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as e:
        raise UsageError(f"--allow {name}: {e}") from None
    if not isinstance(obj, type):
        raise UsageError(f"--allow {name}: not a class")
    return obj


class _Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGINT: the server stops."""


def _serve(options: argparse.Namespace) -> int:
    logging.basicConfig(
        level=options.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    address = parse_address(options.address)
    if options.tls_cert and not isinstance(address, tuple):
        raise UsageError("TLS needs a TCP address (HOST:PORT)")
    authkey = _read_key(options)
    if not authkey:
        raise UsageError("the authkey is empty")
    if (
        not is_loopback(address)
        and len(authkey) < MIN_NETWORK_KEY
        and not options.allow_insecure_network
    ):
        raise UsageError(
            f"a {len(authkey)}-byte authkey is too weak for the network address "
            f"{options.address}: use {MIN_NETWORK_KEY} bytes or more (python -c "
            "'import secrets; print(secrets.token_hex(16))'), or pass "
            "--allow-insecure-network"
        )
    manager_class = _load(options.target)
    context = None
    if options.tls_cert:
        try:
            context = server_context(
                options.tls_cert, options.tls_key, options.tls_client_ca
            )
        except (OSError, ssl.SSLError) as e:
            raise UsageError(f"TLS: {e}") from None
    settings: dict[str, Any] = {}
    if options.legacy_md5:
        settings["legacy_md5"] = True
    if options.validate:
        settings["validate"] = True
    if options.unpickling:
        settings["unpickling"] = options.unpickling
    if options.allow:
        base_allow = manager_class._server_class().allow
        settings["allow"] = (*base_allow, *map(_resolve_type, options.allow))
    if options.max_message_size:
        settings["max_message_size"] = options.max_message_size
    manager = manager_class(
        address=address,
        authkey=authkey,
        allow_insecure_network=True,  # checked above, with the CLI's own rule
        server_ssl_context=context,
    )
    server_class = manager._server_class()
    if settings:
        server_class = type(server_class.__name__, (server_class,), settings)
    try:
        server = server_class(
            manager._server_registry(),
            address,
            authkey,
            "pickle",
            ssl_context=context,
        )
    except OSError as e:
        where = options.address
        hint = ""
        if e.errno == errno.EADDRINUSE and not isinstance(address, tuple):
            hint = " (a socket file is there: remove it if no server uses it)"
        elif e.errno == errno.EADDRINUSE:
            hint = " (another server uses this port)"
        raise UsageError(f"cannot listen on {where}: {e.strerror or e}{hint}") from None
    except ValueError as e:
        raise UsageError(str(e)) from None
    _log.info(
        "serving %s at %r (typedmgr %s, pid %d)",
        options.target,
        server.address,
        __version__,
        os.getpid(),
    )
    print(f"typedmgr: serving {options.target} at {server.address!r}", flush=True)
    stopped_by: list[str] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped_by.append(signal.Signals(signum).name)
        raise _Stop

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    try:
        server.serve_forever()
    except (SystemExit, _Stop):
        pass
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
    with server.mutex:
        objects = len(server.id_to_refcount)
        sessions = len(server.sessions.held())
    _log.info(
        "stopped by %s (objects alive: %d, client sessions: %d)",
        stopped_by[0] if stopped_by else "a shutdown request",
        objects,
        sessions,
    )
    server.listener.close()  # a unix socket's file too
    return 0


def server_context(
    cert: Path, key: Path | None, client_ca: Path | None
) -> ssl.SSLContext:
    """A server's TLS context: its certificate, and the CA its clients need, if any."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def _client_context(options: argparse.Namespace) -> ssl.SSLContext | None:
    if not (options.tls_ca or options.tls_cert):
        return None
    try:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=options.tls_ca
        )
        if options.tls_cert:
            context.load_cert_chain(options.tls_cert, options.tls_key)
    except (OSError, ssl.SSLError) as e:
        raise UsageError(f"TLS: {e}") from None
    return context


def _ask(options: argparse.Namespace) -> tuple[dict[str, Any] | None, str]:
    """The server's report, or None and why not."""
    from multiprocessing import AuthenticationError

    from typedmgr import ServerConnectionError, introspect

    address = parse_address(options.address)
    authkey = _read_key(options)
    try:
        return introspect.request(
            address,
            authkey,
            ssl_context=_client_context(options),
            timeout=options.timeout,
        ), ""
    except (OSError, EOFError, AuthenticationError, ServerConnectionError) as e:
        return None, str(e) or repr(e)
    except Exception as e:  # a garbled or refused reply: not an answer either
        return None, f"{type(e).__name__}: {e}"


def _inspect(options: argparse.Namespace) -> int:
    from typedmgr import introspect

    report, why = _ask(options)
    if report is None:
        print(f"typedmgr inspect: {why}", file=sys.stderr)
        return 1
    if options.json:
        print(json.dumps(report, indent=2))
    else:
        print(introspect.format_report(report))
    return 0


def _ping(options: argparse.Namespace) -> int:
    start = time.monotonic()
    report, why = _ask(options)
    if report is None:
        print(f"typedmgr ping: {options.address}: {why}", file=sys.stderr)
        return 1
    server = report["server"]
    print(
        f"{options.address}: answered in {(time.monotonic() - start) * 1000:.1f} ms "
        f"(typedmgr {server['typedmgr']}, Python {server['python']}, "
        f"sessions: {len(report['sessions'])}, objects: {report['objects']})"
    )
    return 0
