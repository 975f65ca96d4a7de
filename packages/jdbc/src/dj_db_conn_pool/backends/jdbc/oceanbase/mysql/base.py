"""OceanBase's MySQL mode over JDBC, on Django's MySQL backend: ENGINE
'dj_db_conn_pool.backends.jdbc.oceanbase.mysql'.

The driver is OceanBase's (com.oceanbase.jdbc.Driver) unless OPTIONS['JDBC_DRIVER']
names another MySQL-protocol driver: MariaDB Connector/J (org.mariadb.jdbc.Driver)
reaches MariaDB and MySQL the same way. Django's MySQL backend imports mysqlclient
at import time, so it must be installed, though JDBC carries the connections.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper

try:
    from django.db.backends.mysql import base
    from django.db.backends.mysql.features import DatabaseFeatures as MySQLFeatures
    from django.db.backends.mysql.operations import DatabaseOperations as MySQLOperations
    from django.db.backends.mysql.schema import DatabaseSchemaEditor as MySQLSchemaEditor
except ImproperlyConfigured as error:
    raise ImproperlyConfigured(
        f"{error}. dj_db_conn_pool.backends.jdbc.oceanbase.mysql builds on Django's MySQL "
        "backend, which imports mysqlclient: pip install "
        "'django-db-connection-pool-jdbc[mysql]'."
    ) from error

# After Django's MySQL backend, which imports django.db.models first.
from django.db.backends.base.operations import BaseDatabaseOperations

from ... import dbapi
from ...mixin import JDBCDatabaseWrapperMixin
from ..base import DRIVER


class DatabaseFeatures(MySQLFeatures):
    # JDBC cursors return lists; mysqlclient's (); an instance attribute to django-stubs.
    empty_fetchmany_value: list[Any] = []  # noqa: RUF012


class DatabaseOperations(MySQLOperations):
    def binary_placeholder_sql(self, *args: Any) -> Any:
        # Connector/J sends bytes as _binary'...' itself: Django's "_binary %s" would
        # double it. Django's plain placeholder (5.2 takes value; 6 value, compiler).
        return BaseDatabaseOperations.binary_placeholder_sql(self, *args)


class DatabaseSchemaEditor(MySQLSchemaEditor):
    def quote_value(self, value: Any) -> str:
        # Django's asks mysqlclient's connection to escape; a JDBC one cannot.
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return str(int(value))
        if isinstance(value, (int, float, decimal.Decimal)):
            return str(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return f"X'{bytes(value).hex()}'"
        if isinstance(value, (datetime.date, datetime.time)):
            value = str(value)
        escaped = str(value).replace("\\", "\\\\").replace("'", "''")
        return f"'{escaped}'"


class MySQLOverJDBC(base.DatabaseWrapper):
    """Django's MySQL backend, where JDBC differs from mysqlclient."""

    SchemaEditorClass = DatabaseSchemaEditor
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations

    def init_connection_state(self) -> None:
        # Django sends its assignments as one "a; b" string, which JDBC drivers
        # refuse unless allowMultiQueries is on: send them one at a time.
        BaseDatabaseWrapper.init_connection_state(self)
        assignments = []
        if self.features.is_sql_auto_is_null_enabled:
            assignments.append("SET SQL_AUTO_IS_NULL = 0")
        if self.isolation_level:
            level = self.isolation_level.upper()
            assignments.append(f"SET SESSION TRANSACTION ISOLATION LEVEL {level}")
        with self.cursor() as cursor:
            for assignment in assignments:
                cursor.execute(assignment)


class DatabaseWrapper(JDBCDatabaseWrapperMixin, MySQLOverJDBC):
    jdbc_driver = DRIVER
    jdbc_dialect = dbapi.MYSQL
    django_options = ("isolation_level",)

    def get_connection_params(self) -> dict[str, Any]:
        # Django's checks OPTIONS['isolation_level'] and keeps it for init_connection_state().
        base.DatabaseWrapper.get_connection_params(self)
        return super().get_connection_params()
