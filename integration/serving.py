"""Serve integration/webapp with a real server and load it: the serving tests' helpers.

A test starts a server process (uvicorn, granian, gunicorn with gevent workers)
on 127.0.0.1 and a free port, with a bounded lifetime, runs many concurrent
HTTP clients against it while an observer connection samples the server's
sessions, and reads the pool's figures from the app's /stats/ view.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connections

from dj_db_conn_pool.container import pool_container
from integration.engines import Engine

ROOT = Path(__file__).resolve().parent.parent
LIFETIME = 180  # seconds: a server left behind by a killed test run stops by itself

# How each server runs the app; {port} is filled in.
COMMANDS = {
    "uvicorn": [
        "-m", "uvicorn", "integration.webapp.asgi:application",
        "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning",
    ],
    "granian": [
        "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}",
        "--workers", "1", "--log-level", "warning", "integration.webapp.asgi:application",
    ],
    "gunicorn-gevent": [
        "-m", "gunicorn", "-c", "python:integration.webapp.gunicorn_gevent",
        "--bind", "127.0.0.1:{port}", "--workers", "1", "--worker-connections", "1000",
        "--log-level", "warning", "integration.webapp.wsgi:application",
    ],
    "gunicorn-gevent-preload": [
        "-m", "gunicorn", "-c", "python:integration.webapp.gunicorn_gevent_preload",
        "--bind", "127.0.0.1:{port}", "--workers", "1", "--worker-connections", "1000",
        "--log-level", "warning", "integration.webapp.wsgi:application",
    ],
    # The fleet simulation (integration/fleet_sim.py) adds --workers and --threads.
    # --preload: the workers fork with the app loaded, so all of them serve at once.
    "gunicorn-gthread": [
        "-m", "gunicorn", "--worker-class", "gthread", "--preload",
        "--bind", "127.0.0.1:{port}", "--log-level", "warning",
        "integration.webapp.wsgi:application",
    ],
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Response:
    path: str
    status: int  # 0: no response
    body: str
    elapsed: float


@dataclass
class Server:
    """A running server process and where its output goes."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def get(self, path: str, timeout: float = 30) -> Response:
        """GET a path; an HTTP error is a Response too, a failure to connect has status 0."""
        started = time.monotonic()
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as answer:
                status, body = answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read().decode(errors="replace")
        except OSError as error:
            status, body = 0, repr(error)
        return Response(path, status, body, time.monotonic() - started)

    def stats(self) -> dict[str, Any]:
        """Return the pool's figures for the app's database, read through /stats/."""
        answer = self.get("/stats/", timeout=10)
        assert answer.status == 200, f"{answer.body}\n{self.output()}"
        return dict(json.loads(answer.body)["default"])

    def disconnect_mid_request(self, path: str, after: float = 0.1) -> None:
        """Send a request and hang up before the answer, as an impatient client does."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as client:
            client.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            time.sleep(after)


def webapp_env(
    engine: Engine,
    database: str,
    conn_max_age: int,
    pool_options: dict[str, Any],
    env: dict[str, str] | None = None,
) -> dict[str, str]:
    """Return the environment that makes a process run integration/webapp in this configuration."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "DJANGO_SETTINGS_MODULE": "integration.webapp.settings",
        "DJ_DB_CONN_POOL_WEBAPP_ENGINE": engine.module,
        "DJ_DB_CONN_POOL_WEBAPP_DATABASE": database,
        "DJ_DB_CONN_POOL_WEBAPP_CONN_MAX_AGE": str(conn_max_age),
        "DJ_DB_CONN_POOL_WEBAPP_POOL_OPTIONS": json.dumps(pool_options),
        **(env or {}),
    }


@contextmanager
def serve(
    kind: str,
    engine: Engine,
    database: str,
    *,
    conn_max_age: int,
    pool_options: dict[str, Any],
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[Server]:
    """Run integration/webapp under a server of this kind, given `args`, until the block ends."""
    port = free_port()
    timeout = shutil.which("timeout")  # coreutils: the bounded lifetime
    command = [sys.executable, *(part.format(port=port) for part in COMMANDS[kind]), *args]
    if timeout:
        command = [timeout, "-s", "KILL", str(LIFETIME), *command]
    folder = Path(tempfile.mkdtemp(prefix="djpool-serving-"))
    log = folder / "server.log"
    server_env = webapp_env(engine, database, conn_max_age, pool_options, env)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=server_env, stdout=sink, stderr=subprocess.STDOUT
        )
    server = Server(process, port, log)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_ready(server: Server, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited:\n{server.output()}")
        if server.get("/stats/", timeout=2).status == 200:
            return
        time.sleep(0.1)
    raise AssertionError(f"the server did not answer within {within} s:\n{server.output()}")


def reset_tables(engine: Engine) -> None:
    """(Re)create the app's tables in the test database, then let go of every session."""
    from integration.webapp.models import Counter, Hit

    connection = connections[engine.alias]
    try:
        with connection.schema_editor() as editor:
            existing = connection.introspection.table_names()
            for model in (Counter, Hit):
                if model._meta.db_table in existing:
                    editor.delete_model(model)
                editor.create_model(model)
        Counter.objects.using(engine.alias).create(name="atomic", value=0)
    finally:
        # The server's sessions are counted alone: this process keeps none.
        connection.close()
        pool_container.close_alias(engine.alias)


def counter_value(engine: Engine, database: str) -> int:
    """Read the atomic() views' counter through a plain connection."""
    observer = engine.raw_connect(database)
    try:
        cursor = observer.cursor()
        cursor.execute("SELECT value FROM webapp_counter WHERE name = 'atomic'")
        return int(cursor.fetchone()[0])
    finally:
        observer.close()


def run_clients(clients: int, work: Callable[[int], list[Response]]) -> list[Response]:
    """Run work(client number) in as many threads at once; return every response."""
    with ThreadPoolExecutor(max_workers=clients) as executor:
        results = executor.map(work, range(clients))
        return [response for responses in results for response in responses]


def wait_for_returns(server: Server, within: float = 5) -> dict[str, Any]:
    """Return the pool's figures once nothing is checked out or waiting (or at the deadline)."""
    deadline = time.monotonic() + within
    while True:
        figures = server.stats()
        if (figures["checked_out"] == 0 and figures["waiting"] == 0) or (
            time.monotonic() >= deadline
        ):
            return figures
        time.sleep(0.1)
