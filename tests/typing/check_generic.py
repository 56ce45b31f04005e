# mypy: disallow-any-expr
"""Generic Protocols give generic proxies (checked, never run)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import assert_type

from tests.golden.generic.expected.proxies import BoxProxy, GenericManager, PairProxy
from tests.golden.generic.protocols import Box, Pair


def generic_client(m: GenericManager) -> None:
    ints = m.IntBox(1)
    assert_type(ints, BoxProxy[int])
    assert_type(ints.get(), int)
    assert_type(ints.labelled("x"), PairProxy[str, int])
    assert_type(ints.labelled("x").second(), int)
    assert_type(ints.history(), Iterator[int])
    assert_type(m.StrBox().get(), str)
    ints.put("one")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    m.IntBox("1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    m.StrBox().put(1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    # BoxProxy[T] is invariant in T, as Box[T] is.
    objects: BoxProxy[object] = ints  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    print(objects)


def variance_and_protocols(m: GenericManager) -> None:
    # PairProxy is covariant, as Pair is.
    pair: PairProxy[object, float] = m.IntBox().labelled("x")
    box: Box[int] = m.IntBox()
    as_pair: Pair[str, int] = m.IntBox().labelled("x")
    print(pair, box, as_pair)
