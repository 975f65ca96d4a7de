"""The pool on OceanBase (seekdb, MySQL mode): the engine-generic tests that matter, and more.

The tests imported from the other files run here again with `engine` set to the
native OceanBase engine (dj_db_conn_pool.backends.oceanbase); the JDBC engine's
equivalents are in packages/jdbc/tests/test_jdbc_oceanbase.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.db import DatabaseError, connections
from test_fast_path import (  # noqa: F401  (collected here, on OceanBase)
    calls,
    test_autocommit_left_off_is_turned_back_on_at_take_back,
    test_parked_connection_killed_by_the_server_is_replaced,
)
from test_faults import test_server_restart_under_load  # noqa: F401
from test_pooling import (  # noqa: F401
    backend_id,
    make_table,
    request_cycle,
    test_checkout_and_return_send_nothing_a_held_connection_would_not,
    test_connection_returned_mid_transaction_is_rolled_back,
    test_killed_session_is_replaced_on_next_checkout,
    test_raw_begin_left_open_is_rolled_back,
    test_requests_reuse_one_server_session,
    test_server_sessions_stay_within_pool_bound_under_32_threads,
)

from conftest import _engine_fixture
from integration import engines
from integration.engines import Engine

pytest.importorskip("MySQLdb", reason="this environment has no mysqlclient")
pytestmark = pytest.mark.oceanbase


@pytest.fixture
def engine() -> Iterator[Engine]:
    """OceanBase, for every test of this file (the imported ones too)."""
    yield from _engine_fixture(engines.OCEANBASE)


def server_transaction_state(engine: Engine, session: int) -> str:
    """Return what OceanBase says of the session's transaction ('' when there is none).

    OceanBase has no @@in_transaction; its process list has TRANS_STATE.
    """
    observer = engine.raw_connect()
    try:
        cursor = observer.cursor()
        cursor.execute(
            "SELECT trans_state FROM oceanbase.__all_virtual_processlist WHERE id = %s", [session]
        )
        (state,) = cursor.fetchone()
        return str(state or "")
    finally:
        observer.close()


def _error_mid_transaction(engine: Engine) -> None:
    # The view's error escapes with the transaction open: no atomic() rolls it back.
    connections[engine.alias].set_autocommit(False)
    with pytest.raises(DatabaseError), connections[engine.alias].cursor() as cursor:
        cursor.execute("INSERT INTO pool_items VALUES ('lost')")
        cursor.execute("INSERT INTO no_such_table VALUES (1)")


def _autocommit_off(engine: Engine) -> None:
    connections[engine.alias].set_autocommit(False)
    with connections[engine.alias].cursor() as cursor:
        cursor.execute("INSERT INTO pool_items VALUES ('lost')")


def _raw_begin(engine: Engine) -> None:
    with connections[engine.alias].cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("INSERT INTO pool_items VALUES ('lost')")


@pytest.mark.parametrize(
    "end_request",
    [_error_mid_transaction, _autocommit_off, _raw_begin],
    ids=["error-mid-transaction", "autocommit-off", "raw-begin"],
)
def test_no_transaction_is_left_open_on_the_server_after_a_request(
    engine: Engine, end_request: Callable[[Engine], None]
) -> None:
    make_table(engine)
    session = backend_id(engine)
    end_request(engine)
    # The request's own: ACTIVE after BEGIN, IMPLICIT_ACTIVE with autocommit off.
    assert server_transaction_state(engine, session).endswith("ACTIVE")
    connections[engine.alias].close()  # the request ends: back to the pool
    assert server_transaction_state(engine, session) == ""
    assert request_cycle(engine) == session  # the same session, reused


def test_engine_knows_it_talks_to_oceanbase(engine: Engine) -> None:
    connection = connections[engine.alias]
    connection.ensure_connection()
    assert connection.display_name == "OceanBase"
    assert connection.get_database_version() >= (4, 2)
    assert connection.features.has_select_for_update_of is False
