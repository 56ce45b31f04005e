"""Looking inside a live server: what ``typedmgr inspect`` and ``typedmgr ping`` ask for.

A key holder's fresh connection sends the server-level request ``introspect`` (the same
authenticated path as the stdlib's ``debug_info``) and gets a report made of plain values:
the server's versions and settings, its typeids with their Protocols' signatures and
fingerprints, how many objects of each are alive, and the sessions connected (peer,
references held, idle time). Nothing in it comes from an object's contents.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from typedmgr._version import __version__

if TYPE_CHECKING:
    import ssl
    from multiprocessing.connection import Connection

    from typedmgr._server import TypedServer

__all__ = ["Link", "format_report", "peer_of", "report", "request"]

#: The server-level request, listed in ``TypedServer.public``.
REQUEST = "introspect"


@dataclass
class Link:
    """One connection a server serves: who is at the other end, since when, how busy."""

    peer: str
    since: float = field(default_factory=time.monotonic)
    #: When its last request arrived (``time.monotonic()``).
    last: float = field(default_factory=time.monotonic)
    session: str | None = None
    lease: bool = False
    name: str = ""


def peer_of(conn: Connection) -> str:
    """``host:port`` of a TCP peer; ``pid N`` of a unix-socket peer (SO_PEERCRED)."""
    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
    except OSError:
        return "?"
    try:
        if sock.family == socket.AF_UNIX:
            if hasattr(socket, "SO_PEERCRED"):
                creds = sock.getsockopt(
                    socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")
                )
                pid, uid, _ = struct.unpack("3i", creds)
                return f"unix pid {pid} uid {uid}"
            return "unix"
        host, port = sock.getpeername()[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    except OSError:
        return "?"
    finally:
        sock.close()


def report(server: TypedServer) -> dict[str, Any]:
    """What ``introspect`` answers: plain values only (a restricted client loads them)."""
    from typedmgr._model import interface_of

    now = time.monotonic()
    objects: dict[str, Any] = server.id_to_obj
    with server.mutex:
        alive = [
            (entry[0], entry[2], server.id_to_refcount.get(ident, 0))
            for ident, entry in objects.items()
            if len(entry) == 3  # not the stdlib's placeholder '0'
        ]
        held = server.sessions.held()
    links = list(server.links.values())
    counts: dict[str, int] = {}
    for obj, registration, _ in alive:
        # Objects of a registration without a method_to_typeid go by their class.
        mapped = server.registry[registration.typeid][2] is not None
        key = registration.typeid if mapped else f"({type(obj).__qualname__})"
        counts[key] = counts.get(key, 0) + 1
    typeids: list[dict[str, Any]] = []
    for typeid, entry in sorted(server.registry.items()):
        protocol = server.protocols.get(typeid)
        row: dict[str, Any] = {
            "typeid": typeid,
            "protocol": None,
            "fingerprint": None,
            "signatures": [],
            "objects": counts.pop(typeid, 0),
            "creatable": entry[0] is not None,
        }
        if protocol is not None:
            interface = interface_of(protocol)
            row["protocol"] = f"{protocol.__module__}:{protocol.__qualname__}"
            row["fingerprint"] = interface.fingerprint
            row["signatures"] = list(interface.signature_lines)
        typeids.append(row)
    for key, count in sorted(counts.items()):  # objects of no known typeid
        typeids.append({"typeid": key, "objects": count, "signatures": []})
    sessions: dict[str, dict[str, Any]] = {}
    for link in links:
        if link.session is None:
            continue
        row = sessions.setdefault(
            link.session,
            {"session": link.session, "peer": link.peer, "connections": 0, "idle": 1e9},
        )
        row["connections"] += 1
        row["idle"] = round(min(row["idle"], now - link.last), 3)
        if link.lease:
            row["peer"] = link.peer
    for session, refs in held.items():
        row = sessions.setdefault(
            session, {"session": session, "peer": "?", "connections": 0, "idle": None}
        )
        row["objects"] = len(refs)
        row["references"] = sum(refs.values())
    for row in sessions.values():
        row.setdefault("objects", 0)
        row.setdefault("references", 0)
    return {
        "server": {
            "address": repr(server.address),
            "typedmgr": __version__,
            "python": sys.version.split()[0],
            "implementation": sys.implementation.name,
            "pid": os.getpid(),
            "uptime": round(now - server.started, 3),
            "tls": server.ssl_context is not None,
            "unpickling": server.unpickling,
            "validate": server.validate,
            "legacy_md5": server.accepts_md5,
            "max_message_size": server.max_message_size,
        },
        "objects": len(alive),
        "connections": len(links),
        "multiplexed": server.mux_watch.report(),
        "typeids": typeids,
        "sessions": sorted(sessions.values(), key=lambda s: str(s["session"])),
    }


def request(
    address: Any,
    authkey: bytes,
    *,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = 5.0,
) -> dict[str, Any]:
    """Ask the server at ``address`` for its report, within ``timeout`` seconds.

    Raises ``typedmgr.DeadlineExceeded`` when it does not answer in time,
    ``ServerConnectionError`` when it cannot be reached, ``AuthenticationError`` when it
    refuses the key.
    """
    from typedmgr import _channel, _deadlines, _peers
    from typedmgr._channel import client
    from typedmgr._replies import load_reply

    _peers.remember(
        address, authkey=authkey, ssl_context=ssl_context, connect_timeout=timeout
    )
    start = time.monotonic()
    conn = client(address, authkey=authkey)
    with contextlib.closing(conn):
        conn.send((None, REQUEST, (), {}))
        if not _deadlines.readable(conn, start + timeout):
            raise _deadlines.DeadlineExceeded(address, "introspect", timeout)
        # Loaded restricted: plain values, whatever the server sends.
        reply: Any = load_reply(conn.recv_bytes())
    kind, result = reply
    if kind != "#RETURN" or not isinstance(result, dict):
        raise _channel.ServerConnectionError(
            f"the server at {address!r} does not answer introspection requests "
            f"(not a typedmgr server, or an older one): {str(result)[-200:]}"
        )
    return result


def format_report(data: dict[str, Any]) -> str:
    """The report as ``typedmgr inspect`` prints it."""
    server = data["server"]
    lines = [
        f"server    {server['address']}: typedmgr {server['typedmgr']}, "
        f"{server['implementation']} {server['python']}, pid {server['pid']}, "
        f"up {_duration(server['uptime'])}",
        f"          unpickling {server['unpickling']}, validate "
        f"{_onoff(server['validate'])}, legacy MD5 {_onoff(server['legacy_md5'])}, "
        f"TLS {_onoff(server['tls'])}",
        f"objects   {data['objects']} alive, {data['connections']} connections",
        "typeids",
    ]
    for row in data["typeids"]:
        about = [f"{row['objects']} alive"]
        if row.get("protocol"):
            about.insert(0, f"{row['protocol']}, fingerprint {row['fingerprint']}")
        if not row.get("creatable", True):
            about.append("returned by methods only")
        lines.append(f"  {row['typeid']}  ({'; '.join(about)})")
        lines += [f"      {line}" for line in row["signatures"]]
    multiplexed = data.get("multiplexed")
    if multiplexed:
        taken = ", ".join(f"{n} x{k}" for n, k in multiplexed["takeovers"].items())
        lines.append(
            f"asyncio   {multiplexed['connections']} multiplexed connections; methods "
            f"that blocked one past {multiplexed['takeover_ms']:g} ms: {taken or 'none'}"
        )
    lines.append("sessions" if data["sessions"] else "sessions  none")
    for s in data["sessions"]:
        idle = "?" if s["idle"] is None else _duration(s["idle"])
        lines.append(
            f"  {s['session']}  {s['peer']}: {s['objects']} objects "
            f"({s['references']} references), {s['connections']} connections, "
            f"idle {idle}"
        )
    return "\n".join(lines)


def _onoff(flag: object) -> str:
    return "on" if flag else "off"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
