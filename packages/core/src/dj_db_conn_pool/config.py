"""PoolConfig: everything a pool is built from, as plain values (no Django)."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import errors


@dataclass(frozen=True)
class PoolConfig:
    """One pool's settings. The option fields are POOL_OPTIONS' keys in lower case."""

    name: str  # the alias: in the pool's repr, its log lines and its errors
    where: str = "the database"  # "database 'app' on 'db' as 'app'", for messages
    database: str | None = None  # for stats
    secret: str = ""  # never shown: replaced by ******** in messages
    autocommit: bool = True  # the driver mode every connection is given back with
    errors: errors.Errors = field(default_factory=errors.Errors)
    pool_size: int = 10
    max_overflow: int = 10
    recycle: float = 900
    pre_ping: bool = True
    ping_interval: float = 30
    timeout: float = 30
    use_lifo: bool = False
    echo: bool | str = False
    max_waiting: int | None = None
    reset_on_return: str = "rollback"
    leak_timeout: float | None = None
    sticky: bool = True
    slow_checkout: float | None = 1.0
    credentials: str | None = None  # read by the Django layer (credentials.py), not here
    reconnect_backoff: float = 1.0
    min_size: int = 0  # kept open ahead of need by maintenance.py
    idle_timeout: float | None = None  # idle connections above min_size closed after this

    @property
    def bounded(self) -> bool:
        """Return whether the pool has a limit (POOL_SIZE > 0 and MAX_OVERFLOW >= 0)."""
        return self.pool_size > 0 and self.max_overflow >= 0
