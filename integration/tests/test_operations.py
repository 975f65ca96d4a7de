"""Operations against real servers: the dbpool command, its capacity check, Prometheus."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import close_old_connections, connections

import dj_db_conn_pool
from conftest import TEST_DATABASE, alias, alias_settings
from dj_db_conn_pool import PoolTimeout
from dj_db_conn_pool import figures as pool_figures
from dj_db_conn_pool.management.commands.dbpool import Command
from integration.engines import Engine
from integration.helpers import request_cycle

HERE = Path(__file__).resolve().parent


def dbpool(*args: str) -> str:
    """Run `manage.py dbpool` in this process; return what it printed."""
    out = io.StringIO()
    try:
        call_command(Command(), *args, stdout=out)
    except CommandError as error:
        raise CommandError(f"{error}\n--- output:\n{out.getvalue()}") from None
    return out.getvalue()


def alias_block(output: str, alias: str) -> str:
    """Return the lines that the command printed for one alias."""
    blocks = output.split("\n\n")
    return next(block for block in blocks if block.startswith(f"{alias} ("))


def server_limit(engine: Engine) -> int:
    """Ask the server, outside the pool, how many connections ordinary users may open."""
    observer = engine.raw_connect()
    try:
        cursor = observer.cursor()
        if engine.family == "mysql":
            cursor.execute("SELECT @@GLOBAL.max_connections")
            return int(cursor.fetchone()[0])
        cursor.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
            " - coalesce(current_setting('reserved_connections', true), '0')::int"
        )
        return int(cursor.fetchone()[0])
    finally:
        observer.close()


def test_dbpool_shows_configured_sizes_then_this_process_figures(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    pool_options.update(POOL_SIZE=3, MAX_OVERFLOW=2)
    before = alias_block(dbpool("--database", engine.alias), engine.alias)
    assert "POOL_SIZE             3" in before and "MAX_OVERFLOW          2" in before
    assert "per process, at most  5 connections" in before
    assert "no pool yet" in before
    for _ in range(3):
        request_cycle(engine)
    output = dbpool("--database", engine.alias)
    assert f"Pools of this process (pid {os.getpid()}) only." in output
    assert "this command's process has only\nthe pools it opened itself" in output
    after = alias_block(output, engine.alias)
    assert f"databases             {TEST_DATABASE}" in after
    assert "open                  1" in after and "idle                  1" in after
    assert "checkouts             3" in after and "connections_opened    1" in after


def test_dbpool_refuses_an_alias_that_is_not_pooled(engine: Engine) -> None:
    with pytest.raises(CommandError, match=r"Not a pooled alias: default\. Pooled aliases: "):
        dbpool("--database", "default")
    with pytest.raises(CommandError, match="needs --workers N"):
        dbpool("--check-capacity")


def test_capacity_check_says_the_fleet_fits(engine: Engine, pool_options: dict[str, Any]) -> None:
    pool_options.update(POOL_SIZE=2, MAX_OVERFLOW=1)
    limit = server_limit(engine)
    output = dbpool("--database", engine.alias, "--check-capacity", "--workers", "4")
    assert f": {limit} allowed (max_connections " in output
    assert f"may open 12 ({engine.alias} 4 x 3): fits" in output
    assert "does NOT fit" not in output
    assert output.rstrip().endswith("4 worker processes fit every limit.")


def test_capacity_check_reports_what_the_fleet_holds_always_and_when_quiet(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    pool_options.update(POOL_SIZE=4, MAX_OVERFLOW=2, MIN_SIZE=1, IDLE_TIMEOUT=60)
    shown = alias_block(dbpool("--database", engine.alias), engine.alias)
    assert "held at all times     1 (MIN_SIZE)" in shown
    assert "held when quiet       1 (IDLE_TIMEOUT=60s)" in shown
    output = dbpool("--database", engine.alias, "--check-capacity", "--workers", "4")
    assert f"may open 24 ({engine.alias} 4 x 6): fits" in output
    assert f"holds 4 at all times (MIN_SIZE: {engine.alias} 4 x 1)" in output
    assert f"holds 4 in quiet hours ({engine.alias} 4 x 1, IDLE_TIMEOUT=60s)" in output
    del pool_options["IDLE_TIMEOUT"]  # a pool then keeps what it opened
    output = dbpool("--database", engine.alias, "--check-capacity", "--workers", "4")
    assert (
        f"holds 16 in quiet hours ({engine.alias} 4 x 4, no IDLE_TIMEOUT: up to POOL_SIZE "
        "stay open)"
    ) in output


def test_capacity_check_fails_when_the_fleet_exceeds_max_connections(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    pool_options.update(POOL_SIZE=10, MAX_OVERFLOW=10)
    limit = server_limit(engine)
    workers = limit // 20 + 1  # one worker's 20 connections too many
    with pytest.raises(CommandError) as error:
        dbpool("--database", engine.alias, "--check-capacity", "--workers", str(workers))
    message = str(error.value)
    assert f"{workers} worker processes do not fit" in message
    assert f"may open {workers * 20} ({engine.alias} {workers} x 20): does NOT fit" in message
    assert f"{limit} allowed" in message


def test_capacity_check_fails_for_an_unbounded_pool(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    pool_options.update(MAX_OVERFLOW=-1)
    with pytest.raises(CommandError, match="does not fit"):
        dbpool("--database", engine.alias, "--check-capacity", "--workers", "1")


@pytest.fixture
def limited_user(engine: Engine) -> Iterator[dict[str, str]]:
    """A user that the server lets open at most 4 connections (one per run)."""
    name, password = f"djpool_capacity_{os.getpid()}", "capacity-test-only"
    observer = engine.raw_connect()
    cursor = observer.cursor()
    if engine.family == "mysql":
        account = f"'{name}'@'%'"
        cursor.execute(f"DROP USER IF EXISTS {account}")
        cursor.execute(
            f"CREATE USER {account} IDENTIFIED BY '{password}' WITH MAX_USER_CONNECTIONS 4"
        )
        cursor.execute(f"GRANT ALL ON {TEST_DATABASE}.* TO {account}")
    else:
        cursor.execute(f"DROP ROLE IF EXISTS {name}")
        cursor.execute(f"CREATE ROLE {name} LOGIN CONNECTION LIMIT 4 PASSWORD '{password}'")
        cursor.execute(f"ALTER DATABASE {TEST_DATABASE} CONNECTION LIMIT 5")
    try:
        with alias_settings(engine.alias, USER=name, PASSWORD=password):
            yield {"user": name}
    finally:
        connections[engine.alias].close()
        from dj_db_conn_pool.container import pool_container

        pool_container.close_alias(engine.alias)  # its sessions, before the user goes
        if engine.family == "mysql":
            cursor.execute(f"DROP USER {account}")
        else:
            cursor.execute(f"ALTER DATABASE {TEST_DATABASE} CONNECTION LIMIT -1")
            cursor.execute(f"DROP ROLE {name}")
        observer.close()


def test_capacity_check_counts_the_users_own_limit(
    engine: Engine, pool_options: dict[str, Any], limited_user: dict[str, str]
) -> None:
    pool_options.update(POOL_SIZE=1, MAX_OVERFLOW=1)
    output = dbpool("--database", engine.alias, "--check-capacity", "--workers", "2")
    source = "max_user_connections 4" if engine.family == "mysql" else "rolconnlimit 4"
    assert f"4 allowed ({source})" in output
    assert "does NOT fit" not in output
    with pytest.raises(CommandError) as error:
        dbpool("--database", engine.alias, "--check-capacity", "--workers", "3")
    lines = str(error.value).splitlines()
    failed = [line for line in lines if line.endswith("does NOT fit")]
    server_line = next(i for i, line in enumerate(lines) if "max_connections" in line)
    assert lines[server_line + 1].endswith(": fits")  # the server has room, the user has not
    if engine.family == "mysql":
        assert len(failed) == 1
    else:  # and the database's CONNECTION LIMIT 5
        assert "5 allowed (datconnlimit 5)" in str(error.value)
        assert len(failed) == 2


def test_capacity_adds_up_aliases_on_one_server(
    engine: Engine, pool_options: dict[str, Any]
) -> None:
    pool_options.update(POOL_SIZE=2, MAX_OVERFLOW=1)
    copy = f"{engine.alias}_copy"
    options = {"POOL_OPTIONS": {"POOL_SIZE": 1, "MAX_OVERFLOW": 0}}
    with alias(copy, {**connections.settings[engine.alias], **options}):
        output = dbpool("--check-capacity", "--workers", "5")
    assert f"may open 20 ({engine.alias} 5 x 3 + {copy} 5 x 1): fits" in output


def test_manage_py_dbpool_is_found_through_installed_apps(engine: Engine) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dbpool_settings",
        "DJ_DB_CONN_POOL_OPS_ENGINE": engine.module,
        "DJ_DB_CONN_POOL_OPS_DATABASE": TEST_DATABASE,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "django", "dbpool", "--check-capacity", "--workers"]
    fits = subprocess.run([*command, "1"], env=env, capture_output=True, text=True, timeout=120)
    assert fits.returncode == 0, fits.stdout + fits.stderr
    assert "default (dj_db_conn_pool.backends." in fits.stdout
    assert "1 worker process fits every limit." in fits.stdout
    workers = str(server_limit(engine))  # each holds at least one connection
    over = subprocess.run([*command, workers], env=env, capture_output=True, text=True, timeout=120)
    assert over.returncode == 1, over.stdout + over.stderr
    assert f"CommandError: {workers} worker processes do not fit" in over.stderr


# Prometheus: an optional extra; CI installs it.


@pytest.fixture
def prometheus() -> Any:
    try:
        import prometheus_client
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and prometheus_client is missing: install the core's [prometheus]")
        pytest.skip("prometheus_client is not installed (the core's [prometheus] extra)")
    return prometheus_client


def scrape(url: str) -> dict[tuple[str, str], float]:
    """GET the metrics page; return {(sample name, alias or le): value} of our metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("dj_db_conn_pool_"):
                key = sample.labels.get("le") or sample.labels["alias"]
                samples[(sample.name, key)] = sample.value
    return samples


