"""The pooled PostgreSQL backend behind PgBouncer in transaction mode.

Each test starts Debian's pgbouncer on 127.0.0.1 (a free port, trust auth, its
files in a temporary folder) in front of the PostgreSQL of `make services`, runs
Django through it with DISABLE_SERVER_SIDE_CURSORS=True, and stops it.
"""

from __future__ import annotations

import io
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import IntegrityError, close_old_connections, connections, transaction
from django.test import override_settings

from conftest import TEST_DATABASE, alias_settings
from dj_db_conn_pool.container import pool_container
from dj_db_conn_pool.management.commands.dbpool import Command
from integration.engines import Engine
from integration.helpers import SessionSampler, backend_id, count_items, make_table, request_cycle

POOL_MODE = "transaction"
SERVER_POOL_SIZE = 2  # PgBouncer's default_pool_size: server sessions per user and database


@dataclass
class Bouncer:
    """A running pgbouncer and where its log is."""

    port: int
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else "(no log)"

    def connect(self, user: str) -> Any:
        """Open a plain driver connection to the test database through PgBouncer."""
        params = {"host": "127.0.0.1", "port": self.port, "user": user, "dbname": TEST_DATABASE}
        try:
            import psycopg

            # Unlike Django, psycopg prepares a query run 5 times: PgBouncer 1.18 loses those.
            return psycopg.connect(**params, autocommit=True, prepare_threshold=None)
        except ImportError:
            import psycopg2

            connection = psycopg2.connect(**params)
            connection.autocommit = True
            return connection


