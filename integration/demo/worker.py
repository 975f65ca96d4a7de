"""Serve the demo app from threads in one configuration; print the measures as JSON.

    python worker.py setup
    python worker.py stock|pooled THREADS REQUESTS

run.py starts one worker process per configuration, so that settings never mix.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.util import setup_testing_defaults

import django
import psycopg


class SessionObserver(threading.Thread):
    """Sample how many server sessions the demo database has, and keep the peak."""

    def __init__(self, database: dict[str, Any], interval: float = 0.002) -> None:
        super().__init__(daemon=True)
        # Connected here, so that a failure shows in the caller, not in a dying thread.
        self.observer = psycopg.connect(
            host=database["HOST"],
            port=database["PORT"] or None,
            user=database["USER"],
            dbname="postgres",
            autocommit=True,
        )
        self.database = database["NAME"]
        self.interval = interval
        self.peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        with self.observer:
            while not self._done.is_set():
                # Autovacuum workers also show the database's name: count clients only.
                row = self.observer.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = %s AND backend_type = 'client backend'",
                    [self.database],
                ).fetchone()
                self.peak = max(self.peak, row[0] if row else 0)
                self._done.wait(self.interval)

    def stop(self) -> int:
        """Stop sampling and return the peak."""
        self._done.set()
        self.join()
        return self.peak


def serve(handler: Callable[..., Iterable[bytes]]) -> None:
    """Send one GET / through the WSGI handler, as a WSGI server would."""
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    statuses: list[str] = []

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> None:
        statuses.append(status)

    response = handler(environ, start_response)
    try:
        b"".join(response)
    finally:
        # Fires request_finished, whose close_old_connections() ends the
        # request's connection (CONN_MAX_AGE=0) or returns it to the pool.
        response.close()  # type: ignore[attr-defined]
    if not statuses[0].startswith("200"):
        raise RuntimeError(f"GET / answered {statuses[0]}")


def set_up_table() -> dict[str, Any]:
    """Create the demo table and fill it."""
    from app import Item
    from django.db import connection

    with connection.schema_editor() as editor:
        editor.create_model(Item)
    Item.objects.bulk_create(Item(name=f"item {n}") for n in range(10))
    return {"items": Item.objects.count()}


def describe(database: dict[str, Any]) -> str:
    """Name a configuration after the settings that matter here."""
    pool = database.get("POOL_OPTIONS")
    if pool is None:
        return f"stock backend, CONN_MAX_AGE={database['CONN_MAX_AGE']}"
    return f"dj_db_conn_pool, POOL_SIZE={pool['POOL_SIZE']}, MAX_OVERFLOW={pool['MAX_OVERFLOW']}"


def measure(threads: int, requests: int) -> dict[str, Any]:
    """Run threads x requests through Django's request cycle and measure them."""
    from app import backend_pids
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    database = settings.DATABASES["default"]
    handler = WSGIHandler()
    failures: list[str] = []
    start = threading.Barrier(threads + 1)

    def client() -> None:
        start.wait()
        for _ in range(requests):
            try:
                serve(handler)
            except Exception as error:
                failures.append(f"{type(error).__name__}: {error}")

    clients = [threading.Thread(target=client) for _ in range(threads)]
    observer = SessionObserver(database)
    observer.start()
    for thread in clients:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in clients:
        thread.join()
    elapsed = time.perf_counter() - began
    result = {
        "configuration": describe(database),
        "django": django.get_version(),
        "requests": threads * requests - len(failures),
        "failures": failures[:5],
        "failure_count": len(failures),
        "seconds": elapsed,
        "connections_opened": len(backend_pids),
        "peak_sessions": observer.stop(),
    }
    if "POOL_OPTIONS" in database:
        import dj_db_conn_pool

        # stats(), not SQLAlchemy's status(): it counts parked connections as idle.
        result["pool_status"] = [
            f"{alias}: {figures['open']} open, {figures['checked_out']} checked out, "
            f"{figures['idle']} idle, {figures['checkouts']:,} checkouts"
            for alias, figures in dj_db_conn_pool.stats().items()
        ]
    return result


def main(argv: list[str]) -> None:
    """Run one step (setup, or a configuration) and print its result as JSON."""
    step, *sizes = argv
    os.environ["DJPOOL_DEMO_CONFIG"] = "stock" if step == "setup" else step
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_settings")
    django.setup()
    if step == "setup":
        result = set_up_table()
    else:
        threads, requests = (int(size) for size in sizes)
        result = measure(threads, requests)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
