"""Benchmark the pool against the other ways Django can connect (GitHub issue #5).

    python bench/run.py [--parts micro,macro,profile,serving]
                        [--drivers psycopg,psycopg2,mysqlclient]

Micro: Django's request cycle around one SELECT 1, in 1 and 8 threads of one
process per configuration (micro.py). Macro: bench/app.py under gunicorn
(2 workers x 8 threads) driven by wrk, with the server's connections and CPU
watched (macro.py). Serving: the same app under uvicorn and under gunicorn's
gevent workers, ours against a new connection per request. Configurations
take turns within each round, so that the noise of a shared machine hits them
alike; the tables give medians, the spread and the ratio to the held
connection (serving: the new one) of the same round. Profile: where our
pool's per-request time goes (overhead.py). Results go to bench/results/.

Needs the servers of `make services` (their settings in the environment), the
hatch envs bench* of hatch.toml (made on first use), wrk and pgbouncer.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import MySQLdb
import psycopg
import report
from configs import DATABASE, DRIVERS, POOL_SIZE, Config, Driver, configurations, server_settings
from macro import (
    PGBOUNCER,
    TICK,
    WORKERS,
    AppServer,
    ConnectionObserver,
    PgBouncer,
    cpu_ticks,
    find_process,
    free_port,
    wrk,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
# Turns each configuration takes per round and thread count (see interleave()).
SLICES = 5
# Turns each configuration takes per round and view in the macro benchmark.
MACRO_TURNS = 2
# Seconds of wrk on each fresh gunicorn before any turn, so that every thread
# has its connection (1 s, until 2026-11-26, left some threads without).
MACRO_WARMUP = 2
SUMMED = ("requests", "seconds", "cpu", "errors")
ENVS = ("bench", "bench-psycopg2", "bench-legacy", "bench-legacy-psycopg2")


def log(message: str) -> None:
    """Say what the run is doing, on stderr (stdout gets the tables)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Environments and servers.