def _pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/bin")
    if found is None:
        reason = "pgbouncer is not installed: run `make system-deps` (apt-get install pgbouncer)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as(socket_dir: str) -> pwd.struct_passwd:
    """Return the user pgbouncer runs as: it refuses root, and must reach the server's socket."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    owner = os.stat(socket_dir).st_uid if socket_dir.startswith("/") else 0
    return pwd.getpwuid(owner) if owner != 0 else pwd.getpwnam("nobody")


@pytest.fixture
def pgbouncer(postgresql: Engine) -> Iterator[Bouncer]:
    binary = _pgbouncer_binary()
    host, user = postgresql.env("HOST"), postgresql.env("USER")
    account = _run_as(host)
    folder = Path(tempfile.mkdtemp(prefix="djpool-pgbouncer-"))
    os.chown(folder, account.pw_uid, account.pw_gid)
    bouncer = Bouncer(_free_port(), folder / "pgbouncer.log")
    (folder / "userlist.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n"
        f"* = host={host} port={postgresql.env('PORT', '5432')} user={user}\n"
        f"[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\n"
        f"listen_port = {bouncer.port}\n"
        f"unix_socket_dir =\n"
        f"auth_type = trust\n"
        f"auth_file = {folder / 'userlist.txt'}\n"
        f"pool_mode = {POOL_MODE}\n"
        f"default_pool_size = {SERVER_POOL_SIZE}\n"
        f"max_client_conn = 200\n"
        f"logfile = {bouncer.log}\n"
        f"pidfile = {folder / 'pgbouncer.pid'}\n"
    )
    process = subprocess.Popen(
        [binary, str(folder / "pgbouncer.ini")],
        user=account.pw_uid,
        group=account.pw_gid,
        extra_groups=[] if os.geteuid() == 0 else None,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                pytest.fail(f"pgbouncer exited with {process.returncode}:\n{bouncer.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", bouncer.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"pgbouncer did not listen in 15s:\n{bouncer.log_tail()}")
                time.sleep(0.05)
        with alias_settings(
            postgresql.alias,
            HOST="127.0.0.1",
            PORT=str(bouncer.port),
            DISABLE_SERVER_SIDE_CURSORS=True,
            POOL_OPTIONS={"POOL_SIZE": 4, "MAX_OVERFLOW": 0, "TIMEOUT": 20},
        ):
            yield bouncer
    finally:
        connections.close_all()
        pool_container.close_alias(postgresql.alias)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def test_requests_from_many_threads_share_pgbouncers_server_sessions(
    postgresql: Engine, pgbouncer: Bouncer, figures: list[str]
) -> None:
    errors: list[BaseException] = []
    backends: set[int] = set()
    lock = threading.Lock()

    def client() -> None:
        try:
            for _ in range(25):
                backend = request_cycle(postgresql)
                with lock:
                    backends.add(backend)
        except BaseException as error:  # judged below
            errors.append(error)
        finally:
            connections.close_all()

    sampler = SessionSampler(postgresql, TEST_DATABASE, postgresql.alias)
    sampler.start()
    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    sampler.stop()
    assert errors == [], f"{errors[:3]}\n{pgbouncer.log_tail()}"
    figures.append(
        f"16 threads x 25 requests in {elapsed:.2f}s ({400 / elapsed:.0f}/s) through "
        f"PgBouncer ({POOL_MODE} mode): pool peak {sampler.peak_open} connections to "
        f"PgBouncer, {len(backends)} server backends seen, peak server sessions "
        f"{sampler.peak_sessions} (default_pool_size {SERVER_POOL_SIZE})"
    )
    assert sampler.peak_open <= 4
    assert len(backends) <= SERVER_POOL_SIZE
    assert sampler.peak_sessions <= SERVER_POOL_SIZE


def test_no_prepared_statements_reach_pgbouncer(postgresql: Engine, pgbouncer: Bouncer) -> None:
    connection = connections[postgresql.alias]
    connection.ensure_connection()
    # psycopg 3 prepares a query after its 5th run unless Django sets None; psycopg2 never does.
    assert getattr(connection.connection, "prepare_threshold", None) is None
    for _ in range(10):
        backend_id(postgresql)


def test_atomic_blocks_commit_and_roll_back_through_pgbouncer(
    postgresql: Engine, pgbouncer: Bouncer
) -> None:
    alias = postgresql.alias
    make_table(postgresql)
    with connections[alias].cursor() as cursor:
        cursor.execute("ALTER TABLE pool_items ADD CONSTRAINT unique_name UNIQUE (name)")

    def insert(name: str) -> None:
        with connections[alias].cursor() as cursor:
            cursor.execute("INSERT INTO pool_items (name) VALUES (%s)", [name])

    with transaction.atomic(using=alias):
        insert("kept")
        session = backend_id(postgresql)
        assert backend_id(postgresql) == session  # one server session for the transaction
    with pytest.raises(ZeroDivisionError), transaction.atomic(using=alias):
        insert("rolled back")
        1 / 0  # noqa: B018
    with transaction.atomic(using=alias):
        insert("outer")
        with pytest.raises(IntegrityError), transaction.atomic(using=alias):
            insert("kept")  # a duplicate: its savepoint rolls back, the outer block goes on
        insert("after savepoint")
    connections[alias].close()

    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            for row in range(10):
                with transaction.atomic(using=alias):
                    insert(f"w{number}-{row}")
                    insert(f"w{number}-{row}-pair")
                connections[alias].close()
        except BaseException as error:  # judged below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [], f"{errors[:3]}\n{pgbouncer.log_tail()}"
    assert count_items(postgresql) == 3 + 8 * 10 * 2


@pytest.fixture
def content_types(postgresql: Engine, pgbouncer: Bouncer) -> Iterator[int]:
    """A django_content_type table with 500 rows, made through PgBouncer."""
    connection = connections[postgresql.alias]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS django_content_type")
    with connection.schema_editor() as editor:
        editor.create_model(ContentType)
    rows = [ContentType(app_label=f"app{n:03}", model="thing") for n in range(500)]
    ContentType.objects.using(postgresql.alias).bulk_create(rows)
    yield len(rows)
    with connections[postgresql.alias].cursor() as cursor:
        cursor.execute("DROP TABLE django_content_type")


def hold_a_transaction(alias: str, holding: threading.Event, done: threading.Event) -> None:
    """Take a server session in a transaction until `done`, as another request would."""
    try:
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            holding.set()
            done.wait(10)
    finally:
        connections.close_all()


def test_iterator_works_without_server_side_cursors(postgresql: Engine, content_types: int) -> None:
    alias = postgresql.alias
    holding, done = threading.Event(), threading.Event()
    rows = ContentType.objects.using(alias).order_by("id").iterator(chunk_size=50)
    names = [next(rows).app_label]
    other = threading.Thread(target=hold_a_transaction, args=(alias, holding, done))
    other.start()
    try:
        assert holding.wait(10)
        names.extend(row.app_label for row in rows)  # later chunks while another client works
    finally:
        done.set()
        other.join()
    assert names == [f"app{n:03}" for n in range(content_types)]


def test_server_side_cursors_break_when_pgbouncer_switches_sessions(
    postgresql: Engine, content_types: int
) -> None:
    # Why DISABLE_SERVER_SIDE_CURSORS=True: the cursor lives in one server session,
    # which PgBouncer hands to another client between two fetches.
    alias = postgresql.alias
    holding, done = threading.Event(), threading.Event()
    with alias_settings(alias, DISABLE_SERVER_SIDE_CURSORS=False):
        rows = ContentType.objects.using(alias).order_by("id").iterator(chunk_size=50)
        next(rows)
        other = threading.Thread(target=hold_a_transaction, args=(alias, holding, done))
        other.start()
        try:
            assert holding.wait(10)
            with pytest.raises(Exception, match=r'cursor "_django_curs_\w+" does not exist'):
                list(rows)
        finally:
            done.set()
            other.join()


def test_capacity_check_through_pgbouncer_reads_the_servers_limits(
    postgresql: Engine, pgbouncer: Bouncer
) -> None:
    # PgBouncer passes the query on: the figures are PostgreSQL's, not max_client_conn.
    out = io.StringIO()
    args = ["--database", postgresql.alias, "--check-capacity", "--workers", "1"]
    call_command(Command(), *args, stdout=out)
    assert f"PostgreSQL 127.0.0.1:{pgbouncer.port}: " in out.getvalue()
    assert "(max_connections " in out.getvalue()
    assert "1 worker process fits every limit." in out.getvalue()


def test_djangos_time_zone_follows_each_request_through_pgbouncer(
    postgresql: Engine, pgbouncer: Bouncer
) -> None:
    # Django sets the time zone once per connection to PgBouncer, which replays it
    # on whichever server session each transaction gets, and undoes it for others.
    zones: list[str] = []
    errors: list[BaseException] = []

    def show_time_zone() -> str:
        with connections[postgresql.alias].cursor() as cursor:
            cursor.execute("SHOW TimeZone")
            return str(cursor.fetchone()[0])

    def client() -> None:
        try:
            for _ in range(10):
                close_old_connections()
                zones.append(show_time_zone())
        except BaseException as error:  # judged below
            errors.append(error)
        finally:
            connections.close_all()

    with override_settings(USE_TZ=False, TIME_ZONE="Asia/Tokyo"):
        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        plain = pgbouncer.connect(postgresql.env("USER"))
        plain_zones = set()
        try:
            for _ in range(20):  # a client without Django's set-up, on the same 2 sessions
                cursor = plain.cursor()
                cursor.execute("SHOW TimeZone")
                plain_zones.add(cursor.fetchone()[0])
        finally:
            plain.close()
        for thread in threads:
            thread.join()
    assert errors == [], f"{errors[:3]}\n{pgbouncer.log_tail()}"
    assert zones == ["Asia/Tokyo"] * 80
    assert "Asia/Tokyo" not in plain_zones
