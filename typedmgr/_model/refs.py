"""Reference typeids: the name a returned remote object travels under, and back.

A reference typeid names a Protocol (``"shop.api:Counter"``), so any process holding the
Protocols can turn a returned token into the right proxy class without a manager registry
(gh-99595). Every returned proxy looks its class up here, so the answers are cached.
"""

from __future__ import annotations

import importlib
import sys

from typedmgr._forms import is_protocol

__all__ = ["protocol_for_ref", "ref_of"]


def ref_of(protocol: type) -> str:
    """The typeid under which the server wraps results of type ``protocol``."""
    return f"{protocol.__module__}:{protocol.__qualname__}"


# Reference typeids found to name a Protocol: every returned proxy looks its class up.
_protocols_of_refs: dict[str, type] = {}


def protocol_for_ref(ref: str) -> type | None:
    """The Protocol a reference typeid names, or ``None`` if it names none."""
    known = _protocols_of_refs.get(ref)
    if known is not None:
        return known
    module_name, sep, qualname = ref.partition(":")
    if not sep:
        return None
    module = sys.modules.get(module_name)
    if module is None:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return None
    obj: object = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if not (isinstance(obj, type) and is_protocol(obj)):
        return None
    _protocols_of_refs[ref] = obj
    return obj
