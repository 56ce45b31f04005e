"""Where a Protocol's annotations resolve, and how a function's parameters read as the model's.

Annotations are evaluated where their author wrote them: the module's globals, the imports
it guards with ``if TYPE_CHECKING:`` (run here, once per module), and a PEP 695 class's type
parameters. A default must be a literal, because proxies send the declared default.
"""

from __future__ import annotations

import ast
import enum
import functools
import inspect
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Mapping

from typedmgr._forms import is_protocol
from typedmgr._model.types import KINDS, NO_DEFAULT, InterfaceError, Param

__all__ = [
    "annotation_namespace",
    "module_namespace",
    "read_params",
    "resolved_hints",
    "signature_of",
]


def signature_of(where: str, func: Callable[..., object]) -> tuple[Param, ...]:
    """The parameters of a constructor or factory; unannotated ones are typed ``object``."""
    target: Callable[..., object] = func
    if isinstance(func, type):
        init = vars(func).get("__init__") or next(
            (vars(b)["__init__"] for b in func.__mro__ if "__init__" in vars(b)),
            _no_args,
        )
        target = _no_args if init is object.__init__ else init
        hints = resolved_hints(where, target, module_namespace(func))
        return read_params(where, target, hints, require_annotations=False)[1:]
    hints = resolved_hints(where, target, module_namespace(target))
    return read_params(where, target, hints, require_annotations=False)


def _no_args(self: object) -> None:
    """Stands in for ``object.__init__``, whose signature inspect cannot read."""


def read_params(
    where: str,
    func: Callable[..., object],
    hints: Mapping[str, object],
    *,
    require_annotations: bool,
) -> tuple[Param, ...]:
    params: list[Param] = []
    for index, p in enumerate(
        inspect.signature(func, follow_wrapped=False).parameters.values()
    ):
        if p.name in hints:
            annotation = hints[p.name]
        elif index == 0 and p.name in ("self", "cls"):
            annotation = object
        elif require_annotations:
            raise InterfaceError(f"{where}: parameter {p.name!r} has no annotation")
        else:
            annotation = object
        default = NO_DEFAULT if p.default is inspect.Parameter.empty else p.default
        if default is not NO_DEFAULT and not _is_literal(default):
            raise InterfaceError(
                f"{where}: parameter {p.name!r} defaults to {default!r}; proxies send the "
                "declared default, so it must be a literal (None, bool, number, str, bytes, "
                "enum member, or a tuple of these)"
            )
        params.append(Param(p.name, KINDS[p.kind], annotation, default))
    return tuple(params)


def _is_literal(value: object) -> bool:
    if value is None or isinstance(value, (bool, int, str, bytes, enum.Enum)):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if type(value) in (tuple, frozenset):
        return all(_is_literal(v) for v in value)  # type: ignore[attr-defined]
    return False


def resolved_hints(
    where: str, func: Callable[..., object], namespace: Mapping[str, object]
) -> dict[str, object]:
    try:
        hints = typing.get_type_hints(
            func, globalns=dict(namespace), include_extras=True
        )
    except NameError as exc:
        raise InterfaceError(f"{where}: cannot resolve an annotation: {exc}") from None
    except Exception as exc:  # a bad annotation is the user's to fix: say where it is
        raise InterfaceError(f"{where}: invalid annotation: {exc}") from None
    for name, hint in hints.items():
        if inspect.isfunction(hint) or isinstance(hint, property):
            getter = hint.fget if isinstance(hint, property) else hint
            member = str(getattr(getter, "__qualname__", "a property"))
            raise InterfaceError(
                f"{where}: the annotation of {name!r} is {member}, a member of the "
                "class, not a type (a member's name shadows a builtin in the class's "
                "annotations; from Python 3.14 whatever their order): spell it "
                f"builtins.{member.rpartition('.')[2]}, or name the type otherwise"
            )
    return hints


def annotation_namespace(protocol: type) -> dict[str, object]:
    """The Protocol's module globals, plus names imported only under ``TYPE_CHECKING``.

    A PEP 695 class's type parameters (``class Box[T](Protocol)``) are in no module's
    globals: a string annotation naming them (``from __future__ import annotations``)
    resolves through the class's ``__type_params__``, which shadow globals as in the class.
    """
    namespace = module_namespace(protocol)
    for base in reversed(protocol.__mro__):
        if is_protocol(base) and base is not protocol:
            namespace = {**module_namespace(base), **namespace}
    for base in reversed(protocol.__mro__):
        if base is protocol or is_protocol(base):
            type_params: tuple[object, ...] = vars(base).get("__type_params__", ())
            namespace.update((getattr(p, "__name__", ""), p) for p in type_params)
    return namespace


def module_namespace(obj: object) -> dict[str, object]:
    module = sys.modules.get(getattr(obj, "__module__", ""))
    if module is None:
        return {}
    return {**_type_checking_names(module), **vars(module)}


@functools.cache
def _type_checking_names(module: types.ModuleType) -> dict[str, object]:
    """Run the imports a module guards with ``if TYPE_CHECKING:``, so annotations resolve."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return {}
    names: dict[str, object] = {}
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            imports: list[ast.stmt] = [
                s for s in node.body if isinstance(s, (ast.Import, ast.ImportFrom))
            ]
            code = compile(
                ast.Module(body=imports, type_ignores=[]), module.__name__, "exec"
            )
            scope: dict[str, object] = {
                "__name__": module.__name__,
                "__package__": module.__package__,
            }
            exec(code, scope)
            names.update({k: v for k, v in scope.items() if not k.startswith("__")})
    return names


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
