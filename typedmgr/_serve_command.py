"""``typedmgr serve``: a TypedManager's server in the foreground until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import signal
import ssl
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from typedmgr import __version__
from typedmgr._command_line import (
    MIN_NETWORK_KEY,
    UsageError,
    is_loopback,
    parse_address,
    read_key,
)
from typedmgr._manager import TypedManager

__all__ = ["serve", "server_context"]

_log = logging.getLogger("typedmgr.server")


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


def serve(options: argparse.Namespace) -> int:
    """Run ``typedmgr serve`` with its parsed ``options``; 0 once stopped."""
    logging.basicConfig(
        level=options.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    address = parse_address(options.address)
    if options.tls_cert and not isinstance(address, tuple):
        raise UsageError("TLS needs a TCP address (HOST:PORT)")
    authkey = read_key(options)
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
