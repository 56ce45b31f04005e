"""Proxies rebuilt inert: what a restricted load makes of the proxies a message carries.

Loading never opens a connection or answers a challenge: a proxy is rebuilt holding no
reference, and a client takes the references of the proxies a reply carried once the whole
reply is read (``adopt_rebuilt``).
"""

from __future__ import annotations

import threading
import typing
from collections.abc import Callable
from dataclasses import dataclass

from typedmgr import _stdlib
from typedmgr._model import is_protocol
from typedmgr._restricted import RefusedType

__all__ = [
    "GENERATOR_RECIPE",
    "ITERATOR_RECIPE",
    "ProxyClasses",
    "ProxyRecipe",
    "adopt_rebuilt",
    "provide_proxy_classes",
    "rebuild_inert",
    "rebuilt",
]


class ProxyRecipe:
    """What a restricted load makes of ``ProxyFactory(P)`` (or of ``TypedIterator`` and
    ``TypedGenerator``): the proxy class to rebuild a proxy with, which cannot itself be
    called to build one."""

    __slots__ = ("generator", "protocol")

    def __init__(self, protocol: object = None, *, generator: bool = False) -> None:
        self.protocol = protocol
        self.generator = generator

    def proxy_class(self) -> type:
        """The class whose proxies this recipe stands for."""
        classes = _proxy_classes
        assert classes is not None, (
            "typedmgr._proxy provides the proxy classes on import"
        )
        if self.protocol is None:
            return classes.generator if self.generator else classes.iterator
        if not (isinstance(self.protocol, type) and is_protocol(self.protocol)):
            raise RefusedType(f"refused a proxy of {self.protocol!r}: not a Protocol")
        return classes.of_protocol(self.protocol)


@dataclass(frozen=True)
class ProxyClasses:
    """The classes recipes stand for. ``typedmgr._proxy`` defines them and provides them
    here when it is imported: it imports the loaders, which must not import it back."""

    iterator: type
    generator: type
    of_protocol: Callable[[type], type]


_proxy_classes: ProxyClasses | None = None


def provide_proxy_classes(classes: ProxyClasses) -> None:
    """Called once, by ``typedmgr._proxy``."""
    global _proxy_classes
    _proxy_classes = classes


ITERATOR_RECIPE = ProxyRecipe()
GENERATOR_RECIPE = ProxyRecipe(generator=True)


def rebuild_inert(
    func: object, token: object, serializer: object, kwds: object
) -> object:
    """``RebuildProxy`` for a restricted load: a proxy that holds no reference yet and has
    connected nowhere. It talks to its server only when used, with the key a
    ``TypedManager`` of this process has for that address (never the process's own key).

    A client's reply loader notes the proxies it rebuilds: :func:`adopt_rebuilt` takes
    their references, on the connection the reply came by, once the reply is read.
    """
    from multiprocessing import managers

    if not isinstance(token, managers.Token):
        raise RefusedType(f"refused to rebuild a proxy from {type(token).__name__}")
    if isinstance(func, ProxyRecipe):
        cls = func.proxy_class()
    else:
        raise RefusedType(f"refused to rebuild a proxy with {func!r}")
    exposed = kwds.get("exposed") if isinstance(kwds, dict) else None
    proxy = cls(token, "pickle", exposed=exposed, incref=False)
    if getattr(rebuilt, "loading_reply", False):
        rebuilt.proxies.append(proxy)
    return proxy


# Proxies a reply loaded on this thread, whose references are to be taken (adopt_rebuilt).
rebuilt = threading.local()


def adopt_rebuilt(address: object, authkey: bytes) -> None:
    """Take a reference for each proxy of ``address`` the replies just loaded carried (the
    server keeps the object alive for them meanwhile); proxies of other servers stay inert.

    Called once the replies are read: the references are taken on this thread's
    connection to ``address``, which is idle then.
    """
    pending: list[typing.Any] | None = getattr(rebuilt, "proxies", None)
    if not pending:
        return
    rebuilt.proxies = []
    from multiprocessing import util

    for proxy in pending:
        if proxy._token.address != address:
            continue
        try:
            if getattr(proxy, "_authkey", None) is None:
                proxy._authkey = _stdlib.authentication_string(authkey)
            proxy._incref()
        except Exception as e:  # the object is gone: the proxy stays inert
            util.info(
                "a returned proxy of %r could not take a reference: %r", address, e
            )
