"""The Oracle server the tests may use.

No Oracle server runs here: the server tests skip unless DJ_DB_CONN_POOL_ORACLE_DSN
(host:port/service) and DJ_DB_CONN_POOL_ORACLE_USER, _PASSWORD are set (also
under CI=true). DJ_DB_CONN_POOL_ORACLE_DRIVER_MODE=thick runs them in thick mode.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

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
