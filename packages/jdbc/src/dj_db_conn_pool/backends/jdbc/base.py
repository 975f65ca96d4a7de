"""Raw SQL through any JDBC driver, pooled: ENGINE 'dj_db_conn_pool.backends.jdbc'.

OPTIONS['JDBC_DRIVER'] names the driver class; the URL is OPTIONS['JDBC_URL'],
or is built from HOST, PORT and NAME for the drivers config.URL_PREFIXES knows.
This engine knows no SQL dialect: raw SQL (`connection.cursor()`) and atomic()
work, Django's ORM, migrations and test databases do not. For those, use an
engine over Django's backend for the dialect (jdbc.oracle, jdbc.oceanbase.mysql).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.client import BaseDatabaseClient
from django.db.backends.base.creation import BaseDatabaseCreation
from django.db.backends.base.features import BaseDatabaseFeatures
from django.db.backends.base.introspection import BaseDatabaseIntrospection
from django.db.backends.base.operations import BaseDatabaseOperations

from .mixin import JDBCDatabaseWrapperMixin


class DatabaseFeatures(BaseDatabaseFeatures):
    # Django would find out by creating a table in the user's database.
    supports_transactions = True


class DatabaseOperations(BaseDatabaseOperations):
    def quote_name(self, name: str) -> str:
        # Only atomic()'s savepoints get here, whose names are plain identifiers;
        # quoting differs between databases (backticks, double quotes, brackets).
        return name


class DatabaseWrapper(JDBCDatabaseWrapperMixin, BaseDatabaseWrapper):
    vendor = "jdbc"
    display_name = "JDBC"
    client_class = BaseDatabaseClient
    creation_class = BaseDatabaseCreation
    features_class = DatabaseFeatures
    introspection_class = BaseDatabaseIntrospection
    ops_class = DatabaseOperations
