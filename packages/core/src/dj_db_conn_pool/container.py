"""PoolContainer: the per-process registry of SQLAlchemy pools."""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import PoolProxiedConnection, QueuePool

from . import fork, options
from .exceptions import PoolError, PoolTimeout
from .liveness import socket_has_news

if TYPE_CHECKING:
    from .mixin import PooledDatabaseWrapperMixin

logger = logging.getLogger("dj_db_conn_pool")

_RETURNED_AT = "dj_db_conn_pool.returned_at"


class PoolEntry:
    """One SQLAlchemy pool, for one alias and one set of connection settings."""

    def __init__(self, wrapper: PooledDatabaseWrapperMixin, conn_params: dict[str, Any]) -> None:
        self.alias = wrapper.alias
        self.database = wrapper.settings_dict.get("NAME")
        self.options = options.resolve(wrapper.settings_dict.get("POOL_OPTIONS"), self.alias)
        self.retired = False
        # A private copy of the wrapper, made from today's settings, creates the
        # physical connections; Django's later in-place edits of the live
        # wrapper's settings (test databases) then route to a new pool instead.
        self.factory = wrapper.copy()
        self._conn_params = dict(conn_params)
        self._engine = type(wrapper)
        opts = self.options
        self.pool = QueuePool(
            self._connect,
            pool_size=opts["POOL_SIZE"],
            max_overflow=opts["MAX_OVERFLOW"],
            timeout=opts["TIMEOUT"],
            recycle=opts["RECYCLE"],
            use_lifo=opts["USE_LIFO"],
            echo=opts["ECHO"],
            logging_name=self.alias,
            reset_on_return=None,  # _on_reset rolls back only an open transaction
        )
        event.listen(self.pool, "reset", self._on_reset)
        event.listen(self.pool, "checkin", self._on_checkin)
        if opts["PRE_PING"]:
            event.listen(self.pool, "checkout", self._on_checkout)

    def __repr__(self) -> str:
        return f"<PoolEntry {self.alias!r} database={self.database!r} {self.pool.status()}>"

    def _connect(self) -> Any:
        connection = self.factory.new_raw_connection(self._conn_params)
        fork.track(connection)
        logger.debug("pool %r: opened a new connection to %r", self.alias, self.database)
        return connection

    def _on_reset(self, dbapi_connection: Any, record: Any, state: Any) -> None:
        if self._engine.pool_transaction_open(dbapi_connection):
            dbapi_connection.rollback()

    def _on_checkin(self, dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    def _on_checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None:  # a brand-new connection
            return
        idle = time.monotonic() - returned_at
        if idle < self.options["PING_INTERVAL"] and not socket_has_news(dbapi_connection):
            return
        try:
            self._engine.pool_ping(dbapi_connection)
        except Exception as error:
            logger.info(
                "pool %r: a pooled connection failed its ping after %.1fs idle (%s); replacing it",
                self.alias,
                idle,
                type(error).__name__,
            )
            raise sa_exc.DisconnectionError() from error

    def checkout(self) -> PoolProxiedConnection:
        """Check a connection out, or raise PoolTimeout or PoolError."""
        try:
            return self.pool.connect()
        except sa_exc.TimeoutError as error:
            raise PoolTimeout(
                f"Pool {self.alias!r} (database {self.database!r}) is exhausted: "
                f"{self.pool.checkedout()} connections checked out "
                f"(POOL_SIZE={self.options['POOL_SIZE']}, "
                f"MAX_OVERFLOW={self.options['MAX_OVERFLOW']}), "
                f"none returned within TIMEOUT={self.options['TIMEOUT']}s."
            ) from error
        except sa_exc.SQLAlchemyError as error:
            raise PoolError(
                f"Pool {self.alias!r} (database {self.database!r}) could not check "
                f"out a connection: {error}"
            ) from error

    def checkin(self, fairy: PoolProxiedConnection, reusable: bool) -> None:
        """Return a connection: pooled if reusable, else closed for good."""
        if not reusable:
            fairy.invalidate()
        elif self.retired:
            fairy.detach()
            fairy.close()
        else:
            fairy.close()

    def retire(self) -> None:
        """Close the idle connections; the checked-out ones close on return."""
        self.retired = True
        self.pool.dispose()


class PoolContainer:
    """Hold this process's pools, keyed by alias and connection settings."""

    def __init__(self) -> None:
        self._pools: dict[tuple[Any, ...], PoolEntry] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()
        # Wrappers holding a checkout, so that a forked child can let go of them.
        self._holders: weakref.WeakSet[PooledDatabaseWrapperMixin] = weakref.WeakSet()
        self._inherited: list[Any] = []

    def get(self, wrapper: PooledDatabaseWrapperMixin, conn_params: dict[str, Any]) -> PoolEntry:
        """Return the pool for this wrapper's current settings, creating it once."""
        if self._pid != os.getpid():  # forked by C code that skipped os.register_at_fork
            self.after_fork_in_child()
        key = wrapper.pool_key()
        entry = self._pools.get(key)
        if entry is None:
            with self._lock:
                entry = self._pools.get(key)
                if entry is None:
                    entry = self._pools[key] = PoolEntry(wrapper, conn_params)
        return entry

    def hold(self, wrapper: PooledDatabaseWrapperMixin) -> None:
        self._holders.add(wrapper)

    def unhold(self, wrapper: PooledDatabaseWrapperMixin) -> None:
        self._holders.discard(wrapper)

    def close_alias(self, alias: str) -> None:
        """Retire every pool of this alias (Django's close_pool())."""
        with self._lock:
            keys = [key for key, entry in self._pools.items() if entry.alias == alias]
            retired = [self._pools.pop(key) for key in keys]
        for entry in retired:
            entry.retire()

    def close_all(self) -> None:
        """Retire every pool of this process."""
        with self._lock:
            retired = list(self._pools.values())
            self._pools.clear()
        for entry in retired:
            entry.retire()

    def entries(self) -> list[PoolEntry]:
        """Return the live pools, for stats and tests."""
        return list(self._pools.values())

    def after_fork_in_child(self) -> None:
        """Forget the parent's pools and connections without closing its sessions."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        # Keep the parent's objects alive: their finalizers would take locks that
        # another parent thread may have held at the fork.
        self._inherited.append((self._pools, list(self._holders)))
        for wrapper in list(self._holders):
            wrapper.pool_forget()
        self._pools = {}
        self._holders = weakref.WeakSet()
        fork.drop_inherited()


pool_container = PoolContainer()
os.register_at_fork(after_in_child=pool_container.after_fork_in_child)
