"""The fault suite: the database misbehaves, the pool copes, and nothing is lost."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import pytest
from django.db import IntegrityError, OperationalError, connections, transaction

import dj_db_conn_pool
from conftest import TEST_DATABASE, alias_settings
from dj_db_conn_pool import PoolTimeout, TooManyRequests, leaks
from dj_db_conn_pool.container import pool_container
from integration.engines import Engine
from integration.helpers import (
    SessionSampler,
    backend_id,
    checkout_in_a_thread,
    count_items,
    make_table,
    request_cycle,
)


def test_server_restart_under_load(
    engine: Engine, pool_options: dict[str, Any], figures: list[str]
) -> None:
    pool_options.update(POOL_SIZE=4, MAX_OVERFLOW=2, TIMEOUT=10)
    bound = 6
    stop = threading.Event()
    outcomes: list[tuple[float, float, BaseException | None]] = []
    lock = threading.Lock()

    def client() -> None:
        while not stop.is_set():
            started = time.monotonic()
            error: BaseException | None = None
            try:
                request_cycle(engine)
            except BaseException as caught:  # recorded and judged below
                error = caught
            with lock:
                outcomes.append((started, time.monotonic(), error))
            if error is not None:
                time.sleep(0.01)
        connections.close_all()

    sampler = SessionSampler(engine, TEST_DATABASE, engine.alias)
    sampler.start()
    clients = [threading.Thread(target=client) for _ in range(16)]
    for thread in clients:
        thread.start()
    time.sleep(1)
    restart_began = time.monotonic()
    engine.restart_server()
    back = time.monotonic()
    time.sleep(2)
    stop.set()
    for thread in clients:
        thread.join()
    sampler.stop()

    failures = [(start, error) for start, _, error in outcomes if error is not None]
    # Until the next attempt RECONNECT_BACKOFF allows (1 s at most), checkouts that
    # need a new connection fail at once without trying.
    cap = 1.0
    after_back = [error for start, error in failures if start > back + cap]
    successes_after = sorted(end for start, end, error in outcomes if error is None and end > back)
    recovery = successes_after[0] - back if successes_after else float("inf")
    figures.append(
        f"{len(outcomes)} requests, {len(failures)} failed during the restart "
        f"({back - restart_began:.2f}s down), first success {recovery * 1000:.0f} ms after the "
        f"server was back, peak server sessions {sampler.peak_sessions}, "
        f"peak pool connections {sampler.peak_open} (bound {bound})"
    )
    kinds = Counter(f"{type(error).__name__}: {str(error).strip()[:60]}" for _, error in failures)
    figures.append(f"errors during the outage: {dict(kinds.most_common(4))}")
    assert all(isinstance(error, OperationalError) for _, error in failures), failures[:3]
    assert after_back == [], after_back[:3]
    assert recovery <= cap + 0.5, recovery
    assert len(successes_after) > 16
    assert sampler.peak_open <= bound
    # While the server shuts down, a session it is ending can still be listed next to
    # a connection attempt it is about to refuse: the server may show one more.
    assert sampler.peak_sessions <= bound + 1


def test_idle_timeout_on_the_server_is_survived(engine: Engine) -> None:
    if engine.family == "mysql":
        options = {"init_command": "SET SESSION wait_timeout = 1"}
    else:
        options = {"options": "-c idle_session_timeout=500"}
    with alias_settings(engine.alias, OPTIONS=options):
        session = request_cycle(engine)
        time.sleep(1.6)  # the server closes the idle session
        assert request_cycle(engine) != session
        assert request_cycle(engine) == request_cycle(engine)


def test_waiters_take_turns_and_late_ones_time_out(
    engine: Engine, pool_options: dict[str, Any], figures: list[str]
) -> None:
    pool_options.update(POOL_SIZE=2, MAX_OVERFLOW=1, TIMEOUT=1.5)
    results: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def client() -> None:
        start.wait()
        try:
            with connections[engine.alias].cursor() as cursor:
                cursor.execute(engine.backend_id_sql)
                time.sleep(1.0)  # hold it, as a slow view would
            outcome = "served"
        except PoolTimeout as error:
            outcome = "timeout" if "TIMEOUT=1.5s" in str(error) else f"bad message: {error}"
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 3 at a time for 1 s, 1.5 s of patience: the second round starts at about 1 s, the
    # last 2 time out at 1.5 s, before it ends (0.5 s of margin each way, for loaded machines).
    figures.append(f"{results.count('served')} served, {results.count('timeout')} timed out")
    assert set(results) <= {"served", "timeout"}, results
    assert results.count("served") == 6
    assert results.count("timeout") == 2
    assert dj_db_conn_pool.stats(engine.alias)[engine.alias]["timeouts"] == results.count("timeout")


def test_max_waiting_fails_fast(engine: Engine, pool_options: dict[str, Any]) -> None:
    pool_options.update(POOL_SIZE=1, MAX_OVERFLOW=0, TIMEOUT=2, MAX_WAITING=1)
    connections[engine.alias].ensure_connection()  # the only connection
    release = threading.Event()
    waiter_done = threading.Event()

    def waiter() -> None:
        try:
            connections[engine.alias].ensure_connection()  # waits for ours
        finally:
            connections.close_all()
            waiter_done.set()

    waiting = threading.Thread(target=waiter)
    waiting.start()
    while dj_db_conn_pool.stats(engine.alias)[engine.alias]["waiting"] < 1:
        time.sleep(0.01)
    refused, took = checkout_in_a_thread(engine)  # a latecomer, over MAX_WAITING
    release.set()
    connections[engine.alias].close()  # lets the waiter in
    waiting.join()
    assert waiter_done.is_set()
    assert isinstance(refused, TooManyRequests) and "MAX_WAITING=1" in str(refused), refused
    assert took < 0.5


def test_leaked_checkout_is_reported_with_its_stack(
    engine: Engine, pool_options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    pool_options.update(LEAK_TIMEOUT=0.2)
    caplog.set_level(logging.WARNING, logger="dj_db_conn_pool")
    held = threading.Event()
    done = threading.Event()

    def leaky_background_job() -> None:
        connections[engine.alias].ensure_connection()  # and never closes it
        held.set()
        done.wait()
        connections.close_all()

    job = threading.Thread(target=leaky_background_job)
    job.start()
    held.wait()
    time.sleep(0.3)
    found = leaks.check(pool_container.entries())
    done.set()
    job.join()
    assert found == 1
    message = caplog.text
    assert repr(engine.alias) in message and "LEAK_TIMEOUT=0.2s" in message
    assert "leaky_background_job" in message  # the stack where it was checked out
    assert leaks.check(pool_container.entries()) == 0  # reported once


def test_thread_that_ends_without_closing_gives_the_connection_back(engine: Engine) -> None:
    session = request_cycle(engine)

    def forgetful() -> None:
        with connections[engine.alias].cursor() as cursor:
            cursor.execute(engine.backend_id_sql)  # and never closes

    thread = threading.Thread(target=forgetful)
    thread.start()
    thread.join()
    del thread
    gc.collect()
    figures = dj_db_conn_pool.stats(engine.alias)[engine.alias]
    assert figures["checked_out"] == 0
    assert request_cycle(engine) == session


def _session_probe(engine: Engine, role: str | None = None) -> list[Any]:
    """Change session state in every way a request might, and return what it reads back."""
    with connections[engine.alias].cursor() as cursor:
        if engine.family == "mysql":
            cursor.execute("SELECT @probe, @@SESSION.sql_mode, @@SESSION.tx_isolation")
            seen = list(cursor.fetchone())
        else:
            cursor.execute(
                "SELECT current_setting('application_name'), current_user, "
                "current_setting('TimeZone'), current_setting('default_transaction_isolation')"
            )
            seen = list(cursor.fetchone())
        cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS probe_temp (x INT)")
        cursor.execute("SELECT COUNT(*) FROM probe_temp")
        seen.append(cursor.fetchone()[0])
        cursor.execute("INSERT INTO probe_temp VALUES (1)")
        if engine.family == "mysql":
            cursor.execute("SET @probe = 'left over'")
            cursor.execute("SET SESSION sql_mode = 'ANSI'")
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        else:
            cursor.execute("SET application_name = 'left over'")
            cursor.execute("SET TIME ZONE 'Asia/Tokyo'")
            cursor.execute("SET default_transaction_isolation = 'serializable'")
            if role:
                cursor.execute(f"SET ROLE {role}")
    return seen


def test_reset_on_return_session_wipes_session_state(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    pool_options.update(RESET_ON_RETURN="session")
    role = None
    if engine.family != "mysql":
        role = "probe_role"
        with connections[engine.alias].cursor() as cursor:
            cursor.execute(f"DROP ROLE IF EXISTS {role}")
            cursor.execute(f"CREATE ROLE {role}")
    first = request_cycle(engine)
    fresh = _session_probe(engine, role)
    connections[engine.alias].close()
    assert _session_probe(engine, role) == fresh  # nothing crossed over
    connections[engine.alias].close()
    assert request_cycle(engine) == first  # and it was the same connection
    if role:
        with connections[engine.alias].cursor() as cursor:
            cursor.execute(f"DROP ROLE {role}")


def test_default_reset_keeps_session_state_but_not_transactions(engine: Engine) -> None:
    """The documented default: a ROLLBACK only; session settings persist."""
    request_cycle(engine)
    fresh = _session_probe(engine)
    connections[engine.alias].close()
    assert _session_probe(engine) != fresh
    connections[engine.alias].close()
    pool_container.close_all()  # do not lend this altered session to later tests


def _child_request(alias: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
        result = int(cursor.fetchone()[0])
    connections.close_all()
    return result


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_multiprocessing_children_use_their_own_connections(engine: Engine) -> None:
    idle = request_cycle(engine)  # one connection idle in the pool
    held = backend_id(engine)  # and one checked out, across the fork
    with multiprocessing.get_context("fork").Pool(3) as workers:
        assert workers.map(_child_request, [engine.alias] * 12) == [1] * 12
    assert backend_id(engine) == held  # the parent's connections still work
    connections[engine.alias].close()
    assert request_cycle(engine) in {idle, held}


SHUTDOWN_SCRIPT = """
import os, sys, django
from django.conf import settings
sys.path.insert(0, os.getcwd())
from integration.engines import {name} as engine
settings.configure(DATABASES={{"default": engine.settings("{database}")}}, USE_TZ=True)
django.setup()
from django.db import connections
with connections["default"].cursor() as cursor:
    cursor.execute(engine.backend_id_sql)
    print(cursor.fetchone()[0])
