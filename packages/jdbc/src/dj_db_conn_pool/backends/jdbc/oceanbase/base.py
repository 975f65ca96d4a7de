"""OceanBase through its JDBC driver, raw SQL: ENGINE 'dj_db_conn_pool.backends.jdbc.oceanbase'.

As in 1.x: the generic JDBC engine with OceanBase's driver (com.oceanbase.jdbc.Driver,
jdbc:oceanbase://HOST:PORT/NAME), for tenants of either compatibility mode. For
Django's ORM use the engine of the tenant's mode: jdbc.oceanbase.mysql or
jdbc.oceanbase.oracle.
"""

from __future__ import annotations

from ..base import DatabaseWrapper as GenericDatabaseWrapper

DRIVER = "com.oceanbase.jdbc.Driver"


class DatabaseWrapper(GenericDatabaseWrapper):
    vendor = "OceanBase"  # as in 1.x
    display_name = "OceanBase"
    jdbc_driver = DRIVER
