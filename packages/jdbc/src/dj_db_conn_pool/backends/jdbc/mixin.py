"""What every JDBC engine adds to the Django backend beneath it: JDBC connections, pooled."""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS

from dj_db_conn_pool.hooks import DriverHooks
from dj_db_conn_pool.mixin import PooledDatabaseWrapperMixin

from . import config, dbapi


class JDBCHooks(DriverHooks):
    """What the pool asks a JDBC connection: whether the driver closed it, without
    asking the server; a ping is isValid(). It cannot prove that no transaction
    is open (in autocommit mode a raw BEGIN opens one all the same), so every
    return rolls back: transaction_open stays the default, True.
    """

    @staticmethod
    def rollback(dbapi_connection: Any) -> None:
        if dbapi_connection.autocommit:  # JDBC's rollback() refuses or skips it here
            with dbapi_connection.cursor() as cursor:
                cursor.execute("ROLLBACK")
        else:
            dbapi_connection.rollback()

    @staticmethod
    def broken(dbapi_connection: Any) -> bool:
        return bool(dbapi_connection.closed)

    @staticmethod
    def ping(dbapi_connection: Any) -> None:
        dbapi_connection.ping()


class JDBCDatabaseWrapperMixin(PooledDatabaseWrapperMixin):
    """Open connections through a JDBC driver; the Django backend beneath stays as it is.

    Put it before Django's DatabaseWrapper for the SQL dialect, and name the
    engine's default driver class and its dialect.
    """

    Database = dbapi
    pool_hooks = JDBCHooks
    jdbc_driver: str | None = None  # the default OPTIONS['JDBC_DRIVER']; None: required
    jdbc_dialect = dbapi.GENERIC
    # OPTIONS keys that the Django backend reads itself, not driver properties.
    django_options: tuple[str, ...] = ()

    def __init__(self, settings_dict: dict[str, Any], alias: str = DEFAULT_DB_ALIAS) -> None:
        super().__init__(settings_dict, alias)
        self.jdbc_settings()  # wrong settings fail here, like Django's own

    def jdbc_settings(self) -> config.JDBCSettings:
        """Return the alias's JDBC settings as they are now."""
        return config.read(self.settings_dict, self.alias, self.jdbc_driver, self.django_options)

    def get_connection_params(self) -> dict[str, Any]:
        return {"jdbc": self.jdbc_settings()}

    def new_raw_connection(self, conn_params: dict[str, Any]) -> dbapi.Connection:
        where = f"DATABASES[{self.alias!r}]['OPTIONS']"
        return dbapi.connect(conn_params["jdbc"], self.jdbc_dialect, where)

    def create_cursor(self, name: str | None = None) -> Any:
        return self.connection.cursor()

    def _set_autocommit(self, autocommit: bool) -> None:
        with self.wrap_database_errors:
            self.connection.autocommit = autocommit

    def is_usable(self) -> bool:
        try:
            self.connection.ping()
        except dbapi.Error:
            return False
        return True
