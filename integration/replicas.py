"""A PostgreSQL 15 primary and its synchronous streaming standby, private to a test run.

Debian's binaries (`make system-deps` installs postgresql-15), run as the
`postgres` user in a temporary folder, on ports of their own. Synchronous
replication: a commit the client saw acknowledged is on both servers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

BIN = Path("/usr/lib/postgresql/15/bin")
PRIMARY_PORT, STANDBY_PORT = 25432, 25433
DATABASE = "failover"

# Small and fast: the servers hold a few test rows.
_SETTINGS = """
listen_addresses = '127.0.0.1'
shared_buffers = 8MB
max_connections = 60
fsync = off
full_page_writes = off
wal_level = replica
max_wal_senders = 4
synchronous_commit = on
wal_receiver_status_interval = 1s
"""


def missing() -> str | None:
    """Say why the pair cannot run here, or return None."""
    if not (BIN / "pg_ctl").exists():
        return f"PostgreSQL 15 is not installed ({BIN}): run `make system-deps`"
    if os.geteuid() != 0 and os.environ.get("USER") != "postgres":
        return "the servers run as the postgres user: run the tests as root or postgres"
    return None


class ReplicaPair:
    """Start, stop, promote and switch to read-only a primary/standby pair."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="djpool-failover-"))
        shutil.chown(self.root, "postgres")
        self.data = {PRIMARY_PORT: self.root / "a", STANDBY_PORT: self.root / "b"}

    def _run(self, *command: str | Path) -> str:
        as_postgres = (
            [] if os.environ.get("USER") == "postgres" else ["runuser", "-u", "postgres", "--"]
        )
        done = subprocess.run(
            [*as_postgres, *map(str, command)], capture_output=True, text=True, timeout=60
        )
        if done.returncode:
            raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def _pg_ctl(self, port: int, *args: str) -> None:
        self._run(BIN / "pg_ctl", "-D", self.data[port], "-w", "-t", "30", *args)

    def start(self) -> ReplicaPair:
        """Make and start the primary, then clone it into a synchronous standby."""
        primary, standby = self.data[PRIMARY_PORT], self.data[STANDBY_PORT]
        self._run(BIN / "initdb", "-D", primary, "-U", "postgres", "--auth=trust", "-N")
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(
                f"{_SETTINGS}port = {PRIMARY_PORT}\nunix_socket_directories = '{self.root}'\n"
            )
        self._pg_ctl(PRIMARY_PORT, "-l", str(self.root / "a.log"), "start")
        self.execute(PRIMARY_PORT, f"CREATE DATABASE {DATABASE}", database="postgres")
        self._run(
            BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", str(PRIMARY_PORT), "-U", "postgres",
            "-D", standby, "-R", "-X", "stream", "--no-sync", "--checkpoint=fast",
        )  # fmt: skip
        with open(standby / "postgresql.auto.conf", "a") as conf:
            conf.write(
                f"port = {STANDBY_PORT}\n"
                f"primary_conninfo = 'host=127.0.0.1 port={PRIMARY_PORT} user=postgres "
                f"application_name=standby'\n"
            )
        self._pg_ctl(STANDBY_PORT, "-l", str(self.root / "b.log"), "start")
        # Only now: before, every commit would wait for a standby that is not there.
        self.execute(PRIMARY_PORT, "ALTER SYSTEM SET synchronous_standby_names = 'standby'")
        self.execute(PRIMARY_PORT, "SELECT pg_reload_conf()")
        self._wait_for_sync()
        return self

    def _wait_for_sync(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            rows = self.execute(
                PRIMARY_PORT, "SELECT 1 FROM pg_stat_replication WHERE sync_state = 'sync'"
            )
            if rows:
                return
            time.sleep(0.05)
        raise RuntimeError("the standby did not become synchronous within 20 s")

    def stop(self, port: int) -> None:
        """Stop one server at once (fast shutdown)."""
        self._pg_ctl(port, "-m", "fast", "stop")

    def promote(self, port: int) -> None:
        """Make a standby a primary, returning once it accepts writes."""
        self._pg_ctl(port, "promote")

    def set_read_only(self, port: int, read_only: bool) -> None:
        """Switch a server to read-only in place, or back (a reload, no restart)."""
        change = "SET {} = on" if read_only else "RESET {}"
        self.execute(port, "ALTER SYSTEM " + change.format("default_transaction_read_only"))
        self.execute(port, "SELECT pg_reload_conf()")
        # The postmaster reloads asynchronously: until it has, new sessions (the
        # pool's next connections) still get the old setting.
        wanted = "on" if read_only else "off"
        deadline = time.monotonic() + 10
        while self.execute(port, "SHOW default_transaction_read_only")[0][0] != wanted:
            if time.monotonic() > deadline:
                raise RuntimeError(f"server on port {port} did not reload its configuration")
            time.sleep(0.01)

    def execute(self, port: int, sql: str, database: str = DATABASE) -> list[tuple[Any, ...]]:
        """Run one statement on one server, in autocommit, outside any pool; return its rows."""
        try:
            import psycopg as driver
        except ImportError:  # the psycopg2 envs
            import psycopg2 as driver  # type: ignore[no-redef]

        connection = driver.connect(host="127.0.0.1", port=port, user="postgres", dbname=database)
        try:
            connection.autocommit = True
            cursor = connection.cursor()
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def settings(self, **pool_options: Any) -> dict[str, Any]:
        """Return a pooled alias's settings pointed at both servers, asking for the writable one."""
        return {
            "ENGINE": "dj_db_conn_pool.backends.postgresql",
            "NAME": DATABASE,
            "USER": "postgres",
            "HOST": "127.0.0.1,127.0.0.1",
            "PORT": f"{PRIMARY_PORT},{STANDBY_PORT}",
            "OPTIONS": {"target_session_attrs": "read-write", "connect_timeout": 2},
            "POOL_OPTIONS": pool_options,
        }

    def close(self) -> None:
        """Stop whatever still runs and remove the folder."""
        for port, data in self.data.items():
            if (data / "postmaster.pid").exists():
                try:
                    self._pg_ctl(port, "-m", "immediate", "stop")
                except RuntimeError:
                    pass
        shutil.rmtree(self.root, ignore_errors=True)
