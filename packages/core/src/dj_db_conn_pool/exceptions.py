"""The errors a pool raises, all Django ``OperationalError`` subclasses."""

from __future__ import annotations

from django.db import OperationalError


class PoolError(OperationalError):
    """A connection could not be checked out of the pool."""


class PoolTimeout(PoolError):
    """Every connection stayed checked out for longer than TIMEOUT."""
