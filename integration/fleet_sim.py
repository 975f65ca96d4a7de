"""See a fleet of worker processes against one small PostgreSQL: Django's stock backend vs the pool.

    python -m integration.fleet_sim [--workers 8] [--threads 8] [--seconds 10] \
        [--max-connections 30]

`make fleet-sim` runs it. It starts a throwaway cluster of Debian's PostgreSQL
(its own folder and socket, no TCP, stopped at the end) with a low
max_connections, then serves integration/webapp with gunicorn (WORKERS gthread
workers x THREADS threads) in two modes, one after the other, while wrk keeps
every thread busy and a superuser session (one of the reserved slots) counts
the app's sessions every 100 ms:

- stock: `django.db.backends.postgresql` with CONN_MAX_AGE=0, a connection per request;
- pooled: `dj_db_conn_pool.backends.postgresql` with POOL_SIZE chosen so that the
  fleet fits (max_connections less the reserved slots, split among the workers)
  and MAX_OVERFLOW=0, which `dbpool --check-capacity` confirms first.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from integration.demo.worker import SessionObserver
from integration.django_suite.system_servers import pg_bindir
from integration.engines import POSTGRESQL
from integration.services import as_postgres
from integration.serving import ROOT, serve, webapp_env

PORT = 26432  # in the server's own socket folder, so it collides with nobody's
RESERVED = 3  # superuser_reserved_connections: the observer takes one
ROLE = DATABASE = "fleet"  # an ordinary role: the reserved slots are not its own
# A request that spends 50 ms in the database (pg_sleep), as a real page with
# a few queries may: the connection is held that long, so the threads overlap.
VIEW = "/slow/?seconds=0.05"
SAMPLE_INTERVAL = 0.1
WRK_REPORT = ROOT / "bench" / "wrk_report.lua"
# What PostgreSQL answers a login once its slots are taken: all of them, or all
# but the reserved ones (to an ordinary role, such as the app's).
SERVER_FULL = re.compile(
    r"^django\.db\.utils\.OperationalError: .*"
    r"(too many clients already|remaining connection slots are reserved)",
    re.MULTILINE,
)


def missing() -> str | None:
    """Return what the simulation needs and this machine lacks, or None."""
    if pg_bindir() is None:
        return "Debian's PostgreSQL with contrib is missing: run `make system-deps` (as root)"
    if shutil.which("wrk") is None:
        return "wrk is not installed: run `make system-deps` (as root)"
    return None


@dataclass(frozen=True)
class SmallServer:
    """A running throwaway PostgreSQL: its socket folder, port and connection limits."""

    folder: Path
    port: int
    max_connections: int

    @property
    def usable(self) -> int:
        """Return the connections that ordinary roles may open."""
        return self.max_connections - RESERVED

    def app_env(self) -> dict[str, str]:
        """Return the DJ_DB_CONN_POOL_PG_* settings that point the webapp at this server."""
        return {
            "DJ_DB_CONN_POOL_PG_HOST": str(self.folder),
            "DJ_DB_CONN_POOL_PG_PORT": str(self.port),
            "DJ_DB_CONN_POOL_PG_USER": ROLE,
            "DJ_DB_CONN_POOL_PG_PASSWORD": "",
        }

    def connect(self, user: str = "postgres", dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.folder), port=self.port, user=user, dbname=dbname, autocommit=True
        )


@contextmanager
def small_server(max_connections: int, port: int = PORT) -> Iterator[SmallServer]:
    """Run a new PostgreSQL cluster in a temporary folder until the block ends."""
    bin_path = pg_bindir()
    if bin_path is None:
        raise RuntimeError(missing())
    folder = Path(tempfile.mkdtemp(prefix="djpool-fleet-"))
    if os.geteuid() == 0:  # the server refuses to run as root: as_postgres() runs it
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    pg_ctl = [str(bin_path / "pg_ctl"), "-D", str(data), "-w"]
    try:
        initdb = [str(bin_path / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        subprocess.run(as_postgres([*initdb, "-E", "UTF8", "--locale=C.UTF-8"]), check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        options = (
            f"-k {folder} -p {port} -c listen_addresses='' -c max_connections={max_connections}"
            f" -c superuser_reserved_connections={RESERVED}"
        )
        start = [*pg_ctl, "-l", str(folder / "log"), "-o", options, "start"]
        subprocess.run(as_postgres(start), check=True, stdout=subprocess.DEVNULL)
        server = SmallServer(folder, port, max_connections)
        with server.connect() as admin:
            admin.execute(f"CREATE ROLE {ROLE} LOGIN")
            admin.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        yield server
    finally:
        if (data / "postmaster.pid").exists():
            stop = as_postgres([*pg_ctl, "-m", "immediate", "stop"])
            subprocess.run(stop, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)


def run_django(server: SmallServer, pool_options: dict[str, Any], *args: str) -> str:
    """Run a Django command for the webapp on this server (pooled); return its output."""
    env = webapp_env(POSTGRESQL, DATABASE, 0, pool_options, server.app_env())
    done = subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"django-admin {' '.join(args)} failed:\n{done.stdout}")
    return done.stdout


def set_up_tables(server: SmallServer) -> None:
    """Create the webapp's tables (it has no migrations) and the row its views read."""
    run_django(server, {}, "migrate", "--run-syncdb", "--verbosity", "0")
    with server.connect(ROLE, DATABASE) as app:
        app.execute("INSERT INTO webapp_counter (name, value) VALUES ('atomic', 0)")


