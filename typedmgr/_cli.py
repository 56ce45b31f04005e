"""The ``typedmgr`` command: ``gen`` (delegated to typedmgr-codegen), ``serve``, ``inspect``
and ``ping``.

Usage errors (a bad address, an unset key variable, a module that does not import, a busy
port...) print one line, ``typedmgr <command>: error: ...``, and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from typedmgr import __version__
from typedmgr._command_line import (
    MIN_NETWORK_KEY,
    UsageError,
    parse_address,
    read_key,
)
from typedmgr._serve_command import serve as _serve

__all__ = ["UsageError", "main", "parse_address"]


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``typedmgr`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["gen"]:
        try:
            from typedmgr_codegen._cli import main as gen
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

    from typedmgr import ServerConnectionError, _introspect

    address = parse_address(options.address)
    authkey = read_key(options)
    try:
        return _introspect.request(
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
    from typedmgr import _introspect

    report, why = _ask(options)
    if report is None:
        print(f"typedmgr inspect: {why}", file=sys.stderr)
        return 1
    if options.json:
        print(json.dumps(report, indent=2))
    else:
        print(_introspect.format_report(report))
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
