"""Primary switch-over on a real primary and synchronous standby (integration/replicas.py).

The alias names both servers with libpq's multi-host settings and asks for
the writable one (target_session_attrs=read-write). Each test gets a fresh
pair (about 1.5 s to set up) and runs a bounded load of a few seconds.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import close_old_connections, connections, transaction

import dj_db_conn_pool
from conftest import alias
from integration import replicas
from integration.replicas import PRIMARY_PORT, STANDBY_PORT, ReplicaPair

ALIAS = "failover"
THREADS = 16
# What the load does after a failed request: enough to keep two shared cores
# usable, little enough that a pool which keeps failing fails thousands of times.
PAUSE_AFTER_ERROR = 0.01


@pytest.fixture
def pair() -> Iterator[ReplicaPair]:
    """A fresh primary/standby pair with an empty `items` table, removed after the test."""
    why = replicas.missing()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {why}")
        pytest.skip(why)
    started = ReplicaPair().start()
    try:
        started.execute(PRIMARY_PORT, "CREATE TABLE items (id bigint PRIMARY KEY)")
        yield started
    finally:
        close_old_connections()
        started.close()


def is_read_only_error(error: BaseException) -> bool:
    """Return whether the server refused a write because it is read-only (SQLSTATE 25006)."""
    from dj_db_conn_pool.backends.postgresql.base import PostgreSQLHooks

    return error.__cause__ is not None and PostgreSQLHooks.read_only_error(error.__cause__)


class WriteLoad:
    """THREADS threads, each making requests that write one row inside atomic().

    As ATOMIC_REQUESTS does; every id whose commit returned is acknowledged.
    """

    def __init__(self, autocommit_write: bool = False) -> None:
        self.ids = itertools.count(1)
        self.acknowledged: list[tuple[int, float]] = []  # (id, when its commit returned)
        self.read_only_errors = self.other_errors = 0
        self.autocommit_write = autocommit_write
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(THREADS)]

    def _write(self, row: int) -> None:
        with transaction.atomic(using=ALIAS), connections[ALIAS].cursor() as cursor:
            cursor.execute("INSERT INTO items (id) VALUES (%s)", [row])

    def _run(self) -> None:
        while not self._stop.is_set():
            row = next(self.ids)
            close_old_connections()
            try:
                self._write(row)
            except Exception as error:  # counted: the test says how many are fine
                if is_read_only_error(error):
                    self.read_only_errors += 1
                else:
                    self.other_errors += 1
                time.sleep(PAUSE_AFTER_ERROR)
            else:
                self.acknowledged.append((row, time.monotonic()))
            finally:
                close_old_connections()
        connections.close_all()

    def __enter__(self) -> WriteLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def first_write_after(self, moment: float) -> float:
        """Return the seconds from `moment` to the first acknowledged write after it."""
        after = [when for _, when in self.acknowledged if when > moment]
        return min(after, default=moment + 99) - moment


def pool_stats() -> dict[str, Any]:
    return dj_db_conn_pool.stats(ALIAS)[ALIAS]  # type: ignore[no-any-return]


def client_sessions(pair: ReplicaPair, port: int, settle: float = 2.0) -> int:
    """Count the sessions the pool has on one server (the observer's own excepted).

    A closed session's backend leaves the server's list a moment after the
    client let go (libpq's rejected read-write probes too): wait up to `settle`
    seconds for the count to reach 0.
    """
    deadline = time.monotonic() + settle
    while True:
        rows = pair.execute(
            port,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
        )
        count = int(rows[0][0])
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.02)


def test_promoted_standby_serves_writes_at_once_and_loses_no_acknowledged_one(
    pair: ReplicaPair, figures: list[str]
) -> None:
    with alias(ALIAS, pair.settings(POOL_SIZE=THREADS, MAX_OVERFLOW=0)), WriteLoad() as load:
        time.sleep(1)
        stopped = time.monotonic()
        pair.stop(PRIMARY_PORT)
        pair.promote(STANDBY_PORT)
        promoted = time.monotonic()
        time.sleep(1.5)
    on_new_primary = {row for (row,) in pair.execute(STANDBY_PORT, "SELECT id FROM items")}
    acknowledged = {row for row, _ in load.acknowledged}
    before = sum(1 for _, when in load.acknowledged if when < stopped)
    gap = load.first_write_after(promoted)
    figures.append(
        f"{before} writes acknowledged before the stop, {len(acknowledged)} in all, "
        f"{len(acknowledged - on_new_primary)} lost; stop + promote took "
        f"{promoted - stopped:.2f}s; first write {gap:.3f}s after the promotion; "
        f"{load.other_errors} failed requests"
    )
    assert before > 0
    assert acknowledged <= on_new_primary  # synchronous replication: none lost
    assert gap < 5


def test_requests_writing_in_atomic_recover_when_the_old_primary_turns_read_only(
    pair: ReplicaPair, figures: list[str]
) -> None:
    # The old primary stays up, read-only; the standby is promoted: the pool
    # must stop lending connections to the read-only server (before the fix,
    # every request failed until RECYCLE).
    with alias(ALIAS, pair.settings(POOL_SIZE=THREADS, MAX_OVERFLOW=0)), WriteLoad() as load:
        time.sleep(1)
        pair.set_read_only(PRIMARY_PORT, True)
        time.sleep(0.5)
        pair.promote(STANDBY_PORT)
        promoted = time.monotonic()
        time.sleep(1.5)
        evictions = pool_stats()["evictions"]
    served_after = sum(1 for _, when in load.acknowledged if when > promoted + 0.5)
    gap = load.first_write_after(promoted)
    figures.append(
        f"{load.read_only_errors} read-only errors, {load.other_errors} other failed requests, "
        f"{evictions} soft evictions; first write {gap:.3f}s after the promotion, "
        f"{served_after} writes from 0.5s after it"
    )
    assert load.read_only_errors <= THREADS  # at most the requests in flight at the switch
    assert evictions >= 1
    assert gap < 5
    assert served_after > 0


def test_first_read_only_error_evicts_the_idle_connections_opened_before_it(
    pair: ReplicaPair,
) -> None:
    opened = 8
    with alias(ALIAS, pair.settings(POOL_SIZE=opened, MAX_OVERFLOW=0, STICKY=False)):
        all_out = threading.Barrier(opened)

        def holder() -> None:  # opens a connection and keeps it until all are open
            close_old_connections()
            with connections[ALIAS].cursor() as cursor:
                cursor.execute("SELECT 1")
            all_out.wait(10)
            connections.close_all()

        threads = [threading.Thread(target=holder) for _ in range(opened)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert pool_stats()["idle"] == opened
        pair.set_read_only(PRIMARY_PORT, True)
        read_only_errors = other_errors = 0
        for row in range(opened):
            close_old_connections()
            try:
                with connections[ALIAS].cursor() as cursor:
                    cursor.execute("SELECT 1")  # the reload takes effect after a command
                    cursor.execute("INSERT INTO items (id) VALUES (%s)", [row])
            except Exception as error:
                if is_read_only_error(error):
                    read_only_errors += 1
                else:
                    other_errors += 1  # no writable server to open a new connection to
            finally:
                close_old_connections()
        stats = pool_stats()
        assert read_only_errors == 1
        assert stats["evictions"] == 1
        assert stats["open"] == 0  # every connection opened before the error is gone
        assert client_sessions(pair, PRIMARY_PORT) == 0
        assert other_errors == opened - 1
