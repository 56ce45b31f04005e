"""Load: import ``module:Class`` targets and find the TypedManager classes they name."""

from __future__ import annotations

import importlib
import inspect

from typedmgr import TypedManager

__all__ = ["TargetError", "load_managers"]


class TargetError(Exception):
    """A target that does not name an importable TypedManager subclass."""


def load_managers(targets: list[str]) -> list[type[TypedManager]]:
    """The managers ``targets`` name: ``module:Class``, or every TypedManager in ``module``."""
    managers: list[type[TypedManager]] = []
    for target in targets:
        module_name, _, qualname = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise TargetError(
                f"{target}: cannot import {module_name!r}: {exc}"
            ) from exc
        if qualname:
            obj: object = module
            for part in qualname.split("."):
                obj = getattr(obj, part, None)
            if not (isinstance(obj, type) and issubclass(obj, TypedManager)):
                raise TargetError(f"{target}: not a TypedManager subclass")
            found = [obj]
        else:
            found = [
                cls
                for _, cls in inspect.getmembers(module, inspect.isclass)
                if issubclass(cls, TypedManager)
                and cls.__module__ == module_name
                and cls._protocols_
            ]
            if not found:
                raise TargetError(
                    f"{target}: defines no TypedManager with registered Protocols"
                )
        managers.extend(m for m in found if m not in managers)
    return managers
