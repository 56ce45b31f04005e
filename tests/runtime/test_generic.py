"""Generic Protocols through their generic proxies."""

from __future__ import annotations

import pytest

from tests.golden.generic.expected.proxies import BoxProxy, GenericManager, PairProxy

pytestmark = pytest.mark.process


def test_parametrized_registrations_serve_generic_proxies() -> None:
    """Box[int] and Box[str] registrations, nested generic returns and iterators."""
    with GenericManager(address=("127.0.0.1", 0), authkey=b"generic") as m:
        ints = m.IntBox(3)
        assert isinstance(ints, BoxProxy)
        ints.put(4)
        assert 4 == ints.get()
        pair = ints.labelled("latest")
        assert isinstance(pair, PairProxy)
        assert ("latest", 4) == (pair.first(), pair.second())
        assert [3, 4] == list(ints.history())
        assert "" == m.StrBox().get()
