"""Whether an implementation's annotations agree with its Protocol's: now in the model.

Re-exports ``typedmgr._model.conformance`` for existing imports; the rules are told there.
"""

from __future__ import annotations

from typedmgr._model.conformance import is_subtype, type_problem

__all__ = ["is_subtype", "type_problem"]
