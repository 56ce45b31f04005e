"""The model as text: annotations as their authors write them, signature lines, fingerprints.

A signature line is what a client and a server must agree on; the fingerprint is a digest
of an interface's lines that generated proxies carry, so that a mismatch is noticed at the
first call rather than as a wrong result.
"""

from __future__ import annotations

import hashlib
import typing
import typing_extensions
from collections.abc import Iterable

from typedmgr._forms import is_empty_tuple, is_union
from typedmgr._model.types import Method, Param, ParamKind

__all__ = ["annotation_text", "fingerprint", "method_signature_lines"]


def method_signature_lines(method: Method) -> tuple[str, ...]:
    """A method's lines of ``Interface.signature_lines`` (one per overload)."""
    kind = "property " if method.is_property else "oneway " if method.oneway else ""
    signatures = [(o.params, o.returns) for o in method.overloads] or [
        (method.params, method.returns)
    ]
    return tuple(
        f"{kind}{method.name}({_params_text(params)}) -> {annotation_text(returns)}"
        for params, returns in signatures
    )


def fingerprint(ref: str, lines: Iterable[str]) -> str:
    """A short digest of an interface's reference typeid and signature lines."""
    text = "\n".join((ref, *lines))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _params_text(params: tuple[Param, ...]) -> str:
    parts: list[str] = []
    for i, p in enumerate(params):
        if p.kind is ParamKind.KEYWORD_ONLY and (
            i == 0
            or params[i - 1].kind
            not in (ParamKind.KEYWORD_ONLY, ParamKind.VAR_POSITIONAL)
        ):
            parts.append("*")
        star = {ParamKind.VAR_POSITIONAL: "*", ParamKind.VAR_KEYWORD: "**"}.get(
            p.kind, ""
        )
        text = f"{star}{p.name}: {annotation_text(p.annotation)}"
        if p.has_default:
            text += f" = {p.default!r}"
        parts.append(text)
        if p.kind is ParamKind.POSITIONAL_ONLY and (
            i + 1 == len(params) or params[i + 1].kind is not ParamKind.POSITIONAL_ONLY
        ):
            parts.append("/")
    return ", ".join(parts)


def annotation_text(tp: object) -> str:
    """An annotation as its author would write it, for error messages and fingerprints."""
    if tp is typing_extensions.Self:  # typing_extensions' on 3.10, typing's later
        return "Self"
    if isinstance(tp, typing.TypeVar):  # as 3.12 spells them, on every Python
        variance = (
            ""
            if getattr(tp, "__infer_variance__", False)
            else "+"
            if tp.__covariant__
            else "-"
            if tp.__contravariant__
            else "~"
        )
        return f"{variance}{tp.__name__}"
    if isinstance(tp, list):  # Callable's parameter list
        return "[" + ", ".join(annotation_text(a) for a in tp) + "]"
    if tp is Ellipsis:
        return "..."
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if is_union(tp):
        return " | ".join(annotation_text(a) for a in args)
    if is_empty_tuple(tp):
        return "tuple[()]"
    if origin is not None and args:
        return (
            f"{annotation_text(origin)}[{', '.join(annotation_text(a) for a in args)}]"
        )
    if tp is type(None):
        return "None"
    if isinstance(tp, type):
        return tp.__qualname__
    return repr(tp).replace("typing.", "")