def test_prometheus_scrape_reports_real_checkouts_waits_and_timeouts(
    engine: Engine, pool_options: dict[str, Any], prometheus: Any, figures: list[str]
) -> None:
    from dj_db_conn_pool import prometheus as pool_metrics

    registry = prometheus.CollectorRegistry()
    metrics = pool_metrics.register(registry)
    assert pool_metrics.register(registry) is metrics  # once per registry
    server, thread = prometheus.start_http_server(0, addr="127.0.0.1", registry=registry)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    pool_options.update(POOL_SIZE=1, MAX_OVERFLOW=1, TIMEOUT=1.5)
    alias = engine.alias
    try:
        for _ in range(5):
            request_cycle(engine)
        holding, release = threading.Barrier(3), threading.Event()

        def hold() -> None:
            request = connections[alias]
            with request.cursor() as cursor:
                cursor.execute("SELECT 1")
            holding.wait()
            release.wait()
            request.close()

        holders = [threading.Thread(target=hold) for _ in range(2)]
        for holder in holders:
            holder.start()
        holding.wait()
        errors: list[BaseException] = []

        def wait_in_vain() -> None:
            try:
                request_cycle(engine)
            except PoolTimeout as error:
                errors.append(error)

        waiter = threading.Thread(target=wait_in_vain)
        waiter.start()
        deadline = time.monotonic() + 1
        while scrape(url).get(("dj_db_conn_pool_waiting_requests", alias)) != 1:
            assert time.monotonic() < deadline, "the waiting request never showed"
            time.sleep(0.02)
        busy = scrape(url)
        waiter.join()
        release.set()
        for holder in holders:
            holder.join()
        started = time.monotonic()
        final = scrape(url)
        scrape_ms = (time.monotonic() - started) * 1000
        figures_now = dj_db_conn_pool.stats(alias)[alias]
    finally:
        release.set()
        metrics.close()
        server.shutdown()
        thread.join()

    assert len(errors) == 1
    assert busy[("dj_db_conn_pool_checked_out_connections", alias)] == 2
    assert busy[("dj_db_conn_pool_overflow_connections", alias)] == 1
    assert final[("dj_db_conn_pool_pool_size", alias)] == 1
    assert final[("dj_db_conn_pool_max_overflow", alias)] == 1
    assert final[("dj_db_conn_pool_checked_out_connections", alias)] == 0
    for figure in (*pool_figures.STATE, *pool_figures.SIZES):  # what stats() says, as it says it
        name = pool_metrics.PREFIX + figure.metric
        assert final[(name, alias)] == figures_now[figure.key], name
    for figure in pool_figures.COUNTERS:
        name = f"{pool_metrics.PREFIX}{figure.metric}_total"
        assert final[(name, alias)] == figures_now[figure.key], name
    assert final[("dj_db_conn_pool_checkouts_total", alias)] == 7
    assert final[("dj_db_conn_pool_connections_opened_total", alias)] == 2
    assert final[("dj_db_conn_pool_timeouts_total", alias)] == 1
    assert final[("dj_db_conn_pool_refused_total", alias)] == 0
    assert final[("dj_db_conn_pool_invalidations_total", alias)] == 0
    # Every checkout's wait, the timed-out one's 1.5s included.
    assert final[("dj_db_conn_pool_wait_seconds_count", alias)] == 8
    assert final[("dj_db_conn_pool_wait_seconds_bucket", "1.0")] == 7
    assert final[("dj_db_conn_pool_wait_seconds_bucket", "2.5")] == 8
    assert final[("dj_db_conn_pool_wait_seconds_sum", alias)] >= 1.5
    figures.append(f"scrape of {len(final)} samples over HTTP: {scrape_ms:.1f} ms")


