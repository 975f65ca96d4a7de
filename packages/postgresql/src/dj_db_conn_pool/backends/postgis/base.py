"""PostGIS through Django's own backend, pooled like PostgreSQL."""

from __future__ import annotations

from django.contrib.gis.db.backends.postgis import base

from dj_db_conn_pool.backends.postgresql.base import PooledPostgreSQLMixin


class DatabaseWrapper(PooledPostgreSQLMixin, base.DatabaseWrapper):
    def prepare_database(self) -> None:
        super().prepare_database()
        # Django registers PostGIS's types on each new connection; pooled ones
        # opened before CREATE EXTENSION lack them, so start afresh.
        self.close_pool()
