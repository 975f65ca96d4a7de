"""FairGate: lend a bounded number of permits in the order they were asked for.

SQLAlchemy's QueuePool is not fair: a thread that returns a connection and
asks again at once usually wins it back before a waiting thread wakes, so
under load some requests starve until TIMEOUT while others are served.
The gate hands a returned permit straight to the longest waiter.
"""

from __future__ import annotations

import threading
from collections import deque


class FairGate:
    """At most `capacity` holders at once; waiters are served first come, first served."""

    def __init__(self, capacity: int) -> None:
        self._free = capacity
        self._waiters: deque[threading.Lock] = deque()
        self._lock = threading.Lock()

    @property
    def waiting(self) -> int:
        """Return how many callers wait for a permit now."""
        return len(self._waiters)

    def acquire(self, timeout: float, max_waiting: int | None) -> bool | None:
        """Take a permit: True, or False after `timeout`, or None if `max_waiting` wait already."""
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            if max_waiting is not None and len(self._waiters) >= max_waiting:
                return None
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=timeout):
            return True  # release() handed its permit to us
        with self._lock:
            try:
                self._waiters.remove(waiter)
            except ValueError:  # handed over just as the wait ran out: keep it
                return True
        return False

    def release(self) -> None:
        """Give a permit back: to the longest waiter if there is one."""
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1
