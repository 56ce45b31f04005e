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
from typedmgr._model import Interface, Method, protocol_of

__all__ = ["alias_names", "inner_aliases"]


def alias_names(interface: Interface, method: Method) -> dict[str, tuple[str, str]]:
    """Parameters (and ``"return"``) the Protocol annotated with a type alias of a module
    (``Encoding = Literal["utf-8", "latin-1"]``, then ``encoding: Encoding``): each ->
    (the module defining the alias, its name there), so the proxy spells it so too.

    Only an annotation that is the alias alone, of a value travelling as is (no Protocol
    or ``Self`` in it, which the proxy spells otherwise), and only for a method with one
    signature; ``inner_aliases`` finds those inside an annotation.
    """
    member, module = _declared(interface, method)
    if member is None or module is None:
        return {}
    evaluated = {p.name: p.annotation for p in method.params}
    evaluated["return"] = method.returns
    found: dict[str, tuple[str, str]] = {}
    for key, raw in member.__annotations__.items():
        if key not in evaluated or _travels_otherwise(evaluated[key]):
            continue
        alias = _alias_of(raw, module, evaluated[key])
        if alias is not None:
            found[key] = alias
    return found


def inner_aliases(
    interface: Interface, method: Method
) -> dict[int, tuple[object, tuple[str, str]]]:
    """The type aliases named inside the method's annotations (``list[Chunks]``,
    ``Encoding | None``), keyed by the identity of the object each names: where spelling
    meets that very object in an evaluated annotation, it names the alias instead of
    expanding it. An annotation that merely equals an alias holds another object."""
    member, module = _declared(interface, method)
    if member is None or module is None:
        return {}
    found: dict[int, tuple[object, tuple[str, str]]] = {}
    for raw in member.__annotations__.values():
        for name, value in _names_inside(raw, vars(module)):
            if not _may_be_alias(value) or _travels_otherwise(value):
                continue
            home = _alias_home(module.__name__, name)
            if home is not None:
                found[id(value)] = (value, home)
    return found


def _declared(
    interface: Interface, method: Method
) -> tuple[types.FunctionType | None, types.ModuleType | None]:
    """The function declaring ``method`` in the Protocol, and its module; for a method
    with overloads, none (its variants are spelled as evaluated)."""
    if method.overloads:
        return None, None
    member = inspect.getattr_static(interface.protocol, method.name, None)
    if isinstance(member, property):
        member = member.fget
    if not inspect.isfunction(member):
        return None, None
    return member, sys.modules.get(member.__module__)


def _names_inside(
    raw: object, namespace: dict[str, object]
) -> list[tuple[str, object]]:
    """(name, value) of each module-level name an annotation uses: the names of a string
    annotation, or the one public name bound to each object inside an evaluated one."""
    if isinstance(raw, str):
        try:
            tree = ast.parse(raw.strip(), mode="eval")
        except SyntaxError:
            return []
        names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})
        return [(n, namespace[n]) for n in names if n in namespace]
    found: list[tuple[str, object]] = []
    pending = list(typing.get_args(raw))
    while pending:
        part = pending.pop()
        if isinstance(part, list):  # a Callable's parameters
            pending.extend(part)
            continue
        pending.extend(typing.get_args(part))
        bound = [n for n, v in namespace.items() if v is part and not n.startswith("_")]
        if len(bound) == 1:
            found.append((bound[0], part))
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
    if not _may_be_alias(value) or value != evaluated:
        return None
    return _alias_home(module.__name__, name)


def _may_be_alias(value: object) -> bool:
    """Whether a module-level ``value`` is spelled by the name of an alias bound to it: not a
    class, type variable, module or NewType, which are spelled by their own names."""
    is_class = isinstance(value, type) and typing.get_origin(value) is None
    return not (
        is_class  # (``list[bytes]`` passes for a type on Python 3.10)
        or isinstance(value, (typing.TypeVar, types.ModuleType))
        or newtype_supertype(value) is not None
    )


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