def test_prometheus_close_stops_observing_and_unregisters(
    engine: Engine, prometheus: Any, figures: list[str]
) -> None:
    from dj_db_conn_pool import pool
    from dj_db_conn_pool import prometheus as pool_metrics

    registry = prometheus.CollectorRegistry()
    metrics = pool_metrics.register(registry)
    request_cycle(engine)
    text = prometheus.generate_latest(registry).decode()
    assert f'dj_db_conn_pool_checkouts_total{{alias="{engine.alias}"}} 1.0' in text
    rounds = 100_000
    started = time.perf_counter()
    for _ in range(rounds):
        metrics.observe_wait(engine.alias, 0.0001)
    per_call = (time.perf_counter() - started) / rounds
    metrics.close()
    assert metrics.observe_wait not in pool.wait_observers
    assert prometheus.generate_latest(registry) == b""
    again = pool_metrics.register(registry)
    assert again is not metrics  # a new one after close()
    metrics.close()  # a second close() leaves the new one alone
    assert again.observe_wait in pool.wait_observers
    again.close()
    figures.append(f"histogram observation per checkout: {per_call * 1e6:.2f} µs")


def test_slow_checkout_warning_tells_the_pool_state_as_stats_does(
    engine: Engine, pool_options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    pool_options.update(POOL_SIZE=1, MAX_OVERFLOW=0, TIMEOUT=5, SLOW_CHECKOUT=0.05)
    close_old_connections()
    holding = threading.Event()

    def hold_for_a_moment() -> None:
        close_old_connections()
        with connections[engine.alias].cursor() as cursor:
            cursor.execute("SELECT 1")
        holding.set()
        time.sleep(0.3)
        close_old_connections()  # a waiter is queued: returned for real

    thread = threading.Thread(target=hold_for_a_moment)
    thread.start()
    assert holding.wait(10)
    with caplog.at_level(logging.WARNING, logger="dj_db_conn_pool"):
        with connections[engine.alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    thread.join()
    close_old_connections()
    (message,) = [r.getMessage() for r in caplog.records if "SLOW_CHECKOUT" in r.getMessage()]
    assert "1 open, 1 checked out, 0 idle, 0 waiting" in message
