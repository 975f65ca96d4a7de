"""RECONNECT_BACKOFF on real servers: while logins fail, few attempts; once back, soon served.

The server stays up and counts the attempts itself, while it refuses the
test's logins: PostgreSQL with the test database closed to connections
(ALLOW_CONNECTIONS false), each attempt a "connection received" line of its
log (log_connections); MariaDB with the test's own account locked, each
attempt one more in its `Connections` status counter. 16 threads request
without pause for the whole outage; then logins are allowed again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError, connections

from conftest import TEST_DATABASE, alias_settings
from integration.engines import MYSQL, POSTGRESQL, Engine, installed
from integration.helpers import fan_out, request_cycle

THREADS = 16
OUTAGE_USER = "djpool_outage"


class Refusal:
    """Make one server refuse the test's logins for a while, and count its connection attempts."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def admin(self, sql: str) -> Any:
        observer = self.engine.raw_connect()
        try:
            cursor = observer.cursor()
            cursor.execute(sql)
            return cursor.fetchone() if cursor.description else None
        finally:
            observer.close()

    def settings(self) -> dict[str, Any]:
        """The alias's settings changes: MariaDB logs in as an account of its own, to lock."""
        if self.engine.family == "mysql":
            return {"USER": OUTAGE_USER, "PASSWORD": "outage-pw"}
        return {}

    def set_up(self) -> None:
        if self.engine.family == "mysql":
            self.admin(f"DROP USER IF EXISTS '{OUTAGE_USER}'@'%'")
            self.admin(f"CREATE USER '{OUTAGE_USER}'@'%' IDENTIFIED BY 'outage-pw'")
            self.admin(f"GRANT ALL ON {TEST_DATABASE}.* TO '{OUTAGE_USER}'@'%'")
        else:
            self.admin("ALTER SYSTEM SET log_connections = on")
            self.admin("SELECT pg_reload_conf()")

    def tear_down(self) -> None:
        if self.engine.family == "mysql":
            self.admin(f"DROP USER IF EXISTS '{OUTAGE_USER}'@'%'")
        else:
            self.admin(f"ALTER DATABASE {TEST_DATABASE} ALLOW_CONNECTIONS true")
            self.admin("ALTER SYSTEM RESET log_connections")
            self.admin("SELECT pg_reload_conf()")

    def begin(self) -> None:
        """Refuse new logins and end the sessions open now; start counting."""
        if self.engine.family == "mysql":
            self.admin(f"ALTER USER '{OUTAGE_USER}'@'%' ACCOUNT LOCK")
            self._kill_sessions()
        else:
            self.admin(f"ALTER DATABASE {TEST_DATABASE} ALLOW_CONNECTIONS false")
            self.admin(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
                f"WHERE datname = '{TEST_DATABASE}'"
            )
        self.mark = self._attempts()

    def end(self) -> int:
        """Allow logins again; return the connection attempts the server saw meanwhile."""
        attempts = self._attempts() - self.mark
        if self.engine.family == "mysql":
            self.admin(f"ALTER USER '{OUTAGE_USER}'@'%' ACCOUNT UNLOCK")
        else:
            self.admin(f"ALTER DATABASE {TEST_DATABASE} ALLOW_CONNECTIONS true")
        return attempts

    def _kill_sessions(self) -> None:
        import MySQLdb

        observer = self.engine.raw_connect()
        try:
            cursor = observer.cursor()
            cursor.execute(
                f"SELECT id FROM information_schema.processlist WHERE user = '{OUTAGE_USER}'"
            )
            for (session,) in cursor.fetchall():
                try:
                    cursor.execute(f"KILL {int(session)}")
                except MySQLdb.OperationalError:  # it ended meanwhile
                    pass
        finally:
            observer.close()

    def _attempts(self) -> int:
        """The server's count of connection attempts to the test database so far."""
        if self.engine.family == "mysql":
            # Every connection counts, this reading one too: one per reading, which
            # cancels out between two readings (other tests' logins would not).
            return int(self.admin("SHOW GLOBAL STATUS LIKE 'Connections'")[1])
        # Logged after authentication, before the database refuses it.
        user = self.engine.env("USER")
        authorized = f"connection authorized: user={user} database={TEST_DATABASE}"
        with open(f"{self.engine.env('PGDATA')}/log", encoding="utf-8", errors="replace") as log:
            return sum(authorized in line for line in log)


