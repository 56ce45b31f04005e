"""The generator's own line breaking: one line when it fits, else the last bracket pair
exploded one item a line with a magic trailing comma, as ruff format would keep it."""

from __future__ import annotations

import ast

from typedmgr_codegen._layout import LINE_LENGTH, render_def, render_statement


def test_a_statement_that_fits_stays_on_one_line() -> None:
    """Nothing is split below the line length; spacing is kept as written."""
    text = 'return _typing.cast("int", self._call("count", key, by=2))'
    assert "        " + text == render_statement(text, 2)


def test_the_last_bracket_pair_is_exploded_with_a_trailing_comma() -> None:
    """A call too long for its line puts each argument on a line of its own."""
    text = 'return _typing.cast("' + "x" * 60 + '", self._call("count", key, by=2))'
    assert (
        "        return _typing.cast(\n"
        f'            "{"x" * 60}",\n'
        '            self._call("count", key, by=2),\n'
        "        )"
    ) == render_statement(text, 2)


def test_a_lone_item_keeps_its_meaning() -> None:
    """A lone subscript item gets no comma (``x[a,]`` is a tuple), nor does a lone item in
    parentheses; a one-tuple keeps its own; a call's or a list's lone item gets one."""
    name = "n" * 90
    assert f"x = list[\n    {name}\n]" == render_statement(f"x = list[{name}]", 0)
    assert f'x = (\n    "{name}",\n)' == render_statement(f'x = ("{name}",)', 0)
    assert f"x = f(\n    {name},\n)" == render_statement(f"x = f({name})", 0)
    assert f"x = [\n    {name},\n]" == render_statement(f"x = [{name}]", 0)
    assert f"x = (\n    {name}\n)" == render_statement(f"x = ({name})", 0)


def test_brackets_and_commas_inside_strings_are_text() -> None:
    """A string holding brackets or commas is one item, never split."""
    text = '_exposed_ = ("a, b", "[c]", "' + "d" * 70 + '")'
    assert (
        '    _exposed_ = (\n        "a, b",\n        "[c]",\n        "'
        + "d" * 70
        + '",\n    )'
    ) == render_statement(text, 1)


def test_a_long_def_puts_each_parameter_on_a_line_and_splits_them_further() -> None:
    """Parameters one a line; one still too long, and the return annotation, are split
    at their last bracket pair; the result parses and no splittable line is too long."""
    params = [
        "self",
        "mode: _typing.Literal[" + ", ".join(f'"{w * 9}"' for w in "abcdefgh") + "]",
        "key: str",
    ]
    returns = "dict[" + ", ".join(["_collections_abc.Sequence[int]"] * 3) + "]"
    text = render_def("def m", params, returns, 1, ": ...")
    ast.parse("class C:\n" + text)
    assert [] == [line for line in text.splitlines() if len(line) > LINE_LENGTH]
    assert text.startswith(
        "    def m(\n        self,\n        mode: _typing.Literal[\n"
    )
    assert text.endswith("        _collections_abc.Sequence[int],\n    ]: ...")
