# mypy: disallow-any-expr
"""object, None, overloads and generics reach a client as declared (checked, never run)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import assert_type

from tests.golden.loose.expected.proxies import HolderProxy, LooseManager, LooseProxy
from tests.golden.loose.protocols import Holder, Loose


def loose_client(m: LooseManager) -> None:
    loose = m.Loose()
    assert_type(loose, LooseProxy)
    assert_type(loose.tag, object)
    assert_type(loose.obj(), object)
    assert_type(loose.nothing(), None)
    assert_type(loose.maybe(), object | None)
    assert_type(loose.optional(), int | None)
    assert_type(loose.objects(), Iterator[object])
    assert_type(loose.get(1), object)
    assert_type(loose.put(1), None)
    assert_type(loose.put("one", strict=True), None)
    loose.put(1, strict=True)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
    # An Any the Protocol declares reaches the client as Any, which it may refuse.
    print(loose.anything(1))  # type: ignore[misc]  # pyright: ignore[reportAny]
    as_protocol: Loose = loose
    print(as_protocol)


def holder_client(m: LooseManager) -> None:
    holder = m.ObjectHolder(1)
    assert_type(holder, HolderProxy[object])
    assert_type(holder.get(), object)
    assert_type(holder.swap("x"), object)
    assert_type(holder.pick(0), object)
    assert_type(holder.pick((0, 1)), list[object])
    holder.pick("0")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    as_protocol: Holder[object] = holder
    print(as_protocol)


def never_returns(m: LooseManager) -> int:
    m.Loose().fail()
    print("unreachable")  # type: ignore[unreachable]  # pyright: ignore[reportUnreachable]
