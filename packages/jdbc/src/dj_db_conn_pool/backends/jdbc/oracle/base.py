"""Oracle over JDBC (Oracle's ojdbc driver), on Django's Oracle backend: ENGINE
'dj_db_conn_pool.backends.jdbc.oracle'.

The URL is jdbc:oracle:thin:@//HOST:PORT/NAME (NAME: the service name), or
jdbc:oracle:thin:@NAME without HOST (a TNS alias or a connect descriptor).
Django's Oracle backend imports python-oracledb at import time, so it must be
installed, though JDBC carries the connections. Ids of new rows come from the
table's identity sequence: RETURNING INTO needs oracledb's cursor variables.
"""

from __future__ import annotations

import getpass
import os
import platform
import socket
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS
from django.db.backends.utils import strip_quotes
from django.utils.functional import cached_property

try:
    from django.db.backends.oracle import base
    from django.db.backends.oracle.operations import DatabaseOperations as OracleOperations
except (ImproperlyConfigured, ImportError) as error:  # 5.2 raises ImportError
    raise ImproperlyConfigured(
        f"{error}. dj_db_conn_pool.backends.jdbc.oracle builds on Django's Oracle backend, "
        "which imports python-oracledb: pip install 'django-db-connection-pool-jdbc[oracle]'."
    ) from error

from .. import config, dbapi
from ..mixin import JDBCDatabaseWrapperMixin

DRIVER = "oracle.jdbc.OracleDriver"

# What v$session shows for the session, as python-oracledb fills it in (ojdbc's names).
SESSION_PROPERTIES = {
    "v$session.program": "python.exe" if platform.system() == "Windows" else "python",
    "v$session.machine": socket.gethostname(),
    "v$session.osuser": getpass.getuser(),
    "v$session.process": str(os.getpid()),
}


class DatabaseOperations(OracleOperations):
    def last_insert_id(self, cursor: Any, table_name: str, pk_name: str) -> Any:
        # Django's own lookup of the identity sequence (not in django-stubs).
        table = strip_quotes(table_name)
        sequence = self._get_sequence_name(cursor, table, pk_name)  # type: ignore[attr-defined]
        cursor.execute(f'SELECT "{sequence}".currval FROM DUAL')
        return cursor.fetchone()[0]


class DatabaseWrapper(JDBCDatabaseWrapperMixin, base.DatabaseWrapper):
    jdbc_driver = DRIVER
    jdbc_dialect = dbapi.ORACLE
    django_options = ("use_returning_into",)
    ops_class = DatabaseOperations
    session_properties: ClassVar[dict[str, str]] = SESSION_PROPERTIES  # OPTIONS override them

    def __init__(self, settings_dict: dict[str, Any], alias: str = DEFAULT_DB_ALIAS) -> None:
        super().__init__(settings_dict, alias)
        self.features.can_return_columns_from_insert = False
        self.features.can_return_rows_from_update = False  # Django 6's, unused by 5.2

    def jdbc_settings(self) -> config.JDBCSettings:
        settings = super().jdbc_settings()
        properties = {**self.session_properties, **settings.properties}
        return config.JDBCSettings(
            settings.driver, settings.url, settings.classpath, settings.layer, properties
        )

    @cached_property
    def oracle_version(self) -> tuple[int, ...]:
        with self.temporary_connection():
            meta = self.connection.jconn.getMetaData()
            return (int(meta.getDatabaseMajorVersion()), int(meta.getDatabaseMinorVersion()))