def prepare_env(env: str) -> dict[str, Any]:
    """Create or sync one hatch env; return its interpreter and package versions."""
    hatch = os.environ.get("HATCH", "hatch")
    done = subprocess.run(
        [hatch, "run", f"{env}:python", str(HERE / "micro.py"), "versions"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


class Server:
    """A database server: its bench database, its version, its connections and its CPU."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.settings = server_settings(name)
        self.observer: Any = None

    def connect(self) -> Any:
        """Open an autocommit connection outside the bench database."""
        s = self.settings
        if self.name == "postgresql":
            return psycopg.connect(
                host=s["HOST"], port=s["PORT"] or None, user=s["USER"], password=s["PASSWORD"],
                dbname="postgres", autocommit=True,
            )  # fmt: skip
        connection = MySQLdb.connect(
            host=s["HOST"], port=int(s["PORT"] or 3306), user=s["USER"], password=s["PASSWORD"]
        )
        connection.autocommit(True)
        return connection

    def query(self, sql: str, *params: Any) -> Any:
        """Run one statement on the observer connection; return the first column of its row.

        A server restarted meanwhile (the dev servers are shared with the fault
        tests) gets a new connection and a second try.
        """
        for attempt in (1, 2):
            try:
                if self.observer is None:
                    self.observer = self.connect()
                cursor = self.observer.cursor()
                try:
                    cursor.execute(sql, params or None)
                    row = cursor.fetchone() if cursor.description else None
                finally:
                    cursor.close()
                return row[0] if row else None
            except Exception:
                self.close()
                if attempt == 2:
                    raise
        return None

    def drop_database(self, name: str) -> None:
        """Drop a bench database, if it is there."""
        force = " WITH (FORCE)" if self.name == "postgresql" else ""
        self.query(f"DROP DATABASE IF EXISTS {name}{force}")

    def recreate_database(self, name: str = DATABASE) -> str:
        """Drop and create a bench database; return the server's version."""
        self.drop_database(name)
        if self.name == "postgresql":
            self.query(f"CREATE DATABASE {name}")
            # The write view measures connections, not the disk: commits do not wait for it.
            self.query(f"ALTER DATABASE {name} SET synchronous_commit = off")
            return f"PostgreSQL {self.query('SHOW server_version')}"
        self.query(f"CREATE DATABASE {name}")
        return f"MariaDB {self.query('SELECT VERSION()')}"

    def count_connections(self, name: str = DATABASE) -> int:
        """Return how many client sessions the server has on a bench database now."""
        if self.name == "postgresql":
            # Not autovacuum's workers: the write view's inserts bring them to this
            # database now and then (peaks of 17 against a bound of 16 until 2026-11-26).
            sql = (
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = %s AND backend_type = 'client backend'"
            )
        else:
            sql = "SELECT COUNT(*) FROM information_schema.processlist WHERE db = %s"
        try:
            return int(self.query(sql, name))
        except Exception:  # down for a moment: the next sample will tell
            return 0

    def pid(self) -> int | None:
        """Return the pid of the server's main process, if it runs on this machine."""
        if self.name == "postgresql":
            # The checkpointer is a child of the postmaster, and it is always there.
            checkpointer = self.query(
                "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"
            )
            try:
                stat = Path(f"/proc/{checkpointer}/stat").read_text()
            except (OSError, TypeError):
                return None
            return int(stat[stat.rindex(")") + 2 :].split()[1])
        return find_process(("mariadbd", "mysqld"))

    def cpu_ticks(self) -> int:
        """Return the CPU the server used so far, in clock ticks (with its children's)."""
        pid = self.pid()
        return cpu_ticks(pid, children=True) if pid else 0

    def close(self) -> None:
        """Close the observer connection."""
        observer, self.observer = self.observer, None
        if observer is not None:
            try:
                observer.close()
            except Exception:  # already broken
                pass


def set_up_tables(python: str, driver: Driver, name: str = DATABASE) -> None:
    """Create the macro app's tables in a bench database, with Django's stock backend."""
    database = {**configurations(driver)[0].database, "NAME": name}
    subprocess.run(
        [python, str(HERE / "app.py"), "setup"],
        env={**os.environ, "DJPOOL_BENCH_DATABASE": json.dumps(database)},
        check=True,
    )


# Micro.


class MicroWorker:
    """One micro.py process, serving one configuration for the whole run."""

    def __init__(self, python: str, config: Config) -> None:
        self.process = subprocess.Popen(
            [python, str(HERE / "micro.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "DJPOOL_BENCH_DATABASE": json.dumps(config.database)},
        )
        self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"micro.py exited with {self.process.wait()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def measure(self, threads: int, seconds: float) -> dict[str, Any]:
        """Run the request loop in `threads` threads for `seconds`."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"threads": threads, "seconds": seconds}) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        """Let the worker close its connections and exit."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)


def start_workers(
    pythons: dict[str, str], driver: Driver
) -> tuple[dict[str, MicroWorker], dict[str, str]]:
    """Start one micro.py worker per configuration; return them, and those that failed to start."""
    workers: dict[str, MicroWorker] = {}
    failed: dict[str, str] = {}
    for config in configurations(driver):
        try:
            workers[config.key] = MicroWorker(pythons[config.env], config)
        except Exception as error:  # reported as a failed configuration, the rest go on
            log(f"micro {driver.key}: {config.key} did not start: {error}")
            failed[config.key] = str(error)
    return workers, failed


def turn_order(items: list[Any], seed: str) -> list[Any]:
    """Return `items` shuffled, the same way for the same seed.

    A configuration's turn may pay for what ran just before it (a new
    connection per request, say, leaves the server closing sessions), so no
    order is kept from pass to pass: rotating one order would keep every
    configuration behind the same neighbour.
    """
    return random.Random(seed).sample(items, len(items))


def interleave(
    workers: dict[str, MicroWorker], threads: int, seconds: float, seed: str
) -> dict[str, dict[str, Any]]:
    """Measure each worker for `seconds` in all, in SLICES turns; return each one's sums.

    The load of a shared machine drifts over seconds (two back-to-back 1 s
    measurements of one configuration differ by up to 20% here), so the
    configurations take short turns, each pass in its own order (turn_order()).
    """
    parts: dict[str, list[dict[str, Any]]] = {key: [] for key in workers}
    for turn in range(SLICES):
        for key in turn_order(list(workers), f"micro {seed} {threads} {turn}"):
            parts[key].append(workers[key].measure(threads, seconds / SLICES))
    sums = {}
    for key, found in parts.items():
        total = {name: sum(part[name] for part in found) for name in SUMMED}
        errors = (part["first_error"] for part in found if part["first_error"])
        sums[key] = {
            **found[0],
            **total,
            "rate": total["requests"] / total["seconds"],
            "first_error": next(errors, ""),
        }
    return sums


def run_micro(
    pythons: dict[str, str], drivers: list[Driver], rounds: int, seconds: float
) -> list[dict[str, Any]]:
    """Measure every driver's configurations, round-robin; return one record per measurement.

    Every round has fresh worker processes: two processes of one configuration
    differ by up to ±10% here (bench/README.md), so one process per
    configuration for the whole run would carry its luck into every round.
    """
    records: list[dict[str, Any]] = []
    for driver in drivers:
        for number in range(rounds):
            log(f"micro {driver.key}: round {number + 1}/{rounds}")
            workers, failed = start_workers(pythons, driver)
            if number == 0:
                records += [
                    {"driver": driver.key, "config": key, "failed": error}
                    for key, error in failed.items()
                ]
            try:
                for threads in (1, 8):
                    seed = f"{driver.key} {number}"
                    for key, result in interleave(workers, threads, seconds, seed).items():
                        records.append(
                            {"driver": driver.key, "config": key, "round": number, **result}
                        )
            finally:
                for worker in workers.values():
                    worker.close()
    return records


# Macro.


def own_database(config: Config) -> Config:
    """Return `config` on a bench database of its own, where its sessions can be counted."""
    name = f"{DATABASE}_{config.key.replace('-', '_')}"
    return dataclasses.replace(config, database={**config.database, "NAME": name})


class Served:
    """One configuration served by gunicorn or uvicorn (and PgBouncer for its own), until stop()."""

    def __init__(
        self,
        python: str,
        config: Config,
        server: Server,
        pgbouncer_port: int,
        kind: str = "gthread",
    ) -> None:
        self.name = config.database["NAME"]
        self.bouncer: PgBouncer | None = None
        if config.key == "pgbouncer":
            # As many server connections as the pools get in all: WORKERS x POOL_SIZE.
            settings = {**server.settings, "NAME": self.name}
            self.bouncer = PgBouncer(settings, WORKERS * POOL_SIZE, pgbouncer_port)
        try:
            self.app = AppServer(python, config.database, kind)
        except Exception:
            if self.bouncer is not None:
                self.bouncer.stop()
            raise

    def stop(self) -> None:
        """Stop the app server (its workers close their connections), then PgBouncer."""
        self.app.stop()
        if self.bouncer is not None:
            self.bouncer.stop()


def load(served: Served, view: str, seconds: float, server: Server) -> dict[str, Any]:
    """Run wrk on one view for one turn, watching the sessions and everyone's CPU."""
    web, bouncer = served.app, served.bouncer
    proxy = bouncer.cpu_ticks if bouncer else lambda: 0
    observer = ConnectionObserver(lambda: server.count_connections(served.name))
    before = (server.cpu_ticks(), web.cpu_ticks(), proxy())
    observer.start()
    summary = wrk(f"{web.url}/{view}", seconds)
    peak = observer.stop()
    after = (server.cpu_ticks(), web.cpu_ticks(), proxy())
    db, app, pgbouncer = (a - b for a, b in zip(after, before, strict=True))
    return {**summary, "peak": peak, "db": db, "app": app, "proxy": pgbouncer}


def combine(view: str, turns: list[dict[str, Any]], bouncer: bool) -> dict[str, Any]:
    """Return one record for a configuration's turns on one view within a round."""
    requests = sum(turn["requests"] for turn in turns)
    per_request = TICK / max(requests, 1)
    return {
        "view": view,
        "rate": requests / (sum(turn["duration_us"] for turn in turns) / 1e6),
        # wrk gives each turn's percentiles; a round reports their median.
        "p50_ms": statistics.median(turn["p50_us"] for turn in turns) / 1000,
        "p99_ms": statistics.median(turn["p99_us"] for turn in turns) / 1000,
        "peak_connections": max(turn["peak"] for turn in turns),
        "db_cpu_us": per_request * sum(turn["db"] for turn in turns),
        "app_cpu_us": per_request * sum(turn["app"] for turn in turns),
        "proxy_cpu_us": per_request * sum(turn["proxy"] for turn in turns) if bouncer else None,
        "requests": requests,
        "errors": sum(turn["socket_errors"] + turn["bad_status"] for turn in turns),
    }


def macro_round(
    pythons: dict[str, str],
    driver: Driver,
    configs: list[Config],
    server: Server,
    seconds: float,
    number: int,
    pgbouncer_port: int,
    kind: str = "gthread",
) -> list[dict[str, Any]]:
    """Serve every configuration at once, fresh, with `kind`; let them take turns on each view.

    Each has its own database, so that the sessions counted during a turn are
    its own, not the idle ones the others keep open. Only the configuration
    whose turn it is gets requests, so the server's CPU meanwhile is its own.
    """
    records: list[dict[str, Any]] = []
    served: dict[str, Served] = {}
    turns: dict[tuple[str, str], list[dict[str, Any]]] = {}
    try:
        for config in configs:
            base = {"driver": driver.key, "config": config.key, "round": number, "server": kind}
            try:
                served[config.key] = Served(
                    pythons[config.env], config, server, pgbouncer_port, kind
                )
                wrk(f"{served[config.key].app.url}/read", MACRO_WARMUP)
            except Exception as error:  # reported for this round; the others go on
                log(f"{kind} {driver.key} {config.key} did not start: {error}")
                records.append({**base, "failed": str(error)})
                if config.key in served:
                    served.pop(config.key).stop()
        for turn in range(MACRO_TURNS):
            for view in ("read", "write"):
                seed = f"macro {driver.key} {number} {turn} {view}"
                for key in turn_order(list(served), seed):
                    try:
                        found = load(served[key], view, seconds / MACRO_TURNS, server)
                    except Exception as error:  # say so, and leave this round out for it
                        log(f"{kind} {driver.key} {key} {view} failed: {error}")
                        found = {"failed": str(error)}
                    turns.setdefault((key, view), []).append(found)
    finally:
        for each in served.values():
            each.stop()
    for (key, view), found in turns.items():
        base = {"driver": driver.key, "config": key, "round": number, "server": kind}
        error = next((turn["failed"] for turn in found if "failed" in turn), None)
        if error is not None:
            records.append({**base, "view": view, "failed": error})
        else:
            records.append({**base, **combine(view, found, served[key].bouncer is not None)})
    return records


def serve_rounds(
    pythons: dict[str, str],
    driver: Driver,
    configs: list[Config],
    server: Server,
    rounds: int,
    seconds: float,
    pgbouncer_port: int,
    kind: str = "gthread",
) -> list[dict[str, Any]]:
    """Give each configuration a database of its own, run `rounds` rounds, drop the databases.

    Every round starts fresh app servers (and PgBouncer), for the reason
    run_micro() starts fresh workers.
    """
    records: list[dict[str, Any]] = []
    configs = [own_database(config) for config in configs]
    for config in configs:
        server.recreate_database(config.database["NAME"])
        set_up_tables(pythons["bench"], driver, config.database["NAME"])
    for number in range(rounds):
        log(f"{kind} {driver.key}: round {number + 1}/{rounds}")
        records += macro_round(
            pythons, driver, configs, server, seconds, number, pgbouncer_port, kind
        )
    for config in configs:
        server.drop_database(config.database["NAME"])
    return records


def run_macro(
    pythons: dict[str, str],
    drivers: list[Driver],
    servers: dict[str, Server],
    rounds: int,
    seconds: float,
) -> list[dict[str, Any]]:
    """Measure every driver's configurations under gunicorn gthread; a record per view and round."""
    records: list[dict[str, Any]] = []
    pgbouncer_port = free_port()
    for driver in drivers:
        configs = configurations(driver, pgbouncer_port)
        records += serve_rounds(
            pythons, driver, configs, servers[driver.server], rounds, seconds, pgbouncer_port
        )
    return records


# Serving: (app server, driver, configurations) under ASGI and gevent; the first
# configuration, a new connection per request, is the reference of the ratios.
# mysqlclient blocks a gevent worker (docs/gevent.md): ASGI only.
SERVING = (
    ("uvicorn", "psycopg", ("new", "django-pool", "ours")),
    ("uvicorn", "mysqlclient", ("new", "ours")),
    ("gevent", "psycopg", ("new", "ours")),
)


def run_serving(
    pythons: dict[str, str],
    drivers: list[Driver],
    servers: dict[str, Server],
    rounds: int,
    seconds: float,
) -> list[dict[str, Any]]:
    """Measure ours against the stock backend under uvicorn and gunicorn's gevent workers."""
    records: list[dict[str, Any]] = []
    for kind, driver_key, keys in SERVING:
        for driver in (driver for driver in drivers if driver.key == driver_key):
            configs = [config for config in configurations(driver) if config.key in keys]
            records += serve_rounds(
                pythons, driver, configs, servers[driver.server], rounds, seconds, 0, kind
            )
    return records


# Profile.


def run_profile(python: str, driver: Driver, requests: int) -> str:
    """Profile our pool's request loop on one driver, single thread; return the report."""
    config = next(c for c in configurations(driver) if c.key == "ours")
    for attempt in (1, 2, 3):  # a shared server restarted under it: try again
        done = subprocess.run(
            [python, str(HERE / "overhead.py"), "--requests", str(requests)],
            env={**os.environ, "DJPOOL_BENCH_DATABASE": json.dumps(config.database)},
            capture_output=True,
            text=True,
        )
        if done.returncode == 0:
            return done.stdout
        log(f"profiling on {driver.key} failed (try {attempt}):\n{done.stderr}")
    return f"overhead.py failed (exit {done.returncode}):\n{done.stderr}"


def source_digest() -> str:
    """Return a digest of the pool's source as it is on disk now."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "packages").glob("*/src/**/*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def source_revision() -> str:
    """Return the commit measured, marked when packages/ has uncommitted changes."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "packages"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return f"{head or 'unknown'}{' with uncommitted changes in packages/' if dirty else ''}"


def tool_version(command: list[str]) -> str:
    """Return the first line a tool prints about its version."""
    done = subprocess.run(command, capture_output=True, text=True)
    return (done.stdout or done.stderr).strip().splitlines()[0]


def main() -> int:
    """Prepare, measure, write bench/results/ and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="micro,macro,profile,serving")
    parser.add_argument("--drivers", default=",".join(driver.key for driver in DRIVERS))
    parser.add_argument("--micro-rounds", type=int, default=16)
    parser.add_argument("--micro-seconds", type=float, default=1.0)
    parser.add_argument("--macro-rounds", type=int, default=4)
    parser.add_argument(
        "--macro-seconds", type=float, default=4, help="per view and round, in MACRO_TURNS turns"
    )
    parser.add_argument(
        "--serving-rounds", type=int, default=2, help="uvicorn and gevent, --macro-seconds each"
    )
    parser.add_argument("--profile-requests", type=int, default=20000)
    parser.add_argument(
        "--from-json", action="store_true", help="only redo bench.md and macro.png from bench.json"
    )
    args = parser.parse_args()
    turn = args.macro_seconds / MACRO_TURNS
    if turn != int(turn) or turn < 1:  # wrk takes whole seconds only
        parser.error(
            f"--macro-seconds is split into {MACRO_TURNS} turns of whole seconds: "
            f"give a multiple of {MACRO_TURNS}, not {args.macro_seconds:g}"
        )
    if args.from_json:
        print(report.write(json.loads((RESULTS / "bench.json").read_text()), RESULTS))
        return 0
    # Stopped, still stop what we started (gunicorn, PgBouncer, workers) on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parts = args.parts.split(",")
    drivers = [driver for driver in DRIVERS if driver.key in args.drivers.split(",")]
    began = time.monotonic()
    for tool, found in (("wrk", shutil.which("wrk")), ("pgbouncer", PGBOUNCER)):
        if ("macro" in parts or "serving" in parts) and not found:
            sys.exit(f"{tool} is missing: `make bench` installs it (apt-get install {tool}).")

    log("preparing the hatch envs")
    envs = {env: prepare_env(env) for env in ENVS}
    pythons = {env: found["python"] for env, found in envs.items()}
    servers = {name: Server(name) for name in {driver.server for driver in drivers}}
    server_versions = {name: server.recreate_database() for name, server in servers.items()}
    for server_name in servers:
        set_up_tables(pythons["bench"], next(d for d in drivers if d.server == server_name))

    results: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": source_revision(),
        "source_digest": source_digest(),
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "settings": {
            **vars(args),
            "micro_turns": SLICES,
            "macro_turns": MACRO_TURNS,
            "macro_warmup": MACRO_WARMUP,
            "order": "shuffled",
        },
        "versions": {
            "envs": {env: found["versions"] for env, found in envs.items()},
            "servers": server_versions,
            "tools": {
                "wrk": tool_version(["wrk", "-v"]),
                "pgbouncer": tool_version([str(PGBOUNCER), "--version"]),
            },
        },
        "drivers": {driver.key: driver.label for driver in drivers},
        "configurations": {
            config.key: config.label for driver in drivers for config in configurations(driver, 0)
        },
    }
    if "micro" in parts:
        results["micro"] = run_micro(pythons, drivers, args.micro_rounds, args.micro_seconds)
    if "macro" in parts:
        results["macro"] = run_macro(
            pythons, drivers, servers, args.macro_rounds, args.macro_seconds
        )
    if "serving" in parts:
        results["serving"] = run_serving(
            pythons, drivers, servers, args.serving_rounds, args.macro_seconds
        )
    if "profile" in parts:
        RESULTS.mkdir(exist_ok=True)
        for driver in drivers:
            if driver.key in ("mysqlclient", "psycopg"):
                log(f"profiling our pool on {driver.key}")
                text = run_profile(pythons[driver.env], driver, args.profile_requests)
                (RESULTS / f"profile-{driver.key}.txt").write_text(text)
                results.setdefault("profiles", {})[driver.key] = text
    for server in servers.values():
        server.close()
    results["seconds"] = time.monotonic() - began
    if source_digest() != results["source_digest"]:
        results["source_changed"] = True  # someone edited packages/ during the run
        log("the pool's source changed during the run: the results mix two versions")
    tables = report.write(results, RESULTS)
    print(tables)
    print(f"({results['seconds']:.0f}s in all; results in {RESULTS.relative_to(ROOT)}/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
