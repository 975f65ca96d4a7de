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

from dj_db_conn_pool.capacity import Limit, one_row, server_of
from dj_db_conn_pool.hooks import DriverHooks
from dj_db_conn_pool.mixin import PooledDatabaseWrapperMixin

_IDLE = 0  # TransactionStatus.IDLE in psycopg 3, TRANSACTION_STATUS_IDLE in psycopg2


# Read at every return, each picked for the driver once:
# - _transaction_open: whether libpq's transaction status is other than idle, one
#   call (psycopg 3's `info.transaction_status` would build an info object and an
#   enum, about 1 µs);
# - _read_only: whether the server last said the session cannot write, from the
#   parameter status libpq keeps, which PostgreSQL 14+ reports after any round
#   trip (a standby, or default_transaction_read_only turned on).
if is_psycopg3:

    def _transaction_open(dbapi_connection: Any) -> bool:
        return int(dbapi_connection.pgconn.transaction_status) != _IDLE

    def _read_only(dbapi_connection: Any) -> bool:
        status = dbapi_connection.pgconn.parameter_status
        return b"on" in (status(b"default_transaction_read_only"), status(b"in_hot_standby"))

    def _sqlstate(error: BaseException) -> str | None:
        return getattr(error, "sqlstate", None)

else:

    def _transaction_open(dbapi_connection: Any) -> bool:
        return int(dbapi_connection.get_transaction_status()) != _IDLE

    def _read_only(dbapi_connection: Any) -> bool:
        status = dbapi_connection.get_parameter_status
        return "on" in (status("default_transaction_read_only"), status("in_hot_standby"))

    def _sqlstate(error: BaseException) -> str | None:
        return getattr(error, "pgcode", None)


_READ_ONLY_SQL_TRANSACTION = "25006"  # cannot execute ... in a read-only transaction


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
    read_only = staticmethod(_read_only)
    can_reset_session = True
    reset_session = staticmethod(_discard_all)

    @staticmethod
    def read_only_error(error: BaseException) -> bool:
        return _sqlstate(error) == _READ_ONLY_SQL_TRANSACTION

    @staticmethod
    def broken(dbapi_connection: Any) -> bool:
        return bool(dbapi_connection.closed) or bool(getattr(dbapi_connection, "broken", False))


_LIMITS = """
SELECT current_setting('max_connections')::int,
       current_setting('superuser_reserved_connections')::int,
       coalesce(current_setting('reserved_connections', true), '0')::int,
       r.rolconnlimit, r.rolsuper, d.datconnlimit, current_user, current_database(),
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')
FROM pg_roles r, pg_database d
WHERE r.rolname = current_user AND d.datname = current_database()
"""


class PooledPostgreSQLMixin(PooledDatabaseWrapperMixin):
    """The pooled part shared by the PostgreSQL and PostGIS engines."""

    pool_shared_state = ("isolation_level",)
    pool_hooks = PostgreSQLHooks

    def pool_server_limits(self) -> list[Limit]:
        """Return the server's connection limits: its own, the role's, the database's."""
        server, where = server_of(self)
        (maximum, superuser_reserved, reserved, role_limit, superuser, db_limit, user, database,
         connected) = one_row(self, _LIMITS)  # fmt: skip
        limits = [
            Limit(
                ("server", *server),
                f"PostgreSQL {where}",
                maximum - superuser_reserved - reserved,
                f"max_connections {maximum} - superuser_reserved_connections "
                f"{superuser_reserved} - reserved_connections {reserved}",
                int(connected),
            )
        ]
        if superuser:  # PostgreSQL does not apply CONNECTION LIMITs to superusers
            exempt = f"role {user!r} is a superuser: CONNECTION LIMIT does not apply"
            return [*limits, Limit(("role", *server, user), f"role {user!r}", None, exempt)]
        return [
            *limits,
            Limit(
                ("role", *server, user),
                f"role {user!r}",
                None if role_limit < 0 else role_limit,
                f"rolconnlimit {role_limit}",
            ),
            Limit(
                ("database", *server, database),
                f"database {database!r}",
                None if db_limit < 0 else db_limit,
                f"datconnlimit {db_limit}",
            ),
        ]


class DatabaseWrapper(PooledPostgreSQLMixin, base.DatabaseWrapper):
    pass
