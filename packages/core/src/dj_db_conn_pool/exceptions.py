"""The errors a pool raises, all Django ``OperationalError`` subclasses."""

from __future__ import annotations

from django.db import OperationalError

from .errors import Errors


class PoolError(OperationalError):
    """A connection could not be checked out of the pool."""


class PoolTimeout(PoolError):
    """Every connection stayed checked out for longer than TIMEOUT."""


class TooManyRequests(PoolError):
    """MAX_WAITING requests already wait: refused at once, without waiting."""


# What the Django layer's pools raise (see errors.py).
DJANGO_ERRORS = Errors(pool_error=PoolError, timeout=PoolTimeout, too_many_requests=TooManyRequests)
