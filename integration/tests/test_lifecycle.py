"""No transaction, lock or changed autocommit survives a return; connections always come back.

Each case ends a request in a way the pool used to get wrong, then looks at the
session from inside (the next request, in this thread and in another) and from
outside (an observer connection).
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
from typing import Any

import pytest
from django.db import IntegrityError, close_old_connections, connections

import dj_db_conn_pool
from conftest import TEST_DATABASE, alias_settings
from dj_db_conn_pool import fork
from dj_db_conn_pool.container import pool_container
from integration import engines
from integration.engines import Engine
from integration.helpers import (
    backend_id,
    checkout_in_a_thread,
    count_items,
    in_a_thread,
    make_table,
    request_cycle,
)


def make_keys(engine: Engine) -> None:
    """A table with one committed row, id 1."""
    with connections[engine.alias].cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pool_keys")
        cursor.execute("CREATE TABLE pool_keys (id INT PRIMARY KEY, note VARCHAR(20))")
        cursor.execute("INSERT INTO pool_keys VALUES (1, 'committed')")
    close_old_connections()


def in_transaction(engine: Engine) -> int:
    with connections[engine.alias].cursor() as cursor:
        cursor.execute(engine.in_transaction_sql)
        return int(cursor.fetchone()[0])


def row_is_lockable(engine: Engine) -> bool:
    """Return whether another session can lock row 1 at once (NOWAIT)."""
    observer = engine.raw_connect(TEST_DATABASE)
    try:
        cursor = observer.cursor()
        try:
            cursor.execute("SELECT id FROM pool_keys WHERE id = 1 FOR UPDATE NOWAIT")
        except Exception:
            return False
        return True
    finally:
        observer.close()


def keys_seen_from_outside(engine: Engine) -> list[int]:
    observer = engine.raw_connect(TEST_DATABASE)
    try:
        cursor = observer.cursor()
        cursor.execute("SELECT id FROM pool_keys ORDER BY id")
        return [int(row[0]) for row in cursor.fetchall()]
    finally:
        observer.close()


def tracked_descriptors() -> set[int]:
    """Return the descriptors of the connections the fork guard would let go of in a child."""
    found = set()
    for connection in list(fork._opened):
        try:
            found.add(connection.fileno())
        except Exception:  # closed
            pass
    return found


def checked_out(engine: Engine) -> int:
    return int(dj_db_conn_pool.stats(engine.alias)[engine.alias]["checked_out"])


def test_failed_first_statement_with_autocommit_off_leaves_no_transaction_or_lock(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    # InnoDB opens a transaction for the failed INSERT and keeps the duplicate
    # key's lock; the ERR packet says nothing of it.
    pool_options.update(POOL_SIZE=1, MAX_OVERFLOW=0, TIMEOUT=5)
    make_keys(engine)
    connections[engine.alias].close()  # as Django's test runner does before editing settings
    with alias_settings(engine.alias, AUTOCOMMIT=False):
        close_old_connections()
        session = backend_id(engine)
        with pytest.raises(IntegrityError), connections[engine.alias].cursor() as cursor:
            cursor.execute("INSERT INTO pool_keys VALUES (1, 'duplicate')")
        close_old_connections()  # the request ends

        assert row_is_lockable(engine)
        assert in_a_thread(lambda: (backend_id(engine), in_transaction(engine))) == (session, 0)
        close_old_connections()
        assert in_transaction(engine) == 0 and backend_id(engine) == session
        with connections[engine.alias].cursor() as cursor:
            cursor.execute("INSERT INTO pool_keys VALUES (2, 'next request')")
        connections[engine.alias].commit()
        close_old_connections()
    assert keys_seen_from_outside(engine) == [1, 2]


@pytest.mark.parametrize(
    "engine", [p for p in engines.params() if p.values[0].module == "mysql"], indirect=True
)
def test_unread_multi_statement_results_leave_no_transaction(engine: Engine) -> None:
    # The status word is the first result's: the transaction the later
    # statements open does not show in it.
    make_keys(engine)
    cursor = connections[engine.alias].cursor()
    cursor.execute("SELECT 1; START TRANSACTION; INSERT INTO pool_keys VALUES (2, 'uncommitted')")
    close_old_connections()  # the request ends, its results unread
    try:
        cursor.close()  # reads the rest, as the collector would
    except Exception:  # the pool has closed the connection
        pass
    del cursor

    def next_request() -> tuple[int, list[int]]:
        with connections[engine.alias].cursor() as cursor:
            cursor.execute("SELECT id FROM pool_keys ORDER BY id")
            ids = [int(row[0]) for row in cursor.fetchall()]
            return in_transaction(engine), ids

    assert in_a_thread(next_request) == (0, [1])
    assert next_request() == (0, [1])
    with connections[engine.alias].cursor() as cursor:
        cursor.execute("INSERT INTO pool_keys VALUES (3, 'next request')")
    close_old_connections()
    assert keys_seen_from_outside(engine) == [1, 3]
    assert row_is_lockable(engine)


def turn_autocommit_off_behind_django(engine: Engine) -> None:
    connection = connections[engine.alias]
    if engine.module == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("SET autocommit = 0")
    else:  # PostgreSQL has no such statement: the driver's own switch
        connection.ensure_connection()
        connection.connection.autocommit = False


def test_autocommit_turned_off_behind_django_is_restored_before_reuse(engine: Engine) -> None:
    make_table(engine)
    close_old_connections()
    session = backend_id(engine)
    turn_autocommit_off_behind_django(engine)
    close_old_connections()  # the request ends; its thread takes the connection back next
    assert backend_id(engine) == session
    with connections[engine.alias].cursor() as cursor:
        cursor.execute("INSERT INTO pool_items VALUES ('committed')")
    close_old_connections()
    assert count_items(engine) == 1  # not rolled back at the return


def test_rollback_on_return_is_counted_and_logged_once_per_connection(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    make_table(engine)
    caplog.set_level(logging.INFO, logger="dj_db_conn_pool")
    for _ in range(3):
        close_old_connections()
        with connections[engine.alias].cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("INSERT INTO pool_items VALUES ('uncommitted')")
        close_old_connections()
    assert count_items(engine) == 0
    assert dj_db_conn_pool.stats(engine.alias)[engine.alias]["rollbacks_on_return"] == 3
    said = [r.getMessage() for r in caplog.records if "rolled it back" in r.getMessage()]
    assert len(said) == 1 and repr(engine.alias) in said[0]


def test_conn_max_age_does_not_keep_a_connection_checked_out(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    # With CONN_MAX_AGE > 0 Django keeps the connection on the wrapper between
    # requests; a pooled ENGINE gives it back at the end of every request.
    pool_options.update(POOL_SIZE=1, MAX_OVERFLOW=0, TIMEOUT=2)
    with alias_settings(engine.alias, CONN_MAX_AGE=60):
        session = request_cycle(engine)
        assert checked_out(engine) == 0
        error, _took = checkout_in_a_thread(engine)
        assert error is None
        assert request_cycle(engine) == session


@pytest.mark.parametrize("ending", ["inside a request", "after a request"])
def test_connection_of_an_ended_thread_comes_back_without_the_collector(
    engine: Engine, pool_options: dict[str, Any], ending: str
) -> None:
    pool_options.update(POOL_SIZE=1, MAX_OVERFLOW=0, TIMEOUT=5)

    def thread_that_ends() -> None:
        if ending == "inside a request":  # checked out, never closed
            with connections[engine.alias].cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute("SELECT 1")
        else:
            request_cycle(engine)  # parked on its wrapper (dozing)

    gc.disable()
    try:
        thread = threading.Thread(target=thread_that_ends)
        thread.start()
        thread.join()
        deadline = time.monotonic() + 1
        while checked_out(engine) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checked_out(engine) == 0
        (entry,) = [e for e in pool_container.entries() if e.name == engine.alias]
        assert len(entry.parking) == 0 and entry.pool.checkedin() == 1
        error, took = checkout_in_a_thread(engine)
        assert error is None and took < 1
    finally:
        gc.enable()


@pytest.mark.parametrize("descriptor", ["closed", "reused"])
def test_connection_whose_descriptor_was_closed_behind_its_back_is_never_lent(
    engine: Engine, pool_options: dict[str, Any], descriptor: str
) -> None:
    # Celery's Django fixup closes the descriptor of a connection opened in
    # worker_process_init, then closes the connection. With one connection
    # allowed, the next request (in another thread) is offered that one.
    pool_options.update(POOL_SIZE=1, MAX_OVERFLOW=0, TIMEOUT=5)
    close_old_connections()
    connection = connections[engine.alias]
    session = backend_id(engine)
    fd = connection.connection.fileno()
    os.close(fd)
    stranger = socket.socketpair() if descriptor == "reused" else None
    try:
        if stranger is not None:
            assert fd in (stranger[0].fileno(), stranger[1].fileno())
        connection.close()
        # The next request must not write into the stranger's socket (and hang).
        outcome: dict[str, Any] = {}
        worker = threading.Thread(target=lambda: outcome.update(id=request_cycle(engine)))
        worker.start()
        worker.join(5)
        if worker.is_alive() and stranger is not None:  # stuck on the stranger's socket
            stranger[0].close()
            stranger[1].close()
            worker.join(5)
        assert outcome.get("id") not in (None, session)
        if stranger is not None:
            for end in stranger:
                end.setblocking(False)
                with pytest.raises(BlockingIOError):  # open, and nothing was written to it
                    end.recv(1)
            # Nor will a forked child point the stranger's descriptor at /dev/null.
            assert fd not in tracked_descriptors()
    finally:
        if stranger is not None:
            for end in stranger:
                end.close()
