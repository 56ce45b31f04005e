"""Types as plain values, for schema evolution: describe, spell and compare them.

A server describes its Protocol's annotations (:func:`describe_type`) as tuples of strings
that any process can read without importing anything; a client compares them with its own
(:func:`assignable`) and names them in messages (:func:`spell`). Classes are compared by
``module:qualname`` and the names of their bases (and of the ``collections.abc`` and
``numbers`` ABCs they register with), never imported from the server's description: a
server cannot make a client import anything.
"""

from __future__ import annotations

import collections.abc
import numbers
import typing
import typing_extensions

from typedmgr._forms import is_empty_tuple, is_union, newtype_supertype

__all__ = [
    "SchemaError",
    "TypeDesc",
    "assignable",
    "describe_type",
    "read_str",
    "read_tuple",
    "read_type",
    "spell",
]


#: A type as plain values: a tuple whose first item is its form (``"class"``, ``"union"``...).
TypeDesc = tuple[object, ...]


class SchemaError(ValueError):
    """A server's description of its methods that this client cannot read."""


_ANY: TypeDesc = ("any",)
# Numbers a value of the key's type is accepted as (PEP 484's numeric tower shortcut).
_PROMOTIONS = {
    "builtins:int": ("builtins:float", "builtins:complex"),
    "builtins:float": ("builtins:complex",),
}
_OBJECT = "builtins:object"
_TUPLE = "builtins:tuple"
# ABCs a class may be registered with rather than derive from: listed among its bases.
_VIRTUAL_BASES: tuple[type, ...] = tuple(
    cls
    for module in (collections.abc, numbers)
    for cls in vars(module).values()
    if isinstance(cls, type) and cls.__module__ in ("collections.abc", "numbers")
)


def _name(cls: type) -> str:
    module = (
        "collections.abc" if cls.__module__ == "_collections_abc" else cls.__module__
    )
    return f"{module}:{cls.__qualname__}"


_classes: dict[type, TypeDesc] = {}


def _describe_class(cls: type) -> TypeDesc:
    found = _classes.get(cls)
    if found is not None:
        return found
    bases = [_name(c) for c in getattr(cls, "__mro__", (cls, object))]
    for abc in _VIRTUAL_BASES:
        try:
            if issubclass(cls, abc):
                bases.append(_name(abc))
        except TypeError:  # a class refusing subclass checks (a non-runtime Protocol)
            continue
    found = _classes[cls] = ("class", _name(cls), tuple(dict.fromkeys(bases)))
    return found


def describe_type(tp: object) -> TypeDesc:
    """An evaluated annotation as plain values that another process can compare."""
    if tp is None or tp is type(None):
        return _describe_class(type(None))
    if typing.get_origin(tp) is typing.Annotated:
        return describe_type(typing.get_args(tp)[0])
    supertype = newtype_supertype(tp)
    if supertype is not None:
        return describe_type(supertype)
    if tp is typing.Any:
        return _ANY
    if tp is typing_extensions.Self:
        return ("self",)
    if isinstance(tp, typing.TypeVar):
        return ("typevar", tp.__name__)
    if tp is Ellipsis:
        return ("ellipsis",)
    if isinstance(tp, list):  # Callable's parameter list
        return ("params", tuple(describe_type(a) for a in tp))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if is_union(tp):
        return ("union", tuple(describe_type(a) for a in args))
    if origin is typing.Literal:
        return (
            "literal",
            tuple((_describe_class(type(v)), repr(v)) for v in args),
        )
    if isinstance(origin, type):
        # ``tuple[()]`` has no arguments to compare either: described as its class.
        if not args or is_empty_tuple(tp):
            return _describe_class(origin)
        return (
            "generic",
            _describe_class(origin),
            tuple(describe_type(a) for a in args),
        )
    if isinstance(tp, type):
        return _describe_class(tp)
    return ("other", repr(tp).replace("typing.", ""))


def spell(desc: TypeDesc) -> str:
    """A description as an annotation reads, for messages."""
    form = desc[0]
    if form == "class":
        name = str(desc[1]).partition(":")[2]
        return "None" if name == "NoneType" else name
    if form == "generic":
        origin = spell(read_type(desc[1]))
        return (
            f"{origin}[{', '.join(spell(read_type(a)) for a in read_tuple(desc[2]))}]"
        )
    if form == "union":
        return " | ".join(spell(read_type(a)) for a in read_tuple(desc[1]))
    if form == "literal":
        return (
            f"Literal[{', '.join(str(read_tuple(v)[1]) for v in read_tuple(desc[1]))}]"
        )
    if form == "params":
        return f"[{', '.join(spell(read_type(a)) for a in read_tuple(desc[1]))}]"
    if form in ("typevar", "other"):
        return str(desc[1])
    return {"any": "Any", "self": "Self", "ellipsis": "..."}.get(str(form), str(form))


def assignable(sub: TypeDesc, sup: TypeDesc) -> bool:
    """Whether every value of ``sub`` is a value of ``sup`` (both copied, not shared)."""
    if sub in (sup, _ANY) or sup == _ANY:
        return True
    if sup[0] == "class" and sup[1] == _OBJECT:
        return True
    if sub[0] == "union":
        return all(assignable(read_type(m), sup) for m in read_tuple(sub[1]))
    if sup[0] == "union":
        return any(assignable(sub, read_type(m)) for m in read_tuple(sup[1]))
    if sub[0] == "literal":
        values = [read_tuple(v) for v in read_tuple(sub[1])]
        if sup[0] == "literal":
            return all(v in [read_tuple(w) for w in read_tuple(sup[1])] for v in values)
        return all(assignable(read_type(v[0]), sup) for v in values)
    sub_class, sub_args = _class_and_args(sub)
    sup_class, sup_args = _class_and_args(sup)
    if sub_class is None or sup_class is None:
        return False  # type variables, callables' parameters, Self, unknown forms: equal only
    sup_name = sup_class[1]
    if sup_name not in read_tuple(sub_class[2]) and sup_name not in _PROMOTIONS.get(
        str(sub_class[1]), ()
    ):
        return False
    if not sup_args or not sub_args:  # a bare generic takes any arguments
        return True
    if sup_name == _TUPLE and len(sup_args) == 2 and sup_args[1] == ("ellipsis",):
        if sub_class[1] == _TUPLE and not (
            len(sub_args) == 2 and sub_args[1] == ("ellipsis",)
        ):
            return all(assignable(a, sup_args[0]) for a in sub_args)
        return assignable(sub_args[0], sup_args[0])
    if len(sub_args) != len(sup_args):
        return False
    return all(assignable(a, b) for a, b in zip(sub_args, sup_args, strict=True))


def _class_and_args(
    desc: TypeDesc,
) -> tuple[TypeDesc | None, tuple[TypeDesc, ...]]:
    if desc[0] == "class":
        return desc, ()
    if desc[0] == "generic":
        return read_type(desc[1]), tuple(read_type(a) for a in read_tuple(desc[2]))
    return None, ()


# Reading plain values: every shape checked, since they come from another process.


def read_tuple(value: object, length: int | None = None) -> tuple[object, ...]:
    if not isinstance(value, tuple) or (length is not None and len(value) != length):
        raise SchemaError(f"unexpected {type(value).__name__} in a description")
    return value


def read_str(value: object) -> str:
    if not isinstance(value, str):
        raise SchemaError(f"unexpected {type(value).__name__} in a description")
    return value


def read_type(value: object) -> TypeDesc:
    items = read_tuple(value)
    if not items or not isinstance(items[0], str):
        raise SchemaError("a type description without its form")
    return items
