"""Finalizers of proxies run wherever the garbage collector starts: never in a deadlock."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.tools import ROOT

# Collections every other allocation (gen-0 threshold 1), while releases are queued and
# taken: some start inside take_releases, and run a finalizer that queues a release, as a
# collected proxy's __del__ does.
_SCRIPT = textwrap.dedent(
    """
    import gc
    from typedmgr import _leases

    address = ("127.0.0.1", 9)
    expected = []

    class Proxy:
        def __init__(self, n):
            self.me, self.n = self, n

        def __del__(self):
            _leases.release_later(address, f"finalized-{self.n}")

    taken = []
    gc.set_threshold(1)
    for n in range(2000):
        Proxy(n)
        expected.append(f"finalized-{n}")
        for k in range(n % 3):
            _leases.release_later(address, f"queued-{n}-{k}")
            expected.append(f"queued-{n}-{k}")
        taken += _leases.take_releases(address)
    gc.collect()
    taken += _leases.take_releases(address)
    assert sorted(taken) == sorted(expected), (len(taken), len(expected))
    print("ok")
    """
)


def test_a_release_queued_by_a_finalizer_amid_taking_the_queue_neither_blocks_nor_is_lost() -> (
    None
):
    """The garbage collector may run a proxy's finalizer while this thread is taking the
    queued releases: the release is queued (not lost, not deadlocked on a lock). With a
    lock around the queue, this hung on 3.13, where a collection may start between any
    two bytecodes (3.11 collects only on allocations, none of which fell inside it)."""
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (0, "ok\n") == (result.returncode, result.stdout), result.stderr
