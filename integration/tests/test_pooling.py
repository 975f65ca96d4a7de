"""End-to-end behaviour of the pooled backends against real servers."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest
from django.db import Error, close_old_connections, connections, transaction

import dj_db_conn_pool
from conftest import TEST_DATABASE
from dj_db_conn_pool import PoolTimeout
from dj_db_conn_pool.container import pool_container
from integration.engines import Engine, StatementLog
from integration.helpers import (
    SessionSampler,
    backend_id,
    checkout_in_a_thread,
    count_items,
    fan_out,
    make_table,
    request_cycle,
)


def test_requests_reuse_one_server_session(engine: Engine) -> None:
    ids = {request_cycle(engine) for _ in range(5)}
    assert len(ids) == 1
    # Returned after each request: it stays on the wrapper, but any thread may take it.
    assert dj_db_conn_pool.stats(engine.alias)[engine.alias]["checked_out"] == 0


def test_django_gets_the_driver_connection(engine: Engine) -> None:
    connection = connections[engine.alias]
    connection.ensure_connection()
    assert type(connection.connection).__module__.split(".")[0] in {
        "psycopg",
        "psycopg2",
        "MySQLdb",
    }


def test_server_sessions_stay_within_pool_bound_under_32_threads(
    engine: Engine, pool_options: dict[str, Any], figures: list[str]
) -> None:
    pool_options.update(POOL_SIZE=4, MAX_OVERFLOW=2, TIMEOUT=20)
    bound = 6

    def worker(number: int) -> None:
        for _ in range(20):
            close_old_connections()
            with connections[engine.alias].cursor() as cursor:
                cursor.execute(engine.backend_id_sql)
                time.sleep(0.002)  # hold it a little, as a view would
            close_old_connections()

    with SessionSampler(engine, TEST_DATABASE) as sampler:
        errors = fan_out(32, worker)
    assert errors == []
    figures.append(f"peak server sessions {sampler.peak} (bound {bound}), 32 threads")
    assert 1 <= sampler.peak <= bound


def test_connection_returned_mid_transaction_is_rolled_back(engine: Engine) -> None:
    make_table(engine)
    connection = connections[engine.alias]
    connection.set_autocommit(False)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO pool_items VALUES ('uncommitted')")
    session = backend_id(engine)
    connection.close()  # back to the pool, transaction still open
    assert count_items(engine) == 0
    assert request_cycle(engine) == session  # the same session, reused, and clean
    with connections[engine.alias].cursor() as cursor:
        cursor.execute("INSERT INTO pool_items VALUES ('committed')")
    assert count_items(engine) == 1


def test_raw_begin_left_open_is_rolled_back(engine: Engine) -> None:
    make_table(engine)
    with connections[engine.alias].cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("INSERT INTO pool_items VALUES ('uncommitted')")
    connections[engine.alias].close()
    request_cycle(engine)
    assert count_items(engine) == 0


def test_close_inside_atomic_closes_for_real(engine: Engine) -> None:
    make_table(engine)
    connection = connections[engine.alias]
    with pytest.raises(Error), transaction.atomic(using=engine.alias):
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO pool_items VALUES ('lost')")
        connection.close()
        with connection.cursor() as cursor:  # Django must refuse, not reuse a pooled session
            cursor.execute("SELECT 1")
    connection.close()
    assert count_items(engine) == 0
    request_cycle(engine)


def test_exhaustion_raises_pool_timeout_within_timeout(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    pool_options.update(POOL_SIZE=1, MAX_OVERFLOW=0, TIMEOUT=0.5)
    connections[engine.alias].ensure_connection()  # this thread holds the only one
    error, waited = checkout_in_a_thread(engine)
    assert isinstance(error, PoolTimeout), waited
    assert 0.4 <= waited < 3
    message = str(error)
    assert repr(engine.alias) in message
    assert "POOL_SIZE=1" in message and "MAX_OVERFLOW=0" in message
    assert "TIMEOUT=0.5s" in message and "1 connections checked out" in message
    assert "0 waiting" in message  # it gave up: nobody waits any more


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_child_gets_its_own_session_and_leaves_the_parents_alone(engine: Engine) -> None:
    parent_session = backend_id(engine)  # held across the fork on purpose
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            os.close(read_end)
            child_session = backend_id(engine)
            connections.close_all()
            os.write(write_end, str(child_session).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    child_session = int(os.read(read_end, 64) or 0)
    os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child_session not in (0, parent_session)
    assert backend_id(engine) == parent_session  # the parent's session still works


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_child_exit_does_not_end_pooled_parent_sessions(engine: Engine) -> None:
    parent_session = request_cycle(engine)  # now idle in the pool
    pid = os.fork()
    if pid == 0:
        os._exit(0 if request_cycle(engine) != parent_session else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert request_cycle(engine) == parent_session


def test_close_all_returns_and_pool_survives(engine: Engine) -> None:
    first = request_cycle(engine)
    connections[engine.alias].ensure_connection()
    connections.close_all()
    assert connections[engine.alias].connection is None
    assert request_cycle(engine) == first


def test_each_database_name_gets_its_own_pool(engine: Engine) -> None:
    settings_dict = connections.settings[engine.alias]
    request_cycle(engine)
    original = settings_dict["NAME"]
    other = f"{TEST_DATABASE}_other"
    engine.recreate_database(other)
    try:
        settings_dict["NAME"] = other  # what Django's test runner does in place
        connections[engine.alias].close()
        with connections[engine.alias].cursor() as cursor:
            cursor.execute(
                "SELECT DATABASE()" if engine.family == "mysql" else "SELECT current_database()"
            )
            assert cursor.fetchone()[0] == other
        connections[engine.alias].close()
        assert (
            len({entry.config.database for entry in pool_container.entries()} & {original, other})
            == 2
        )
    finally:
        settings_dict["NAME"] = original
        connections[engine.alias].close()


def test_time_zone_change_gets_connections_in_the_new_zone(engine: Engine) -> None:
    from django.test import override_settings

    request_cycle(engine)
    with override_settings(TIME_ZONE="Asia/Tokyo", USE_TZ=False):
        connection = connections[engine.alias]
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert connection.timezone_name == "Asia/Tokyo"
        connection.close()
    assert all(entry.retired is False for entry in pool_container.entries())


def test_killed_session_is_replaced_on_next_checkout(engine: Engine) -> None:
    session = request_cycle(engine)
    engine.kill_session(session)
    time.sleep(0.2)
    assert request_cycle(engine) != session
    # The replacement went through Django's session set-up again.
    setting, expected = (
        ("@@SESSION.tx_isolation", "READ-COMMITTED")
        if engine.family == "mysql"
        else ("current_setting('TimeZone')", "UTC")
    )
    with connections[engine.alias].cursor() as cursor:
        cursor.execute(f"SELECT {setting}")
        assert cursor.fetchone()[0] == expected


def test_checkout_and_return_send_nothing_a_held_connection_would_not(
    engine: Engine, figures: list[str]
) -> None:
    """After the first use, a request's session receives only the request's own SQL."""
    with StatementLog(engine, TEST_DATABASE) as log:
        session = request_cycle(engine)  # opens and sets up the connection
        for number in range(5):
            close_old_connections()
            with connections[engine.alias].cursor() as cursor:
                cursor.execute(f"SELECT {number} /* request {number} */")
            close_old_connections()
        statements = log.statements(session)
    mine = [line for line in statements if "/* request" in line]
    first = statements.index(mine[0])
    figures.append(
        f"session {session} received: " + " | ".join(" ".join(s.split()) for s in statements)
    )
    assert len(mine) == 5
    assert statements[first:] == mine


def _only_entry(engine: Engine) -> Any:
    (entry,) = [e for e in pool_container.entries() if e.name == engine.alias]
    return entry


def test_sticky_thread_keeps_its_connection_parked_between_requests(engine: Engine) -> None:
    session = request_cycle(engine)
    entry = _only_entry(engine)
    assert len(entry.parking) == 1 and entry.pool.checkedin() == 0  # parked, not queued
    assert request_cycle(engine) == session
    assert dj_db_conn_pool.stats(engine.alias)[engine.alias]["idle"] == 1
    pool_container.close_all()  # retiring closes parked connections too
    deadline = time.monotonic() + 5  # the server lists a closing session for a moment
    while engine.count_sessions(TEST_DATABASE) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.count_sessions(TEST_DATABASE) == 0


def test_not_sticky_returns_to_the_queue(engine: Engine, pool_options: dict[str, Any]) -> None:
    pool_options.update(STICKY=False)
    session = request_cycle(engine)
    entry = _only_entry(engine)
    assert len(entry.parking) == 0 and entry.pool.checkedin() == 1
    assert request_cycle(engine) == session


def test_overflow_connections_are_returned_for_real_not_parked(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    # Two requests at once on POOL_SIZE=1: one of them has an overflow
    # connection, which goes back to the queue (where SQLAlchemy closes it once
    # the queue is full) rather than staying parked: never more than POOL_SIZE parked.
    pool_options.update(POOL_SIZE=1, MAX_OVERFLOW=1, TIMEOUT=5)
    both = threading.Barrier(2)
    returned = threading.Barrier(3)
    looked = threading.Event()
    first_back = threading.Event()

    def one_thread(number: int) -> None:
        close_old_connections()
        with connections[engine.alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            both.wait(10)  # the two connections are out at the same moment
        # One after the other: two returns at the same instant both see more than
        # POOL_SIZE out, and neither parks (the pool errs on the safe side).
        if number:
            first_back.wait(10)
        close_old_connections()
        first_back.set()
        returned.wait(10)
        looked.wait(10)  # alive until looked at: a thread that ends gives its connection back

    threads = [threading.Thread(target=one_thread, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    returned.wait(10)
    entry = _only_entry(engine)
    try:
        assert dj_db_conn_pool.stats(engine.alias)[engine.alias]["connections_opened"] == 2
        assert len(entry.parking) == 1 and entry.pool.checkedin() == 1
    finally:
        looked.set()
        for thread in threads:
            thread.join()


def test_parked_connection_is_taken_over_when_the_pool_is_full(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    pool_options.update(POOL_SIZE=1, MAX_OVERFLOW=0, TIMEOUT=5)
    session = request_cycle(engine)  # parked by this thread
    seen: dict[str, Any] = {}

    def other_thread() -> None:
        started = time.monotonic()
        seen["session"] = request_cycle(engine)
        seen["waited"] = time.monotonic() - started
        connections.close_all()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen["session"] == session and seen["waited"] < 1  # taken over, not waited for
    assert request_cycle(engine) == session  # and this thread gets it again afterwards


def _in_other_thread(engine: Engine, requests: int) -> list[int]:
    """Run `requests` request cycles in one new thread; return their server sessions."""
    sessions: list[int] = []
    thread = threading.Thread(
        target=lambda: sessions.extend(request_cycle(engine) for _ in range(requests))
    )
    thread.start()
    thread.join()
    return sessions


def test_threads_within_pool_size_keep_their_own_connections(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    # Taking over the first thread's parked connection would leave that thread
    # to take over another at its next request: with room within POOL_SIZE,
    # the second thread opens its own, and each keeps its own from then on.
    pool_options.update(POOL_SIZE=2, MAX_OVERFLOW=0, TIMEOUT=5)
    first = request_cycle(engine)  # parked by this thread
    other = _in_other_thread(engine, 3)
    assert other[0] != first and set(other) == {other[0]}
    assert request_cycle(engine) == first
    counts = dj_db_conn_pool.stats(engine.alias)[engine.alias]
    assert counts["connections_opened"] == 2 and counts["checkouts"] == 5


def test_parked_connection_is_taken_over_rather_than_opening_an_overflow_one(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    pool_options.update(POOL_SIZE=1, MAX_OVERFLOW=1, TIMEOUT=5)
    first = request_cycle(engine)  # parked by this thread
    assert _in_other_thread(engine, 1) == [first]
    assert dj_db_conn_pool.stats(engine.alias)[engine.alias]["connections_opened"] == 1


def test_dozing_connection_taken_over_is_never_used_by_its_old_owner(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    # After a request the connection stays on its wrapper, free for any thread
    # to take: once another thread has, the owner's commit() must not reach it.
    pool_options.update(POOL_SIZE=1, MAX_OVERFLOW=0, TIMEOUT=5)
    close_old_connections()
    make_table(engine)
    close_old_connections()  # the connection dozes on this thread's wrapper
    owner = connections[engine.alias]
    inside, done = threading.Event(), threading.Event()

    def other_thread() -> None:
        close_old_connections()
        try:
            with transaction.atomic(using=engine.alias):
                with connections[engine.alias].cursor() as cursor:
                    cursor.execute("INSERT INTO pool_items (name) VALUES ('uncommitted')")
                inside.set()
                done.wait(10)
                transaction.set_rollback(True, using=engine.alias)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_thread)
    thread.start()
    try:
        assert inside.wait(10)
        owner.commit()  # outside atomic(), Django commits on self.connection
        assert owner.connection is None  # taken over: the owner let go of it
    finally:
        done.set()
        thread.join()
    assert count_items(engine) == 0
    request_cycle(engine)  # and the owner connects again
