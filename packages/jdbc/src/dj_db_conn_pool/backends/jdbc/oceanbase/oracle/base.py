"""OceanBase's Oracle mode over JDBC, on Django's Oracle backend: ENGINE
'dj_db_conn_pool.backends.jdbc.oceanbase.oracle'.

As jdbc.oracle, with OceanBase's driver and URL (jdbc:oceanbase://HOST:PORT/NAME).
Needs python-oracledb installed, which Django's Oracle backend imports.
"""

from __future__ import annotations

from typing import ClassVar

from ...oracle.base import DatabaseWrapper as OracleDatabaseWrapper
from ..base import DRIVER


class DatabaseWrapper(OracleDatabaseWrapper):
    jdbc_driver = DRIVER
    session_properties: ClassVar[dict[str, str]] = {}  # ojdbc's v$session names mean nothing here

    def check_database_version_supported(self) -> None:
        # OceanBase reports its own version (4.x), not the Oracle release it follows.
        pass
