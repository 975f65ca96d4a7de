"""The engines the tests run against, and what each needs to know about its server."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from dataclasses import dataclass
from typing import Any

import pytest


def _driver(*modules: str) -> bool:
    return any(importlib.util.find_spec(module) for module in modules)


@dataclass(frozen=True)
class Engine:
    """A pooled engine and the SQL that tells about its server-side sessions."""

    alias: str
    module: str  # dj_db_conn_pool.backends.<module>
    env_prefix: str
    backend_id_sql: str  # the server's id of this session
    default_database: str | None  # where an observer connects
    # 1 if this session is inside a transaction that has written, else 0 ("": not known).
    in_transaction_sql: str = ""
    family: str = ""  # the protocol: "mysql" or "postgresql" (default: module)
    service: str = ""  # its name for integration/services.py (default: module)

    def __post_init__(self) -> None:
        object.__setattr__(self, "family", self.family or self.module)
        object.__setattr__(self, "service", self.service or self.module)

    @property
    def configured(self) -> bool:
        return f"{self.env_prefix}_HOST" in os.environ

    def env(self, name: str, default: str = "") -> str:
        return os.environ.get(f"{self.env_prefix}_{name}", default)

    def settings(self, database: str, **extra: Any) -> dict[str, Any]:
        return {
            "ENGINE": f"dj_db_conn_pool.backends.{self.module}",
            "NAME": database,
            "HOST": self.env("HOST"),
            "PORT": self.env("PORT"),
            "USER": self.env("USER"),
            "PASSWORD": self.env("PASSWORD"),
            "TEST": {"NAME": f"test_{database}"},
            **extra,
        }

    def raw_connect(self, database: str | None = None) -> Any:
        """Open a plain driver connection, outside any pool, for observing."""
        database = database or self.default_database
        if self.family == "mysql":
            import MySQLdb

            kwargs = {"db": database} if database else {}
            return MySQLdb.connect(
                host=self.env("HOST"),
                port=int(self.env("PORT", "3306")),
                user=self.env("USER"),
                password=self.env("PASSWORD"),
                autocommit=True,
                **kwargs,
            )
        params = {
            "host": self.env("HOST"),
            "port": self.env("PORT") or None,
            "user": self.env("USER"),
            "dbname": database,
        }
        try:
            import psycopg

            return psycopg.connect(**params, autocommit=True)
        except ImportError:
            import psycopg2

            connection = psycopg2.connect(**params)
            connection.autocommit = True
            return connection

    def kill_session(self, session: Any) -> None:
        """End a server session from outside, as an administrator or a crash would."""
        observer = self.raw_connect()
        try:
            cursor = observer.cursor()
            if self.family == "mysql":
                cursor.execute(f"KILL {int(session)}")
            else:
                cursor.execute("SELECT pg_terminate_backend(%s)", [session])
        finally:
            observer.close()

    def sessions_sql(self, database: str) -> str:
        """SQL counting the server sessions connected to a database."""
        if self.family == "mysql":
            return f"SELECT COUNT(*) FROM information_schema.processlist WHERE db = '{database}'"
        # Autovacuum workers also show the database's name: count clients only.
        return (
            "SELECT COUNT(*) FROM pg_stat_activity "
            f"WHERE datname = '{database}' AND backend_type = 'client backend'"
        )

    def session_ids(self, database: str) -> set[int]:
        """Return the server's ids of the client sessions connected to a database."""
        if self.family == "mysql":
            sql = f"SELECT id FROM information_schema.processlist WHERE db = '{database}'"
        else:
            sql = (
                "SELECT pid FROM pg_stat_activity "
                f"WHERE datname = '{database}' AND backend_type = 'client backend'"
            )
        observer = self.raw_connect()
        try:
            cursor = observer.cursor()
            cursor.execute(sql)
            return {int(row[0]) for row in cursor.fetchall()}
        finally:
            observer.close()

    def count_sessions(self, database: str) -> int:
        observer = self.raw_connect()
        try:
            cursor = observer.cursor()
            cursor.execute(self.sessions_sql(database))
            return int(cursor.fetchone()[0])
        finally:
            observer.close()

    def restart_server(self) -> None:
        """Restart the server, through the script that started it."""
        python = os.environ["DJ_DB_CONN_POOL_SERVICES_PYTHON"]
        service = "mariadb" if self.service == "mysql" else self.service
        script = os.path.join(os.path.dirname(__file__), "services.py")
        subprocess.run([python, script, "restart", service], check=True, capture_output=True)

    def recreate_database(self, database: str) -> None:
        self.drop_database(database)
        observer = self.raw_connect()
        try:
            observer.cursor().execute(f"CREATE DATABASE {database}")
        finally:
            observer.close()

    def drop_database(self, database: str) -> None:
        observer = self.raw_connect()
        try:
            observer.cursor().execute(f"DROP DATABASE IF EXISTS {database}")
        finally:
            observer.close()


