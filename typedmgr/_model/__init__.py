"""The one interface model: what a Protocol means to typedmgr.

``interface_of(P)`` turns a ``typing.Protocol`` class into an :class:`Interface`: its methods,
their full parameter lists with evaluated annotations, and how each result travels back
(a copied value, a remote object of another Protocol, or such an object or ``None``).
``register()`` at runtime and the generator at build time both read this model; no other
code decides what a Protocol means. The package, by seam:

- ``types``: the vocabulary (``Param``, ``Method``, kinds, ``InterfaceError``, ``@oneway``);
- ``params``: where annotations resolve, and a function's parameters as the model's;
- ``extract``: Protocol -> ``Interface``, or why it cannot be proxied;
- ``interface``: ``Interface`` and what it derives for proxies, server and generator;
- ``describe``: annotations and signatures as text, fingerprints;
- ``refs``: reference typeids and the Protocols they name;
- ``conformance``: whether an implementation serves its Protocol;
- ``walk``: every Protocol reachable from some, each after its bases.
"""

from __future__ import annotations

from typedmgr._forms import is_protocol, protocol_of
from typedmgr._model import types
from typedmgr._model.conformance import check_implementation, is_subtype, type_problem
from typedmgr._model.describe import (
    annotation_text,
    fingerprint,
    method_signature_lines,
)
from typedmgr._model.extract import interface_of
from typedmgr._model.interface import Interface
from typedmgr._model.params import signature_of
from typedmgr._model.refs import protocol_for_ref, ref_of
from typedmgr._model.types import *  # noqa: F403 - the vocabulary, as types lists it
from typedmgr._model.walk import reachable

__all__ = [
    "Interface",
    "annotation_text",
    "check_implementation",
    "fingerprint",
    "interface_of",
    "is_protocol",
    "is_subtype",
    "method_signature_lines",
    "protocol_for_ref",
    "protocol_of",
    "reachable",
    "ref_of",
    "signature_of",
    "type_problem",
]
__all__ += types.__all__
