"""Oracle through Django's own backend (python-oracledb, thin or thick mode), pooled."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS

try:
    from django.db.backends.oracle import base
except (ImproperlyConfigured, ImportError) as error:  # Django 5.2 raises ImportError
    raise ImproperlyConfigured(
        f"{error}. dj_db_conn_pool.backends.oracle needs python-oracledb: "
        "pip install django-db-connection-pool-oracle."
    ) from error

from dj_db_conn_pool.hooks import DriverHooks
from dj_db_conn_pool.mixin import PooledDatabaseWrapperMixin

from . import modes


class OracleHooks(DriverHooks):
    """What the pool asks python-oracledb: without a round trip, whether a transaction is
    open (2.0+) and whether the connection is still healthy.

    No reset_session: Oracle has no statement that resets a session as a new
    login would (DBMS_SESSION.RESET_PACKAGE resets package state only), so
    RESET_ON_RETURN="session" is refused.
    """

    @staticmethod
    def transaction_open(dbapi_connection: Any) -> bool:
        in_progress = getattr(dbapi_connection, "transaction_in_progress", None)
        return True if in_progress is None else bool(in_progress)

    @staticmethod
    def broken(dbapi_connection: Any) -> bool:
        return not dbapi_connection.is_healthy()

    @staticmethod
    def ping(dbapi_connection: Any) -> None:
        dbapi_connection.ping()


class DatabaseWrapper(PooledDatabaseWrapperMixin, base.DatabaseWrapper):
    pool_hooks = OracleHooks

    def __init__(self, settings_dict: dict[str, Any], alias: str = DEFAULT_DB_ALIAS) -> None:
        super().__init__(settings_dict, alias)
        modes.read(self.settings_dict["OPTIONS"], self.alias)  # a wrong mode fails here

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        for key in modes.KEYS:  # ours, not oracledb.connect()'s
            params.pop(key, None)
        modes.apply(modes.read(self.settings_dict["OPTIONS"], self.alias), self.alias)
        return params
