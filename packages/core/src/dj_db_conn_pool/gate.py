"""FairGate: lend a bounded number of permits in the order they were asked for.

SQLAlchemy's QueuePool is not fair: a thread that returns a connection and
asks again at once usually wins it back before a waiting thread wakes, so
under load some requests starve until TIMEOUT while others are served.
The gate hands a returned permit straight to the longest waiter.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

# How often a waiter looks for permits freed by the garbage collector.
_ORPHAN_CHECK = 0.5


class FairGate:
    """At most `capacity` holders at once; waiters are served first come, first served."""

    def __init__(self, capacity: int) -> None:
        self.capacity = self.free = capacity
        # Read without the lock by the parking lot at every return (racy reads,
        # for heuristics): attributes rather than properties, which cost a call.
        self.waiters: deque[threading.Lock] = deque()
        self._lock = threading.Lock()
        # Permits given back by finalizers, which must not take a lock (the
        # collector may run them while this thread holds it): applied later.
        self._orphans: deque[None] = deque()

    @property
    def waiting(self) -> int:
        """Return how many callers wait for a permit now."""
        return len(self.waiters)

    def try_acquire(self) -> bool:
        """Take a permit if one is free and nobody waits; never wait."""
        with self._lock:
            self._adopt_orphans()
            if self.free > 0 and not self.waiters:
                self.free -= 1
                return True
        return False

    def acquire(
        self,
        timeout: float,
        max_waiting: int | None,
        after_enqueue: Callable[[], object] | None = None,
    ) -> bool | None:
        """Take a permit: True, or False after `timeout`, or None if `max_waiting` wait already.

        `after_enqueue` runs once the caller is in the queue, so that whoever
        could free a permit without releasing one sees it waiting.
        """
        with self._lock:
            self._adopt_orphans()
            if self.free > 0 and not self.waiters:
                self.free -= 1
                return True
            if max_waiting is not None and len(self.waiters) >= max_waiting:
                return None
            waiter = threading.Lock()
            waiter.acquire()
            self.waiters.append(waiter)
        if after_enqueue is not None:
            after_enqueue()
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            if waiter.acquire(timeout=min(remaining, _ORPHAN_CHECK)):
                return True  # release() handed its permit to us
            if self._orphans:
                with self._lock:
                    self._adopt_orphans()
        with self._lock:
            try:
                self.waiters.remove(waiter)
            except ValueError:  # handed over just as the wait ran out: keep it
                return True
        return False

    def release(self) -> None:
        """Give a permit back: to the longest waiter if there is one."""
        with self._lock:
            self._adopt_orphans()
            self._release()

    def release_later(self) -> None:
        """Give a permit back from a finalizer: takes no lock."""
        self._orphans.append(None)

    def _adopt_orphans(self) -> None:
        while self._orphans:
            self._orphans.pop()
            self._release()

    def _release(self) -> None:
        if self.waiters:
            self.waiters.popleft().release()
        else:
            self.free += 1
