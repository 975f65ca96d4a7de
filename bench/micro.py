"""Micro benchmark worker: Django's request cycle around one SELECT 1, in one configuration.

    DJPOOL_BENCH_DATABASE='{"ENGINE": ...}' python bench/micro.py
    python bench/micro.py versions

run.py starts one worker per configuration and keeps it for the whole run, so
that configurations can take turns (round-robin) without paying Django's
start-up each time. The worker prints one JSON line when ready (with the
versions it runs), then answers each command line on stdin,
{"threads": 8, "seconds": 2.0}, with {"requests": ..., "seconds": ..., "cpu": ..., ...}
(cpu: the seconds of CPU the whole process used meanwhile).
Its threads live as long as it does: a held connection (CONN_MAX_AGE=None)
belongs to a thread, so new threads would open new connections.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import django
from django.conf import settings
from django.db import close_old_connections, connection, connections

THREADS = 8
DISTRIBUTIONS = (
    "Django",
    "django-db-connection-pool",
    "SQLAlchemy",
    "psycopg",
    "psycopg-pool",
    "psycopg2-binary",
    "mysqlclient",
    "gunicorn",
    "uvicorn",
    "gevent",
)


def configure(databases: dict[str, Any] | None = None, **extra: Any) -> None:
    """Set Django up with `databases`, by default the one DJPOOL_BENCH_DATABASE describes."""
    settings.configure(
        DATABASES=databases or {"default": json.loads(os.environ["DJPOOL_BENCH_DATABASE"])},
        INSTALLED_APPS=[],
        USE_TZ=True,
        TIME_ZONE="UTC",
        DEBUG=False,  # True would keep every query in memory
        **extra,
    )
    django.setup()


def versions() -> dict[str, str]:
    """Return the Python and package versions of this environment."""
    found = {"Python": sys.version.split()[0]}
    for name in DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def one_request() -> None:
    """Do what Django does for a request that runs one query."""
    close_old_connections()  # request_started
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    close_old_connections()  # request_finished


@dataclass
class Job:
    """One measurement that some of the threads take part in."""

    start: threading.Barrier
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class Tally:
    """What one thread did during one job."""

    requests: int = 0
    errors: int = 0
    first_error: str = ""


class Runner:
    """Long-lived threads that run one_request() in a loop while a job lasts."""

    def __init__(self, threads: int) -> None:
        self.inboxes: list[queue.Queue[Job | None]] = [queue.Queue() for _ in range(threads)]
        self.outbox: queue.Queue[Tally] = queue.Queue()
        self.threads = [
            threading.Thread(target=self._serve, args=(inbox,), daemon=True)
            for inbox in self.inboxes
        ]
        for thread in self.threads:
            thread.start()

    def _serve(self, inbox: queue.Queue[Job | None]) -> None:
        while (job := inbox.get()) is not None:
            tally = Tally()
            job.start.wait()
            while not job.stop.is_set():
                try:
                    one_request()
                    tally.requests += 1
                except Exception as error:
                    tally.errors += 1
                    tally.first_error = tally.first_error or f"{type(error).__name__}: {error}"
                    time.sleep(0.01)  # a server that went away should not spin us
            self.outbox.put(tally)
        connections.close_all()

    def measure(self, threads: int, seconds: float) -> dict[str, Any]:
        """Run the loop in `threads` threads for `seconds`; return the counts."""
        job = Job(threading.Barrier(threads + 1))
        for inbox in self.inboxes[:threads]:
            inbox.put(job)
        job.start.wait()
        began, cpu_began = time.perf_counter(), time.process_time()
        time.sleep(seconds)
        job.stop.set()
        tallies = [self.outbox.get() for _ in range(threads)]
        elapsed = time.perf_counter() - began
        cpu = time.process_time() - cpu_began  # of every thread of this process
        requests = sum(tally.requests for tally in tallies)
        return {
            "threads": threads,
            "requests": requests,
            "seconds": elapsed,
            "rate": requests / elapsed,
            "cpu": cpu,
            "errors": sum(tally.errors for tally in tallies),
            "first_error": next((t.first_error for t in tallies if t.first_error), ""),
        }

    def close(self) -> None:
        """End the threads, each closing its connection."""
        for inbox in self.inboxes:
            inbox.put(None)
        for thread in self.threads:
            thread.join()


def main() -> None:
    """Warm up, say so, then answer measurement commands until stdin closes."""
    if sys.argv[1:] == ["versions"]:  # run.py asks each env once
        print(json.dumps({"python": sys.executable, "versions": versions()}))
        return
    configure()
    runner = Runner(THREADS)
    # Open the connections (pools fill, held connections are made) before any count.
    runner.measure(THREADS, 0.5)
    runner.measure(1, 0.2)
    print(json.dumps({"ready": True, "versions": versions()}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        result = runner.measure(int(command["threads"]), float(command["seconds"]))
        print(json.dumps(result), flush=True)
    runner.close()


if __name__ == "__main__":
    main()
