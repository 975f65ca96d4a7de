"""What the integration tests share: a request cycle, tables, threads, and a session sampler."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connections

import dj_db_conn_pool
from conftest import TEST_DATABASE
from dj_db_conn_pool import PoolError
from integration.engines import Engine


def backend_id(engine: Engine) -> int:
    """Return the server's id of the session the alias's connection talks to."""
    with connections[engine.alias].cursor() as cursor:
        cursor.execute(engine.backend_id_sql)
        return int(cursor.fetchone()[0])


def request_cycle(engine: Engine) -> int:
    """Do what a Django request does: one query between close_old_connections()."""
    close_old_connections()
    try:
        return backend_id(engine)
    finally:
        close_old_connections()


def make_table(engine: Engine) -> None:
    """Create pool_items (name VARCHAR(50)) afresh."""
    with connections[engine.alias].cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pool_items")
        cursor.execute("CREATE TABLE pool_items (name VARCHAR(50))")


def count_items(engine: Engine) -> int:
    """Count pool_items' committed rows, from an observer connection outside the pool."""
    observer = engine.raw_connect(TEST_DATABASE)
    try:
        cursor = observer.cursor()
        cursor.execute("SELECT COUNT(*) FROM pool_items")
        return int(cursor.fetchone()[0])
    finally:
        observer.close()


def in_a_thread(work: Callable[[], Any]) -> Any:
    """Run work() as one request in a new thread; return what it returned, or raise what it did."""
    result: dict[str, Any] = {}

    def request() -> None:
        close_old_connections()
        try:
            result["value"] = work()
        except BaseException as error:  # re-raised in the caller
            result["error"] = error
        finally:
            close_old_connections()

    thread = threading.Thread(target=request)
    thread.start()
    thread.join(30)
    if "error" in result:
        raise result["error"]
    return result["value"]


def checkout_in_a_thread(engine: Engine) -> tuple[PoolError | None, float]:
    """Check out the alias's connection in a new thread, which then gives it back.

    Return the PoolError that the thread met (None if it got a connection) and
    how long the checkout took.
    """
    outcome: dict[str, Any] = {"error": None}

    def borrower() -> None:
        started = time.monotonic()
        try:
            connections[engine.alias].ensure_connection()
        except PoolError as error:
            outcome["error"] = error
        finally:
            outcome["took"] = time.monotonic() - started
            connections.close_all()

    thread = threading.Thread(target=borrower)
    thread.start()
    thread.join()
    return outcome["error"], outcome["took"]


def fan_out(threads: int, work: Callable[[int], object]) -> list[BaseException]:
    """Run work(number) in `threads` threads at once (each then closes its connections).

    Return the errors they raised.
    """
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            work(number)
        except BaseException as error:  # returned to the caller
            errors.append(error)
        finally:
            connections.close_all()

    started = [threading.Thread(target=run, args=(number,)) for number in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return errors


class SessionSampler:
    """Sample a database's server sessions (and, given an alias, its pool's open count).

    Keeps the peaks, and every sample as (seconds since start, sessions) in
    `series`. A failed sample (the server restarting) counts as 0 and the
    next one connects again. Use it as a context manager.
    """

    def __init__(
        self, engine: Engine, database: str, alias: str | None = None, interval: float = 0.02
    ) -> None:
        self.engine = engine
        self.database = database
        self.alias = alias
        self.interval = interval
        self.peak_sessions = self.peak_open = self.samples = 0
        self.series: list[tuple[float, int]] = []
        self.started = time.monotonic()  # reset when sampling starts
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def peak(self) -> int:
        """Return the most server sessions seen at once."""
        return self.peak_sessions

    def start(self) -> SessionSampler:
        """Start sampling in a thread of its own."""
        self._thread.start()
        return self

    def stop(self) -> SessionSampler:
        """Stop sampling; the peaks are final."""
        self._done.set()
        self._thread.join()
        return self

    def __enter__(self) -> SessionSampler:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        sql = self.engine.sessions_sql(self.database)
        observer = None
        started = self.started = time.monotonic()
        while not self._done.is_set():
            try:
                observer = observer or self.engine.raw_connect()
                cursor = observer.cursor()
                cursor.execute(sql)
                sessions = int(cursor.fetchone()[0])
                self.peak_sessions = max(self.peak_sessions, sessions)
                self.series.append((time.monotonic() - started, sessions))
                self.samples += 1
            except Exception:  # the server is restarting: connect again next time
                observer = None
            if self.alias is not None:
                figures = dj_db_conn_pool.stats(self.alias).get(self.alias)
                self.peak_open = max(self.peak_open, figures["open"] if figures else 0)
            self._done.wait(self.interval)
        if observer is not None:
            observer.close()
