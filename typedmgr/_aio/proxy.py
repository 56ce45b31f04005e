"""Async proxies: ``AsyncTypedProxy``, the base of every async twin, and twins built at run
time from the model (:func:`async_proxy_class_for`).

Each method of the Protocol is an ``async def`` with the same parameters; a method returning
another Protocol gives its async twin, an iterator an ``AsyncTypedIterator`` (``async
for``), a context-manager Protocol ``async with``. Properties and attributes are read with
``await proxy.name()``. Special methods Python calls without awaiting have names of their
own (:data:`SPECIAL_NAMES`). Generated twins (``typedmgr gen``) and built ones behave alike.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar, cast

from typedmgr import _leases, _replies
from typedmgr._client_errors import StaleProxyError, remote_error, sendable_exception
from typedmgr._model import (
    GENERATOR_TYPEID,
    ITERATOR_TYPEID,
    Interface,
    Method,
    ParamKind,
    ReturnKind,
    inspect_signature,
    interface_of,
    protocol_for_ref,
    protocol_of,
)
from typedmgr._runtime_classes import class_attributes
from typedmgr._wire import GETATTR, ITSELF, ONEWAY, PROXIED

if TYPE_CHECKING:
    from typedmgr._aio.connection import AsyncConnection
    from typedmgr._aio.pipeline import AsyncPipeline

__all__ = [
    "SPECIAL_NAMES",
    "AsyncTypedIterator",
    "AsyncTypedProxy",
    "async_proxy_class_for",
    "capturing",
    "check_fingerprint",
    "holder",
]

_T = TypeVar("_T")
_NO_KWDS: dict[str, Any] = {}

#: Special methods that Python calls without awaiting their result (``len(p)``, ``k in p``,
#: ``bool(p)``, ``p[k] = v``, ``del p[k]``): an async proxy has them under these names, to
#: be awaited (``await p.length()``); ``__enter__``/``__exit__`` become ``__aenter__`` and
#: ``__aexit__`` (``async with p``; a plain ``with`` would not await them). ``await p[k]``
#: works as it is; ``__iter__`` gives ``async for x in p``.
SPECIAL_NAMES = {
    "__enter__": "__aenter__",
    "__exit__": "__aexit__",
    "__len__": "length",
    "__contains__": "contains",
    "__bool__": "truth",
    "__setitem__": "setitem",
    "__delitem__": "delitem",
}

#: The pipeline whose ``call`` is queuing this task's proxy calls, if any.
capturing: contextvars.ContextVar[AsyncPipeline | None] = contextvars.ContextVar(
    "typedmgr_async_pipeline", default=None
)


class AsyncTypedProxy:
    """Base of every async proxy: one per Protocol, ``async def`` methods typed from it."""

    _protocol_: ClassVar[type]
    _exposed_: ClassVar[tuple[str, ...]]
    _method_to_typeid_: ClassVar[dict[str, str]]
    _generated_: ClassVar[bool] = True
    _fingerprint_: ClassVar[str]

    __slots__ = ("__weakref__", "_connection", "_held_by", "_id", "_typeid")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_protocol_" in cls.__dict__:
            _replies.expect_replies([cls._protocol_])
            if cls._generated_:
                _GENERATED[cls._protocol_] = cls

    def __init__(self, connection: AsyncConnection, typeid: str, ident: str) -> None:
        """A proxy that holds the reference the server made for it (released when it is
        collected, with the next request to that server)."""
        self._connection = connection
        self._typeid = typeid
        self._id = ident
        self._held_by = _leases.session()

    def __del__(self) -> None:
        try:
            if self._held_by == _leases.session():
                # Lock-free: a finalizer may run inside any locked block of this thread.
                _leases.release_later(self._connection.address, self._id)
        except Exception:  # interpreter shutdown: the session's end releases it
            pass

    async def _call(self, methodname: str, /, *args: object, **kwds: object) -> object:
        """Call ``methodname`` on the referent; the value, a new async proxy, or raises.

        Inside ``AsyncPipeline.call`` the request is queued (nothing is awaited).
        """
        request = (self._id, methodname, args, kwds, ())
        pipeline = capturing.get()
        if pipeline is not None:
            return pipeline._enqueue(self, request, True)
        kind, result = await self._connection.request(request)
        if kind == "#RETURN":  # the common case, without a coroutine more
            return result
        return await self._reply(kind, result)

    async def _call_self(
        self, methodname: str, /, *args: object, **kwds: object
    ) -> Self:
        """``__enter__ -> Self``: the server replies ``None``, this proxy is the result."""
        await self._call(methodname, *args, **kwds)
        return self

    async def _call_exit(
        self, methodname: str, /, *args: object, **kwds: object
    ) -> object:
        if len(args) >= 3:
            args = (*sendable_exception(args[0], args[1]), *args[3:])
        return await self._call(methodname, *args, **kwds)

    async def _get(self, name: str) -> object:
        """Read the attribute or property ``name`` of the referent."""
        return await self._call(GETATTR, name)

    async def _send(self, methodname: str, /, *args: object, **kwds: object) -> None:
        """A ``@oneway`` method: sent, not waited for."""
        request = (self._id, ONEWAY, (methodname, args), kwds, ())
        pipeline = capturing.get()
        if pipeline is not None:
            pipeline._enqueue(self, request, False)
            return
        self._connection.send_oneway(request)

    async def _reply(self, kind: str, result: object) -> object:
        if kind == "#RETURN":
            return result
        if kind == ITSELF:  # ``-> Self`` returned its own object: this proxy
            return self
        if kind == PROXIED:
            typeid, _, ident = cast("tuple[str, object, str]", result)
            proxy = holder(self._connection, typeid, ident)
            await check_fingerprint(self._connection, type(proxy), typeid)
            return proxy
        try:
            raise remote_error(kind, result)
        finally:
            del result

    def _aiter(self) -> AsyncIterator[Any]:
        """``async for x in proxy`` of a Protocol declaring ``__iter__``."""
        return _LazyIterator(self)

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError(
            f"{type(self).__name__} cannot be pickled: pass the sync proxy of the same "
            "object (create it with a TypedManager) to other processes"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._typeid!r} at {self._id!r}>"


class AsyncTypedIterator(AsyncTypedProxy, AsyncIterator[_T]):
    """A proxy of an iterator a method returned: ``async for``; each step is one call."""

    _exposed_ = ("__next__",)
    _method_to_typeid_: ClassVar[dict[str, str]] = {}
    __slots__ = ()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> _T:
        kind, result = await self._connection.request(
            (self._id, "__next__", (), _NO_KWDS, ())
        )
        if kind == "#ERROR" and isinstance(result, StopIteration):
            # Raised in a coroutine, StopIteration would become a RuntimeError.
            raise StopAsyncIteration
        return cast("_T", await self._reply(kind, result))


def holder(connection: AsyncConnection, typeid: str, ident: str) -> AsyncTypedProxy:
    """The async proxy that holds the reference from now on (built without awaiting)."""
    if typeid in (ITERATOR_TYPEID, GENERATOR_TYPEID):  # a generator steps as one
        return AsyncTypedIterator(connection, typeid, ident)
    protocol = protocol_for_ref(typeid)
    if protocol is None:
        # The reference must not leak: release it with the next request.
        _leases.release_later(connection.address, ident)
        raise TypeError(
            f"no Protocol is known for the remote object type {typeid!r}: import the "
            "module that declares it"
        )
    return async_proxy_class_for(protocol)(connection, typeid, ident)


# (server address, typeid, fingerprint) found to agree, in this process.
_agreed: set[tuple[object, str, str]] = set()


async def check_fingerprint(
    connection: AsyncConnection, cls: type[AsyncTypedProxy], typeid: str
) -> None:
    """Fail, naming the signatures that differ, if the server's Protocol is not ``cls``'s."""
    fingerprint = getattr(cls, "_fingerprint_", None)
    if not isinstance(fingerprint, str):
        return
    key = (connection.address, typeid, fingerprint)
    if key in _agreed:
        return
    kind, lines = await connection.server_call("fingerprint", typeid, fingerprint)
    if kind != "#RETURN":
        raise remote_error(kind, lines)
    if lines is not None:
        ours = interface_of(cls._protocol_).signature_lines
        differences = [f"  server: {line}" for line in lines if line not in ours]
        differences += [f"  client: {line}" for line in ours if line not in lines]
        raise StaleProxyError(
            f"{cls.__name__} was generated from another version of "
            f"{cls._protocol_.__qualname__} than the server at {connection.address!r} "
            "serves (regenerate with `typedmgr gen`, or update the server):\n"
            + "\n".join(differences or ["  (the same signatures, in another order)"])
        )
    _agreed.add(key)


_GENERATED: dict[type, type[AsyncTypedProxy]] = {}
_RUNTIME: dict[type, type[AsyncTypedProxy]] = {}
_RUNTIME_LOCK = threading.RLock()  # a twin is built after those of its bases


def async_proxy_class_for(protocol: type) -> type[AsyncTypedProxy]:
    """The generated async twin of ``protocol`` if imported, else one built from its
    model."""
    generated = _GENERATED.get(protocol)
    if generated is not None:
        return generated
    with _RUNTIME_LOCK:
        built = _RUNTIME.get(protocol)
        if built is None:
            built = _RUNTIME[protocol] = _build_async_class(interface_of(protocol))
        return built


def _build_async_class(interface: Interface) -> type[AsyncTypedProxy]:
    """The twin built from the model: it extends the twins of the Protocol's bases."""
    bases = tuple(
        dict.fromkeys(
            async_proxy_class_for(origin)
            for extended in interface.bases
            if (origin := protocol_of(extended)) is not None
        )
    )
    namespace = class_attributes(interface)
    namespace["__slots__"] = ()
    names = {method.name for method in interface.methods}
    for method in interface.methods:
        if method.name == "__iter__":
            namespace["__aiter__"] = AsyncTypedProxy._aiter
            continue
        renamed = SPECIAL_NAMES.get(method.name)
        if renamed is None:
            namespace[method.name] = _async_method(method)
        elif renamed not in names:  # a Protocol's own ``length()`` wins
            namespace[renamed] = _async_method(method)
    name = f"Async{interface.name}Proxy"
    return cast(
        "type[AsyncTypedProxy]", type(name, bases or (AsyncTypedProxy,), namespace)
    )


