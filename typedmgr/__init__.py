"""typedmgr: typed remote objects on multiprocessing managers, from typing.Protocol classes.

Protocol -> ``model.interface_of`` -> (``TypedManager.register`` | ``typedmgr gen``): one model
of a Protocol feeds both the runtime registration and the build-time generator.
"""

import logging

from typedmgr._aio.connection import AsyncConnection
from typedmgr._aio.manager import AsyncTypedManager
from typedmgr._aio.pipeline import AsyncPipeline, AsyncReply
from typedmgr._aio.proxy import (
    AsyncTypedIterator,
    AsyncTypedProxy,
    async_proxy_class_for,
)
from typedmgr._runtime_api import RUNTIME_API, require_runtime_api
from typedmgr._version import __version__
from typedmgr.auth import ServerBusyError
from typedmgr.channel import ServerConnectionError
from typedmgr.deadlines import ConnectTimeout, DeadlineExceeded, deadline
from typedmgr.errors import ObjectGone, RefusedArgument, UnpicklableResult
from typedmgr.manager import TypedManager
from typedmgr.model import Interface, InterfaceError, interface_of, oneway
from typedmgr.pipeline import Pipeline, Reply
from typedmgr.proxy import (
    ClientException,
    RemoteTraceback,
    StaleProxyError,
    TypedProxy,
    proxy_class_for,
)
from typedmgr.unpickling import RefusedType

# A library is quiet unless its application configures logging (``typedmgr serve`` does).
logging.getLogger("typedmgr").addHandler(logging.NullHandler())

__all__ = [
    "RUNTIME_API",
    "AsyncConnection",
    "AsyncPipeline",
    "AsyncReply",
    "AsyncTypedIterator",
    "AsyncTypedManager",
    "AsyncTypedProxy",
    "ClientException",
    "ConnectTimeout",
    "DeadlineExceeded",
    "Interface",
    "InterfaceError",
    "ObjectGone",
    "Pipeline",
    "RefusedArgument",
    "RefusedType",
    "RemoteTraceback",
    "Reply",
    "ServerBusyError",
    "ServerConnectionError",
    "StaleProxyError",
    "TypedManager",
    "TypedProxy",
    "UnpicklableResult",
    "__version__",
    "async_proxy_class_for",
    "deadline",
    "interface_of",
    "oneway",
    "proxy_class_for",
    "require_runtime_api",
]