connections["default"].close()
connections["default"].ensure_connection()  # still checked out at exit
"""


def test_exit_closes_pools_without_warnings_or_hang(engine: Engine) -> None:
    name = "MYSQL" if engine.family == "mysql" else "POSTGRESQL"
    script = SHUTDOWN_SCRIPT.format(name=name, database=TEST_DATABASE)
    result = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    session = int(result.stdout.split()[0])
    if engine.family != "mysql":  # the server saw a proper goodbye, not a dropped socket
        with open(f"{engine.env('PGDATA')}/log", encoding="utf-8", errors="replace") as file:
            log = file.read()
        assert f"[{session}] LOG:  could not receive data" not in log
        assert f"[{session}] LOG:  unexpected EOF" not in log


def test_stress_no_lost_or_duplicated_writes(
    engine: Engine, pool_options: dict[str, Any], figures: list[str]
) -> None:
    # No overflow here: an overflow connection closed on return lingers in the
    # server's list while its backend exits, which would blur the server-side count.
    pool_options.update(POOL_SIZE=12, MAX_OVERFLOW=0, TIMEOUT=30)
    bound = 12
    threads_count, requests = 64, 500
    make_table(engine)
    with connections[engine.alias].cursor() as cursor:
        cursor.execute("CREATE UNIQUE INDEX pool_items_name ON pool_items (name)")
    connections[engine.alias].close()
    in_use: set[int] = set()
    lock = threading.Lock()
    errors: list[BaseException] = []
    expected = [0] * threads_count

    def client(number: int) -> None:
        try:
            for step in range(requests):
                connection = connections[engine.alias]
                connection.ensure_connection()
                raw = id(connection.connection)
                with lock:
                    assert raw not in in_use, "one connection lent to two threads"
                    in_use.add(raw)
                try:
                    kind = step % 4
                    with connection.cursor() as cursor:
                        if kind == 0:
                            cursor.execute("SELECT COUNT(*) FROM pool_items")
                        elif kind == 1:
                            cursor.execute(f"INSERT INTO pool_items VALUES ('w{number}-{step}')")
                            expected[number] += 1
                    if kind == 2:
                        with transaction.atomic(using=engine.alias):
                            with connection.cursor() as cursor:
                                cursor.execute(
                                    f"INSERT INTO pool_items VALUES ('a{number}-{step}')"
                                )
                                cursor.execute(
                                    f"INSERT INTO pool_items VALUES ('b{number}-{step}')"
                                )
                        expected[number] += 2
                    elif kind == 3:
                        try:
                            with transaction.atomic(using=engine.alias):
                                with connection.cursor() as cursor:
                                    cursor.execute(
                                        f"INSERT INTO pool_items VALUES ('r{number}-{step}')"
                                    )
                                raise IntegrityError("rolled back on purpose")
                        except IntegrityError:
                            pass
                finally:
                    with lock:
                        in_use.discard(raw)
                    connection.close()
        except BaseException as error:  # surfaced below
            errors.append(error)
        finally:
            connections.close_all()

    sampler = SessionSampler(engine, TEST_DATABASE, engine.alias)
    sampler.start()
    began = time.monotonic()
    clients = [threading.Thread(target=client, args=(n,)) for n in range(threads_count)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    elapsed = time.monotonic() - began
    sampler.stop()
    rows = count_items(engine)
    counters = dj_db_conn_pool.stats(engine.alias)[engine.alias]
    figures.append(
        f"connections opened {counters['connections_opened']}, "
        f"invalidations {counters['invalidations']}, checkouts {counters['checkouts']}"
    )
    figures.append(
        f"{threads_count}x{requests} requests in {elapsed:.1f}s "
        f"({threads_count * requests / elapsed:.0f}/s), {rows} rows, "
        f"peak server sessions {sampler.peak_sessions}, peak pool connections {sampler.peak_open}"
    )
    assert errors == [], [f"{type(e).__name__}: {e}" for e in errors[:5]]
    assert rows == sum(expected)
    assert sampler.peak_open <= bound and sampler.peak_sessions <= bound


PASSWORD = "Wr0ng-S3cret-for-tests"


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ({"PASSWORD": PASSWORD, "USER": "nobody_here"}, "as 'nobody_here'"),
        ({"HOST": "127.0.0.1", "PORT": "1", "PASSWORD": PASSWORD}, "on '127.0.0.1'"),
        ({"NAME": "no_such_database", "PASSWORD": PASSWORD}, "database 'no_such_database'"),
    ],
    ids=["wrong-credentials", "unreachable-host", "unknown-database"],
)
def test_bad_connection_settings_give_one_clear_error_without_the_password(
    engine: Engine,
    change: dict[str, str],
    expect: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    with alias_settings(engine.alias, **change):
        with pytest.raises(OperationalError) as error:
            request_cycle(engine)
    message = str(error.value)
    assert f"Pool {engine.alias!r}" in message and expect in message, message
    out, err = capfd.readouterr()
    for text in (message, repr(error.value), caplog.text, out, err):
        assert PASSWORD not in text
    assert request_cycle(engine) > 0  # the good settings still work
