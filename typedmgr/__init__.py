"""typedmgr: typed remote objects on multiprocessing managers, from typing.Protocol classes.

Protocol -> ``interface_of`` -> (``TypedManager.register`` | ``typedmgr gen``): one model
of a Protocol feeds both the runtime registration and the build-time generator.

The modules are private; this is the public face. The exceptions a server may send, and the
recipes a pickled proxy carries (``ProxyFactory``, ``TypedIterator``, ``TypedGenerator``: not
for users), are named ``typedmgr.X`` on the wire, whichever module defines them.
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
from typedmgr._auth import ServerBusyError
from typedmgr._channel import ServerConnectionError
from typedmgr._client_errors import ClientException, RemoteTraceback, StaleProxyError
from typedmgr._deadlines import ConnectTimeout, DeadlineExceeded, deadline
from typedmgr._errors import ObjectGone, RefusedArgument, UnpicklableResult
from typedmgr._manager import TypedManager
from typedmgr._model import Interface, InterfaceError, interface_of, oneway
from typedmgr._pipeline import Pipeline, Reply
from typedmgr._proxy import (  # noqa: F401 - ProxyFactory, TypedGenerator, TypedIterator
    ProxyFactory,
    TypedGenerator,
    TypedIterator,
    TypedProxy,
    proxy_class_for,
)
from typedmgr._restricted import RefusedType
from typedmgr._runtime_api import RUNTIME_API, require_runtime_api
from typedmgr._version import __version__

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
