"""The reference books on their own (``typedmgr._server.books``): limits, in-flight
references and server-held proxies, without a server around them."""

from __future__ import annotations

import gc
import threading

import pytest

from typedmgr._server.books import Books, LimitError


class Referent:
    """An object the books hold (any object will do; this one can be weakly referenced)."""


class Stash:
    """The stdlib's stash of referents (``id_to_local_proxy_obj``) and its ``incref``."""

    def __init__(self) -> None:
        self.restored: list[str] = []

    def restore(self, ident: str) -> None:
        self.restored.append(ident)
        raise KeyError(ident)


def books(*, max_objects: int = 100, max_session_objects: int = 100) -> Books:
    return Books(
        {},
        {},
        {},
        Stash().restore,
        max_objects=max_objects,
        max_session_objects=max_session_objects,
    )


def test_the_books_own_their_mutex() -> None:
    """Every change takes the books' own mutex: one held elsewhere blocks a release."""
    book = books()
    obj = Referent()
    ident = book.add(obj, (obj, frozenset(), None), "s")
    done = threading.Event()

    def release() -> None:
        book.release("s", [ident])
        done.set()

    with book.mutex:
        worker = threading.Thread(target=release)
        worker.start()
        assert not done.wait(0.2)  # waiting for the mutex
        assert {ident: 1} == book.refcounts
    worker.join(5)
    assert done.is_set()
    assert {} == book.refcounts
    assert {} == book.objects


def test_limits_count_objects_per_server_and_per_session() -> None:
    """A new object past ``max_objects``, or past a session's ``max_session_objects``, is
    refused; one the session holds already takes no room."""
    book = books(max_objects=3, max_session_objects=2)
    kept = [Referent() for _ in range(4)]
    first = book.add(kept[0], (kept[0], frozenset(), None), "a")
    book.add(kept[1], (kept[1], frozenset(), None), "a")
    with pytest.raises(LimitError, match="max_session_objects"):
        book.add(kept[2], (kept[2], frozenset(), None), "a")
    book.take_ref(first, "a")  # held already: no room needed
    assert 2 == book.refcounts[first]
    book.add(kept[2], (kept[2], frozenset(), None), "b")
    with pytest.raises(LimitError, match="max_objects"):
        book.check_room("c", None)


def test_a_reference_in_flight_is_taken_over_by_its_receiver() -> None:
    """A reference sent in a reply is the receiver's when it increfs: the count does not
    grow again; one never taken over goes back when its connection closes."""
    book = books()
    obj = Referent()
    ident = book.add(obj, (obj, frozenset(), None), "a")
    book.sent([ident, ident])
    assert 3 == book.refcounts[ident]
    book.take_ref(ident, "b")  # the receiver of the first takes it over
    assert 3 == book.refcounts[ident]
    book.return_in_flight()  # the sender's connection closed: the second is given back
    assert 2 == book.refcounts[ident]


def test_an_unknown_ident_goes_to_the_stdlib_restore() -> None:
    """An incref of an ident the books do not count asks the stdlib's stash, which
    raises for one it does not have either."""
    stash = Stash()
    book = Books({}, {}, {}, stash.restore, max_objects=9, max_session_objects=9)
    with pytest.raises(KeyError):
        book.take_ref("feed")
    assert ["feed"] == stash.restored


def test_a_server_held_proxy_releases_its_reference_once_collected() -> None:
    """The reference of a server-held proxy goes when the proxy is collected and the
    books next release between requests; a session's end disposes of what it held."""
    book = books()
    obj, holder = Referent(), Referent()
    ident = book.add(obj, (obj, frozenset(), None), "a")
    book.take_ref(ident)  # the server-held proxy's reference
    book.hold_local(holder, ident)
    assert 2 == book.refcounts[ident]
    del holder
    gc.collect()
    book.release_local()
    assert 1 == book.refcounts[ident]
    held, disposed = book.end_session("a")
    assert ({ident: 1}, 1) == (held, disposed)
    assert ident not in book.objects
