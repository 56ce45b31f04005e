"""``Interface``: a Protocol as typedmgr serves and proxies it, with what each side derives.

Built by ``extract.interface_of``; its properties answer what the proxies, the server and
the generator ask of a whole Protocol (exposed names, reference typeids, bases, lines and
fingerprint), each from the methods, so no reader recomputes them its own way.
"""

from __future__ import annotations

from dataclasses import dataclass

from typedmgr import _stdlib
from typedmgr._forms import protocol_of
from typedmgr._model.describe import fingerprint, method_signature_lines
from typedmgr._model.refs import ref_of
from typedmgr._model.types import Method, ReturnKind, iterator_typeid

__all__ = ["Interface"]

# Protocols whose members are never exposed: proxies of them would be empty.
_STDLIB_PROTOCOL_MODULES = frozenset(
    {"typing", "typing_extensions", "collections.abc", "_collections_abc", "builtins"}
)


@dataclass(frozen=True)
class Interface:
    """A Protocol as typedmgr serves and proxies it."""

    protocol: type
    methods: tuple[Method, ...]
    doc: str | None

    @property
    def name(self) -> str:
        return self.protocol.__name__

    @property
    def module(self) -> str:
        return self.protocol.__module__

    @property
    def ref(self) -> str:
        return ref_of(self.protocol)

    @property
    def type_params(self) -> tuple[object, ...]:
        """The Protocol's type variables (``class Box(Protocol[T])``, PEP 695 alike)."""
        params: tuple[object, ...] = getattr(self.protocol, "__parameters__", ())
        return params

    @property
    def bases(self) -> tuple[object, ...]:
        """The Protocols this one extends, as written (``Source[int]``), in order.

        Protocols of the standard library (``typing.SupportsInt``...) are left out: their
        members are not exposed, so their proxies would be empty.
        """
        written: tuple[object, ...] = vars(self.protocol).get(
            "__orig_bases__", self.protocol.__bases__
        )
        return tuple(
            base
            for base in written
            if (origin := protocol_of(base)) is not None
            and origin.__module__ not in _STDLIB_PROTOCOL_MODULES
        )

    def declares(self, name: str) -> bool:
        """Whether the Protocol itself declares member ``name`` (not only a base)."""
        return name in vars(self.protocol) or name in _stdlib.class_annotation_names(
            self.protocol
        )

    @property
    def exposed(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.methods)

    @property
    def method_to_typeid(self) -> dict[str, str]:
        """Methods returning remote objects, each mapped to its Protocol's reference typeid
        (which may return ``None``, or the referent itself: ``_registration.returns_of``)."""
        typeids = {
            m.name: ref_of(m.remote) for m in self.methods if m.remote is not None
        }
        typeids.update(
            (m.name, iterator_typeid(m))
            for m in self.methods
            if m.return_kind is ReturnKind.ITERATOR
        )
        return typeids

    def method(self, name: str) -> Method:
        for m in self.methods:
            if m.name == name:
                return m
        raise KeyError(name)

    @property
    def signature_lines(self) -> tuple[str, ...]:
        """One readable line per signature: what a client and a server must agree on."""
        return tuple(line for m in self.methods for line in method_signature_lines(m))

    @property
    def fingerprint(self) -> str:
        """A short digest of ``signature_lines``, carried by generated proxies."""
        return fingerprint(self.ref, self.signature_lines)
