"""The errors a pool raises, as classes its owner chooses (Django's, for the mixin)."""

from __future__ import annotations

from dataclasses import dataclass


class PoolError(Exception):
    """A connection could not be checked out of the pool."""


class PoolTimeout(PoolError):
    """Every connection stayed checked out for longer than TIMEOUT."""


class TooManyRequests(PoolError):
    """MAX_WAITING requests already wait: refused at once, without waiting."""


@dataclass(frozen=True)
class Errors:
    """The classes a pool raises; the Django layer passes subclasses of OperationalError."""

    pool_error: type[Exception] = PoolError
    timeout: type[Exception] = PoolTimeout
    too_many_requests: type[Exception] = TooManyRequests
