"""OceanBase's MySQL mode on Django's MySQL backend: what every OceanBase engine knows.

OceanBase answers VERSION() with a MySQL 5.7 string ("5.7.25-OceanBase seekdb-v1.4.0.0",
"5.7.25-OceanBase_CE-v4.2.1.2"), whatever its own version, so Django's MySQL backend
refuses it (MySQL 8.0.11 or later is required) and judges its features by MySQL 5.7.
The mixins here tell OceanBase by that string, check OceanBase's own version
(ob_version()) against OceanBase's minimum, and give the feature flags that differ
from Django's for MySQL 5.7, as measured on a server. On any other server (the
engines also reach MariaDB and MySQL) they leave Django's behaviour alone.

Both the JDBC engine (jdbc.oceanbase.mysql) and the native one (oceanbase, on
mysqlclient) use them, so this module lives in core: engines do not import each
other. It imports nothing of Django's MySQL backend (which needs mysqlclient):
the engines put these mixins before Django's classes.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.functional import cached_property

# The oldest OceanBase the engines accept: 4.2, the first long-term-support line of
# OceanBase 4. Verified on 4.3.5.3 (seekdb 1.4.0.0) only; see docs/oceanbase.md.
MINIMUM_VERSION = (4, 2)
# The collations Django's own tests use (DatabaseFeatures.test_collations), among
# the three that OceanBase's MySQL mode has: utf8mb4_general_ci, utf8mb4_bin,
# binary. None: tests that need it skip.
TEST_COLLATIONS = {
    "ci": "utf8mb4_general_ci",
    "non_default": "utf8mb4_bin",
    "swedish_ci": None,
    "virtual": "utf8mb4_bin",
}


def is_oceanbase(server_info: str) -> bool:
    """Return whether a VERSION() string is OceanBase's."""
    return "oceanbase" in server_info.lower()


def parse_version(text: str) -> tuple[int, ...]:
    """Return the version in ob_version()'s answer ('4.3.5.3') as a tuple of ints."""
    match = re.match(r"\s*(\d+(?:\.\d+)*)", text)
    if match is None:
        raise ValueError(f"not an OceanBase version: {text!r}")
    return tuple(int(part) for part in match.group(1).split("."))


class OceanBaseWrapperMixin:
    """Put before Django's MySQL DatabaseWrapper: OceanBase's name and version check."""

    mysql_server_info: str

    @cached_property
    def is_oceanbase(self) -> bool:
        return is_oceanbase(self.mysql_server_info)

    @cached_property
    def oceanbase_version(self) -> tuple[int, ...]:
        """Return OceanBase's own version (not the MySQL version it reports)."""
        with self.temporary_connection() as cursor:  # type: ignore[attr-defined]
            cursor.execute("SELECT ob_version()")
            return parse_version(str(cursor.fetchone()[0]))

    @cached_property
    def display_name(self) -> str:
        return "OceanBase" if self.is_oceanbase else super().display_name  # type: ignore[misc]

    def get_database_version(self) -> tuple[int, ...]:
        if self.is_oceanbase:
            return self.oceanbase_version
        return super().get_database_version()  # type: ignore[misc,no-any-return]


class OceanBaseSchemaEditorMixin:
    """Put before Django's MySQL DatabaseSchemaEditor: no DEFAULT on BLOB, TEXT, JSON columns.

    OceanBase refuses them even as expressions ("BLOB, TEXT, GEOMETRY or JSON column
    can't have a default value"), as MySQL before 8.0.13 did; Django 6, which
    assumes MySQL 8.4, writes them. Skipped, Django sets the value on existing rows
    with an UPDATE instead (as for MySQL 5.7 in Django 5.2).
    """

    connection: Any

    def skip_default(self, field: Any) -> bool:
        limited = self._is_limited_data_type(field)  # type: ignore[attr-defined]
        if self.connection.is_oceanbase and limited:
            return True
        return super().skip_default(field)  # type: ignore[misc,no-any-return]


class _OnOceanBase:
    """A feature flag: `value` on OceanBase, Django's own on other servers."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner = owner
        self.name = name

    def __get__(self, features: Any, owner: type | None = None) -> Any:
        if features is None:
            return self
        if features.connection.is_oceanbase:
            return self.value
        return getattr(super(self.owner, features), self.name)


class OceanBaseFeaturesMixin:
    """Put before Django's MySQL DatabaseFeatures: what OceanBase supports.

    Each flag was measured on OceanBase 4.3.5.3 (seekdb 1.4.0.0) in MySQL mode; only
    those that differ from Django's for a "5.7.25" server (or, on Django 6, for
    MySQL 8.4) are here.
    """

    minimum_database_version = _OnOceanBase(MINIMUM_VERSION)
    # CHECK constraints are enforced and listed in information_schema.check_constraints.
    supports_column_check_constraints = _OnOceanBase(True)
    supports_table_check_constraints = _OnOceanBase(True)
    can_introspect_check_constraints = _OnOceanBase(True)
    # CREATE INDEX i ON t ((a + 1)); DEFAULT (expression) on non-TEXT columns.
    supports_expression_indexes = _OnOceanBase(True)
    # CREATE INDEX i ON t (a DESC) is taken, but the index is ascending (SHOW INDEX).
    supports_index_column_ordering = _OnOceanBase(False)
    supports_expression_defaults = _OnOceanBase(True)
    # INTERSECT and EXCEPT; UPDATE t SET a = (SELECT MAX(a) FROM t).
    supports_select_intersection = _OnOceanBase(True)
    supports_select_difference = _OnOceanBase(True)
    update_can_self_select = _OnOceanBase(True)
    # FOR UPDATE NOWAIT and SKIP LOCKED work; FOR UPDATE OF t is a syntax error.
    has_select_for_update_nowait = _OnOceanBase(True)
    has_select_for_update_skip_locked = _OnOceanBase(True)
    has_select_for_update_of = _OnOceanBase(False)
    # No INSERT ... RETURNING, no EXPLAIN ANALYZE, no EXPLAIN FORMAT=TREE.
    can_return_columns_from_insert = _OnOceanBase(False)
    can_return_rows_from_bulk_insert = _OnOceanBase(False)
    supports_explain_analyze = _OnOceanBase(False)
    supported_explain_formats = _OnOceanBase(frozenset({"JSON", "TEXT", "TRADITIONAL"}))
    test_collations = _OnOceanBase(TEST_COLLATIONS)
