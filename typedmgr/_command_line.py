"""What the ``typedmgr`` commands read from their command line: addresses and authkeys, and
the one-line usage errors they raise (exit status 2)."""

from __future__ import annotations

import argparse
import ipaddress
import os
from pathlib import Path

__all__ = ["MIN_NETWORK_KEY", "UsageError", "is_loopback", "parse_address", "read_key"]

#: Authkeys shorter than this are refused on a network address.
MIN_NETWORK_KEY = 16


class UsageError(Exception):
    """A mistake in the command line or its environment: one line, exit status 2."""


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


def read_key(options: argparse.Namespace) -> bytes:
    """The authkey ``--authkey-env`` or ``--authkey-file`` names (never the command line)."""
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
