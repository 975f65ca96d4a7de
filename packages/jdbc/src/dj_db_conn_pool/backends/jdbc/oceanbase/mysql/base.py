"""OceanBase's MySQL mode over JDBC, on Django's MySQL backend: ENGINE
'dj_db_conn_pool.backends.jdbc.oceanbase.mysql'.

The driver is OPTIONS['JDBC_DRIVER'] when set; otherwise OceanBase's
(com.oceanbase.jdbc.Driver) when its jar is on the classpath (OPTIONS['JDBC_CLASSPATH']
or CLASSPATH), else MariaDB Connector/J (org.mariadb.jdbc.Driver), which speaks
OceanBase's MySQL mode as well as MariaDB and MySQL. On OceanBase, what OceanBase
supports and its version check come from dj_db_conn_pool.oceanbase, shared with the
native engine. Django's MySQL backend imports mysqlclient at import time, so it must
be installed, though JDBC carries the connections.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper

try:
    from django.db.backends.mysql import base
    from django.db.backends.mysql.features import DatabaseFeatures as MySQLFeatures
    from django.db.backends.mysql.introspection import (
        DatabaseIntrospection as MySQLIntrospection,
    )
    from django.db.backends.mysql.operations import DatabaseOperations as MySQLOperations
    from django.db.backends.mysql.schema import DatabaseSchemaEditor as MySQLSchemaEditor
    from MySQLdb.constants import FIELD_TYPE
except ImproperlyConfigured as error:
    raise ImproperlyConfigured(
        f"{error}. dj_db_conn_pool.backends.jdbc.oceanbase.mysql builds on Django's MySQL "
        "backend, which imports mysqlclient: pip install "
        "'django-db-connection-pool-jdbc[mysql]'."
    ) from error

# After Django's MySQL backend, which imports django.db.models first.
from django.db.backends.base.operations import BaseDatabaseOperations

from dj_db_conn_pool.oceanbase import (
    OceanBaseFeaturesMixin,
    OceanBaseSchemaEditorMixin,
    OceanBaseWrapperMixin,
)

from ... import config, dbapi, jvm
from ...mixin import JDBCDatabaseWrapperMixin
from ..base import DRIVER

MARIADB_DRIVER = "org.mariadb.jdbc.Driver"


def quote(value: Any) -> str:
    """Return `value` as an SQL literal, as mysqlclient would inline it."""
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


class CursorWrapper(base.CursorWrapper):
    """Django's MySQL cursor wrapper, for the JDBC engine's errors.

    The server errors that Django turns into IntegrityError come as mysqlclient's
    OperationalError there; here as whatever their SQLSTATE says (1690: DataError).
    """

    def execute(self, query: str, args: Any = None) -> Any:
        with self._integrity_errors():
            return self.cursor.execute(query, args)

    def executemany(self, query: str, args: Any) -> Any:
        with self._integrity_errors():
            return self.cursor.executemany(query, args)

    @contextmanager
    def _integrity_errors(self) -> Iterator[None]:
        try:
            yield
        except dbapi.DatabaseError as error:
            if error.args and error.args[0] in self.codes_for_integrityerror:
                raise dbapi.IntegrityError(*error.args) from error
            raise


class DatabaseFeatures(OceanBaseFeaturesMixin, MySQLFeatures):
    # JDBC cursors return lists; mysqlclient's (); an instance attribute to django-stubs.
    empty_fetchmany_value: list[Any] = []  # noqa: RUF012
    # DatabaseSchemaEditor.execute() inlines the parameters (as PostgreSQL's does).
    schema_editor_uses_clientside_param_binding = True


# The field type that mysqlclient's cursor.description gives for each of
# information_schema's DATA_TYPEs: the java.sql.Types codes of a JDBC cursor
# cannot tell a BLOB from a VARBINARY, nor a TINYINT(1) from a BIT.
_TEXT = ("tinytext", "text", "mediumtext", "longtext", "tinyblob", "blob", "mediumblob", "longblob")
_FIELD_TYPES = {
    "tinyint": FIELD_TYPE.TINY, "smallint": FIELD_TYPE.SHORT, "mediumint": FIELD_TYPE.INT24,
    "int": FIELD_TYPE.LONG, "bigint": FIELD_TYPE.LONGLONG, "float": FIELD_TYPE.FLOAT,
    "double": FIELD_TYPE.DOUBLE, "decimal": FIELD_TYPE.NEWDECIMAL, "char": FIELD_TYPE.STRING,
    "binary": FIELD_TYPE.STRING, "enum": FIELD_TYPE.STRING, "set": FIELD_TYPE.STRING,
    "varchar": FIELD_TYPE.VAR_STRING, "varbinary": FIELD_TYPE.VAR_STRING,
    "date": FIELD_TYPE.DATE, "time": FIELD_TYPE.TIME, "datetime": FIELD_TYPE.DATETIME,
    "timestamp": FIELD_TYPE.TIMESTAMP, "year": FIELD_TYPE.YEAR, "json": FIELD_TYPE.JSON,
    "bit": FIELD_TYPE.BIT, **dict.fromkeys(_TEXT, FIELD_TYPE.BLOB),
}  # fmt: skip


class DatabaseIntrospection(MySQLIntrospection):
    def get_field_type(self, data_type: Any, description: Any) -> str:
        # data_type is the JDBC type code: read the column's own type instead.
        mysql_type = _FIELD_TYPES.get(str(description.data_type).lower(), data_type)
        return super().get_field_type(mysql_type, description)


class DatabaseOperations(MySQLOperations):
    def binary_placeholder_sql(self, *args: Any) -> Any:
        # Connector/J sends bytes as _binary'...' itself: Django's "_binary %s" would
        # double it. Django's plain placeholder (5.2 takes value; 6 value, compiler).
        return BaseDatabaseOperations.binary_placeholder_sql(self, *args)

    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str:
        # Django's reads mysqlclient's cursor._executed, the statement sent (after
        # execute wrappers) with its parameters inlined; JDBC sends them apart:
        # inline the cursor's last statement and parameters alike.
        if cursor.query is not None:
            sql, params = cursor.query
        if not params:
            return sql
        if isinstance(params, Mapping):
            return sql % {key: quote(value) for key, value in params.items()}
        return sql % tuple(quote(value) for value in params)


class DatabaseSchemaEditor(OceanBaseSchemaEditorMixin, MySQLSchemaEditor):
    def quote_value(self, value: Any) -> str:
        # Django's asks mysqlclient's connection to escape; a JDBC one cannot.
        return quote(value)

    def execute(self, sql: Any, params: Any = ()) -> None:
        # Inline the parameters, as mysqlclient does: Connector/J sends a bytes
        # default holding a double quote (b'"\'"') into DDL as broken SQL.
        if params:
            sql, params = str(sql) % tuple(map(quote, params)), None
        super().execute(sql, params)


class MySQLOverJDBC(base.DatabaseWrapper):
    """Django's MySQL backend, where JDBC differs from mysqlclient."""

    SchemaEditorClass = DatabaseSchemaEditor
    features_class = DatabaseFeatures
    introspection_class = DatabaseIntrospection
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


