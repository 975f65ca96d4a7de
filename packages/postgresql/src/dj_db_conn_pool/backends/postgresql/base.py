"""PostgreSQL through Django's own backend (psycopg 3 or psycopg2), pooled."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

try:
    from django.db.backends.postgresql import base
except ImproperlyConfigured as error:
    raise ImproperlyConfigured(
        f"{error}. dj_db_conn_pool.backends.postgresql needs a PostgreSQL driver: "
        "pip install 'django-db-connection-pool-postgresql[psycopg]' "
        "(or '[psycopg2]')."
    ) from error

from django.db.backends.postgresql.psycopg_any import is_psycopg3

from dj_db_conn_pool.mixin import PooledDatabaseWrapperMixin

_IDLE = 0  # TransactionStatus.IDLE in psycopg 3, TRANSACTION_STATUS_IDLE in psycopg2


# libpq's transaction status as a plain int, read at every return: psycopg 3's
# `info.transaction_status` builds an info object and an enum (about 1 µs).
def _transaction_status(dbapi_connection: Any) -> int:
    if is_psycopg3:
        return int(dbapi_connection.pgconn.transaction_status)
    return int(dbapi_connection.get_transaction_status())


class PostgreSQLPoolHooks(PooledDatabaseWrapperMixin):
    """What the pool asks psycopg (3 or 2): shared by the PostgreSQL and PostGIS engines."""

    pool_shared_state = ("isolation_level",)

    @staticmethod
    def pool_transaction_open(dbapi_connection: Any) -> bool:
        return _transaction_status(dbapi_connection) != _IDLE

    @staticmethod
    def pool_connection_broken(dbapi_connection: Any) -> bool:
        return bool(dbapi_connection.closed) or bool(getattr(dbapi_connection, "broken", False))

    @staticmethod
    def pool_ping(dbapi_connection: Any) -> None:
        PooledDatabaseWrapperMixin.pool_ping(dbapi_connection)
        if _transaction_status(dbapi_connection) != _IDLE:
            dbapi_connection.rollback()

    @staticmethod
    def pool_reset_session(dbapi_connection: Any) -> None:
        dbapi_connection.autocommit = True  # DISCARD ALL cannot run in a transaction
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("DISCARD ALL")
        finally:
            cursor.close()


class DatabaseWrapper(PostgreSQLPoolHooks, base.DatabaseWrapper):
    pass
