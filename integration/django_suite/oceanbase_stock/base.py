"""The stock baseline on OceanBase: Django's MySQL backend with its version check lifted.

Django refuses OceanBase ("MySQL 8.0.11 or later is required (found 5.7.25)"),
so the suite's oceanbase engines compare with this: everything else is Django's,
features judged by the MySQL 5.7 version that OceanBase reports. Two more
changes, without which the curated modules cannot even set up their tables:
test_collations names collations that OceanBase has (utf8mb4_esperanto_ci is
unknown there), and, on Django 6 (which assumes MySQL 8.4), no DEFAULT on
TEXT/BLOB/JSON columns, as Django 5.2 does for MySQL 5.7.
"""

from __future__ import annotations

from django.db.backends.mysql import base, features, schema

from dj_db_conn_pool.oceanbase import TEST_COLLATIONS, OceanBaseSchemaEditorMixin


class DatabaseFeatures(features.DatabaseFeatures):
    test_collations = TEST_COLLATIONS


class DatabaseSchemaEditor(OceanBaseSchemaEditorMixin, schema.DatabaseSchemaEditor):
    pass


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    SchemaEditorClass = DatabaseSchemaEditor
    is_oceanbase = True  # what OceanBaseSchemaEditorMixin asks

    def check_database_version_supported(self) -> None:
        pass
