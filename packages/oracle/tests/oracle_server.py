"""The Oracle server the tests may use, and aliases added to Django for one test.

No Oracle server runs here: the server tests skip unless DJ_DB_CONN_POOL_ORACLE_DSN
(host:port/service) and DJ_DB_CONN_POOL_ORACLE_USER, _PASSWORD are set (also
under CI=true). DJ_DB_CONN_POOL_ORACLE_DRIVER_MODE=thick runs them in thick mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from dj_db_conn_pool.container import pool_container

# These tests run in their own env (`hatch run test-oracle:run`), which installs the
# engine; an env without it skips them rather than failing to import.
pytest.importorskip("oracledb", reason="the Oracle engine runs in the test-oracle env")

ENGINE = "dj_db_conn_pool.backends.oracle"
UNREACHABLE = {"ENGINE": ENGINE, "HOST": "127.0.0.1", "PORT": "1", "NAME": "svc",
               "USER": "scott", "PASSWORD": "tiger-secret"}  # fmt: skip


def server_settings(**options: Any) -> dict[str, Any]:
    """The settings of an alias on the Oracle server of DJ_DB_CONN_POOL_ORACLE_DSN."""
    dsn = os.environ.get("DJ_DB_CONN_POOL_ORACLE_DSN")
    if not dsn:
        pytest.skip(
            "DJ_DB_CONN_POOL_ORACLE_DSN (with _USER, _PASSWORD) is not set: no Oracle server here"
        )
    mode = os.environ.get("DJ_DB_CONN_POOL_ORACLE_DRIVER_MODE")
    return {
        "ENGINE": ENGINE,
        "NAME": dsn,
        "USER": os.environ.get("DJ_DB_CONN_POOL_ORACLE_USER", ""),
        "PASSWORD": os.environ.get("DJ_DB_CONN_POOL_ORACLE_PASSWORD", ""),
        "OPTIONS": {**({"driver_mode": mode} if mode else {}), **options},
    }


@contextmanager
def alias(name: str, settings_dict: dict[str, Any]) -> Iterator[Any]:
    """Add a database alias to Django for the block; yield its connection."""
    # Django fills in the defaults of every key, as for DATABASES (which needs a default).
    configured = connections.configure_settings({DEFAULT_DB_ALIAS: {}, name: settings_dict})
    connections.settings[name] = configured[name]
    try:
        yield connections[name]
    finally:
        connections[name].close()
        pool_container.close_alias(name)
        del connections.settings[name]
        try:
            delattr(connections._connections, name)
        except AttributeError:
            pass
