"""What the worker tests share: a private Redis, the session sampler, the worker processes."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from integration.engines import Engine

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    """Return a free port in 20000-29999, away from the shared servers."""
    for _ in range(50):
        port = random.randrange(20000, 30000)
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 20000-29999")


@contextmanager
def redis_server() -> Iterator[str]:
    """Run Debian's redis-server on a private port of 127.0.0.1; yield its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and redis-server is missing: run `make system-deps`")
        pytest.skip("redis-server is not installed: run `make system-deps`")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def rows(engine: Engine, database: str, sql: str) -> list[tuple[Any, ...]]:
    """Run a query on the database from an observer connection; return its rows."""
    observer = engine.raw_connect(database)
    try:
        cursor = observer.cursor()
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        observer.close()


def check_rows(engine: Engine, database: str, count: int) -> int:
    """Assert `count` tasks ran once each, the counters are exact, and no server
    session served two processes; return how many sessions ran the tasks."""
    counters = dict(rows(engine, database, "SELECT id, value FROM taskworkers_counter"))
    assert counters == {1: count - count // 2, 2: count // 2}
    runs = rows(engine, database, "SELECT COUNT(*), COUNT(DISTINCT token) FROM taskworkers_taskrun")
    assert runs == [(count, count)]
    shared = rows(
        engine,
        database,
        "SELECT session, COUNT(DISTINCT pid) FROM taskworkers_taskrun "
        "GROUP BY session HAVING COUNT(DISTINCT pid) > 1",
    )
    assert shared == [], "server sessions used by two worker processes"
    return int(
        rows(engine, database, "SELECT COUNT(DISTINCT session) FROM taskworkers_taskrun")[0][0]
    )


_migrated: set[tuple[str, str]] = set()  # (engine, database) whose tables exist


def prepare(engine: Engine, database: str, env: dict[str, str]) -> None:
    """Give the tasks empty tables and counters at 0: migrate once per database, then reset."""
    if (engine.alias, database) not in _migrated:
        run_app(env, "setup")
        _migrated.add((engine.alias, database))
        return
    observer = engine.raw_connect(database)
    try:
        cursor = observer.cursor()
        cursor.execute("DELETE FROM taskworkers_taskrun")
        cursor.execute("UPDATE taskworkers_counter SET value = 0")
        cursor.execute("DELETE FROM django_tasks_database_dbtaskresult")
    finally:
        observer.close()


def app_env(engine: Engine, database: str, **variables: Any) -> dict[str, str]:
    """The environment of a worker-app process: TASKWORKERS_* (see settings.py) set."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TASKWORKERS_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        PYTHONPATH=str(ROOT),
        TASKWORKERS_ENGINE=engine.alias,
        TASKWORKERS_DATABASE=database,
        CELERY_SKIP_CHECKS="1",
    )
    env.update({f"TASKWORKERS_{name.upper()}": str(value) for name, value in variables.items()})
    return env


def run_app(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run `python -m integration.taskworkers ARGS`; return its output, raise if it failed."""
    result = subprocess.run(
        [sys.executable, "-m", "integration.taskworkers", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


class Worker:
    """A worker command in its own process group, its output kept in a temporary file.

    Use it as a context manager: on exit the group gets SIGTERM, then SIGKILL
    after 5 s, since a worker that hangs (the fd hazard of test_celery.py)
    ignores a warm shutdown.
    """

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.command = command
        self.env = env
        self._log = tempfile.TemporaryFile("w+")
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Worker:
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # its children too
        except ProcessLookupError:
            pass
        self.process.wait(10)

    def wait(self, timeout: float) -> int:
        """Wait for the worker to exit by itself; fail the test with its output if it does not."""
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.command} still running after {timeout} s:\n{self.output()}")

    def output(self) -> str:
        """Return what the worker printed so far."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()