@pytest.fixture(
    params=installed([POSTGRESQL, MYSQL]),
    ids=lambda engine: engine.service,
)
def refusal(request: pytest.FixtureRequest) -> Iterator[Refusal]:
    engine: Engine = request.getfixturevalue(request.param.service)
    refusal = Refusal(engine)
    refusal.set_up()
    try:
        yield refusal
    finally:
        refusal.tear_down()


def run_outage(
    refusal: Refusal, pool_options: dict[str, Any], outage: float
) -> tuple[float, float, list[BaseException]]:
    """Serve 16 threads through an outage; return attempts/s, recovery seconds and errors."""
    engine = refusal.engine
    stop = threading.Event()
    back = [0.0]
    first_success_after_back: list[float] = []
    errors: list[BaseException] = []

    def client(number: int) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                request_cycle(engine)
            except OperationalError as error:
                errors.append(error)
                time.sleep(0.001)  # a client's next request, not a spin that starves the rest
                continue
            if back[0] and started > back[0]:
                first_success_after_back.append(time.monotonic())

    with alias_settings(engine.alias, POOL_OPTIONS=pool_options, **refusal.settings()):
        request_cycle(engine)  # the pool is up, with a connection
        runner = threading.Thread(target=fan_out, args=(THREADS, client))
        runner.start()
        time.sleep(0.3)
        refusal.begin()
        time.sleep(outage)
        attempts = refusal.end()
        back[0] = time.monotonic()
        deadline = back[0] + 5
        while not first_success_after_back and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        stop.set()
        runner.join()
        connections[engine.alias].close()
    recovery = min(first_success_after_back, default=float("inf")) - back[0]
    return attempts / outage, recovery, errors


def test_while_logins_fail_a_process_makes_few_attempts_and_recovers_within_the_cap(
    refusal: Refusal, figures: list[str]
) -> None:
    attempts_per_s, recovery, errors = run_outage(
        refusal, {"POOL_SIZE": 4, "MAX_OVERFLOW": 2, "RECONNECT_BACKOFF": 1.0}, outage=5.0
    )
    skipped = [e for e in errors if "did not try to connect" in str(e)]
    figures.append(
        f"{refusal.engine.service}, RECONNECT_BACKOFF=1.0: {attempts_per_s:.1f} connect "
        f"attempts/s during a 5 s outage under {THREADS} threads (server's count), "
        f"{len(errors)} failed requests ({len(skipped)} without an attempt), first success "
        f"{recovery * 1000:.0f} ms after logins were allowed again"
    )
    # Doubling from 0.05 s to 1 s, each cut by up to half: at most about 15 in 5 s,
    # after the first attempts of the threads that found their connection gone at once.
    assert attempts_per_s <= 8, attempts_per_s
    assert skipped, "no checkout failed at once"
    assert "unreachable since" in str(skipped[-1]) and "outage-pw" not in str(skipped[-1])
    # The next attempt is due within the cap; then a login (slow on a loaded machine).
    assert recovery <= 1.0 + 1.0, recovery


def test_without_backoff_every_checkout_tries_to_connect(
    refusal: Refusal, figures: list[str]
) -> None:
    attempts_per_s, recovery, _errors = run_outage(
        refusal, {"POOL_SIZE": 4, "MAX_OVERFLOW": 2, "RECONNECT_BACKOFF": 0}, outage=2.0
    )
    figures.append(
        f"{refusal.engine.service}, RECONNECT_BACKOFF=0: {attempts_per_s:.0f} connect "
        f"attempts/s during a 2 s outage under {THREADS} threads (server's count), first "
        f"success {recovery * 1000:.0f} ms after logins were allowed again"
    )
    assert attempts_per_s > 20, attempts_per_s
