"""The Django app: add "dj_db_conn_pool" to INSTALLED_APPS for its checks and `dbpool` command."""

from __future__ import annotations

import os

from django.apps import AppConfig


class DjDbConnPoolConfig(AppConfig):
    """Register the pool's system checks; the app has no models."""

    name = "dj_db_conn_pool"
    label = "dj_db_conn_pool"
    verbose_name = "Database connection pool"
    # Each engine wheel adds a folder to the dj_db_conn_pool namespace; the app
    # (its management commands) lives in the core's.
    path = os.path.dirname(os.path.abspath(__file__))

    def ready(self) -> None:
        from .checks import register_checks

        register_checks()
