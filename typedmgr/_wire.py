"""The wire's vocabulary: the message kinds and names both ends agree on.

Both the client side (``channel``, ``proxy``) and the server (``_server``) import these
from here, so that neither has to import the other to speak to it.
"""

from __future__ import annotations

import struct

__all__ = [
    "BATCH",
    "GETATTR",
    "ITSELF",
    "MUX",
    "MUX_ID",
    "MUX_VERSION",
    "ONEWAY",
    "PROXIED",
    "RELEASE",
    "SERVER_RPCS",
    "TRACEBACK_ATTR",
]

#: One-way request ``(None, RELEASE, (ident, ...), {})``: decref each ident, send no reply.
RELEASE = "#typedmgr-release"
#: One-way call ``(ident, ONEWAY, (methodname, args), kwds)``: no reply; failures are logged.
ONEWAY = "#typedmgr-oneway"
#: Attribute read ``(ident, GETATTR, (name,), {})`` of an exposed property or attribute.
GETATTR = "#typedmgr-getattr"
#: The reply to a typedmgr request for a remote object (a creation, or a method returning
#: one): ``(PROXIED, (typeid, exposed, ident))``. The stdlib's ``#PROXY`` pickles a Token,
#: which costs both ends a Python-level reduce; and with the ident last, the replies of
#: one typeid share their prefix, which the memo check then walks once (``unpickling``).
PROXIED = "#typedmgr-proxy"
#: The reply to a typedmgr call of a ``-> Self`` method that returned its referent itself:
#: ``(ITSELF, None)``; the caller's proxy is the result (no new reference).
ITSELF = "#typedmgr-itself"
#: Many requests in one ``(None, BATCH, (request, ...), {})``, run in order; the reply is
#: ``("#RETURN", [reply, ...])``, one reply for each request that has one.
BATCH = "#typedmgr-batch"

#: Server-level requests a typedmgr server answers on a client's long-lived connection.
SERVER_RPCS = frozenset({"create", "incref", "decref", "fingerprint"})

#: Name of the attribute the server sets on a raised exception so its traceback travels
#: along (the stdlib drops it).
TRACEBACK_ATTR = "_typedmgr_remote_traceback_"

#: The request ``(None, MUX, (MUX_VERSION,), {}, ())`` turns a long-lived connection of a
#: typedmgr client into a multiplexed one (``typedmgr._server.mux``): from its reply on,
#: each message's body, both ways, is an 8-byte request id (``MUX_ID``) and a pickle.
MUX = "#typedmgr-mux"
#: The version of the multiplexed messages both ends speak.
MUX_VERSION = 1
#: The id that prefixes each multiplexed message (id 0: a request without a reply).
MUX_ID = struct.Struct("!Q")