def _async_method(method: Method) -> Callable[..., object]:
    """An ``async def`` proxy method that binds arguments like the sync one."""
    signature = inspect_signature(method.params, returns=method.returns)
    name = method.name
    if method.is_property:

        async def get(self: AsyncTypedProxy) -> object:
            return await self._get(name)

        get.__name__ = get.__qualname__ = name
        get.__doc__ = method.doc
        return get
    overloaded = bool(method.overloads)
    oneway = method.oneway
    itself = method.return_kind is ReturnKind.SELF
    exits = method.is_exit
    plain = not (oneway or itself or exits) and all(
        p.kind in (ParamKind.POSITIONAL_ONLY, ParamKind.POSITIONAL_OR_KEYWORD)
        for p in method.params
    )
    # Positional arguments of a method without keyword-only or variadic parameters are
    # sent as ``bind()`` would send them, their defaults appended, without binding.
    defaults = tuple(p.default for p in method.params if p.has_default)
    least = len(method.params) - len(defaults)
    most = len(method.params)

    async def call(self: AsyncTypedProxy, /, *args: object, **kwds: object) -> object:
        if overloaded:
            return await self._call(name, *args, **kwds)
        if plain and not kwds and least <= len(args) <= most:
            if len(args) < most:
                args = (*args, *defaults[len(defaults) - (most - len(args)) :])
            return await self._call(name, *args)
        bound = signature.bind(*args, **kwds)
        bound.apply_defaults()
        if oneway:
            await self._send(name, *bound.args, **bound.kwargs)
            return None
        if itself:
            return await self._call_self(name, *bound.args, **bound.kwargs)
        if exits:
            return await self._call_exit(name, *bound.args, **bound.kwargs)
        return await self._call(name, *bound.args, **bound.kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = method.doc
    call.__signature__ = inspect_signature(  # type: ignore[attr-defined]
        method.params, returns=method.returns, with_self=True
    )
    return call


class _LazyIterator:
    """``async for x in proxy`` of a Protocol with ``__iter__``: the remote ``__iter__``
    is called on the first step (``__aiter__`` itself cannot await)."""

    __slots__ = ("_iterator", "_proxy")

    def __init__(self, proxy: AsyncTypedProxy) -> None:
        self._proxy = proxy
        self._iterator: AsyncTypedIterator[object] | None = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> object:
        if self._iterator is None:
            self._iterator = cast(
                "AsyncTypedIterator[object]", await self._proxy._call("__iter__")
            )
        return await self._iterator.__anext__()
