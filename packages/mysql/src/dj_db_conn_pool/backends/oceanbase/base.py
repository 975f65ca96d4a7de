"""OceanBase's MySQL mode through Django's MySQL backend (mysqlclient), pooled, no JVM.

The pool's hooks are the MySQL engine's (the same wheel, as PostGIS takes
PostgreSQL's): OceanBase keeps the server's in-transaction flag in every OK
packet as MySQL does. What OceanBase supports and its version check come from
dj_db_conn_pool.oceanbase, shared with jdbc.oceanbase.mysql.
"""

from __future__ import annotations

from django.db.backends.mysql.features import DatabaseFeatures as MySQLFeatures
from django.db.backends.mysql.schema import DatabaseSchemaEditor as MySQLSchemaEditor

from dj_db_conn_pool.backends.mysql.base import DatabaseWrapper as PooledMySQLWrapper
from dj_db_conn_pool.oceanbase import (
    OceanBaseFeaturesMixin,
    OceanBaseSchemaEditorMixin,
    OceanBaseWrapperMixin,
)


class DatabaseFeatures(OceanBaseFeaturesMixin, MySQLFeatures):
    pass


class DatabaseSchemaEditor(OceanBaseSchemaEditorMixin, MySQLSchemaEditor):
    pass


# display_name: a property here, an attribute in django-stubs.
class DatabaseWrapper(OceanBaseWrapperMixin, PooledMySQLWrapper):  # type: ignore[override]
    features_class = DatabaseFeatures
    SchemaEditorClass = DatabaseSchemaEditor
