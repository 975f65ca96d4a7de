"""The Oracle engine against a real server (DJ_DB_CONN_POOL_ORACLE_DSN): hooks and pooling."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from oracle_server import server_settings

from conftest import alias
from dj_db_conn_pool import stats

ALIAS = "oracle_server"


@pytest.fixture
def oracle() -> Iterator[Any]:
    with alias(ALIAS, server_settings()) as connection:
        yield connection


def sid(connection: Any) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT SYS_CONTEXT('USERENV', 'SID') FROM DUAL")
        return int(cursor.fetchone()[0])


def test_sessions_are_pooled_and_set_up_once(oracle: Any) -> None:
    first = sid(oracle)
    oracle.close()
    assert sid(oracle) == first
    assert stats(ALIAS)[ALIAS]["connections_opened"] == 1
    expected = os.environ.get("DJ_DB_CONN_POOL_ORACLE_DRIVER_MODE", "thin") == "thin"
    assert oracle.connection.thin is expected


def test_driver_reports_transactions_and_health_without_a_round_trip(oracle: Any) -> None:
    wrapper = type(oracle)
    oracle.ensure_connection()
    raw = oracle.connection
    assert wrapper.pool_hooks.broken(raw) is False
    assert wrapper.pool_hooks.transaction_open(raw) is False
    with oracle.cursor() as cursor:
        cursor.execute(
            "CREATE GLOBAL TEMPORARY TABLE djpool_probe (x NUMBER) ON COMMIT PRESERVE ROWS"
        )
    try:
        oracle.set_autocommit(False)
        with oracle.cursor() as cursor:
            cursor.execute("INSERT INTO djpool_probe VALUES (1)")
        assert wrapper.pool_hooks.transaction_open(raw) is True
        session = sid(oracle)
        oracle.close()  # returned with the transaction open: rolled back
        assert sid(oracle) == session
        assert oracle.connection.transaction_in_progress is False
        with oracle.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM djpool_probe")
            assert cursor.fetchone() == (0,)
        wrapper.pool_hooks.ping(oracle.connection)
    finally:
        oracle.close()
        with oracle.cursor() as cursor:
            cursor.execute("TRUNCATE TABLE djpool_probe")
            cursor.execute("DROP TABLE djpool_probe")
