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

from dj_db_conn_pool.hooks import DriverHooks
from dj_db_conn_pool.mixin import PooledDatabaseWrapperMixin

_IDLE = 0  # TransactionStatus.IDLE in psycopg 3, TRANSACTION_STATUS_IDLE in psycopg2


# Whether libpq's transaction status is other than idle, read at every return:
# one call, picked for the driver once (psycopg 3's `info.transaction_status`
# would build an info object and an enum, about 1 µs).
if is_psycopg3:

    def _transaction_open(dbapi_connection: Any) -> bool:
        return int(dbapi_connection.pgconn.transaction_status) != _IDLE

else:

    def _transaction_open(dbapi_connection: Any) -> bool:
        return int(dbapi_connection.get_transaction_status()) != _IDLE


def _discard_all(dbapi_connection: Any) -> None:
    dbapi_connection.autocommit = True  # DISCARD ALL cannot run in a transaction
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("DISCARD ALL")
    finally:
        cursor.close()


class PostgreSQLHooks(DriverHooks):
    """What the pool asks psycopg (3 or 2): libpq knows the transaction status."""

    transaction_open = staticmethod(_transaction_open)
    can_reset_session = True
    reset_session = staticmethod(_discard_all)

    @staticmethod
    def broken(dbapi_connection: Any) -> bool:
        return bool(dbapi_connection.closed) or bool(getattr(dbapi_connection, "broken", False))


class PooledPostgreSQLMixin(PooledDatabaseWrapperMixin):
    """The pooled part shared by the PostgreSQL and PostGIS engines."""

    pool_shared_state = ("isolation_level",)
    pool_hooks = PostgreSQLHooks


class DatabaseWrapper(PooledPostgreSQLMixin, base.DatabaseWrapper):
    pass