def wrk(url: str, connections: int, seconds: int) -> dict[str, Any]:
    """Run wrk with this many connections; return its summary (bench/wrk_report.lua)."""
    done = subprocess.run(
        [
            "wrk", "--threads", "2", "--connections", str(connections),
            "--duration", f"{seconds}s", "--timeout", "10s", "--script", str(WRK_REPORT),
            # A connection per request, as nginx sends by default: with keep-alive,
            # the first workers to accept would hold wrk's connections and idle the rest.
            "--header", "Connection: close", url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


@dataclass
class Result:
    mode: str
    requests: int
    seconds: float
    errors: int  # non-2xx answers and socket errors
    refused: int  # logins the server refused (no slot left), from the app's log
    peak_sessions: int

    @property
    def rate(self) -> float:
        """Return the requests answered without an error, per second."""
        return (self.requests - self.errors) / self.seconds


def run_mode(
    server: SmallServer,
    mode: str,
    workers: int,
    threads: int,
    seconds: int,
    pool_options: dict[str, Any],
) -> Result:
    """Serve the webapp with the fleet in one mode under wrk; measure it."""
    stock = {"DJ_DB_CONN_POOL_WEBAPP_STOCK": "1"} if mode == "stock" else {}
    observed = {"HOST": str(server.folder), "PORT": server.port, "USER": "postgres"}
    with serve(
        "gunicorn-gthread",
        POSTGRESQL,
        DATABASE,
        conn_max_age=0,
        pool_options=pool_options,
        env={**server.app_env(), **stock},
        args=["--workers", str(workers), "--threads", str(threads)],
    ) as web:
        observer = SessionObserver({**observed, "NAME": DATABASE}, interval=SAMPLE_INTERVAL)
        observer.start()
        try:
            summary = wrk(f"http://127.0.0.1:{web.port}{VIEW}", workers * threads, seconds)
        finally:
            peak = observer.stop()
        # Django logs each failed request's traceback, which ends with the error's line.
        refused = len(SERVER_FULL.findall(web.log.read_text(errors="replace")))
    return Result(
        mode=mode,
        requests=summary["requests"],
        seconds=summary["duration_us"] / 1e6,
        errors=summary["bad_status"] + summary["socket_errors"],
        refused=refused,
        peak_sessions=peak,
    )


def simulate(
    workers: int, threads: int, seconds: int, max_connections: int, quiet: bool = False
) -> tuple[SmallServer, dict[str, Any], list[Result]]:
    """Start the server, check the pooled fleet's capacity, run both modes; return the results."""
    say = (lambda text: None) if quiet else print
    with small_server(max_connections) as server:
        set_up_tables(server)
        # The fleet's share of the server, at most one connection per thread.
        pool_size = min(threads, server.usable // workers)
        if pool_size < 1:
            raise RuntimeError(f"{workers} workers cannot share {server.usable} connections")
        pool_options = {"POOL_SIZE": pool_size, "MAX_OVERFLOW": 0}
        check = ["dbpool", "--check-capacity", "--workers", str(workers)]
        say(f"$ python manage.py {' '.join(check)}   # POOL_OPTIONS {pool_options}")
        output = run_django(server, pool_options, *check)
        say(output[output.index("Capacity of") :].strip())  # without the pools' settings
        results = []
        for mode in ("stock", "pooled"):
            say(f"\n{mode}: {workers} x {threads} threads, wrk {workers * threads} connections, "
                f"{seconds} s ...")  # fmt: skip
            results.append(run_mode(server, mode, workers, threads, seconds, pool_options))
        return server, pool_options, results


def report(
    server: SmallServer,
    pool_options: dict[str, Any],
    workers: int,
    threads: int,
    results: list[Result],
) -> None:
    """Print the modes side by side."""
    modes = {
        "stock": "django.db.backends.postgresql, CONN_MAX_AGE=0",
        "pooled": f"dj_db_conn_pool, POOL_SIZE={pool_options['POOL_SIZE']}, "
        f"MAX_OVERFLOW={pool_options['MAX_OVERFLOW']}",
    }
    limit = f"{server.usable} (max_connections {server.max_connections} - {RESERVED} reserved)"
    print(f"\n{workers} gunicorn gthread workers x {threads} threads against one PostgreSQL; "
          f"wrk, {workers * threads} connections, GET {VIEW}")  # fmt: skip
    print(f"{'mode':<52}{'ok/s':>7}{'errors':>9}{'refused logins':>16}"
          f"{'peak sessions':>15}  limit")  # fmt: skip
    for result in results:
        print(f"{modes[result.mode]:<52}{result.rate:>7,.0f}{result.errors:>9,}"
              f"{result.refused:>16,}{result.peak_sessions:>15}  {limit}")  # fmt: skip
    print(f"ok/s: answers without an error; errors: the others (500s, 503s, socket errors);\n"
          "refused logins: 'too many clients' or 'remaining connection slots are reserved',\n"
          "from the workers' logs (requests still running when wrk stops count there too);\n"
          f"peak sessions: the app's, sampled every {SAMPLE_INTERVAL * 1000:.0f} ms from "
          "pg_stat_activity by a superuser in a reserved slot")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8, help="per worker")
    parser.add_argument("--seconds", type=int, default=10, help="per mode")
    parser.add_argument("--max-connections", type=int, default=30)
    args = parser.parse_args()
    reason = missing()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    # A SIGTERM unwinds like Ctrl-C does: the with-blocks stop gunicorn and the server.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    began = time.monotonic()
    try:
        server, pool_options, results = simulate(
            args.workers, args.threads, args.seconds, args.max_connections
        )
    except KeyboardInterrupt:
        print("interrupted: gunicorn and the server are stopped", file=sys.stderr)
        return 130
    report(server, pool_options, args.workers, args.threads, results)
    print(f"({time.monotonic() - began:.0f} s in all)")
    pooled = results[-1]
    return 0 if pooled.errors == 0 and pooled.peak_sessions <= server.usable else 1


if __name__ == "__main__":
    sys.exit(main())