# display_name: a property here, an attribute in django-stubs.
class DatabaseWrapper(  # type: ignore[override]
    JDBCDatabaseWrapperMixin, OceanBaseWrapperMixin, MySQLOverJDBC
):
    jdbc_driver = DRIVER
    jdbc_dialect = dbapi.MYSQL
    django_options = ("isolation_level",)

    def jdbc_settings(self) -> config.JDBCSettings:
        # Without JDBC_DRIVER: OceanBase's driver if its jar is there, else MariaDB's.
        options = self.settings_dict.get("OPTIONS") or {}
        classpath = options.get("JDBC_CLASSPATH") or ()
        jars = [classpath] if isinstance(classpath, str) else list(classpath)
        jars = [jar for jar in jars if isinstance(jar, str)]  # read() says what is wrong
        found = jvm.find_class((DRIVER, MARIADB_DRIVER), jars)
        default = found or self.jdbc_driver
        return config.read(self.settings_dict, self.alias, default, self.django_options)

    def get_connection_params(self) -> dict[str, Any]:
        # Django's checks OPTIONS['isolation_level'] and keeps it for init_connection_state().
        base.DatabaseWrapper.get_connection_params(self)
        return super().get_connection_params()

    def create_cursor(self, name: str | None = None) -> Any:
        return CursorWrapper(super().create_cursor(name))
