"""A multiplexed connection's backlog: the requests its lead handed out, not yet run, and
the worker threads that run them, only as many as keep it moving.

Quick requests run best one after another on one thread: the GIL runs one thread at a
time, and waking a sleeping thread costs more than a quick call. So a worker is woken only
when none is running jobs or on its way to them; a worker that finishes a job takes the
next. When all those running have run past ``TAKEOVER`` (they block), the server's watch
has another thread take the backlog on (:meth:`Backlog.overdue`); the connection remembers
their methods (``SlowMethods``), and their next runs have one added before they start
(:meth:`Backlog.unblock`). A worker with more of the backlog to run holds its replies
back, to write them in one go (``outbox``): before it waits for more, or once it blocks,
they go out.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from typedmgr._server.outbox import Outbox
from typedmgr._server.takeover import TAKEOVER, SlowMethods, Turn

__all__ = ["LEAD", "WORKERS", "Backlog", "Job", "Lead"]

#: Threads a multiplexed connection runs its requests on, at most.
WORKERS = 32
Job = Callable[[Turn], None]


class Lead:
    """The lead, passed through the backlog to the thread that takes it next."""


LEAD = Lead()


class Backlog:
    """One connection's jobs not yet taken, and its workers; its lock is the
    connection's (the methods that say so expect it held)."""

    def __init__(
        self,
        lock: threading.Lock,
        outbox: Outbox,
        slow: SlowMethods,
        spawn: Callable[[bool], None],
        wake: Callable[[], None],
    ) -> None:
        """``spawn(lead)``: start a thread (the lead, or a worker); ``wake``: wake the
        lead, to write replies."""
        self._lock = lock
        self._outbox = outbox
        self._slow = slow
        self._spawn = spawn
        self._wake = wake
        self._jobs: deque[Job | Lead] = deque()
        self._more = threading.Condition(lock)  # idle workers wait on it
        self.busy: dict[int, Turn] = {}  # the jobs workers run, by thread
        self._aside = 0  # threads that passed the lead on, running their request still
        self.threads = 0  # the lead and the workers
        self._idle = 0  # workers waiting for jobs
        self._notified = 0  # idle workers woken, not yet awake
        self._coming = 0  # workers woken or started, not yet at the backlog
        self._closed = False  # no more jobs
        self._ended = False  # the connection is closed: workers end

    def __bool__(self) -> bool:
        """Whether jobs wait (read unlocked: a hint)."""
        return bool(self._jobs)

    def alone(self) -> bool:
        """Whether no thread but the lead has a request to run (under the lock)."""
        return not self._jobs and not self.busy and not self._aside

    def submit(self, jobs: list[Job]) -> None:
        """Queue jobs. A worker is woken only if none runs jobs or is on its way to:
        those running take the next when they are done."""
        with self._lock:
            if self._closed:
                return
            self._jobs.extend(jobs)
            if not self.busy and not self._coming:
                self._add_worker()

    def pass_lead(self) -> None:
        """Give the lead to an idle worker, else to a new thread (under the lock). The
        thread that had it runs its request aside until ``set_aside_done``: till then
        the new lead hands every request to the workers (a client sending blocking
        calls one at a time gets no more threads than ``WORKERS``)."""
        self._aside += 1
        if self._closed:
            return
        if self._notify():
            self._jobs.appendleft(LEAD)  # the first thing a worker takes
        else:
            # Even past WORKERS: one thread reads whatever the others are doing.
            self.threads += 1
            self._spawn(True)

    def overdue(self, now: float) -> None:
        """The watch's look (under the lock): if every worker has run its job past
        TAKEOVER, ``unblock``."""
        if all(now - turn.since > TAKEOVER for turn in self.busy.values()):
            if self._jobs and not self._coming:
                for turn in self.busy.values():
                    turn.taken = True  # they kept the backlog waiting
            self.unblock()

    def unblock(self) -> None:
        """The workers block, or are about to: another takes the backlog on, and the
        lead writes the replies they held back (under the lock)."""
        if self._jobs and not self._coming:
            self._add_worker()
        if self._outbox.ask():
            self._wake()

    def set_aside_done(self) -> None:
        """A thread that passed the lead on has run its request (under the lock)."""
        self._aside -= 1

    def started(self) -> None:
        """A worker that was started is at the backlog."""
        with self._lock:
            self._coming -= 1

    def take(self, me: int) -> Job | Lead | None:
        """Worker ``me``'s next job (in ``busy`` while it runs), or the lead; None once
        the connection has ended and the backlog is done. Before it waits for more, the
        worker writes the replies it held back."""
        with self._lock:
            done = self.busy.pop(me, None)
            if done is not None:
                self._slow.learn(done, time.monotonic() - done.since)
            while True:
                if self._jobs:
                    job = self._jobs.popleft()
                    if isinstance(job, Lead):
                        if self._closed:
                            continue
                    else:
                        self.busy[me] = Turn(time.monotonic())
                    return job
                if self._ended:
                    return None
                if self._outbox.take_turn(lead=False):
                    self._lock.release()
                    try:
                        self._outbox.write()
                    except OSError:
                        pass  # the lead sees it broken
                    finally:
                        self._lock.acquire()
                    if self._outbox.waiting():
                        self._wake()
                    continue
                self._idle += 1
                self._more.wait()
                self._idle -= 1
                if self._notified:
                    self._notified -= 1
                    self._coming -= 1

    def leave(self, me: int) -> None:
        """Worker ``me`` ends."""
        with self._lock:
            self.busy.pop(me, None)

    def close(self) -> None:
        """No more jobs (under the lock)."""
        self._closed = True

    def end(self) -> None:
        """The connection is closed: workers run what is left, and end (under the
        lock)."""
        self._ended = True
        self._more.notify_all()

    def _add_worker(self) -> None:
        """Wake an idle worker, else start one, if there are fewer than WORKERS (under
        the lock)."""
        if not self._notify() and self.threads < WORKERS:
            self.threads += 1
            self._coming += 1
            self._spawn(False)

    def _notify(self) -> bool:
        """Wake an idle worker not woken yet, if any (under the lock)."""
        if self._idle <= self._notified:
            return False
        self._notified += 1
        self._coming += 1
        self._more.notify()
        return True
