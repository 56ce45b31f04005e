"""Layout: the generator's own line breaking, so no formatter is run on its output.

Why not run ruff: a formatter's output changes between its versions, so the generated files
(and ``typedmgr gen --check``) would depend on the ruff a user has installed; pinning ruff
as a dependency of typedmgr-codegen would replace the user's own ruff in their environment.
So the generator lays out its few kinds of statement itself, by one rule, in the style of
``ruff format`` with its defaults (line length 88, four-space indents, double quotes):

- a statement that fits in 88 columns stays on one line;
- otherwise its last bracket pair (for a ``def``: its parameters first) is exploded, one item
  a line, with a trailing comma: the "magic trailing comma" that makes ruff and black keep
  the lines as they are; an item or a closing line still too long is split the same way.

Output is a pure function of the input text: byte-identical on every Python and machine.
It is a fixed point of ``ruff format`` with default settings for the golden cases (their
tests check it); in rarer layouts ruff chooses otherwise (a union whose first member must be
split, a name longer than a line, which ruff parenthesizes), which is one more reason to
exclude generated files from formatters.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass, field

__all__ = [
    "LINE_LENGTH",
    "Def",
    "Group",
    "Seq",
    "Statement",
    "lay_out",
    "parse",
    "render_def",
    "render_statement",
]

LINE_LENGTH = 88
INDENT = "    "

_OPEN = {"(": ")", "[": "]", "{": "}"}


@dataclass
class Group:
    """A bracket pair and the comma-separated items inside it."""

    open: str
    items: list[Seq]
    trailing_comma: bool
    """The source wrote a comma after the last item (``("a",)``)."""
    subscript: bool
    """``x[...]`` or ``f(...)``: brackets after a name or a closing bracket."""

    @property
    def close(self) -> str:
        return _OPEN[self.open]

    def flat(self) -> str:
        inner = ", ".join(flat(item) for item in self.items)
        comma = "," if self.trailing_comma and len(self.items) == 1 else ""
        return f"{self.open}{inner}{comma}{self.close}"

    def comma_when_exploded(self) -> bool:
        """Whether exploded items end with a comma without changing the meaning.

        ``x[a,]`` is ``x[(a,)]`` and ``(a,)`` a tuple: a lone item of a subscript or of
        parentheses that are not a call keeps no comma unless it had one; a call's lone
        argument and a list's or dict's lone item get one, as ruff gives them.
        """
        if len(self.items) != 1 or self.trailing_comma:
            return True
        return self.open == "{" or (self.open != "[") == self.subscript


@dataclass
class Seq:
    """Text and bracket groups, in order: one expression, statement or item."""

    parts: list[str | Group] = field(default_factory=list)


def flat(seq: Seq) -> str:
    return "".join(p if isinstance(p, str) else p.flat() for p in seq.parts)


def parse(text: str) -> Seq:
    """Split one line of Python into text and (nested) bracket groups.

    Spacing is kept as written between tokens, except inside brackets, where items are
    re-joined with ``", "``: the generator writes them that way.
    """
    tokens = [
        t
        for t in tokenize.generate_tokens(io.StringIO(text).readline)
        if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)
    ]
    position = 0

    def sequence(stop: str | None) -> tuple[Seq, str | None]:
        """Tokens up to a top-level comma or ``stop``; returns what ended it."""
        nonlocal position
        seq = Seq()
        previous_end: int | None = None
        while position < len(tokens):
            token = tokens[position]
            if token.string in (",", stop) and stop is not None:
                return seq, token.string
            gap = "" if previous_end is None else " " * (token.start[1] - previous_end)
            if gap:
                seq.parts.append(gap)
            position += 1
            if token.string in _OPEN:
                last = seq.parts[-1] if seq.parts else None
                after_name = (
                    last is not None
                    and not gap
                    and (
                        isinstance(last, Group)
                        or last[-1:].isalnum()
                        or last[-1:] == "_"
                    )
                )
                seq.parts.append(group(token.string, after_name))
                previous_end = tokens[position - 1].end[1]
                continue
            seq.parts.append(token.string)
            previous_end = token.end[1]
        return seq, None

    def group(opening: str, subscript: bool) -> Group:
        nonlocal position
        items: list[Seq] = []
        trailing = False
        while True:
            item, ended = sequence(_OPEN[opening])
            position += 1
            if item.parts:
                items.append(item)
                trailing = False
            if ended == ",":
                trailing = True
                continue
            return Group(opening, items, trailing and bool(items), subscript)

    seq, _ = sequence(None)
    return _merged(seq)


def _merged(seq: Seq) -> Seq:
    """Adjacent strings joined into one, for simpler rendering."""
    parts: list[str | Group] = []
    for part in seq.parts:
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] += part
        else:
            if isinstance(part, Group):
                part.items = [_merged(item) for item in part.items]
            parts.append(part)
    return Seq(parts)


@dataclass(frozen=True)
class Statement:
    """One logical line of generated code, not yet laid out: ``text`` at ``depth`` indents."""

    text: str
    depth: int


@dataclass(frozen=True)
class Def:
    """A ``def`` line not yet laid out: ``{head}(params) -> returns{suffix}``."""

    head: str
    params: tuple[str, ...]
    returns: str
    depth: int
    suffix: str = ":"


def lay_out(code: Statement | Def) -> str:
    """The lines of ``code``, split by the rule above."""
    if isinstance(code, Def):
        return render_def(
            code.head, list(code.params), code.returns, code.depth, code.suffix
        )
    return render_statement(code.text, code.depth)


def render_statement(text: str, depth: int, suffix: str = "") -> str:
    """``text`` at ``depth`` indents, split by the rule above; lines joined by newlines."""
    return "\n".join(_lines(parse(text), depth, suffix))


def render_def(
    head: str, params: list[str], returns: str, depth: int, suffix: str = ":"
) -> str:
    """``{head}(params) -> returns{suffix}``: on one line, or its parameters one a line.

    The return annotation, if ``) -> returns:`` is still too long, is split as any item.
    """
    pad = INDENT * depth
    one_line = f"{pad}{head}({', '.join(params)}) -> {returns}{suffix}"
    if len(one_line) <= LINE_LENGTH:
        return one_line
    lines = [f"{pad}{head}("]
    for param in params:
        lines += _lines(parse(param), depth + 1, ",")
    lines += _lines(_merged(Seq([") -> ", *parse(returns).parts])), depth, suffix)
    return "\n".join(lines)


def _lines(seq: Seq, depth: int, suffix: str) -> list[str]:
    pad = INDENT * depth
    text = flat(seq) + suffix
    if len(pad + text) <= LINE_LENGTH:
        return [pad + text]
    last = max(
        (i for i, p in enumerate(seq.parts) if isinstance(p, Group) and p.items),
        default=None,
    )
    if last is None:
        return [pad + text]  # nothing to split: a long name or string stays long
    group = seq.parts[last]
    assert isinstance(group, Group)
    head = "".join(p if isinstance(p, str) else p.flat() for p in seq.parts[:last])
    tail = Seq(list(seq.parts[last + 1 :]))
    comma = "," if group.comma_when_exploded() else ""
    lines = [f"{pad}{head}{group.open}"]
    for i, item in enumerate(group.items):
        end = comma if i == len(group.items) - 1 else ","
        lines += _lines(item, depth + 1, end)
    lines += _lines(Seq([group.close, *tail.parts]), depth, suffix)
    return lines
