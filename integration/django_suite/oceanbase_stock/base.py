"""The stock baseline on OceanBase: Django's MySQL backend with only its version check lifted.

Django refuses OceanBase ("MySQL 8.0.11 or later is required (found 5.7.25)"),
so the suite's oceanbase engines compare with this: everything else is Django's,
features judged by the MySQL 5.7 version that OceanBase reports. One more change,
for the test suite alone: test_collations names collations OceanBase has, else
model_fields' models cannot set up (utf8mb4_esperanto_ci is unknown there).
"""

from __future__ import annotations

from django.db.backends.mysql import base, features

from dj_db_conn_pool.oceanbase import TEST_COLLATIONS


class DatabaseFeatures(features.DatabaseFeatures):
    test_collations = TEST_COLLATIONS


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures

    def check_database_version_supported(self) -> None:
        pass
