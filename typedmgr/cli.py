"""The ``typedmgr`` command: ``gen`` (delegated to typedmgr-codegen) and ``serve``."""

from __future__ import annotations

import argparse
import importlib
import os
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

from typedmgr.manager import TypedManager

__all__ = ["main"]


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
    # No abbreviations: `--authkey` must not pass for `--authkey-env`/`--authkey-file`.
    parser = argparse.ArgumentParser(prog="typedmgr", allow_abbrev=False)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "gen", help="generate typed proxies and stubs (typedmgr-codegen)"
    )
    serve = commands.add_parser(
        "serve", help="serve a TypedManager until interrupted", allow_abbrev=False
    )
    serve.add_argument("target", metavar="module:ManagerClass")
    serve.add_argument(
        "--address",
        required=True,
        help="HOST:PORT for TCP, or a filesystem path for a unix socket",
    )
    key = serve.add_mutually_exclusive_group(required=True)
    key.add_argument("--authkey-env", metavar="VAR", help="read the authkey from $VAR")
    key.add_argument("--authkey-file", type=Path, help="read the authkey from a file")
    serve.add_argument(
        "--authkey", nargs="?", action=_RefuseAuthkey, help=argparse.SUPPRESS
    )
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
    options = parser.parse_args(args)
    if (options.tls_key or options.tls_client_ca) and not options.tls_cert:
        parser.error("--tls-key and --tls-client-ca need --tls-cert")
    manager_class = _load(options.target)
    authkey = (
        os.environ[options.authkey_env].encode()
        if options.authkey_env
        else options.authkey_file.read_bytes().strip()
    )
    manager = manager_class(
        address=parse_address(options.address),
        authkey=authkey,
        server_ssl_context=server_context(
            options.tls_cert, options.tls_key, options.tls_client_ca
        )
        if options.tls_cert
        else None,
    )
    server = manager.get_server()
    print(f"typedmgr: serving {options.target} at {server.address!r}", flush=True)
    server.serve_forever()
    return 0


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


def parse_address(text: str) -> str | tuple[str, int]:
    """``"127.0.0.1:50000"`` or ``"[::1]:50000"`` -> (host, port); anything else is a path."""
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and "/" not in text:
        return host.strip("[]"), int(port)
    return text


def _load(target: str) -> type[TypedManager]:
    sys.path.insert(0, os.getcwd())
    module_name, _, qualname = target.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, TypedManager)):
        raise SystemExit(f"typedmgr serve: {target} is not a TypedManager subclass")
    return obj