POSTGRESQL = Engine(
    alias="postgresql",
    module="postgresql",
    env_prefix="DJ_DB_CONN_POOL_PG",
    backend_id_sql="SELECT pg_backend_pid()",
    default_database="postgres",
    in_transaction_sql="SELECT (pg_current_xact_id_if_assigned() IS NOT NULL)::int",
)
MYSQL = Engine(
    alias="mysql",
    module="mysql",
    env_prefix="DJ_DB_CONN_POOL_MYSQL",
    backend_id_sql="SELECT CONNECTION_ID()",
    default_database=None,
    in_transaction_sql="SELECT @@in_transaction",
)
POSTGIS = Engine(
    alias="postgis",
    module="postgis",
    env_prefix="DJ_DB_CONN_POOL_POSTGIS",
    backend_id_sql="SELECT pg_backend_pid()",
    default_database="postgres",
    in_transaction_sql="SELECT (pg_current_xact_id_if_assigned() IS NOT NULL)::int",
)
# OceanBase's MySQL mode on seekdb (services.py); integration/tests/test_oceanbase.py
# runs the engine-generic tests that matter to a pool on it.
OCEANBASE = Engine(
    alias="oceanbase",
    module="oceanbase",
    env_prefix="DJ_DB_CONN_POOL_OCEANBASE",
    backend_id_sql="SELECT CONNECTION_ID()",
    default_database=None,
    family="mysql",
)
ALL = [POSTGRESQL, MYSQL]  # what the engine-generic tests run on
_DRIVERS = {
    "postgresql": ("psycopg", "psycopg2"),
    "mysql": ("MySQLdb",),
    "postgis": ("psycopg", "psycopg2"),
    "oceanbase": ("MySQLdb",),
}


def installed(engines: list[Engine] = ALL) -> list[Engine]:
    """Return the engines whose driver this environment has."""
    return [engine for engine in engines if _driver(*_DRIVERS[engine.module])]


def available() -> list[Engine]:
    """Return every engine (PostGIS, OceanBase too) whose driver is installed and server is up."""
    return [engine for engine in installed([*ALL, POSTGIS, OCEANBASE]) if engine.configured]


def params() -> list[Any]:
    """pytest params for every installed engine, marked with the engine's name."""
    marks = {"postgresql": pytest.mark.postgresql, "mysql": pytest.mark.mysql}
    return [
        pytest.param(engine, id=engine.alias, marks=marks[engine.module]) for engine in installed()
    ]


# The mysqlclient calls that send a command, as MariaDB's general log shows it.
# (COM_RESET_CONNECTION goes through ctypes, not mysqlclient: RESET_ON_RETURN's
# "session" is not counted.)
COMMANDS = {
    "query": "Query: {}",
    "ping": "Ping",
    "commit": "Query: COMMIT",
    "rollback": "Query: ROLLBACK",
    "autocommit": "Query: SET autocommit={:d}",
    "select_db": "Init DB: {}",
}


class StatementLog:
    """What one server session received, read from the server's own log."""

    def __init__(self, engine: Engine, database: str) -> None:
        self.engine = engine
        self.database = database

    def __enter__(self) -> StatementLog:
        if self.engine.module == "oceanbase":
            self._record_driver_calls()
            return self
        observer = self.engine.raw_connect()
        cursor = observer.cursor()
        if self.engine.module == "mysql":
            cursor.execute("SET GLOBAL log_output = 'TABLE'")
            cursor.execute("TRUNCATE mysql.general_log")
            cursor.execute("SET GLOBAL general_log = 1")
        else:  # new sessions of this database log every statement
            cursor.execute(f"ALTER DATABASE {self.database} SET log_statement = 'all'")
        observer.close()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.engine.module == "oceanbase":
            self._patch.undo()
            return
        observer = self.engine.raw_connect()
        cursor = observer.cursor()
        if self.engine.module == "mysql":
            cursor.execute("SET GLOBAL general_log = 0")
        else:
            cursor.execute(f"ALTER DATABASE {self.database} RESET log_statement")
        observer.close()

    def _record_driver_calls(self) -> None:
        """Record each command mysqlclient sends, with the session's id.

        seekdb has neither MySQL's general log nor OceanBase's SQL audit
        (GV$OB_SQL_AUDIT), so the commands are counted where they leave the
        client: every mysqlclient call that sends one to the server.
        """
        from MySQLdb.connections import Connection

        self._sent: list[tuple[int, str]] = []
        self._patch = pytest.MonkeyPatch()
        for method, shown in COMMANDS.items():
            original = getattr(Connection, method)

            def sending(connection: Any, *args: Any, _original: Any = original,
                        _shown: str = shown) -> Any:  # fmt: skip
                shown_args = [a.decode("utf-8", "replace") if isinstance(a, bytes) else a
                              for a in args]  # fmt: skip
                self._sent.append((connection.thread_id(), _shown.format(*shown_args)))
                return _original(connection, *args)

            self._patch.setattr(Connection, method, sending)

    def statements(self, session: int) -> list[str]:
        """Return every command the session sent, in order."""
        if self.engine.module == "oceanbase":
            return [line for owner, line in self._sent if owner == session]
        if self.engine.module == "mysql":
            observer = self.engine.raw_connect()
            cursor = observer.cursor()
            cursor.execute(
                "SELECT command_type, CONVERT(argument USING utf8mb4) FROM mysql.general_log "
                "WHERE thread_id = %s ORDER BY event_time",
                [session],
            )
            rows = [f"{kind}: {argument}" for kind, argument in cursor.fetchall()]
            observer.close()
            return rows
        log = os.path.join(self.engine.env("PGDATA"), "log")
        prefix = f"[{session}] LOG:  "
        with open(log, encoding="utf-8", errors="replace") as lines:
            return [
                line[len(prefix) :].strip()
                for line in lines
                if line.startswith(prefix) and ("statement: " in line or "execute " in line)
            ]
