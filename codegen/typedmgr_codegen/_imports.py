"""Imports of the generated code: which modules and names, under which local names.

The names annotations use are imported under their own names (``from shop.models import
Receipt``), as the Protocols wrote them, unless one would clash; everything else (typedmgr,
the Protocols' modules for ``_protocol_``, a clashing name's module) under a
leading-underscore alias (``import shop.api as _shop_api``) that no user name can collide with.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

__all__ = ["Imports"]


@dataclass
class Imports:
    """What the generated code imports: modules under collision-free private aliases
    (``import shop.api as _shop_api``, for the machinery), and the names annotations use
    under their own names (``from shop.models import Receipt``), as the Protocol wrote
    them, so that IDEs show ``Receipt``. A name that would clash falls back to its module's
    alias (``_shop_models.Receipt``)."""

    runtime: set[str] = field(default_factory=set)
    typing_only: set[str] = field(default_factory=set)
    stub: set[str] = field(default_factory=set)
    reserved: frozenset[str] = frozenset()
    """Names the generated code binds otherwise (parameters), which no alias may take."""
    names: dict[str, str] = field(default_factory=dict)
    blocked: frozenset[str] = frozenset()
    """Names no imported name may take: the generated classes, their members (which
    shadow module names inside a class body), parameters and builtins."""
    imported: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Each name imported under its own name -> (module, name)."""
    named_runtime: set[tuple[str, str]] = field(default_factory=set)
    named_typing: set[tuple[str, str]] = field(default_factory=set)
    named_stub: set[tuple[str, str]] = field(default_factory=set)

    def alias(self, module: str, *, runtime: bool = False, in_stub: bool = True) -> str:
        """The alias of ``module``, recorded as needed at run time or only for typing."""
        (self.runtime if runtime else self.typing_only).add(module)
        if in_stub:
            self.stub.add(module)
        name = self.names.get(module)
        if name is None:
            # ``_io`` -> ``_io``, never ``__io``: a double underscore is mangled in a class.
            name = "_" + module.replace(".", "_").lstrip("_")
            while (
                name in self.reserved
                or name in self.names.values()
                or name in self.imported
            ):
                name += "_"  # ``a.b`` and ``a_b``, or a parameter named like the alias
            self.names[module] = name
        return name

    def name(
        self, module: str, name: str, *, runtime: bool = False, in_stub: bool = True
    ) -> str | None:
        """``name`` imported from ``module`` under its own name, or None where it would
        clash (with a generated or builtin name, or another object's name)."""
        key = (module, name)
        if self.imported.get(name, key) != key or (
            name not in self.imported
            and (
                name in self.blocked
                or name in self.reserved
                or name in self.names.values()
                or name.startswith("__")
            )
        ):
            return None
        self.imported[name] = key
        (self.named_runtime if runtime else self.named_typing).add(key)
        if in_stub:
            self.named_stub.add(key)
        return name

    def overload(self) -> bool:
        """``from typing import overload``, the one spelling jedi takes for an overload,
        unless another ``overload`` is imported; a class whose members shadow the name
        decorates through ``typing`` instead (the caller checks). Whether it is."""
        key = ("typing", "overload")
        if (
            self.imported.get("overload", key) != key
            or "overload" in self.names.values()
        ):
            return False
        self.imported["overload"] = key
        self.named_runtime.add(key)
        self.named_stub.add(key)
        return True

    def lines(self, *, stub: bool) -> tuple[list[str], list[str]]:
        """(imports needed at run time, imports needed only by type checkers), isort-ed."""
        if stub:
            return self._block(self.stub, self.named_stub), []
        return (
            self._block(self.runtime, self.named_runtime),
            self._block(
                self.typing_only - self.runtime, self.named_typing - self.named_runtime
            ),
        )

    def _block(self, modules: set[str], named: set[tuple[str, str]]) -> list[str]:
        """Standard library first, then the rest, a blank line between: isort's sections;
        in each, ``import`` statements before ``from`` ones, as ruff's isort orders them.

        ``typing_extensions``, typing's backport, sorts with the standard library (ruff's
        ``extra-standard-library``, as this repository configures it).
        """
        sections: list[list[str]] = []
        for in_stdlib in (True, False):
            section = [
                f"import {m} as {self.names[m]}"
                for m in sorted(modules)
                if _is_stdlib(m) is in_stdlib
            ]
            froms: dict[str, list[str]] = {}
            for module, name in named:
                if _is_stdlib(module) is in_stdlib:
                    froms.setdefault(module, []).append(name)
            section += [
                f"from {module} import {', '.join(sorted(froms[module], key=_isort_key))}"
                for module in sorted(froms)
            ]
            if section:
                sections.append(section)
        return [line for i, s in enumerate(sections) for line in ([""] * (i > 0) + s)]


def _is_stdlib(module: str) -> bool:
    return (
        module.partition(".")[0] in sys.stdlib_module_names
        or module == "typing_extensions"
    )


def _isort_key(name: str) -> tuple[int, str, str]:
    """isort's ``order-by-type``: CONSTANTS, then Classes, then the rest."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower(), name
