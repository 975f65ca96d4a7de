"""STICKY: a thread keeps its connection after close() until another thread needs it.

A returned connection goes back to SQLAlchemy's queue through a checkin and
comes out through a checkout: a few dozen microseconds, every request. Parked
instead, it stays checked out (and counted against the pool's bound) but is
free for the taking: its own thread takes it back with one lock, any other
thread that would otherwise open an overflow connection or wait takes it over
(within POOL_SIZE it opens its own: see PoolEntry.checkout). A lock per
connection decides who gets it; nobody ever waits on it.

The set of parked connections takes no lock of its own: add, discard and pop
are each one C call on a set of objects hashed by identity, which the GIL (or
a free-threaded build's per-object lock) keeps whole. A connection is used
only by whoever holds its claim, so the set may briefly list one in use (a
thread that finds it so passes on) but never hides one that is parked.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pool import Checkout, PoolEntry


class ParkingLot:
    """The connections of one pool that are parked, and the rules to take one."""

    def __init__(self, entry: PoolEntry) -> None:
        self.entry = entry
        self._parked: set[Checkout] = set()
        # What park() asks at every return, fixed for the pool's life: read once.
        # Nothing is parked without STICKY, nor with RESET_ON_RETURN="session"
        # (the reset happens on the real return).
        self._enabled = entry.sticky and not entry.resets_session
        self._transaction_open = entry.engine.pool_transaction_open
        self._gate = entry.gate
        # A permit returned while fewer than this many are free belongs to an
        # overflow connection (more than POOL_SIZE out), which is never parked.
        self._overflow_below = entry.overflow_below
        # For fresh_until (see park()), fixed for the pool's life like the above.
        self._max_age = entry.max_age
        self._unchecked_for = entry.unchecked_for

    def __len__(self) -> int:
        return len(self._parked)

    def park(self, checkout: Checkout) -> bool:
        """Keep a returned connection parked; False if it must go back to the queue."""
        gate = self._gate
        if (
            not self._enabled
            or self.entry.retired
            or (gate is not None and (gate.waiters or gate.free < self._overflow_below))
        ):
            return False  # or someone waits, or it is an overflow connection
        connection: Any = checkout.dbapi_connection
        try:
            if self._transaction_open(connection):
                connection.rollback()
        except Exception:
            return False  # the real return discards it
        checkout.parked_at = now = time.monotonic()
        # Until then, its own wrapper takes it back with one comparison: it is
        # younger than RECYCLE and back too soon for a ping or a poll.
        fresh_until = now + self._unchecked_for
        expires_at = checkout.opened_at + self._max_age
        checkout.fresh_until = fresh_until if fresh_until < expires_at else expires_at
        # Free first, then listed: listed while still claimed, it could be popped
        # by a thread that then fails to claim it, and stay parked unlisted.
        checkout.claim.release()
        self._parked.add(checkout)
        if gate is not None and gate.waiters:  # a waiter queued while we parked: serve it
            self.hand_to_waiter()
        return True

    def claim(self, checkout: Checkout) -> bool:
        """Take back a connection this wrapper parked, unless another thread took it."""
        if not checkout.claim.acquire(blocking=False):
            return False
        self._parked.discard(checkout)
        return True

    def take_any(self) -> Checkout | None:
        """Take over any parked connection, or return None."""
        while True:
            try:
                checkout = self._parked.pop()
            except KeyError:
                return None
            if checkout.claim.acquire(blocking=False):
                self._parked.discard(checkout)  # it may have been parked again meanwhile
                return checkout

    def hand_to_waiter(self) -> None:
        """Return a parked connection for real, so that its permit goes to a waiter."""
        checkout = self.take_any()
        if checkout is not None:
            self.entry.checkin(checkout, reusable=True)

    def drain(self) -> None:
        """Return every parked connection for real (the pool is being retired)."""
        while (checkout := self.take_any()) is not None:
            self.entry.checkin(checkout, reusable=True)
