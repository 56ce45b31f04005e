"""Aliases: where a Protocol annotated with a module's type alias, so the proxy names it too.

``Encoding = Literal["utf-8", "latin-1"]``, then ``encoding: Encoding``: IDEs show the
proxy's parameter as ``Encoding``, not as its expansion.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import sys
import types
import typing
import typing_extensions

from typedmgr._forms import newtype_supertype
from typedmgr.model import Interface, Method, protocol_of

__all__ = ["alias_names"]


def alias_names(interface: Interface, method: Method) -> dict[str, tuple[str, str]]:
    """Parameters (and ``"return"``) the Protocol annotated with a type alias of a module
    (``Encoding = Literal["utf-8", "latin-1"]``, then ``encoding: Encoding``): each ->
    (the module defining the alias, its name there), so the proxy spells it so too.

    Only an annotation that is the alias alone, of a value travelling as is (no Protocol
    or ``Self`` in it, which the proxy spells otherwise), and only for a method with one
    signature.
    """
    if method.overloads:
        return {}
    member = inspect.getattr_static(interface.protocol, method.name, None)
    if isinstance(member, property):
        member = member.fget
    if not inspect.isfunction(member):
        return {}
    module = sys.modules.get(member.__module__)
    evaluated = {p.name: p.annotation for p in method.params}
    evaluated["return"] = method.returns
    found: dict[str, tuple[str, str]] = {}
    for key, raw in member.__annotations__.items():
        if module is None or key not in evaluated or _travels_otherwise(evaluated[key]):
            continue
        alias = _alias_of(raw, module, evaluated[key])
        if alias is not None:
            found[key] = alias
    return found


def _travels_otherwise(tp: object) -> bool:
    """Whether the proxy spells ``tp`` other than as written (a Protocol, ``Self``)."""
    return (
        protocol_of(tp) is not None
        or tp is typing_extensions.Self
        or any(_travels_otherwise(a) for a in typing.get_args(tp))
    )


def _alias_of(
    raw: object, module: types.ModuleType, evaluated: object
) -> tuple[str, str] | None:
    """(home module, name) of the module-level alias ``raw`` names, if it is one."""
    namespace = vars(module)
    if isinstance(raw, str):
        name = raw.strip()
        if not name.isidentifier() or name not in namespace:
            return None
        value = namespace[name]
    else:  # evaluated at definition: the one public name bound to this very object
        names = [n for n, v in namespace.items() if v is raw and not n.startswith("_")]
        if len(names) != 1:
            return None
        name, value = names[0], raw
    is_class = isinstance(value, type) and typing.get_origin(value) is None
    if (
        is_class  # (``list[bytes]`` passes for a type on Python 3.10)
        or isinstance(value, (typing.TypeVar, types.ModuleType))
        or newtype_supertype(value) is not None  # a NewType is spelled by its own name
        or value != evaluated
    ):
        return None
    return _alias_home(module.__name__, name)


@functools.cache
def _alias_home(module_name: str, name: str, depth: int = 0) -> tuple[str, str] | None:
    """Where ``name`` of ``module_name`` is assigned, following ``from x import name``."""
    module = sys.modules.get(module_name)
    if module is None or depth > 3:
        return None
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return None
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return module_name, name
        if isinstance(node, ast.ImportFrom):
            for imported in node.names:
                if (imported.asname or imported.name) != name:
                    continue
                source = node.module or ""
                if node.level:
                    source = importlib.util.resolve_name(
                        "." * node.level + source, module.__package__
                    )
                return _alias_home(source, imported.name, depth + 1)
    return None
