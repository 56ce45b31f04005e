"""The interface model's former home: re-exports ``typedmgr._model`` for existing imports.

The model lives in the package ``typedmgr._model`` (types, extraction, descriptions,
reference typeids, conformance, the walk); import from there in new code.
"""

from __future__ import annotations

from typedmgr import _model
from typedmgr._model import *  # noqa: F403 - the model's API, as before the split
from typedmgr._model.types import *  # noqa: F403 - mypy follows one star import, not two

__all__ = list(_model.__all__)
