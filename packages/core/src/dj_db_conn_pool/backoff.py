"""Reconnect backoff: while connecting fails, one attempt per interval, the rest fail at once.

While the server is down, a pool whose every checkout opens a socket hammers
it: thousands of attempts per second from one process, and a fleet does that
to a database trying to come back. After a failed connect, the next attempt
may start only when the interval since the last one started is over; it
doubles with each failure, from FIRST up to the cap (RECONNECT_BACKOFF), each
cut by a random share up to half so that a fleet's processes do not retry in
step. The first attempt that
succeeds ends it. The pool asks before each attempt (admit()) and tells the
outcome (failed() / succeeded()); no clock or thread of its own.
"""

from __future__ import annotations

import datetime
import random
import threading
import time
from dataclasses import dataclass

FIRST = 0.05  # seconds: the interval after the first failure
_jitter = random.Random()


class Unreachable(Exception):
    """Connecting failed lately and the next attempt is not due: no socket was opened."""


@dataclass
class Outage:
    """What is known of the current run of failed connects."""

    since: float  # time.monotonic() of the first failure
    since_clock: str  # the wall clock then, HH:MM:SS, for messages
    failures: int = 0
    refused: int = 0  # attempts refused at once, without a socket
    next_attempt: float = 0.0
    last_error: str = ""


class ReconnectBackoff:
    """One pool's connect attempts while its server cannot be reached; cap 0 turns it off."""

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self._lock = threading.Lock()
        self.outage: Outage | None = None  # None: the last connect succeeded

    def admit(self) -> None:
        """Return if a connect attempt may start now; raise Unreachable if it must not.

        An admitted attempt during an outage takes the next slot at once: the
        checkouts that come while it connects fail at once too.
        """
        outage = self.outage
        if outage is None or not self.cap:
            return
        with self._lock:
            now = time.monotonic()
            if now >= outage.next_attempt:
                # Counted from this attempt's start: one that fails slowly (or
                # just as the server comes back) does not push the next one away.
                outage.next_attempt = now + self._interval(outage.failures + 1)
                return
            outage.refused += 1
            wait = outage.next_attempt - now
        raise Unreachable(
            f"unreachable since {outage.since_clock} "
            f"({now - outage.since:.1f}s, {outage.failures} failed attempts; last: "
            f"{outage.last_error}); next attempt in {wait:.2f}s (RECONNECT_BACKOFF={self.cap})"
        )

    def failed(self, error: str) -> bool:
        """Count a failed attempt, `error` already redacted; True if it starts an outage."""
        with self._lock:
            now = time.monotonic()
            outage = self.outage
            started = outage is None
            if outage is None:
                outage = self.outage = Outage(now, datetime.datetime.now().strftime("%H:%M:%S"))
                outage.next_attempt = now + self._interval(1)
            outage.failures += 1
            outage.last_error = error.strip().splitlines()[0][:200] if error.strip() else "?"
        return started

    def succeeded(self) -> Outage | None:
        """End the outage, if any: return it, for the log line."""
        if self.outage is None:
            return None
        with self._lock:
            outage, self.outage = self.outage, None
        return outage

    def _interval(self, failures: int) -> float:
        nominal: float = min(self.cap, FIRST * 2.0 ** min(failures - 1, 32))
        return nominal * (1 - 0.5 * _jitter.random())
