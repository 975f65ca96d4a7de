"""Macro benchmark parts: gunicorn and uvicorn, PgBouncer, wrk, and what is watched while wrk runs.

Everything listens on and connects to 127.0.0.1 or the servers' unix sockets.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORKERS = 2
THREADS = 8
CONNECTIONS = WORKERS * THREADS  # wrk keeps every server thread busy, no more
TICK = 1e6 / os.sysconf("SC_CLK_TCK")  # microseconds per clock tick in /proc/*/stat
# Debian installs it in /usr/sbin, which a non-root PATH may lack.
PGBOUNCER = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# CPU time from /proc, in clock ticks.


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd on; comm may hold spaces


def _children(parent: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, ValueError):  # gone meanwhile
                pass
    return found


def cpu_ticks(pid: int, children: bool = False) -> int:
    """Return the CPU a process used (user + system), with its live and reaped children's."""
    try:
        fields = _stat(pid)
    except OSError:
        return 0
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    total = utime + stime
    if children:
        # A child that exited and was reaped is in cutime/cstime; a live one is not yet.
        total += cutime + cstime + sum(cpu_ticks(child) for child in _children(pid))
    return total


def find_process(names: tuple[str, ...]) -> int | None:
    """Return the pid of the first process whose command name is one of `names`."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if Path(f"/proc/{entry.name}/comm").read_text().strip() in names:
                    return int(entry.name)
            except OSError:
                pass
    return None


class ConnectionObserver(threading.Thread):
    """Count the server's connections to the bench database every few ms; keep the peak.

    `count` runs on a connection of its own, which is not counted.
    """

    def __init__(self, count: Callable[[], int], interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.count = count
        self.interval = interval
        self.peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.count())
            self._done.wait(self.interval)

    def stop(self) -> int:
        """Stop counting and return the peak."""
        self._done.set()
        self.join()
        return self.peak


class PgBouncer:
    """PgBouncer in transaction mode on 127.0.0.1, in front of the PostgreSQL server.

    Run as the user that owns the server's socket folder (never as root), which
    is the one that may reach the socket.
    """

    def __init__(self, database: dict[str, Any], pool_size: int, port: int) -> None:
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="djpool-bench-pgbouncer-"))
        user = database["USER"]
        server = f"host={database['HOST']} dbname={database['NAME']} user={user}"
        if database["PORT"]:
            server += f" port={database['PORT']}"
        (self.folder / "users.txt").write_text(f'"{user}" ""\n')
        (self.folder / "pgbouncer.ini").write_text(
            f"[databases]\n{database['NAME']} = {server}\n\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.folder / 'users.txt'}\n"
            f"pool_mode = transaction\ndefault_pool_size = {pool_size}\n"
            "max_client_conn = 1000\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {self.folder / 'pgbouncer.log'}\n"
        )
        command = [str(PGBOUNCER), "-q"]
        if os.geteuid() == 0:
            owner = pwd.getpwuid(Path(database["HOST"]).stat().st_uid).pw_name
            owner = owner if owner != "root" else "nobody"
            shutil.chown(self.folder, owner)
            command += ["-u", owner]
        self.process = subprocess.Popen([*command, str(self.folder / "pgbouncer.ini")])
        wait_for_port(self.port, self.process)

    def cpu_ticks(self) -> int:
        """Return the CPU PgBouncer used so far."""
        return cpu_ticks(self.process.pid)

    def stop(self) -> None:
        """Stop PgBouncer and remove its folder."""
        stop(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


def wait_for_port(port: int, process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Wait until something listens on 127.0.0.1:port, or fail if `process` ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def stop(process: subprocess.Popen[Any], timeout: float = 15) -> None:
    """End a process we started: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# How AppServer serves bench/app.py: gunicorn with WORKERS x THREADS gthread
# threads (the macro part), gunicorn with WORKERS gevent workers, or uvicorn
# with WORKERS processes (the serving part); {port} is filled in.
SERVERS = {
    "gthread": [
        "-m", "gunicorn", "app:application", "--chdir", str(HERE),
        "--workers", str(WORKERS), "--worker-class", "gthread", "--threads", str(THREADS),
        "--bind", "127.0.0.1:{port}", "--graceful-timeout", "5", "--log-level", "warning",
    ],
    "gevent": [
        "-m", "gunicorn", "app:application", "--chdir", str(HERE),
        "--workers", str(WORKERS), "--worker-class", "gevent",
        "--bind", "127.0.0.1:{port}", "--graceful-timeout", "5", "--log-level", "warning",
    ],
    "uvicorn": [
        "-m", "uvicorn", "app:asgi_application", "--app-dir", str(HERE),
        "--workers", str(WORKERS),
        "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning",
    ],
}  # fmt: skip


class AppServer:
    """bench/app.py served on 127.0.0.1 by one of SERVERS (gunicorn gthread by default)."""

    def __init__(self, python: str, database: dict[str, Any], kind: str = "gthread") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DJPOOL_BENCH_DATABASE": json.dumps(database)}
        command = [part.format(port=self.port) for part in SERVERS[kind]]
        self.process = subprocess.Popen([python, *command], cwd=HERE, env=env)
        wait_for_port(self.port, self.process)
        # The workers import Django after the port opens: wait until both answer.
        deadline = time.monotonic() + 30
        while len(self.worker_pids()) < WORKERS or not self._answers("/read"):
            if time.monotonic() > deadline or self.process.poll() is not None:
                stop(self.process)
                raise RuntimeError(f"{kind} did not serve {self.url}/read")
            time.sleep(0.1)

    def _answers(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        """Return the pids of the server's worker processes."""
        return _children(self.process.pid)

    def cpu_ticks(self) -> int:
        """Return the CPU the workers used so far."""
        return sum(cpu_ticks(pid) for pid in self.worker_pids())

    def stop(self) -> None:
        """Stop the server (its workers close their connections on the way out)."""
        stop(self.process)


def wrk(url: str, seconds: float) -> dict[str, Any]:
    """Run wrk against `url` for `seconds` (whole ones); return its summary (see wrk_report.lua)."""
    done = subprocess.run(
        [
            "wrk", "--threads", "2", "--connections", str(CONNECTIONS),
            "--duration", f"{seconds:g}s", "--timeout", "10s",
            "--script", str(HERE / "wrk_report.lua"), url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary
