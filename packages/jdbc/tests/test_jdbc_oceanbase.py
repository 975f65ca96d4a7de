"""jdbc.oceanbase.mysql on seekdb (OceanBase's MySQL mode), through MariaDB Connector/J.

No JDBC_DRIVER is set: the engine picks MariaDB Connector/J, the only MySQL-protocol
jar on the classpath. The pool's behaviour that integration/tests/test_oceanbase.py
checks for the native engine, here over JDBC.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DatabaseError, close_old_connections, connections
from jdbc_servers import fetch, seekdb_settings

from conftest import TEST_DATABASE, alias
from dj_db_conn_pool import stats
from integration.engines import OCEANBASE

ALIAS = "jdbc_oceanbase"


@pytest.fixture(params=["jaydebeapi", "jpype"])
def oceanbase(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A jdbc.oceanbase.mysql alias on seekdb, through each DB-API layer in turn."""
    if not OCEANBASE.configured:
        seekdb_settings(TEST_DATABASE)  # fails under CI=true, skips otherwise
    OCEANBASE.recreate_database(TEST_DATABASE)
    with alias(ALIAS, seekdb_settings(TEST_DATABASE, JDBC_DBAPI=request.param)) as connection:
        yield connection
    OCEANBASE.drop_database(TEST_DATABASE)


def session_id(connection: Any) -> int:
    return int(fetch(connection, "SELECT CONNECTION_ID()")[0][0])


def server_transaction_state(session: int) -> str:
    """Return OceanBase's TRANS_STATE of the session ('' without a transaction)."""
    observer = OCEANBASE.raw_connect()
    try:
        cursor = observer.cursor()
        sql = "SELECT trans_state FROM oceanbase.__all_virtual_processlist WHERE id = %s"
        cursor.execute(sql, [session])
        return str(cursor.fetchone()[0] or "")
    finally:
        observer.close()


def test_engine_identifies_oceanbase_and_checks_its_own_version(oceanbase: Any) -> None:
    oceanbase.ensure_connection()  # Django's version check ran: 5.7.25 did not stop it
    assert oceanbase.jdbc_settings().driver == "org.mariadb.jdbc.Driver"
    assert oceanbase.display_name == "OceanBase"
    assert oceanbase.get_database_version() >= (4, 2)
    assert oceanbase.features.has_select_for_update_of is False
    assert oceanbase.features.supports_column_check_constraints is True


def test_connections_are_pooled_and_set_up_once(oceanbase: Any) -> None:
    first = session_id(oceanbase)
    oceanbase.close()
    assert session_id(oceanbase) == first
    oceanbase.close()
    assert stats(ALIAS)[ALIAS]["connections_opened"] == 1


def _raw_begin(connection: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("INSERT INTO jdbc_open VALUES (1)")


def _autocommit_off(connection: Any) -> None:
    connection.set_autocommit(False)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO jdbc_open VALUES (1)")


def _error_mid_transaction(connection: Any) -> None:
    connection.set_autocommit(False)
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("INSERT INTO jdbc_open VALUES (1)")
        cursor.execute("INSERT INTO no_such_table VALUES (1)")


@pytest.mark.parametrize(
    "end_request",
    [
        _error_mid_transaction,
        _autocommit_off,
        _raw_begin,  # JDBC cannot see it, so every JDBC return rolls back
    ],
    ids=["error-mid-transaction", "autocommit-off", "raw-begin"],
)
def test_no_transaction_is_left_open_on_the_server(oceanbase: Any, end_request: Any) -> None:
    with oceanbase.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS jdbc_open")
        cursor.execute("CREATE TABLE jdbc_open (id INT)")
    session = session_id(oceanbase)
    end_request(oceanbase)
    assert server_transaction_state(session).endswith("ACTIVE")
    oceanbase.close()
    assert server_transaction_state(session) == ""
    assert session_id(oceanbase) == session
    assert fetch(oceanbase, "SELECT COUNT(*) FROM jdbc_open") == [(0,)]


def test_a_killed_session_is_replaced_at_checkout(oceanbase: Any) -> None:
    victim = session_id(oceanbase)
    oceanbase.close()
    OCEANBASE.kill_session(victim)
    time.sleep(0.2)  # past liveness.POLL_BYPASS
    assert session_id(oceanbase) != victim
    assert stats(ALIAS)[ALIAS]["invalidations"] == 1


def test_server_sessions_stay_within_the_bound_under_32_threads(oceanbase: Any) -> None:
    oceanbase.settings_dict["POOL_OPTIONS"] = {"POOL_SIZE": 4, "MAX_OVERFLOW": 2, "TIMEOUT": 20}
    oceanbase.close()
    stop = threading.Event()
    peak = 0
    errors: list[BaseException] = []

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, OCEANBASE.count_sessions(TEST_DATABASE))
            time.sleep(0.02)

    def worker() -> None:
        try:
            for _ in range(10):
                close_old_connections()
                session_id(connections[ALIAS])
                close_old_connections()
        except BaseException as error:  # surfaced below
            errors.append(error)
        finally:
            connections[ALIAS].close()

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=worker) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    sampler.join()
    assert errors == []
    assert 1 <= peak <= 6
